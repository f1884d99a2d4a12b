"""Data-consistency loss of the fusion network: rebuilt data, linearisation, lower misfit."""

import re

import numpy as np
import pytest
import torch
from test_fusion_training import one_thread, store  # noqa: F401  (one thread; 6-sample store)

from jointinv.dataset.store import DatasetStore
from jointinv.fusion import FusionNetwork, TrainingConfigError, train_fusion
from jointinv.fusion.data_consistency import DataConsistency
from jointinv.grid import Grid

# not residual and no batch norm: the output starts far from the recovered models (far
# above the noise level) and the network behaves alike in training and evaluation
BASE = {"network": {"depth": 2, "base_channels": 4, "norm": None}, "residual": False,
        "epochs": 40, "batch_size": 3, "learning_rate": 0.01, "early_stopping": {"patience": 60}}


def _stored(path, name):
    opened = DatasetStore.open(path, mode="r")
    return torch.as_tensor(np.stack([opened.group[name][i] for i in range(6)]))


def test_rebuilt_data_are_those_the_builder_inverted(store):  # noqa: F811
    consistency = DataConsistency(store, range(6), ["fast", "slow"])
    recorded = _stored(store, "chi_squared_per_datum")
    # the recovered models misfit the rebuilt data exactly as the builder recorded
    assert torch.allclose(consistency.misfits(range(6), _stored(store, "inputs")), recorded,
                          rtol=1e-9)
    linear = DataConsistency(store, range(6), ["fast", "slow"], linearised=["slow"])
    assert torch.allclose(linear.misfits(range(6), _stored(store, "inputs")), recorded,
                          rtol=1e-6)  # exact at the expansion point (float32 Jacobian)
    targets = _stored(store, "targets")
    assert float(consistency.misfits(range(6), targets).mean()) < 3.0  # noise level


def _output_misfit(network, path, consistency):
    opened = DatasetStore.open(path, mode="r")
    grid = Grid(**network.grid)
    outputs = []
    for i in range(6):
        models = {k: torch.as_tensor(opened.group["inputs"][i][p])
                  for p, k in enumerate(network.keys)}
        cover = {k: torch.as_tensor(opened.group["coverage"][i][p])
                 for p, k in enumerate(network.keys)}
        fused = network.fuse(models, grid, cover)
        outputs.append(torch.stack([fused[k] for k in network.keys]))
    return float(consistency.misfits(range(6), torch.stack(outputs)).mean())


def test_the_loss_lowers_the_output_data_misfit(store, tmp_path):  # noqa: F811
    plain = train_fusion(BASE, store, tmp_path / "plain", progress=False)
    consistent = train_fusion({**BASE, "loss": {"data_consistency": 1.0,
                                                "data_consistency_linearised": ["slow"]}},
                              store, tmp_path / "consistent", progress=False)
    assert "validation_chi2[slow]" in consistent.history[-1]
    assert "validation_chi2[slow]" not in plain.history[-1]
    consistency = DataConsistency(store, range(6), ["fast", "slow"])
    before = _output_misfit(FusionNetwork.load(plain.network), store, consistency)
    after = _output_misfit(FusionNetwork.load(consistent.network), store, consistency)
    assert after < 0.5 * before, (before, after)  # measured 9.1 -> 2.5


def test_the_term_can_cover_some_physics_only(store, tmp_path):  # noqa: F811
    full = DataConsistency(store, range(6), ["fast", "slow"])
    fast_only = DataConsistency(store, range(6), ["fast", "slow"], physics=["fast"])
    inputs = _stored(store, "inputs")
    misfits = fast_only.misfits(range(6), inputs)
    assert torch.equal(misfits[:, 0], full.misfits(range(6), inputs)[:, 0])
    assert torch.isnan(misfits[:, 1]).all()  # not simulated
    term, _ = fast_only.loss(range(6), inputs * 1.5)
    assert torch.isfinite(term) and term > 0
    expected = torch.relu(full.misfits(range(6), inputs * 1.5)[:, 0] - 1.0).mean()
    assert torch.allclose(term, expected)
    run = train_fusion({**BASE, "epochs": 2, "loss": {"data_consistency": 1.0,
                                                      "data_consistency_physics": ["fast"]}},
                       store, tmp_path / "fast_only", progress=False)
    assert "validation_chi2[fast]" in run.history[-1]
    assert "validation_chi2[slow]" not in run.history[-1]


@pytest.mark.parametrize("loss, message", [
    ({"data_consistency_physics": ["fast"]},
     "loss.data_consistency_physics ['fast'] needs loss.data_consistency > 0"),
    ({"data_consistency": 1.0, "data_consistency_physics": []},
     "loss.data_consistency_physics must be null (all physics) or a non-empty list of "
     "physics keys, got []"),
    ({"data_consistency": -1.0}, "loss.data_consistency must be in [0.0, inf], got -1.0"),
    ({"data_consistency_linearised": ["slow"]},
     "loss.data_consistency_linearised ['slow'] needs loss.data_consistency > 0"),
    ({"data_consistency": 1.0, "data_consistency_linearised": "slow"},
     "loss.data_consistency_linearised must be a list of physics keys, got 'slow'"),
])
def test_bad_data_consistency_options(store, tmp_path, loss, message):  # noqa: F811
    with pytest.raises(TrainingConfigError, match=re.escape(message)):
        train_fusion({**BASE, "loss": loss, "epochs": 1}, store, tmp_path / "run", progress=False)


def test_unknown_linearised_physics_is_refused(store):  # noqa: F811
    with pytest.raises(ValueError, match=r"names \['dcr'\], not physics of the store"):
        DataConsistency(store, range(6), ["fast", "slow"], linearised=["dcr"])
    with pytest.raises(ValueError, match=r"physics names \['dcr'\], not physics of the store"):
        DataConsistency(store, range(6), ["fast", "slow"], physics=["dcr"])
    with pytest.raises(ValueError, match=r"linearised names \['slow'\], not physics the term "
                                         r"covers \['fast'\]"):
        DataConsistency(store, range(6), ["fast", "slow"], linearised=["slow"], physics=["fast"])

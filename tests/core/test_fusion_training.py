"""Fusion network training: a tiny store, checkpoints, bit-identical resume, refusals."""

import re

import pytest
import torch
from test_dataset import tiny_config  # the dataset tests' toy config (12 x 8 grid)

from jointinv.dataset import build_dataset
from jointinv.dataset.toy import dike
from jointinv.fusion import FusionNetwork, TrainingConfigError, train_fusion
from jointinv.fusion.cli import main
from jointinv.fusion.losses import batched_cross_gradient
from jointinv.grid import Grid

TINY = {"network": {"depth": 2, "base_channels": 4}, "epochs": 4, "batch_size": 3,
        "loss": {"cross_gradient": 0.1}, "early_stopping": {"patience": 10}}



@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: threads only cost time on a shared machine (restored afterwards)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("fusion") / "store"
    build_dataset(tiny_config(6), path, workers=0, progress=False)
    return path


def test_two_epochs_write_a_usable_network(store, tmp_path):
    summary = train_fusion({**TINY, "epochs": 2}, store, tmp_path / "run", progress=False)
    assert summary.epochs == 2 and summary.n_train + summary.n_validation == 6
    for name in ("checkpoint.pt", "network.pt", "history.csv", "learning_curve.png"):
        assert (tmp_path / "run" / name).is_file()
    network = FusionNetwork.load(tmp_path / "run" / "network.pt")
    assert network.keys == ["fast", "slow"] and network.in_channels == 4
    assert network.channels == ["model:fast", "model:slow", "coverage:fast", "coverage:slow"]
    assert network.grid == {"nx": 12, "nz": 8, "dx": 5.0, "dz": 5.0}
    assert network.description()["config_hash"] == network.description()["config_hash"]
    grid = Grid(nx=12, nz=8, dx=5.0, dz=5.0)
    models = {"fast": torch.full(grid.shape, 2000.0, dtype=torch.float64),
              "slow": torch.full(grid.shape, 1400.0, dtype=torch.float64)}
    cover = {k: torch.ones(grid.shape) for k in models}
    fused = network.fuse(models, grid, cover)
    assert fused["fast"].shape == grid.shape and fused["fast"].dtype == torch.float64
    # inputs are clamped to the store's property ranges: a spike acts as the range's edge
    assert network.input_range == [(1500.0, 3000.0), (1000.0, 2000.0)]
    spiky = {**models, "fast": models["fast"].clone()}
    spiky["fast"][0, 0] = 3e5
    edge = {**models, "fast": models["fast"].clone()}
    edge["fast"][0, 0] = 3000.0
    assert torch.equal(network.fuse(spiky, grid, cover)["fast"],
                       network.fuse(edge, grid, cover)["fast"])
    # a grid with other cells is resampled to the training cell size and back
    fine = Grid(nx=24, nz=16, dx=2.5, dz=2.5)
    fused = network.fuse({k: torch.full(fine.shape, float(v[0, 0])) for k, v in models.items()},
                         fine, {k: torch.ones(fine.shape) for k in models})
    assert fused["slow"].shape == fine.shape


def test_resume_continues_the_curve_bit_identically(store, tmp_path):
    whole = train_fusion(TINY, store, tmp_path / "whole", progress=False)
    first = train_fusion(TINY, store, tmp_path / "split", progress=False, max_epochs=2)
    assert first.epochs == 2
    resumed = train_fusion(TINY, store, tmp_path / "split", resume=True, progress=False)
    columns = ("train_loss", "validation_loss", "train_cross_gradient", "validation_rmse[fast]")
    assert [[row[c] for c in columns] for row in resumed.history] == \
        [[row[c] for c in columns] for row in whole.history]
    a = torch.load(tmp_path / "whole" / "network.pt", weights_only=False)["state_dict"]
    b = torch.load(tmp_path / "split" / "network.pt", weights_only=False)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_early_stopping_ends_the_run(store, tmp_path):
    config = {**TINY, "epochs": 50, "learning_rate": 0.5, "early_stopping": {"patience": 1}}
    summary = train_fusion(config, store, tmp_path / "run", progress=False)
    assert summary.stopped_early and summary.epochs < 50


@pytest.mark.parametrize("config, message", [
    ({"epoch": 3}, "config has unknown keys ['epoch']"),
    ({"network": {"depth": 9}}, "network.depth must be in [1, 6], got 9"),
    ({"validation_fraction": 0.0}, "validation_fraction must be in (0.0, 0.9], got 0.0"),
    ({"network": {"norm": "layer"}}, "network.norm must be one of"),
    ({"loss": {"cross_gradient": -1}}, "loss.cross_gradient must be in [0.0, inf], got -1.0"),
])
def test_bad_config_refused(store, tmp_path, config, message):
    with pytest.raises(TrainingConfigError, match=re.escape(message)):
        train_fusion(config, store, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_checkpoint_refusals(store, tmp_path):
    train_fusion({**TINY, "epochs": 1}, store, tmp_path / "run", progress=False)
    with pytest.raises(FileExistsError, match="pass resume=True"):
        train_fusion({**TINY, "epochs": 1}, store, tmp_path / "run", progress=False)
    with pytest.raises(ValueError, match="another config"):
        train_fusion({**TINY, "seed": 5}, store, tmp_path / "run", resume=True, progress=False)
    with pytest.raises(ValueError, match=re.escape("loss.weights names ['dcr']")):
        train_fusion({**TINY, "loss": {"weights": {"dcr": 1.0}}}, store, tmp_path / "other",
                     progress=False)


def failing_family(grid, index, seed, properties):
    if index == 1:
        raise RuntimeError("no geology today")
    return dike(grid, index, seed, properties)


def test_store_with_missing_samples_is_refused(tmp_path):
    build_dataset(tiny_config(3, family={"name": failing_family}), tmp_path / "store", workers=0,
                  progress=False)
    with pytest.raises(ValueError, match=re.escape("lacks 1 of its 3 samples")):
        train_fusion(TINY, tmp_path / "store", tmp_path / "run", progress=False)
    with pytest.raises(ValueError, match="samples = 3 but dataset store .* has only 2"):
        train_fusion({**TINY, "samples": 3}, tmp_path / "store", tmp_path / "run",
                     progress=False)


def test_cli_exit_status(store, tmp_path, capsys):
    config = tmp_path / "train.yaml"
    config.write_text("epochs: 1\nnetwork: {depth: 2, base_channels: 4}\n")
    assert main(["train", str(config), "--store", str(store), "--output",
                 str(tmp_path / "run"), "--quiet"]) == 0
    assert "best validation loss" in capsys.readouterr().out
    config.write_text("epochs: 0\n")
    assert main(["train", str(config), "--store", str(store), "--output",
                 str(tmp_path / "bad")]) == 2
    assert "epochs must be in [1, inf], got 0" in capsys.readouterr().err


def test_batched_cross_gradient_is_zero_for_shared_structure_and_per_sample_scaled():
    grid = Grid(nx=10, nz=6, dx=1.0, dz=1.0)
    z, x = torch.meshgrid(torch.arange(6.0), torch.arange(10.0), indexing="ij")
    layered = (z > 2).double()
    dike_ = (x > 4).double()
    same = torch.stack([layered, 3 * layered])[None]
    crossing = torch.stack([layered, dike_])[None]
    assert float(batched_cross_gradient(same, grid)) == 0.0
    value = float(batched_cross_gradient(crossing, grid))
    assert 0 < value <= 1
    # each sample is normalised by its own largest gradient
    batch = torch.cat([crossing, 1000 * crossing])
    assert float(batched_cross_gradient(batch, grid)) == pytest.approx(value, rel=1e-12)

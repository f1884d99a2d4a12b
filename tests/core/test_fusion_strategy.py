"""Strategy ``fusion``: K rounds of network + re-inversion end at target; refusals named."""

import re

import pytest
import torch
from test_fusion_training import one_thread  # noqa: F401  (autouse: one torch thread)

from jointinv import Grid, PhysicsSetup
from jointinv.fusion import FusionNetwork, FusionNetworkError
from jointinv.physics_spec import build_operator
from jointinv.strategies import STRATEGIES, run_strategy

GRID = Grid(nx=12, nz=8, dx=5.0, dz=5.0)
GRID_SPEC = {"nx": 12, "nz": 8, "dx": 5.0, "dz": 5.0}



def untrained_network(keys=("fast", "slow"), properties=("velocity", "velocity"), **changes):
    torch.manual_seed(0)
    options = {"coverage": True, "residual": True, "grid": GRID_SPEC,
               "unet": {"depth": 2, "base_channels": 4}, **changes}
    return FusionNetwork(list(keys), list(properties), ["m/s"] * len(keys),
                         [2000.0] * len(keys), [300.0] * len(keys), **options)


def setups(grid=GRID):
    z, x = torch.meshgrid(torch.as_tensor(grid.cell_centers_z),
                          torch.as_tensor(grid.cell_centers_x), indexing="ij")
    block = ((x > 0.3 * grid.x_max) & (x < 0.6 * grid.x_max) & (z > 10)).double()
    result = {}
    for key, (background, contrast, n) in {"fast": (2000.0, 600.0, 6),
                                           "slow": (1500.0, -300.0, 5)}.items():
        operator = build_operator(grid, {"physics": "traveltime", "constructor": "crosshole",
                                         "n_sources": n, "n_receivers": n})
        true = background + contrast * block
        data = operator.simulate(true, relative_error=0.01, seed=1)
        result[key] = PhysicsSetup(operator, data, torch.full(grid.shape, background,
                                                             dtype=torch.float64),
                                   true_model=true)
    return result


@pytest.mark.parametrize("use_as", ["start", "both"])
def test_fusion_runs_k_rounds_and_ends_at_target(use_as):
    result = run_strategy("fusion", setups(), network=untrained_network(), rounds=2,
                          weight=0.5, use_as=use_as, max_iterations=15, progress=False)
    assert STRATEGIES["fusion"].__name__ == "invert_fusion"
    assert [r["round"] for r in result.rounds] == [0, 1, 2]
    assert sorted({row["round"] for row in result.history}) == [0, 1, 2]
    for key, row in result.metrics.items():
        assert row["chi_squared_per_datum"] <= 1.1, (key, row)
    assert set(result.network_models) == {"fast", "slow"}
    assert result.method.startswith("fusion (2 rounds, weight 0.5, as " + use_as)


def test_joint_reinversion_couples_the_rounds_after_the_first():
    result = run_strategy("fusion", setups(), network=untrained_network(), rounds=1,
                          use_as="both", reinversion="joint", max_iterations=15,
                          progress=False)
    coupled = {row["round"] for row in result.history
               if any(k.startswith("coupling[petrophysical") for k in row)}
    assert coupled == {1}  # round 0 is separate: the network was trained on separate ones
    for key, row in result.metrics.items():
        assert row["chi_squared_per_datum"] <= 1.1, (key, row)


def test_joint_reinversion_options_are_checked_before_round_0(monkeypatch):
    def no_inversion(*args, **kwargs):
        raise AssertionError("an inversion ran before the options were checked")

    monkeypatch.setitem(STRATEGIES, "independent", no_inversion)
    with pytest.raises(ValueError, match="hold_iterations needs solver 'gauss_newton'"):
        run_strategy("fusion", setups(), network=untrained_network(), reinversion="joint",
                     solver="adam", progress=False)


def test_reference_use_starts_from_the_setup_and_keeps_its_start(tmp_path):
    network = untrained_network()
    path = network.save(tmp_path / "network.pt")
    result = run_strategy("fusion", setups(), network=str(path), rounds=1, use_as="reference",
                          alpha_s=0.1, max_iterations=15, progress=False)
    assert torch.equal(result.initial_models["fast"], setups()["fast"].initial_model)
    assert result.metrics["fast"]["chi_squared_per_datum"] <= 1.1


@pytest.mark.parametrize("network, error, message", [
    (untrained_network(keys=("fast", "dcr")), FusionNetworkError,
     "the fusion network was trained for physics ['fast', 'dcr'] (4 input channels"),
    (untrained_network(keys=("fast", "slow", "third"), properties=["velocity"] * 3),
     FusionNetworkError, "trained for physics ['fast', 'slow', 'third'] (6 input channels"),
    (untrained_network(properties=("velocity", "density")), FusionNetworkError,
     "trained on 'slow' = 'density', got property 'velocity'"),
    (untrained_network(grid={"nx": 3, "nz": 2, "dx": 20.0, "dz": 20.0}), FusionNetworkError,
     "the network needs at least 8 along each axis"),
    ("no/such/network.pt", FileNotFoundError, "fusion network file no/such/network.pt"),
    (42, TypeError, "network must be a jointinv.fusion.FusionNetwork or the path"),
])
def test_networks_that_cannot_take_these_setups_are_refused(network, error, message):
    with pytest.raises(error, match=re.escape(message)):
        run_strategy("fusion", setups(), network=network, progress=False)


@pytest.mark.parametrize("options, error, message", [
    ({"rounds": 0}, ValueError, "rounds must be an integer >= 1, got 0"),
    ({"weight": 1.5}, ValueError, "weight must be a number in [0, 1], got 1.5"),
    ({"use_as": "prior"}, ValueError, "use_as must be one of ['start', 'reference', 'both']"),
    ({"alpha_s": 0.0}, ValueError, "alpha_s must be a number > 0 or None, got 0.0"),
    ({"reinversion": "jointly"}, ValueError,
     "reinversion must be one of ['independent', 'joint'], got 'jointly'"),
    ({"max_iterations": 0}, ValueError, "max_iterations"),
    ({"wieght": 0.5}, TypeError, "strategy 'fusion' got unknown options ['wieght']"),
])
def test_bad_options_refused(options, error, message):
    with pytest.raises(error, match=re.escape(message)):
        run_strategy("fusion", setups(), network=untrained_network(), progress=False, **options)


def test_file_of_another_format_refused(tmp_path):
    torch.save({"format": "something else"}, tmp_path / "other.pt")
    with pytest.raises(FusionNetworkError, match="is not a jointinv fusion network"):
        FusionNetwork.load(tmp_path / "other.pt")

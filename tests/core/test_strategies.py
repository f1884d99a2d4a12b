import re

import pytest
import torch
from conftest import DenseLinearOperator

from jointinv import Grid
from jointinv.coupling import Coupling, NormalizedCrossGradient
from jointinv.objective import DataMisfit
from jointinv.physics_setup import PhysicsSetup
from jointinv.problem import InversionProblem
from jointinv.regularization import tikhonov
from jointinv.strategies import invert_joint, run_strategy


@pytest.fixture
def setups(small_grid, block_model):
    """Two under-determined linear physics seeing the same block at different amplitudes."""
    out = {}
    for key, seed, scale in (("a", 1, 1.0), ("b", 7, 300.0)):
        operator = DenseLinearOperator(small_grid, n_data=30, seed=seed)
        true = scale * block_model
        data = operator.simulate(true, relative_error=0.0, noise_floor=0.02 * scale, seed=seed)
        out[key] = PhysicsSetup(operator, data, torch.zeros_like(true), true_model=true)
    return out


def ncg(result):
    grid = result.operators["a"].grid
    return NormalizedCrossGradient(("a", "b"), grid).mean(result.models)


@pytest.mark.parametrize("strategy", ["cross_gradient", "sequential"])
def test_joint_strategies_align_structure_and_fit_both_data_sets(setups, strategy):
    independent = run_strategy("independent", setups, progress=False, max_iterations=30)
    joint = run_strategy(strategy, setups, progress=False, max_iterations=30,
                         coupling=Coupling("cross_gradient", weight=10.0))
    for key in ("a", "b"):
        assert joint.misfit(key) <= setups[key].data.n_data * 1.0001
    assert ncg(joint) < 0.8 * ncg(independent)
    # the reported similarity is the optimised term: its value over the grid area
    grid = setups["a"].operator.grid
    optimised = joint.history[-1]["coupling[cross_gradient[a,b]]"]
    area = grid.n_cells * grid.dx * grid.dz
    assert joint.metrics["a"]["ncg_between_models"] == pytest.approx(optimised / area)


def test_coupling_weight_zero_equals_uncoupled_and_coupling_changes_models(setups):
    free = run_strategy("cross_gradient", setups, progress=False, max_iterations=30,
                        coupling={"kind": "cross_gradient", "weight": 0.0})
    coupled = run_strategy("cross_gradient", setups, progress=False, max_iterations=30,
                           coupling={"kind": "cross_gradient", "weight": 10.0})
    # a coupling that did nothing (a broken term or weight) would leave the models alike
    difference = float((coupled.models["a"] - free.models["a"]).norm())
    assert difference > 0.05 * float(free.models["a"].norm())
    assert ncg(coupled) < 0.8 * ncg(free)


@pytest.mark.parametrize("solver,reduction", [("adam", 0.9), ("lbfgs", 0.2)])
def test_first_order_solvers_run_inside_joint_strategies(setups, solver, reduction):
    # first-order steps are relative to the starting model's size: start away from
    # zero; betas stay fixed (no cooling), so give a small one
    setups = {key: PhysicsSetup(s.operator, s.data, torch.full_like(s.true_model,
                                                                   0.2 * float(s.true_model.max())),
                                beta=1e-3)
              for key, s in setups.items()}
    result = run_strategy("cross_gradient", setups, progress=False, solver=solver,
                          max_iterations=100, lr=0.05 if solver == "adam" else 1.0)
    first, last = result.history[0], result.history[-1]
    for key in ("a", "b"):
        # Adam is slow on this ill-conditioned toy problem; L-BFGS nearly fits it
        assert last[f"phi_d[{key}]"] < reduction * first[f"phi_d[{key}]"]
    assert result.method.endswith(f"({solver})")


def test_unknown_strategy_options_are_named(setups):
    with pytest.raises(TypeError, match=re.escape("unknown options ['coupling_wieght']")):
        run_strategy("cross_gradient", setups, coupling_wieght=1)
    with pytest.raises(TypeError, match="allowed: .*'max_iterations'"):
        run_strategy("independent", setups, max_iter=3)
    with pytest.raises(TypeError, match=re.escape("unknown solver options ['max_iter']")):
        invert_joint(setups, max_iter=3)


def test_joint_rejects_different_grids(setups, small_grid):
    other = Grid(nx=small_grid.nx + 1, nz=small_grid.nz, dx=1.0, dz=1.0)
    operator = DenseLinearOperator(other, n_data=5)
    model = torch.zeros(other.shape, dtype=torch.float64)
    setups["b"] = PhysicsSetup(operator, operator.simulate(model, noise_floor=1.0), model)
    with pytest.raises(ValueError, match="coupled physics must share one jointinv.Grid"):
        run_strategy("cross_gradient", setups, progress=False)


def test_strategy_errors(setups):
    with pytest.raises(ValueError, match="strategy must be one of"):
        run_strategy("no_such_strategy", setups)
    with pytest.raises(ValueError, match="setups must hold at least 2 physics"):
        run_strategy("cross_gradient", {"a": setups["a"]})
    with pytest.raises(TypeError, match=re.escape("setups['a'] must be a jointinv.PhysicsSetup")):
        run_strategy("independent", {"a": object()})


def test_coupling_on_a_model_without_operator_is_rejected(setups, small_grid):
    misfit = DataMisfit("a", setups["a"].operator, setups["a"].data)
    with pytest.raises(ValueError, match=re.escape("coupling cg reads "
                                                   "models ['c'] that no data misfit reads")):
        InversionProblem([misfit], {"a": tikhonov("a", small_grid)}, {"a": 1.0},
                         couplings=[("cg", 1.0, NormalizedCrossGradient(("a", "c"), small_grid))])
    with pytest.raises(ValueError, match=re.escape("regularizations['z'] reads models ['z']")):
        InversionProblem([misfit], {"z": tikhonov("z", small_grid)}, {})

"""Joint regularization, structure guidance and the coupling held at the target misfit."""

import pytest
import torch
from conftest import DenseLinearOperator

from jointinv import PhysicsSetup
from jointinv.coupling import (
    JointMinimumGradientSupport,
    JointTotalVariation,
    NormalizedCrossGradient,
)
from jointinv.joint_regularization import StructureGuidance
from jointinv.regularization import Smoothness
from jointinv.strategies import run_strategy
from jointinv.strategies.common import build_all


@pytest.fixture
def setups(small_grid, block_model):
    """Physics 'a' sees every cell (noisy); physics 'b' only broad averages (blurred)."""
    grid = small_grid
    z = torch.as_tensor(grid.cell_centers_z)[:, None]
    x = torch.as_tensor(grid.cell_centers_x)[None, :]
    blurs = [torch.exp(-((x - cx) ** 2 + (z - cz) ** 2) / 18.0).reshape(-1)
             for cx in torch.linspace(float(x.min()), float(x.max()), 6)
             for cz in torch.linspace(float(z.min()), float(z.max()), 4)]
    matrices = {"a": torch.eye(grid.n_cells, dtype=torch.float64),
                "b": torch.stack(blurs).to(torch.float64)}
    out = {}
    for key, scale, floor in (("a", 1.0, 0.1), ("b", 300.0, 1.0)):
        operator = DenseLinearOperator(grid, matrix=matrices[key])
        true = scale * (1.0 + block_model)
        data = operator.simulate(true, relative_error=0.0, noise_floor=floor * scale, seed=3)
        out[key] = PhysicsSetup(operator, data, torch.full_like(true, 1.2 * scale),
                                true_model=true)
    return out


def test_structure_guidance_relaxes_smoothness_at_the_other_models_edges(setups, block_model):
    built = build_all(setups)
    guidance = StructureGuidance(built, edge_contrast=0.05)
    guidance.update({"a": 1.0 + block_model, "b": torch.full_like(block_model, 300.0)})
    (x_term, z_term) = guidance.smoothness["b"]
    assert isinstance(x_term, Smoothness) and x_term.axis == "x"
    # faces across the block's sides in 'a' are relaxed for 'b', elsewhere untouched
    edge = x_term.face_weights[4, 3]         # between columns 3 and 4, a block side
    inside = x_term.face_weights[4, 5]
    assert float(edge) == pytest.approx(max(1 / (1 + (0.5 / 0.05) ** 2), 0.01), rel=1e-6)
    assert float(inside) == 1.0
    # a flat other model leaves model 'a' smoothed everywhere
    assert float(guidance.smoothness["a"][0].face_weights.min()) == 1.0


def test_minimum_gradient_support_reweighting_frees_edges_and_keeps_the_scale(
        small_grid, block_model):
    grid = small_grid
    term = JointMinimumGradientSupport(("a", "b"), grid, eps=0.05)
    blocky = {"a": 1.0 + block_model, "b": 2.0 + 2.0 * block_model}
    flat = {k: torch.ones_like(block_model) for k in blocky}
    assert float(term(flat)) == 0.0 and term.weights is None
    term.reweight(blocky)
    edge = term.squared_gradient(blocky) > 0
    # an edge cell weighs far less than a flat one: edges cost about eps^2 whatever their size
    assert float(term.weights[edge].max()) < 1e-3 * float(term.weights[~edge].min())
    # rescaled so that the reweighted term equals the functional where it was reweighted
    assert float(term(blocky)) == pytest.approx(float(term.support(blocky)), rel=1e-9)
    # lowering eps keeps an edge's cost and stiffens flat cells: the term does not fade
    # (with eps^2 as its prefactor it lost a factor 25 here, and the data were over-fitted)
    smooth = {"a": 1.0 + 1e-3 * block_model, "b": 2.0 + 2e-3 * block_model}
    before = {"edges": float(term.support(blocky)), "smooth": float(term.support(smooth))}
    term.eps = 0.01
    assert float(term.support(blocky)) == pytest.approx(before["edges"], rel=0.05)
    assert float(term.support(smooth)) > 2.0 * before["smooth"]
    term.eps = 0.05
    # the same size of edge costs the same whatever its contrast (the support counts cells)
    doubled = {"a": 1.0 + 4.0 * block_model, "b": 2.0 + 8.0 * block_model}
    assert float(term.support(doubled)) == pytest.approx(float(term.support(blocky)), rel=0.05)


def _rmse(result, setups, key):
    return float((result.models[key] - setups[key].true_model).pow(2).mean().sqrt())


@pytest.mark.parametrize("options", [
    {"regularization": "joint_total_variation", "coupling": None},
    {"edge_contrast": 0.05, "coupling": None},
])
def test_joint_regularizations_carry_structure_to_the_weak_physics(setups, options):
    independent = run_strategy("independent", setups, progress=False, max_iterations=30)
    joint = run_strategy("joint", setups, progress=False, max_iterations=30, hold_iterations=5,
                         **options)
    for key in ("a", "b"):
        assert joint.misfit(key) <= 1.05 * setups[key].data.n_data
    grid = setups["a"].operator.grid
    ncg = NormalizedCrossGradient(("a", "b"), grid)
    # structure shared, and the weakly resolved model closer to the truth
    assert ncg.mean(joint.models) < ncg.mean(independent.models)
    assert _rmse(joint, setups, "b") < _rmse(independent, setups, "b")


def test_joint_minimum_gradient_support_fits_to_target_with_less_support(setups):
    independent = run_strategy("independent", setups, progress=False, max_iterations=30)
    sparse = run_strategy("joint", setups, progress=False, max_iterations=30, hold_iterations=5,
                          regularization="joint_minimum_gradient_support", coupling=None)
    # at the target, not below it: without rescaling its reweighted weights the term
    # faded as edges appeared in the noise, and 'a' ended at chi2/N 0.34 ('b' ends
    # below 0.9 with each model's own smoothness too, 0.81: its first step overshoots)
    assert 0.9 <= sparse.misfit("a") / setups["a"].data.n_data <= 1.05
    assert 0.85 <= sparse.misfit("b") / setups["b"].data.n_data <= 1.05
    term = JointMinimumGradientSupport(("a", "b"), setups["a"].operator.grid,
                                       scales={"a": 1.2, "b": 360.0}, eps=0.1)
    assert term.support(sparse.models) < term.support(independent.models)


def test_holding_the_target_keeps_misfits_there_and_lowers_the_coupling(setups):
    stop = run_strategy("cross_gradient", setups, progress=False, max_iterations=40)
    held = run_strategy("cross_gradient", setups, progress=False, max_iterations=40,
                        hold_iterations=5)
    rows = [row for row in held.history if row.get("phase") == "hold"]
    assert len(rows) == 5
    assert "held there for 5 iterations" in held.history[-1]["stopped"]
    for key in ("a", "b"):
        assert held.misfit(key) <= setups[key].data.n_data * 1.0001
    name = "coupling[cross_gradient[a,b]]"
    assert held.history[-1][name] < stop.history[-1][name]
    with pytest.raises(ValueError, match="hold_iterations needs solver 'gauss_newton'"):
        run_strategy("cross_gradient", setups, solver="adam", hold_iterations=2)


def _joint(setups, kind, weight, **options):
    options = {"max_iterations": 40, "hold_iterations": 5, **options}
    return run_strategy("joint", setups, coupling={"kind": kind, "weight": weight},
                        progress=False, **options)


@pytest.mark.parametrize("weight", [100.0, 1e4])
def test_a_large_cross_gradient_weight_reaches_every_target_with_more_shared_structure(
        setups, weight):
    # from flat starting models the normalised cross-gradient has no gradient
    # and jumps to O(weight) for any step: the run used to stop after one
    # iteration with the starting models
    reference, strong = (_joint(setups, "cross_gradient", w) for w in (1.0, weight))
    for key in ("a", "b"):
        assert strong.misfit(key) <= 1.05 * setups[key].data.n_data
    ncg = NormalizedCrossGradient(("a", "b"), setups["a"].operator.grid)
    assert ncg.mean(strong.models) < ncg.mean(reference.models)


@pytest.mark.parametrize("kind", ["joint_total_variation", "petrophysical"])
def test_a_coupling_that_holds_the_data_above_target_yields(setups, kind):
    # a huge weight keeps the data off target whatever beta does; cooling
    # the betas alone ran into max_iterations
    result = _joint(setups, kind, 1e4)
    for key in ("a", "b"):
        assert result.misfit(key) <= 1.05 * setups[key].data.n_data
    name = next(k for k in result.history[0] if k.startswith("lambda["))
    assert result.history[-1][name] < result.history[0][name]


def test_a_run_pushed_off_target_by_the_hold_returns_there(setups):
    independent = run_strategy("independent", setups, progress=False, max_iterations=30)
    warm = {key: PhysicsSetup(s.operator, s.data, independent.models[key],
                              true_model=s.true_model) for key, s in setups.items()}
    result = _joint(warm, "petrophysical", 1.0, max_iterations=30, hold_iterations=3)
    rows = result.history
    last_hold = max(row["iteration"] for row in rows if row.get("phase") == "hold")
    targets = {key: s.data.n_data for key, s in setups.items()}
    # the hold left a data set above its target ...
    assert any(rows[last_hold][f"phi_d[{key}]"] > target for key, target in targets.items())
    # ... and the run came back to every target instead of running out of iterations
    assert "held there for 3 iterations" in rows[-1]["stopped"]
    for key, target in targets.items():
        assert result.misfit(key) <= target


def test_lbfgs_leaves_flat_starting_models_at_a_large_cross_gradient_weight(setups):
    # its line search met the same jump of the normalised cross-gradient and
    # kept the starting models for every iteration
    result = _joint(setups, "cross_gradient", 100.0, solver="lbfgs", max_iterations=150,
                    hold_iterations=0)
    for key in ("a", "b"):
        assert result.misfit(key) <= setups[key].data.n_data
    assert result.history[0]["lambda[cross_gradient[a,b]]"] == 0.0  # sat out the first step
    assert result.history[-1]["lambda[cross_gradient[a,b]]"] > 0.0


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_first_order_solvers_let_a_large_coupling_yield_to_the_targets(setups, solver):
    # at weight 1e4 both stayed at chi^2/N 12-14 for 300 iterations: Adam's and
    # L-BFGS's betas cooled to nothing while the coupling held the data
    result = run_strategy("joint", setups, coupling={"kind": "cross_gradient", "weight": 1e4},
                          solver=solver, max_iterations=300, progress=False)
    for key in ("a", "b"):
        assert result.misfit(key) <= setups[key].data.n_data
    name = next(k for k in result.history[0] if k.startswith("lambda["))
    weights = [row[name] for row in result.history[1:]]
    assert weights[-1] < 0.1 * weights[0]
    # a coupling the data can live with keeps its weight
    gentle = run_strategy("joint", setups, coupling={"kind": "cross_gradient", "weight": 1.0},
                          solver=solver, max_iterations=300, progress=False)
    assert len({row[name] for row in gentle.history[1:]}) == 1


def test_windowed_yield_cools_couplings_only_over_a_data_set_that_stands_still():
    from types import SimpleNamespace

    from jointinv.solvers.cooling import WindowedYield

    term = SimpleNamespace(keys=("a", "b"))
    problem = SimpleNamespace(couplings=[("lambda", 8.0, term)],
                              targets=lambda: {"a": 100.0, "b": 100.0, "c": 100.0})
    yielder = WindowedYield(problem, factor=2.0, window=2)

    def run(misfits):
        return [yielder(misfits) for _ in range(2)][-1]

    # progress of 50 % of the excess per window, and a data set at target: no yield
    for excess in (800.0, 400.0, 200.0):
        assert run({"a": 100.0 + excess, "b": 50.0, "c": 50.0}) == set()
    assert problem.couplings[0][1] == 8.0
    # 'a' stands still: the first stalled window counts, the second yields
    assert run({"a": 300.0, "b": 50.0, "c": 50.0}) == set()
    assert run({"a": 300.0, "b": 50.0, "c": 50.0}) == {"a"}
    assert problem.couplings[0][1] == 4.0
    # a data set no coupling reads ('c') never makes a coupling yield
    for _ in range(4):
        assert run({"a": 50.0, "b": 50.0, "c": 900.0}) == set()
    assert problem.couplings[0][1] == 4.0


def test_a_joint_regularization_cools_only_when_all_its_data_sets_are_above_target():
    # it is every model's smoothness: cooled for the one data set still above
    # target it left the other models with their smallness alone
    from types import SimpleNamespace

    from jointinv.problem import InversionProblem
    from jointinv.solvers.cooling import STALLS_BEFORE_YIELDING, Cooling

    regularizations = {"joint": SimpleNamespace(keys=("a", "b")), "a": SimpleNamespace(keys=("a",))}
    problem = SimpleNamespace(targets=lambda: {"a": 10.0, "b": 10.0},
                              betas={"joint": 1.0, "a": 1.0}, shared_betas=set(),
                              regularizations=regularizations, couplings=[])
    problem.above_target = lambda name, m: InversionProblem.above_target(problem, name, m)
    problem.tuned_betas = lambda: InversionProblem.tuned_betas(problem)
    assert not problem.above_target("joint", {"a": 5.0, "b": 20.0})
    assert problem.above_target("a", {"a": 20.0, "b": 5.0})
    cooling = Cooling(problem, 2.0)
    cooling({"a": 20.0, "b": 20.0})
    assert problem.betas == {"joint": 0.5, "a": 0.5}
    # 'a' at target, 'b' above: the joint beta holds until 'b' has stalled, then yields
    betas = []
    for _ in range(STALLS_BEFORE_YIELDING + 1):
        cooling({"a": 5.0, "b": 20.0})
        betas.append(problem.betas["joint"])
    # (the first call above is the reference of 'b's first stall)
    assert betas[:STALLS_BEFORE_YIELDING - 1] == [0.5] * (STALLS_BEFORE_YIELDING - 1)
    assert betas[STALLS_BEFORE_YIELDING - 1] == 0.25
    assert problem.betas["a"] == 0.5


@pytest.mark.parametrize("regularization", ["joint_total_variation",
                                            "joint_minimum_gradient_support"])
def test_a_joint_regularization_keeps_the_smallness_beta_of_a_separate_inversion(
        setups, regularization):
    # balanced alone, the smallness got a beta 1e4 times larger (its Hessian is
    # alpha_s = 1e-3 against ~8 for the smoothness): it outweighed the joint term,
    # and the minimum gradient support left a speckled, worse velocity model
    separate = run_strategy("joint", setups, progress=False, max_iterations=1, coupling=None)
    joint = run_strategy("joint", setups, progress=False, max_iterations=1, coupling=None,
                         regularization=regularization)
    for key in ("a", "b"):
        assert joint.history[0][f"beta[{key}]"] == pytest.approx(
            separate.history[0][f"beta[{key}]"], rel=1e-6)


def test_a_joint_regularization_shares_cool_with_each_models_own_beta(setups):
    joint = run_strategy("joint", setups, progress=False, max_iterations=30, hold_iterations=5,
                         coupling=None, regularization="joint_total_variation")
    name = "beta[joint_total_variation]"
    # its own beta stays put; each model's beta (and share) cools with its data set
    assert {row[name] for row in joint.history} == {joint.history[0][name]}
    cooled = [row["beta[a]"] / joint.history[0]["beta[a]"] for row in joint.history]
    assert min(cooled) < 0.5
    for key in ("a", "b"):
        assert joint.misfit(key) <= 1.05 * setups[key].data.n_data


def test_balance_scales_each_models_share_from_its_amplitude(small_grid, block_model):
    term = JointTotalVariation(("a", "b"), small_grid, scales={"a": 2.0, "b": 300.0}, eps=0.1)
    models = {"a": 2.0 + block_model, "b": 300.0 + 30.0 * block_model}
    before = term.squared_gradient(models)
    term.balance({"a": 4.0, "b": 1.0})
    assert term.scales == {"a": 1.0, "b": 300.0}
    ga = term.squared_gradient({"a": models["a"], "b": torch.full_like(block_model, 300.0)})
    gb = term.squared_gradient({"a": torch.full_like(block_model, 2.0), "b": models["b"]})
    assert torch.allclose(ga + gb, term.squared_gradient(models))
    assert float(ga.sum()) == pytest.approx(4.0 * float((before - gb).sum()), rel=1e-9)
    # the next balance starts again from the amplitudes, not from the last scales
    term.balance({"a": 1.0, "b": 1.0})
    assert term.scales == {"a": 2.0, "b": 300.0}


@pytest.mark.parametrize("regularization", ["separate", "joint_total_variation",
                                            "joint_minimum_gradient_support"])
@pytest.mark.parametrize("eps", [0.0, -1.0, float("nan")])
def test_a_bad_regularization_eps_is_refused_by_name(setups, regularization, eps):
    with pytest.raises(ValueError, match="regularization_eps"):
        run_strategy("joint", setups, progress=False, max_iterations=1, coupling=None,
                     regularization=regularization, regularization_eps=eps)


def test_each_joint_regularization_defaults_to_its_own_eps(setups):
    from jointinv.joint_regularization import DEFAULT_EPS, joint_regularizations
    from jointinv.strategies.common import build_all

    built = build_all(setups, smoothness=False)
    cell = min(setups["a"].operator.grid.dx, setups["a"].operator.grid.dz)
    for kind, eps in DEFAULT_EPS.items():
        _, (update,) = joint_regularizations(kind, built)
        assert update.final == pytest.approx(eps / cell)

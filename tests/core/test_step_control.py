"""First-order step control: lr relative to the model, step in property units, beta cooling."""

import math
import re

import pytest

import jointinv
from jointinv import PhysicsSetup
from jointinv.deep_image_prior import DeepImagePrior
from jointinv.strategies import run_strategy


def _first_step(result):
    return result.models["density"] - result.initial_models["density"]


def test_step_is_in_property_units(velocity_scale_case):
    operator, data, start = velocity_scale_case
    # Adam's first update is lr * sign(gradient) per parameter: exactly the step
    result = jointinv.invert(operator, data, start, solver="adam", step=20.0, beta=1e-6,
                             max_iterations=1, progress=False)
    assert float(_first_step(result).abs().max()) == pytest.approx(20.0, rel=1e-6)


def test_lr_is_relative_to_the_rms_model(velocity_scale_case):
    operator, data, start = velocity_scale_case
    result = jointinv.invert(operator, data, start, solver="adam", lr=0.01, beta=1e-6,
                             max_iterations=1, progress=False)
    # 1 % of the RMS starting model (2000): 20 per step, not 0.01
    assert float(_first_step(result).abs().max()) == pytest.approx(20.0, rel=1e-6)


def test_step_per_model_in_a_joint_inversion(velocity_scale_case):
    operator, data, start = velocity_scale_case
    setups = {"a": PhysicsSetup(operator, data, start, beta=1e-6),
              "b": PhysicsSetup(operator, data, start, beta=1e-6)}
    result = run_strategy("cross_gradient", setups, solver="adam", step={"a": 5.0, "b": 40.0},
                          max_iterations=1, progress=False)
    for key, step in (("a", 5.0), ("b", 40.0)):
        change = result.models[key] - start
        assert float(change.abs().max()) == pytest.approx(step, rel=1e-6)
    with pytest.raises(ValueError, match=re.escape("step must be a dict {model: step}")):
        run_strategy("cross_gradient", setups, solver="adam", step=5.0, progress=False)
    with pytest.raises(ValueError, match=re.escape("missing ['b']")):
        run_strategy("cross_gradient", setups, solver="adam", step={"a": 5.0}, progress=False)


def test_step_errors_are_named(velocity_scale_case):
    operator, data, start = velocity_scale_case
    with pytest.raises(ValueError, match="step sets Adam's step size; solver 'lbfgs'"):
        jointinv.invert(operator, data, start, solver="lbfgs", step=10.0)
    with pytest.raises(ValueError, match="give lr .relative. or step .property units., not both"):
        jointinv.invert(operator, data, start, solver="adam", step=10.0, lr=0.01)
    with pytest.raises(ValueError, match=re.escape("step must be a finite number > 0, got -1.0")):
        jointinv.invert(operator, data, start, solver="adam", step=-1.0)
    prior = DeepImagePrior(operator.grid, {"density": start})
    with pytest.raises(ValueError, match="with DeepImagePrior give lr"):
        jointinv.invert(operator, data, start, solver="adam", step=10.0, parameterization=prior,
                        progress=False)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_first_order_solvers_cool_beta_while_above_target(velocity_scale_case, solver):
    operator, data, start = velocity_scale_case
    options = dict(solver=solver, beta=1e3, max_iterations=6, progress=False,
                   step=10.0 if solver == "adam" else None)
    cooled = jointinv.invert(operator, data, start, cooling_rate=2, **options)
    betas = [row["beta[density]"] for row in cooled.history]
    assert betas[0] == 1e3 and betas[1] == 1e3 and betas[2] == 500.0 and betas[4] == 250.0
    fixed = jointinv.invert(operator, data, start, cooling_factor=1.0, **options)
    assert {row["beta[density]"] for row in fixed.history} == {1e3}
    # cooling lets the data speak: a lower misfit after the same number of steps
    assert cooled.history[-1]["phi_d[density]"] < fixed.history[-1]["phi_d[density]"]


def _count_forwards(operator):
    counts = [0]
    forward = operator._forward

    def counted(model):
        counts[0] += 1
        return forward(model)

    operator._forward = counted
    return counts


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("cooling_factor", [1.0, 2.0])
def test_one_simulation_per_iteration(velocity_scale_case, solver, cooling_factor):
    operator, data, start = velocity_scale_case
    counts = _count_forwards(operator)
    iterations = 8
    result = jointinv.invert(operator, data, start, solver=solver, beta=1e-2, progress=False,
                             max_iterations=iterations, cooling_factor=cooling_factor)
    if cooling_factor > 1:  # cooling changes the objective, never the simulations
        assert result.history[-1]["beta[density]"] < result.history[0]["beta[density]"]
    assert len(result.history) == iterations + 1
    if solver == "adam":
        assert counts[0] == iterations + 1   # start + one per step; the final data reused
    else:
        # each line search evaluates at least once; its accepted trial is reused as the
        # next iteration's evaluation (without reuse: 2 per iteration)
        assert iterations + 1 <= counts[0] < 2 * iterations


def test_cosine_schedule_decays_the_rate_to_zero(velocity_scale_case):
    operator, data, start = velocity_scale_case
    runs = {schedule: jointinv.invert(operator, data, start, solver="adam", step=20.0,
                                      beta=1e-6, chi_factor=1e-9, max_iterations=4,
                                      lr_schedule=schedule, progress=False)
            for schedule in ("constant", "cosine")}
    rates = [row["lr"] for row in runs["cosine"].history]
    # half a cosine from the first rate to 0 at max_iterations, one value per step taken
    expected = [rates[0] * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(1, 5)]
    assert rates[1:] == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert rates[-1] == pytest.approx(0.0, abs=1e-15)
    assert "lr" not in runs["constant"].history[-1]
    # the same first step, then shorter ones: the cosine run ends nearer its start
    change = {k: float((r.models["density"] - start).abs().max()) for k, r in runs.items()}
    assert change["cosine"] < change["constant"]


def test_lr_schedule_errors_are_named(velocity_scale_case):
    operator, data, start = velocity_scale_case
    with pytest.raises(ValueError, match="lr_schedule 'cosine' needs solver 'adam'"):
        jointinv.invert(operator, data, start, solver="lbfgs", lr_schedule="cosine")
    with pytest.raises(ValueError, match=re.escape("lr_schedule must be one of ['constant', "
                                                   "'cosine'], got 'cosin'")):
        jointinv.invert(operator, data, start, solver="adam", lr_schedule="cosin")

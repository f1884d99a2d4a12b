"""Solver options of the FWI workflow: callback, step preconditioning, shot mini-batching."""

import re

import numpy as np
import pytest
import torch
from conftest import DenseLinearOperator
from jointinv.physics.acoustic import AcousticWave2D

import jointinv
from jointinv import Grid
from jointinv.deep_image_prior import DeepImagePrior
from jointinv.preconditioning import WEIGHT_FLOOR, depth_weights, illumination_weights


@pytest.mark.parametrize("solver", ["gauss_newton", "adam", "lbfgs"])
def test_callback_sees_rows_and_models_and_can_stop(velocity_scale_case, solver):
    operator, data, start = velocity_scale_case
    seen = []

    def callback(row, models):
        seen.append((row["iteration"], models["density"].shape, row["phi_d[density]"]))
        return row["iteration"] >= 2

    result = jointinv.invert(operator, data, start, solver=solver, beta=1e-3, callback=callback,
                             max_iterations=10, progress=False)
    assert result.history[-1]["stopped"] == "the callback asked to stop"
    assert result.history[-1]["iteration"] == 2
    assert all(shape == operator.grid.shape for _, shape, _ in seen)
    assert seen[-1][2] == result.history[-1]["phi_d[density]"]
    with pytest.raises(TypeError, match="callback must be callable"):
        jointinv.invert(operator, data, start, solver=solver, callback=3)


def test_depth_weights():
    grid = Grid(nx=3, nz=4, dx=1.0, dz=10.0)
    weights = depth_weights(grid, power=2.0)
    expected = torch.tensor([5.0, 15.0, 25.0, 35.0], dtype=torch.float64) / 35.0
    torch.testing.assert_close(weights[:, 1], expected**2)
    assert weights.shape == grid.shape


def test_illumination_weights_use_the_median_as_water_level():
    diagonal = torch.tensor([[1e-6, 1.0, 1.0], [1.0, 1.0, 1e4]], dtype=torch.float64)
    weights = illumination_weights(diagonal)
    raw = (diagonal / (diagonal + 1.0)).sqrt()   # the median is 1
    torch.testing.assert_close(weights, raw / raw.max())
    # well-seen cells step alike; the barely seen one hardly moves
    assert float(weights[0, 1]) == pytest.approx(0.7071, abs=1e-3)
    assert float(weights[0, 0]) < 2e-3


def test_depth_preconditioner_scales_adam_steps(velocity_scale_case):
    operator, data, start = velocity_scale_case
    result = jointinv.invert(operator, data, start, solver="adam", step=20.0, beta=1e-6,
                             preconditioner="depth", depth_power=1.0, max_iterations=1,
                             progress=False)
    change = (result.models["density"] - start).abs()
    # Adam's first update is the step times each cell's weight
    torch.testing.assert_close(change, 20.0 * depth_weights(operator.grid), rtol=1e-6, atol=0)


def test_illumination_preconditioner_damps_unseen_cells(velocity_scale_case):
    operator, data, start = velocity_scale_case
    matrix = operator.matrix.clone()
    matrix[:, :6] *= 1e-3  # the top row is barely illuminated
    dim = DenseLinearOperator(operator.grid, matrix=matrix)
    dim_data = dim.simulate(start + 100.0, noise_floor=1.0, seed=1)
    result = jointinv.invert(dim, dim_data, start, solver="adam", step=20.0, beta=1e-6,
                             preconditioner="illumination", max_iterations=1, progress=False)
    change = (result.models["density"] - start).abs()
    assert float(change[0].max()) < 0.01 * 20.0
    assert float(change[1:].max()) > 0.5 * 20.0
    plain = jointinv.invert(dim, dim_data, start, solver="adam", step=20.0, beta=1e-6,
                            max_iterations=1, progress=False)
    assert float((plain.models["density"] - start)[0].abs().min()) == pytest.approx(20.0)
    # a user array works as well, with L-BFGS; zero weights are floored, never frozen
    weights = np.ones(operator.grid.shape)
    weights[0] = 0.0
    lbfgs = jointinv.invert(operator, data, start, solver="lbfgs", beta=1e-3,
                            preconditioner=weights, max_iterations=5, progress=False)
    assert lbfgs.history[-1]["phi"] < 0.1 * lbfgs.history[0]["phi"]
    assert WEIGHT_FLOOR > 0


def test_preconditioner_errors_are_named(velocity_scale_case):
    operator, data, start = velocity_scale_case
    with pytest.raises(ValueError, match="Gauss-Newton scales its steps by the Hessian"):
        jointinv.invert(operator, data, start, preconditioner="depth")
    with pytest.raises(ValueError, match="preconditioner must be one of"):
        jointinv.invert(operator, data, start, solver="adam", preconditioner="hessian")
    with pytest.raises(ValueError, match=re.escape("preconditioner weights of 'density' must "
                                                   "have the grid shape (5, 6), got (2, 2)")):
        jointinv.invert(operator, data, start, solver="adam", preconditioner=np.ones((2, 2)),
                        beta=1.0, progress=False)
    prior = DeepImagePrior(operator.grid, {"density": start})
    with pytest.raises(ValueError, match="DeepImagePrior has its own parameters"):
        jointinv.invert(operator, data, start, solver="adam", preconditioner="depth",
                        parameterization=prior, beta=1.0, progress=False)


@pytest.fixture(scope="module")
def four_shots():
    grid = Grid(nx=14, nz=12, dx=10.0, dz=10.0)
    sources = [[x, 15.0] for x in (15.0, 45.0, 85.0, 125.0)]
    receivers = [[x, 15.0] for x in (25.0, 65.0, 105.0)]
    operator = AcousticWave2D(grid, sources, receivers, dt=1.5e-3, nt=50, frequency=25.0,
                              pml_width=4, max_velocity=3000.0, compile=False)
    z = torch.linspace(0, 1, grid.nz, dtype=torch.float64)[:, None]
    true = (2000.0 + 600.0 * z).expand(grid.shape).clone()
    data = operator.simulate(true, noise_floor=1e-3 * float(operator(true).abs().max()), seed=0)
    return operator, data, torch.full_like(true, 2300.0)


def test_shot_batches_are_seeded_subsets_scaled_to_the_full_misfit(four_shots):
    operator, data, start = four_shots
    options = dict(solver="adam", step=10.0, beta=1e-6, shots_per_iteration=2,
                   max_iterations=3, progress=False)
    first = jointinv.invert(operator, data, start, batch_seed=1, **options)
    again = jointinv.invert(operator, data, start, batch_seed=1, **options)
    other = jointinv.invert(operator, data, start, batch_seed=2, **options)
    subsets = [row["shots"] for row in first.history]
    assert subsets == [row["shots"] for row in again.history]
    assert subsets != [row["shots"] for row in other.history]
    shots = [int(s) for s in subsets[0].split(": ")[1].split()]
    assert len(shots) == 2
    # iteration 0 is at the start: the estimate is 4/2 times the chi^2 of those shots
    predicted = operator(start)
    rows = torch.tensor(shots)
    subset_chi2 = float((((predicted[rows] - data.observed[rows])
                          / data.standard_deviation[rows]) ** 2).sum())
    assert first.history[0]["phi_d[velocity]"] == pytest.approx(2.0 * subset_chi2, rel=1e-10)
    # the result's data are every shot's
    assert tuple(first.predicted["velocity"].shape) == operator.data_shape


def test_shot_batch_errors_are_named(four_shots, velocity_scale_case):
    operator, data, start = four_shots
    with pytest.raises(ValueError, match="shots_per_iteration needs solver 'adam'"):
        jointinv.invert(operator, data, start, solver="lbfgs", shots_per_iteration=2)
    linear, vector, flat = velocity_scale_case
    with pytest.raises(ValueError, match="shots_per_iteration needs an operator with shots"):
        jointinv.invert(linear, vector, flat, solver="adam", shots_per_iteration=2, beta=1.0,
                        progress=False)

"""Tests of the synthetic model generator, random fields and initial models."""

import re

import numpy as np
import pytest
import torch

from jointinv import Grid
from jointinv.synthetic import (
    FAMILIES,
    Fault,
    gaussian_random_field,
    homogeneous_model,
    layer_units,
    linear_gradient_model,
    matern_correlation,
    perturbed_model,
    random_structure,
    smoothed_1d_model,
    smoothed_model,
    velocity_model,
)

GRID = Grid(nx=60, nz=30, dx=10.0, dz=10.0)


@pytest.mark.parametrize("family", FAMILIES)
def test_reproducible_and_in_range(family):
    model = velocity_model(family, GRID, seed=4, v_min=1800.0, v_max=4200.0,
                           water_depth=0.0, dtype=torch.float64)
    assert model.shape == GRID.shape and model.dtype == torch.float64
    assert torch.equal(model, velocity_model(family, GRID, seed=4, v_min=1800.0, v_max=4200.0,
                                             water_depth=0.0, dtype=torch.float64))
    assert not torch.equal(model, velocity_model(family, GRID, seed=5, v_min=1800.0,
                                                 v_max=4200.0, water_depth=0.0,
                                                 dtype=torch.float64))
    assert float(model.min()) >= 1800.0 and float(model.max()) <= 4200.0
    assert len(torch.unique(model)) >= 2


def test_families_differ_for_one_seed():
    models = [velocity_model(family, GRID, seed=1) for family in FAMILIES]
    for i in range(len(models)):
        for j in range(i + 1, len(models)):
            assert not torch.equal(models[i], models[j])


@pytest.mark.parametrize("seed", range(4))
def test_flatvel_is_laterally_constant_and_increasing(seed):
    model = velocity_model("flatvel", GRID, seed=seed)
    assert torch.equal(model, model[:, :1].expand_as(model))
    assert bool((model[1:, 0] >= model[:-1, 0]).all())


@pytest.mark.parametrize("seed", range(4))
def test_curvevel_layers_are_not_flat(seed):
    model = velocity_model("curvevel", GRID, seed=seed)
    assert not torch.equal(model, model[:, :1].expand_as(model))


@pytest.mark.parametrize("seed", range(4))
def test_flatfault_has_one_lateral_step_along_the_fault(seed):
    structure = random_structure("flatfault", GRID, seed=seed)
    model = velocity_model("flatfault", GRID, seed=seed).numpy()
    (fault,) = structure.faults
    n_rows_with_step = 0
    for row, depth in zip(model, GRID.cell_centers_z, strict=True):
        steps = np.flatnonzero(np.diff(row) != 0)
        assert len(steps) <= 1  # flat layers on both sides of one fault
        if len(steps):
            n_rows_with_step += 1
            step_x = GRID.nodes_x[steps[0] + 1]
            assert abs(step_x - fault.trace_x(depth)) <= GRID.dx
    assert n_rows_with_step >= 1


@pytest.mark.parametrize("seed", range(4))
def test_curvefault_is_discontinuous_across_the_fault(seed):
    structure = random_structure("curvefault", GRID, seed=seed)
    (fault,) = structure.faults
    model = velocity_model("curvefault", GRID, seed=seed).numpy()
    # Compare the two cells on either side of the fault trace with the pairs
    # two cells further away (same side): jumps concentrate on the fault.
    jumps_across, jumps_beside = [], []
    for i, depth in enumerate(GRID.cell_centers_z):
        j = int(np.floor((fault.trace_x(depth) - GRID.x0) / GRID.dx))
        if 3 <= j < GRID.nx - 4:
            jumps_across.append(abs(model[i, j + 1] - model[i, j]))
            jumps_beside.append(max(abs(model[i, j - 2] - model[i, j - 3]),
                                    abs(model[i, j + 4] - model[i, j + 3])))
    assert np.count_nonzero(jumps_across) >= 3
    assert np.count_nonzero(jumps_across) > 2 * np.count_nonzero(jumps_beside)


def test_fault_moves_the_hanging_wall_down_by_the_throw():
    fault = Fault(x=300.0, z=150.0, dip=90.0, dips_right=True, throw=50.0)
    units = layer_units(GRID, [100.0], faults=(fault,))
    left, right = units[:, 0], units[:, -1]
    assert np.flatnonzero(np.diff(left))[0] + 1 == 10  # interface at 100 m
    assert np.flatnonzero(np.diff(right))[0] + 1 == 15  # moved down to 150 m


def test_water_layer():
    model = velocity_model("marmousi", GRID, seed=2, water_velocity=1480.0,
                           water_depth=50.0, v_min=1600.0)
    assert torch.all(model[:5] == 1480.0)  # cell centres 5 ... 45 m
    assert torch.all(model[5:] >= 1600.0)
    default = velocity_model("marmousi", GRID, seed=2)
    assert torch.all(default[:3] == 1500.0)  # 10 % of 300 m
    assert float(velocity_model("flatvel", GRID, seed=2)[0, 0]) > 1500.0


def test_marmousi_is_complex():
    model = velocity_model("marmousi", Grid(nx=150, nz=60, dx=12.5, dz=12.5), seed=0)
    below_water = model[8:]
    assert len(random_structure("marmousi", GRID, seed=0).faults) == 3
    assert len(torch.unique(below_water)) > 1000  # texture: not piecewise constant
    lateral = (below_water[:, 1:] - below_water[:, :-1]).abs().mean()
    assert float(lateral) > 10.0  # m/s per cell: structure varies along x


def test_velocity_model_errors():
    with pytest.raises(ValueError, match=re.escape(
            "family must be one of ['curvefault', 'curvevel', 'flatfault', 'flatvel', "
            "'marmousi'], got 'flat'")):
        velocity_model("flat", GRID)
    with pytest.raises(ValueError, match=re.escape("seed must be an integer in [0, 2**63)")):
        velocity_model("flatvel", GRID, seed=-3)
    with pytest.raises(TypeError, match=re.escape("seed must be an integer, got str")):
        velocity_model("flatvel", GRID, seed="1")
    with pytest.raises(ValueError, match=re.escape(
            "v_min must be less than v_max, got v_min=3000.0, v_max=2000.0")):
        velocity_model("flatvel", GRID, v_min=3000, v_max=2000)
    with pytest.raises(ValueError, match=re.escape(
            "water_depth must be less than the grid depth 300.0 m, got 300.0")):
        velocity_model("marmousi", GRID, water_depth=300.0)
    with pytest.raises(ValueError, match=re.escape("texture must be in [0, 1), got 1.5")):
        velocity_model("flatvel", GRID, texture=1.5)
    with pytest.raises(ValueError, match=re.escape("n_layers must be an integer >= 1, got 0")):
        velocity_model("flatvel", GRID, n_layers=0)
    with pytest.raises(TypeError, match=re.escape("grid must be a jointinv.Grid, got tuple")):
        velocity_model("flatvel", (30, 60))


# -- Gaussian random fields -----------------------------------------------------------------

def test_grf_statistics_match_the_matern_kernel():
    fields = np.stack([gaussian_random_field((128, 128), 4.0, smoothness=3.0, seed=s,
                                             dtype=torch.float64).numpy() for s in range(4)])
    assert abs(fields.mean()) < 0.05
    assert fields.std() == pytest.approx(1.0, abs=0.05)
    for lag in (2, 4, 8):
        empirical = 0.5 * ((fields[:, :, :-lag] * fields[:, :, lag:]).mean()
                           + (fields[:, :-lag, :] * fields[:, lag:, :]).mean())
        assert empirical == pytest.approx(float(matern_correlation(lag, 4.0, 3.0)), abs=0.05)


def test_grf_longer_correlation_is_smoother_and_anisotropy_works():
    def roughness(field, axis):
        return float(np.diff(field.numpy(), axis=axis).std())

    short = gaussian_random_field((64, 64), 2.0, seed=3)
    long = gaussian_random_field((64, 64), 8.0, seed=3)
    assert roughness(long, 1) < 0.5 * roughness(short, 1)
    stretched = gaussian_random_field((64, 64), (2.0, 8.0), seed=3)  # long along x
    assert roughness(stretched, 1) < 0.5 * roughness(stretched, 0)
    in_metres = gaussian_random_field((64, 64), 40.0, seed=3, spacing=10.0)
    assert torch.allclose(in_metres, gaussian_random_field((64, 64), 4.0, seed=3))


def test_grf_reproducible_and_errors():
    first = gaussian_random_field((16, 24), 3.0, seed=9)
    assert first.shape == (16, 24) and first.dtype == torch.get_default_dtype()
    assert torch.equal(first, gaussian_random_field((16, 24), 3.0, seed=9))
    assert not torch.equal(first, gaussian_random_field((16, 24), 3.0, seed=10))
    with pytest.raises(ValueError, match=re.escape(
            "correlation_length must be a finite number > 0, got 0.0")):
        gaussian_random_field((8, 8), 0.0)
    with pytest.raises(ValueError, match=re.escape("shape must be an integer >= 1, got 0")):
        gaussian_random_field((0, 8), 2.0)
    with pytest.raises(ValueError, match=re.escape(
            "correlation_length must be a number or a sequence of 2 numbers (one per axis)")):
        gaussian_random_field((8, 8), (1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match=re.escape("smoothness must be a finite number > 0")):
        gaussian_random_field((8, 8), 2.0, smoothness=-1.0)


# -- initial models -------------------------------------------------------------------------

@pytest.fixture
def true_model():
    return velocity_model("marmousi", GRID, seed=6, dtype=torch.float64)


def test_smoothed_model(true_model):
    smooth = smoothed_model(true_model, GRID, smoothing_length=50.0, water_depth=30.0)
    assert smooth.dtype == true_model.dtype and smooth.shape == true_model.shape
    assert torch.all(smooth[:3] == 1500.0)
    roughness = (true_model[3:].diff(dim=1).abs().mean(), smooth[3:].diff(dim=1).abs().mean())
    assert float(roughness[1]) < 0.3 * float(roughness[0])
    assert float(smooth[3:].mean()) == pytest.approx(float(true_model[3:].mean()), rel=0.05)
    # Edges are extended, not zero-padded: a constant model stays constant.
    constant = torch.full(GRID.shape, 2000.0, dtype=torch.float64)
    assert torch.allclose(smoothed_model(constant, GRID, 80.0), constant)


def test_smoothed_1d_model(true_model):
    profile = smoothed_1d_model(true_model, GRID, smoothing_length=30.0, water_depth=30.0)
    assert torch.equal(profile, profile[:, :1].expand_as(profile))
    assert torch.all(profile[:3] == 1500.0)
    # Without smoothing length effects, a laterally constant model is kept.
    layered = velocity_model("flatvel", GRID, seed=1, dtype=torch.float64)
    assert torch.allclose(smoothed_1d_model(layered, GRID, 1e-3), layered)


def test_homogeneous_and_gradient_models():
    homogeneous = homogeneous_model(GRID, 2500.0, water_depth=20.0, dtype=torch.float64)
    assert torch.all(homogeneous[:2] == 1500.0) and torch.all(homogeneous[2:] == 2500.0)
    gradient = linear_gradient_model(GRID, 1800.0, 4000.0, dtype=torch.float64)
    column = gradient[:, 0].numpy()
    assert column == pytest.approx(1800.0 + 2200.0 * GRID.cell_centers_z / 300.0)
    assert torch.equal(gradient, gradient[:, :1].expand_as(gradient))
    with_water = linear_gradient_model(GRID, 1800.0, 4000.0, water_depth=100.0)
    assert torch.all(with_water[:10] == 1500.0)
    assert float(with_water[10, 0]) == pytest.approx(1800.0 + 2200.0 * 5.0 / 200.0)


@pytest.mark.parametrize("percent", [-30, -10, 20])
def test_perturbed_model(true_model, percent):
    start = smoothed_1d_model(true_model, GRID, 30.0, water_depth=30.0)
    perturbed = perturbed_model(start, GRID, percent, water_depth=30.0)
    assert torch.allclose(perturbed[3:], start[3:] * (1 + percent / 100))
    assert torch.all(perturbed[:3] == 1500.0)


def test_initial_model_errors(true_model):
    with pytest.raises(ValueError, match=re.escape(
            "model must have the grid shape (nz, nx) = (30, 60), got (60, 30)")):
        smoothed_model(true_model.T, GRID, 50.0)
    with pytest.raises(ValueError, match=re.escape(
            "smoothing_length must be a finite number > 0, got 0.0")):
        smoothed_1d_model(true_model, GRID, 0.0)
    with pytest.raises(ValueError, match=re.escape("percent must be a finite number > -100")):
        perturbed_model(true_model, GRID, -100)
    with pytest.raises(ValueError, match=re.escape("water_depth must be a finite number >= 0")):
        homogeneous_model(GRID, 2000.0, water_depth=-5.0)
    with pytest.raises(ValueError, match=re.escape("velocity must be a finite number > 0")):
        homogeneous_model(GRID, 0.0)

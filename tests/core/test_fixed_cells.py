"""Fixed-cell masks (a water layer): every solver and parameterization keeps the start there."""

import re

import numpy as np
import pytest
import torch
from conftest import DenseLinearOperator
from jointinv.networks import UNet

import jointinv
from jointinv import Grid, PhysicsSetup
from jointinv.deep_image_prior import DeepImagePrior
from jointinv.masks import check_mask
from jointinv.neural_field import NeuralField, OutputHead
from jointinv.parameterizations import Cells
from jointinv.strategies import run_strategy


@pytest.fixture
def case():
    grid = Grid(nx=8, nz=6, dx=1.0, dz=1.0)
    operator = DenseLinearOperator(grid, n_data=60, seed=4)
    true = torch.full(grid.shape, 1.0, dtype=torch.float64)
    true[3:, 2:6] = 2.0
    true[:2] = 0.3  # the "water": the data want it changed, the mask forbids it
    data = operator.simulate(true, noise_floor=0.01, seed=2)
    start = torch.full_like(true, 1.0) + 0.01 * torch.arange(grid.n_cells).reshape(grid.shape)
    mask = torch.zeros(grid.shape, dtype=torch.bool)
    mask[:2] = True
    return operator, data, start, mask


@pytest.mark.parametrize("solver", ["gauss_newton", "adam", "lbfgs"])
def test_masked_cells_stay_bit_identical_with_every_solver(case, solver):
    operator, data, start, mask = case
    result = jointinv.invert(operator, data, start, solver=solver, mask=mask.numpy(),
                             max_iterations=15, beta=1e-3, progress=False,
                             lr=0.05 if solver == "adam" else None)
    model = result.models["density"]
    assert torch.equal(model[mask], start[mask])
    # the free cells did move, toward the data
    assert float((model[~mask] - start[~mask]).abs().max()) > 0.1
    assert result.history[-1]["phi_d[density]"] < 0.5 * result.history[0]["phi_d[density]"]


def test_without_the_mask_the_water_changes(case):
    # proves the case above can fail: the data pull the masked rows away from the start
    operator, data, start, mask = case
    result = jointinv.invert(operator, data, start, solver="adam", lr=0.05, beta=1e-3,
                             max_iterations=15, progress=False)
    assert float((result.models["density"][mask] - start[mask]).abs().max()) > 1e-3


def test_reciprocal_map_keeps_the_start_bit_for_bit():
    # slowness round trip 1 / (1 / v) is not exact in floating point; the mask must be
    grid = Grid(nx=6, nz=6, dx=5.0, dz=5.0)
    depths = np.linspace(2.5, 27.5, 6)
    tomo = jointinv.create_physics("traveltime", grid, np.column_stack([0 * depths, depths]),
                                   np.column_stack([0 * depths + 30.0, depths]))
    true = torch.full(grid.shape, 2000.0, dtype=torch.float64)
    true[2:4, 2:4] = 1700.0
    data = tomo.simulate(true, relative_error=0.01, noise_floor=1e-6, seed=0)
    start = torch.full_like(true, 1999.0) + torch.rand(grid.shape, dtype=torch.float64,
                                                       generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(grid.shape, dtype=torch.bool)
    mask[0] = True
    for solver in ("gauss_newton", "lbfgs"):
        result = jointinv.invert(tomo, data, start, solver=solver, mask=mask, max_iterations=5,
                                 progress=False)
        assert torch.equal(result.models["velocity"][mask], start[mask])


def _small_unet(out_channels=1):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return UNet(in_channels=1, out_channels=out_channels, depth=1, base_channels=4,
                    norm=None)


@pytest.mark.parametrize("kind", ["cells", "deep_image_prior", "neural_field"])
def test_every_parameterization_returns_the_start_where_masked(case, kind):
    operator, data, start, mask = case
    grid = operator.grid
    if kind == "cells":
        module = Cells(start, key="density")
    elif kind == "deep_image_prior":
        module = DeepImagePrior(grid, {"density": start}, network=_small_unet())
    else:
        module = NeuralField(grid, {"density": OutputHead("none")}, widths=(8, 8),
                             dtype=torch.float64)
    result = jointinv.invert(operator, data, start, solver="adam", lr=1e-2, beta=1e-3,
                             parameterization=module, mask=mask, max_iterations=5,
                             progress=False)
    assert torch.equal(result.models["density"][mask], start[mask])
    assert not torch.equal(result.models["density"][~mask], start[~mask])
    # the mask is the run's, not the module's: afterwards it returns its own output
    if kind != "cells":
        with torch.no_grad():
            assert not torch.equal(module()["density"][mask], start[mask])


def test_cells_mask_holds_variable_and_property():
    start = torch.tensor([[2000.0, 2100.0], [2200.0, 2300.0]], dtype=torch.float64)
    mask = torch.tensor([[True, False], [False, False]])
    cells = Cells(start, map="reciprocal", key="v", mask=mask)
    with torch.no_grad():
        cells.normalized.mul_(1.5)
        assert float(cells()["v"][0, 0]) == 2000.0
        assert float(cells.variable[0, 0]) == float(cells.start_variable[0, 0])
        assert float(cells()["v"][1, 1]) != 2300.0


@pytest.mark.parametrize("strategy", ["cross_gradient", "sequential"])
def test_masks_reach_the_strategies(case, strategy):
    operator, data, start, mask = case
    setups = {"a": PhysicsSetup(operator, data, start, mask=mask, beta=1e-3),
              "b": PhysicsSetup(operator, data, start, beta=1e-3)}
    result = run_strategy(strategy, setups, max_iterations=4, progress=False)
    assert torch.equal(result.models["a"][mask], start[mask])
    assert not torch.equal(result.models["b"][mask], start[mask])


def test_bad_masks_are_named():
    with pytest.raises(TypeError, match=re.escape("mask must be a boolean array or tensor")):
        check_mask("mask", np.zeros((2, 2)), (2, 2))
    with pytest.raises(ValueError, match=re.escape("mask must have the grid shape (nz, nx) = "
                                                   "(2, 3), got (3, 2)")):
        check_mask("mask", np.zeros((3, 2), dtype=bool), (2, 3))
    with pytest.raises(ValueError, match="fixes every cell"):
        check_mask("mask", np.ones((2, 3), dtype=bool), (2, 3))

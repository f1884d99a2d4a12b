"""Maps and parameterizations: properties out, inversion variables for regularization."""

import re

import numpy as np
import pytest
import torch
from conftest import DenseLinearOperator

import jointinv
from jointinv import Grid, PhysicsSetup
from jointinv.maps import ComposedMap, ExpMap, IdentityMap, Log10Map, ReciprocalMap, get_map
from jointinv.parameterizations import Cells, Parameterization
from jointinv.strategies import run_strategy


@pytest.mark.parametrize("map_, values, slope", [
    (IdentityMap(), [0.5, 2.0], lambda m: torch.ones_like(m)),
    (ReciprocalMap(), [0.5, 2.0], lambda m: -1.0 / m**2),
    (ExpMap(), [-1.0, 3.0], torch.exp),
    (Log10Map(), [0.5, 2.0], lambda m: 1.0 / (m * np.log(10.0))),
])
def test_maps_invert_and_differentiate(map_, values, slope):
    m = torch.tensor(values, dtype=torch.float64)
    torch.testing.assert_close(map_.inverse(map_(m)), m, rtol=1e-14, atol=0)
    torch.testing.assert_close(map_.derivative(m), slope(m), rtol=1e-12, atol=0)


def test_maps_compose_like_functions():
    composed = get_map("reciprocal*exp")          # velocity = 1 / exp(m): log-slowness
    assert isinstance(composed, ComposedMap) and composed.name == "reciprocal*exp"
    velocity = torch.tensor([1500.0, 3000.0], dtype=torch.float64)
    m = composed.inverse(velocity)
    torch.testing.assert_close(m, torch.log(1.0 / velocity))
    torch.testing.assert_close(composed(m), velocity)
    torch.testing.assert_close(composed.derivative(m), -torch.exp(-m))  # d/dm exp(-m)
    with pytest.raises(ValueError, match=re.escape("map must be one of")):
        get_map("reciprocal*sqrt")


def test_cells_return_the_property_and_keep_bounds():
    velocity = torch.full((3, 4), 2000.0, dtype=torch.float64)
    cells = Cells(velocity, map="reciprocal", key="v", lower=1 / 2500.0, upper=1 / 1500.0)
    torch.testing.assert_close(cells()["v"], velocity)
    torch.testing.assert_close(cells.variable, 1.0 / velocity)
    with torch.no_grad():
        cells.normalized.mul_(10.0)               # a wild optimizer step
    cells.project_()
    assert float(cells()["v"].min()) == pytest.approx(1500.0)
    with pytest.raises(ValueError, match="outside the domain of the 'exp' map"):
        Cells(-velocity, map="exp")


class VelocityField(Parameterization):
    """A tiny 'network': velocity = 2000 + 400 tanh(theta) per cell, in m/s."""

    def __init__(self, key, shape):
        super().__init__()
        self.keys = (key,)
        self.theta = torch.nn.Parameter(torch.zeros(shape, dtype=torch.float64))

    def forward(self):
        return {self.keys[0]: 2000.0 + 400.0 * torch.tanh(self.theta)}


def test_a_parameterization_returning_velocity_drives_travel_times():
    grid = Grid(nx=8, nz=10, dx=5.0, dz=5.0)
    tomo = jointinv.create_physics("traveltime", grid, *_crosshole(grid))
    true = torch.full(grid.shape, 2000.0, dtype=torch.float64)
    true[3:7, 2:6] = 1700.0
    data = tomo.simulate(true, relative_error=0.005, noise_floor=1e-6, seed=0)
    start = torch.full_like(true, 2000.0)
    field = VelocityField("velocity", grid.shape)
    result = jointinv.invert(tomo, data, start, solver="adam", lr=0.05, beta=1e-6,
                             parameterization=field, max_iterations=300, progress=False)
    history = result.history
    assert history[-1]["phi_d[velocity]"] < 0.05 * history[0]["phi_d[velocity]"]
    # the regularization reads the inversion variable (slowness), computed from velocity
    expected = jointinv.PhysicsSetup(tomo, data, start).build("velocity").regularization(
        {"velocity": 1.0 / result.models["velocity"]})
    assert history[-1]["phi_m[velocity]"] == pytest.approx(float(expected), rel=1e-9)
    assert float(result.models["velocity"][4, 3]) < 1900.0


def test_one_parameterization_can_drive_two_physics():
    grid = Grid(nx=6, nz=5, dx=1.0, dz=1.0)
    block = torch.zeros(grid.shape, dtype=torch.float64)
    block[1:4, 2:5] = 1.0

    class Shared(Parameterization):
        keys = ("a", "b")

        def __init__(self):
            super().__init__()
            self.shape_field = torch.nn.Parameter(torch.zeros(grid.shape, dtype=torch.float64))
            self.levels = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))

        def forward(self):
            return {"a": self.levels[0] * self.shape_field,
                    "b": 300.0 * self.levels[1] * self.shape_field}

    setups = {}
    for key, scale, seed in (("a", 1.0, 1), ("b", 300.0, 2)):
        operator = DenseLinearOperator(grid, n_data=20, seed=seed)
        data = operator.simulate(scale * block, noise_floor=0.01 * scale, seed=seed)
        setups[key] = PhysicsSetup(operator, data, torch.zeros(grid.shape, dtype=torch.float64),
                                   beta=1e-4)
    # shared structure by construction: no structural coupling needed
    result = run_strategy("joint", setups, solver="adam", lr=0.05, parameterization=Shared(),
                          coupling={"kind": "cross_gradient", "weight": 0.0},
                          max_iterations=100, progress=False)
    for key in ("a", "b"):
        assert result.history[-1][f"phi_d[{key}]"] < 0.01 * result.history[0][f"phi_d[{key}]"]
    ratio = result.models["b"] / result.models["a"]
    assert float(ratio.std()) < 1e-9 * float(ratio.abs().mean())   # one structure, two scales
    with pytest.raises(ValueError, match="solver 'gauss_newton' works on cell models"):
        run_strategy("cross_gradient", setups, parameterization=Shared(), progress=False)
    with pytest.raises(ValueError, match=re.escape("inversion needs models ['b']")):
        run_strategy("cross_gradient", setups, solver="adam", progress=False,
                     parameterization=Cells(torch.zeros(grid.shape, dtype=torch.float64),
                                            key="a"))


@pytest.mark.parametrize("solver", ["gauss_newton", "adam", "lbfgs"])
def test_every_solver_honours_bounds(solver):
    grid = Grid(nx=6, nz=5, dx=1.0, dz=1.0)
    operator = DenseLinearOperator(grid, n_data=40, seed=3)
    true = torch.zeros(grid.shape, dtype=torch.float64)
    true[1:4, 2:5] = 2.0
    data = operator.simulate(true, noise_floor=0.01, seed=1)
    start = torch.full_like(true, 0.5)
    result = jointinv.invert(operator, data, start, solver=solver, bounds=(0.0, 1.0),
                             max_iterations=30, progress=False, beta=1e-3,
                             lr=0.2 if solver == "adam" else None)
    model = result.models["density"]
    assert float(model.min()) >= 0.0 and float(model.max()) <= 1.0
    assert float(model.max()) == pytest.approx(1.0)   # the data pull it onto the bound
    with pytest.raises(ValueError, match=re.escape("must contain the initial model")):
        jointinv.invert(operator, data, start, solver=solver, bounds=(0.6, 1.0))
    field = VelocityField("density", grid.shape)
    if solver != "gauss_newton":
        with pytest.raises(ValueError, match="VelocityField cannot honour model bounds"):
            jointinv.invert(operator, data, start, solver=solver, bounds=(0.0, 1.0),
                            parameterization=field, progress=False)


def test_setup_values_are_range_checked():
    grid = Grid(nx=4, nz=3, dx=1.0, dz=1.0)
    operator = DenseLinearOperator(grid, n_data=5)
    model = np.zeros(grid.shape)                   # NumPy arrays are accepted
    data = operator.simulate(torch.zeros(grid.shape, dtype=torch.float64), noise_floor=1.0)
    setup = PhysicsSetup(operator, data, model)
    assert setup.initial_model.dtype == torch.float64
    for options, message in (
            ({"beta": -5.0}, "beta must be a finite number > 0, got -5.0"),
            ({"beta": 0.0}, "beta must be a finite number > 0, got 0.0"),
            ({"alpha_s": -1.0}, "alpha_s must be a finite number >= 0, got -1.0"),
            ({"chi_factor": 0.0}, "chi_factor must be a finite number > 0, got 0.0"),
            ({"bounds": (1.0, 0.0)}, "bounds must satisfy lower < upper")):
        with pytest.raises(ValueError, match=re.escape(message)):
            PhysicsSetup(operator, data, model, **options)


def _crosshole(grid):
    depths = np.linspace(2.5, grid.nz * grid.dz - 2.5, 9)
    sources = np.column_stack([np.zeros_like(depths), depths])
    receivers = np.column_stack([np.full_like(depths, grid.nx * grid.dx), depths])
    return sources, receivers

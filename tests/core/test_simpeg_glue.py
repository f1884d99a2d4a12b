"""jointinv.simpeg: import resolution, 3D prism mesh, SimPEGOperator on a linear simulation."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from jointinv import Grid
from jointinv.simpeg import SimPEGOperator, depth_to_elevation, grid_tensor_mesh
from jointinv.simpeg import grid_to_discretize_order as discretize_order
from jointinv.testing import check_plugin


class Projected(SimPEGOperator, property="test property", units="1"):
    """SimPEG's LinearSimulation ``d = G P m`` with P the grid -> discretize permutation."""

    def __init__(self, grid, n_data=5, model_length=None, **options):
        from simpeg import maps
        from simpeg.simulation import LinearSimulation

        index = discretize_order(grid) if model_length is None else np.arange(model_length)
        matrix = np.random.default_rng(4).normal(size=(n_data, len(index)))
        simulation = LinearSimulation(grid_tensor_mesh(grid), G=matrix,
                                      model_map=maps.Projection(len(index), index))
        super().__init__(grid, simulation, **options)

    @classmethod
    def example_case(cls):
        grid = Grid(nx=4, nz=3, dx=1.0, dz=2.0)
        return cls(grid), torch.linspace(0.5, 1.5, grid.n_cells, dtype=torch.float64).reshape(3, 4)


def test_simpeg_inside_jointinv_is_still_simpeg():
    import simpeg
    from simpeg import maps

    import jointinv.simpeg as glue

    assert glue.__name__ == "jointinv.simpeg"
    assert Path(simpeg.__file__).parent != Path(glue.__file__).parent
    assert maps.ExpMap.__module__.startswith("simpeg.")


def test_prism_mesh_has_the_grid_cells_in_discretize_order():
    grid = Grid(nx=5, nz=3, dx=2.0, dz=1.0, x0=-4.0, z0=1.0)
    mesh = grid_tensor_mesh(grid, strike_length=50.0)
    flat = grid_tensor_mesh(grid)
    assert mesh.dim == 3 and mesh.shape_cells == (5, 1, 3)
    centres = depth_to_elevation(grid.cell_centers)[discretize_order(grid)]
    np.testing.assert_allclose(mesh.cell_centers[:, [0, 2]], centres)
    np.testing.assert_allclose(flat.cell_centers, centres)
    np.testing.assert_allclose(mesh.cell_centers[:, 1], 0.0)
    np.testing.assert_allclose(mesh.h[1], [50.0])
    with pytest.raises(ValueError, match=re.escape("strike_length must be a finite number > 0")):
        grid_tensor_mesh(grid, strike_length=0.0)


def test_linear_simulation_passes_the_plugin_kit():
    operator, model = Projected.example_case()
    expected = operator.simulation.G @ model.numpy()[::-1].ravel()  # rows bottom-up, x fastest
    np.testing.assert_allclose(operator(model).numpy(), expected, rtol=1e-13)
    report = check_plugin(Projected)
    assert report["dottest"] and operator.n_data == 5


def test_simulation_must_take_the_grid_model():
    grid = Grid(nx=4, nz=3, dx=1.0, dz=1.0)
    with pytest.raises(ValueError, match=re.escape("simulation's maps must take the grid model "
                                                   "as a vector of grid.n_cells = 12 values")):
        Projected(grid, model_length=10)
    with pytest.raises(TypeError, match="simulation must be a SimPEG simulation with fields()"):
        SimPEGOperator(grid, object())
    with pytest.raises(TypeError, match="grid must be a jointinv.Grid, got tuple"):
        SimPEGOperator((4, 3), object())


class WithoutGetJ:
    """SimPEG's LinearSimulation seen without its getJ."""

    def __init__(self, simulation):
        self.inner = simulation

    def __getattr__(self, name):
        if name == "getJ":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __setattr__(self, name, value):
        if name == "inner":
            object.__setattr__(self, name, value)
        else:
            setattr(self.inner, name, value)

    def __delattr__(self, name):
        delattr(self.inner, name)


def test_stored_sensitivity_from_simpeg_getj():
    operator, model = Projected.example_case()
    stored = Projected(operator.grid, sensitivity="stored")
    assert operator.stored_sensitivity is not None  # "auto", and 5 x 12 doubles fit
    check_plugin(Projected, case=(stored, model))
    # the stored J is SimPEG's G in our C order (rows bottom-up, x fastest)
    jacobian = stored.stored_sensitivity.matrix(stored.simpeg_model(model), model)
    expected = stored.simulation.G[:, np.argsort(discretize_order(stored.grid))]
    np.testing.assert_allclose(jacobian.numpy(), expected, rtol=1e-14)
    assert getattr(stored.simulation, "_Jmatrix", None) is None  # no second copy in SimPEG
    products = Projected(operator.grid, sensitivity="products")
    assert products.stored_sensitivity is None
    v = torch.linspace(-1.0, 1.0, 12, dtype=torch.float64).reshape(3, 4)
    np.testing.assert_allclose(stored.jvp(model, v).numpy(), products.jvp(model, v).numpy(),
                               rtol=1e-13)


def test_sensitivity_option_needs_a_way_to_assemble_j():
    operator, _ = Projected.example_case()
    simulation = WithoutGetJ(operator.simulation)
    assert SimPEGOperator(operator.grid, simulation).stored_sensitivity is None  # "auto"
    with pytest.raises(ValueError, match=re.escape("sensitivity='stored' needs a simulation "
                                                   "with getJ(m, f=None)")):
        SimPEGOperator(operator.grid, simulation, sensitivity="stored")
    with pytest.raises(ValueError, match=re.escape("sensitivity must be one of ['auto', "
                                                   "'products', 'stored'], got 'dense'")):
        Projected(operator.grid, sensitivity="dense")

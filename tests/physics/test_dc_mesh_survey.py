"""DC plugin helpers: z conversion, cell ordering, grid-to-mesh transfer, survey builders."""

import re

import numpy as np
import pytest
from discretize import TensorMesh
from jointinv.physics.dc_survey import Quadrupoles, surface_line
from simpeg.electromagnetics.static.utils.static_utils import geometric_factor

from jointinv import Grid
from jointinv.simpeg.mesh import (
    check_mesh_covers_grid,
    depth_to_elevation,
    grid_tensor_mesh,
    grid_to_discretize_order,
    grid_to_mesh_transfer,
    padded_mesh,
)


@pytest.fixture
def grid():
    return Grid(nx=7, nz=4, dx=3.0, dz=2.0, x0=-10.0)


@pytest.fixture
def model(grid):
    return np.random.default_rng(0).normal(size=grid.shape)


# -- coordinates and ordering ---------------------------------------------------------
def test_depth_to_elevation_flips_z_only():
    points = np.array([[1.5, 0.0], [-2.0, 7.5]])
    np.testing.assert_array_equal(depth_to_elevation(points), [[1.5, 0.0], [-2.0, -7.5]])
    np.testing.assert_array_equal(depth_to_elevation(depth_to_elevation(points)), points)


def test_discretize_order_matches_cell_centres(grid, model):
    order = grid_to_discretize_order(grid)
    mesh = grid_tensor_mesh(grid)
    ours = depth_to_elevation(grid.cell_centers)  # C order, (x, elevation)
    np.testing.assert_allclose(mesh.cell_centers, ours[order])
    assert sorted(order) == list(range(grid.n_cells))
    # the first discretize cell is the bottom-left grid cell
    assert model.ravel()[order][0] == model[-1, 0]


# -- transfer ----------------------------------------------------------------------
def test_default_mesh_core_copies_grid_and_padding_copies_edges(grid, model):
    mesh = padded_mesh(grid, padding_cells=3, padding_factor=1.5)
    transfer, offset = grid_to_mesh_transfer(grid, mesh)
    values = transfer @ model.ravel() + offset
    core = mesh.point2index(depth_to_elevation(grid.cell_centers))
    np.testing.assert_allclose(values[core], model.ravel(), rtol=0, atol=1e-13)
    # a padding cell left of the grid, at the depth of the grid's row 2
    left, below = mesh.point2index([[grid.x0 - 20.0, -grid.cell_centers_z[2]],
                                    [grid.cell_centers_x[4], -grid.z_max - 5.0]])
    assert values[left] == pytest.approx(model[2, 0])
    assert values[below] == pytest.approx(model[-1, 4])
    assert mesh.n_cells == (grid.nx + 6) * (grid.nz + 3)


def test_padding_value_fills_only_padding(grid, model):
    mesh = padded_mesh(grid, padding_cells=2)
    transfer, offset = grid_to_mesh_transfer(grid, mesh, padding_value=3.5)
    values = transfer @ model.ravel() + offset
    inside = np.zeros(mesh.n_cells, bool)
    inside[mesh.point2index(depth_to_elevation(grid.cell_centers))] = True
    np.testing.assert_allclose(values[~inside], 3.5)
    np.testing.assert_allclose(np.sort(values[inside]), np.sort(model.ravel()), atol=1e-13)


def test_nonconforming_mesh_is_a_volume_average(grid, model):
    # 7 x 4 m cells over exactly the grid's extent: volumes must be conserved
    mesh = TensorMesh([np.full(3, 7.0), np.full(2, 4.0)], origin=(grid.x0, -grid.z_max))
    transfer, offset = grid_to_mesh_transfer(grid, mesh)
    np.testing.assert_allclose(transfer.sum(axis=1), 1.0)  # constants are kept
    assert np.all(offset == 0)
    grid_volume = grid.dx * grid.dz
    total = (mesh.cell_volumes * (transfer @ model.ravel())).sum()
    assert total == pytest.approx(grid_volume * model.sum(), rel=1e-12)
    # the first mesh cell (bottom-left 7 x 4 m) averages rows 2-3, columns 0-2 (1/3 of col 2)
    weights = np.zeros(grid.shape)
    weights[2:4, 0:2] = 1.0
    weights[2:4, 2] = 1.0 / 3.0
    expected = (weights * model).sum() / weights.sum()
    assert (transfer @ model.ravel())[0] == pytest.approx(expected, rel=1e-12)


def test_mesh_checks(grid):
    short = TensorMesh([np.full(5, 3.0), np.full(4, 2.0)], origin=(grid.x0, -grid.z_max))
    with pytest.raises(ValueError, match=re.escape("mesh must cover the grid (x in [-10.0, 11.0]")):
        check_mesh_covers_grid(short, grid)
    above = TensorMesh([np.full(7, 3.0), np.full(5, 2.0)], origin=(grid.x0, -grid.z_max))
    with pytest.raises(ValueError, match="with its top at the ground surface"):
        check_mesh_covers_grid(above, grid)
    with pytest.raises(TypeError, match="mesh must be a 2D discretize TensorMesh or TreeMesh"):
        check_mesh_covers_grid(TensorMesh([3, 3, 3]), grid)
    with pytest.raises(ValueError, match=re.escape("padding_factor must be >= 1, got 0.5")):
        padded_mesh(grid, padding_factor=0.5)


# -- surveys -----------------------------------------------------------------------
def test_nfsinv_dipole_dipole_line_counts():
    line = surface_line("dipole-dipole", -350.0, 350.0, 25.0, n_max=24)
    assert line.n_data == 348 and len(line.electrodes) == 29
    survey = line.to_simpeg("volt")
    assert len(survey.source_list) == 26 and survey.nD == 348
    np.testing.assert_allclose(survey.locations_a[:, 1], 0.0)


@pytest.mark.parametrize("array", ["dipole-dipole", "pole-dipole", "dipole-pole", "pole-pole",
                                   "wenner", "schlumberger"])
def test_surface_geometric_factor_matches_simpeg(array):
    line = surface_line(array, 0.0, 100.0, 10.0, n_max=3)
    survey = line.to_simpeg("volt")
    np.testing.assert_allclose(line.geometric_factor(), geometric_factor(survey), rtol=1e-12)
    back = Quadrupoles.from_simpeg(survey.source_list)
    for ours, theirs in zip((line.a, line.b, line.m, line.n), (back.a, back.b, back.m, back.n)):
        np.testing.assert_array_equal(ours, theirs)


def test_wenner_and_schlumberger_geometry():
    wenner = surface_line("wenner", 0.0, 60.0, 10.0, n_max=2)
    # a = 10: 4 positions, a = 20: one; A-M-N-B equally spaced
    assert wenner.n_data == 4 + 1
    gaps = np.diff(np.column_stack([wenner.a[:, 0], wenner.m[:, 0], wenner.n[:, 0],
                                    wenner.b[:, 0]]), axis=1)
    assert np.all(gaps == gaps[:, :1])
    schlumberger = surface_line("schlumberger", 0.0, 60.0, 10.0, n_max=2)
    mn = schlumberger.n[:, 0] - schlumberger.m[:, 0]
    am = schlumberger.m[:, 0] - schlumberger.a[:, 0]
    nb = schlumberger.b[:, 0] - schlumberger.n[:, 0]
    np.testing.assert_array_equal(mn, 10.0)
    np.testing.assert_array_equal(am, nb)
    assert set(am) == {10.0, 20.0}


def test_buried_geometric_factor_uses_images():
    # one buried pole-pole pair: 1/(4 pi) (1/r + 1/r_image)
    line = Quadrupoles(a=[[0.0, 10.0]], m=[[0.0, 20.0]])
    expected = (1 / 10.0 + 1 / 30.0) / (4 * np.pi)
    assert line.geometric_factor()[0] == pytest.approx(expected, rel=1e-14)


def test_survey_errors():
    with pytest.raises(ValueError, match=re.escape(
            "quadrupole 1 uses the same position (x=5.0, z=0.0) for electrodes A and M")):
        Quadrupoles(a=[[0, 0], [5, 0]], b=[[1, 0], [6, 0]], m=[[2, 0], [5, 0]],
                    n=[[3, 0], [7, 0]])
    with pytest.raises(ValueError, match="same position .* for electrodes M and N"):
        Quadrupoles(a=[[0, 0]], b=[[1, 0]], m=[[2, 0]], n=[[2, 0]])
    with pytest.raises(ValueError, match="b must hold finite, or all-NaN rows"):
        Quadrupoles(a=[[0, 0]], b=[[1, np.nan]], m=[[2, 0]], n=[[3, 0]])
    with pytest.raises(ValueError, match=re.escape("m must have shape (2, 2)")):
        Quadrupoles(a=[[0, 0], [1, 0]], m=[[2, 0]])
    with pytest.raises(ValueError, match="array must be one of"):
        surface_line("gradient", 0.0, 10.0, 1.0, 2)
    with pytest.raises(ValueError, match="multiple of electrode_spacing=3.0"):
        surface_line("dipole-dipole", 0.0, 10.0, 3.0, 2)
    with pytest.raises(ValueError, match="too short for one wenner quadrupole"):
        surface_line("wenner", 0.0, 20.0, 10.0, 2)
    symmetric = Quadrupoles(a=[[0, 5]], b=[[0, 15]], m=[[10, 10]], n=[[-10, 10]])
    with pytest.raises(ValueError, match="zero geometric factor, .* use data_type='volt'"):
        symmetric.to_simpeg("apparent_resistivity")
    assert symmetric.to_simpeg("volt").nD == 1


def test_electrodes_must_be_in_the_ground_and_grid(grid):
    above = Quadrupoles(a=[[0, -1.0]], m=[[3, 0]])
    with pytest.raises(ValueError, match=re.escape(
            "electrodes must lie at or below the ground surface (depth z >= 0.0 m); "
            "got 1 above it, e.g. (x=0.0, z=-1.0)")):
        above.check_inside(grid)
    outside = Quadrupoles(a=[[30.0, 0]], m=[[3, 0]])
    with pytest.raises(ValueError, match=re.escape("electrodes must lie inside the grid")):
        outside.check_inside(grid)

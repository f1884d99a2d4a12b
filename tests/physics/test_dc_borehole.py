"""Borehole DC: cross-hole layouts, the electrode-refined octree mesh and its accuracy."""

import re

import numpy as np
import pytest
import torch
from discretize import TensorMesh, TreeMesh
from jointinv.physics.dc_borehole import buried_electrodes, crosshole_bipoles, join_surveys
from jointinv.physics.dc_simulation import Simulation2DNodalCachedSources
from jointinv.physics.dc_survey import Quadrupoles, surface_line
from jointinv.physics.dcresistivity import DCResistivity2D
from simpeg.electromagnetics.static import resistivity as dc

from jointinv import Grid
from jointinv.simpeg import electrode_refined_mesh, grid_to_mesh_transfer
from jointinv.testing import dottest, taylor_test

# 80 x 40 m; boreholes 50 m apart, electrodes 5 m (2.5 cells) apart as in the study
GRID = Grid(nx=40, nz=20, dx=2.0, dz=2.0)
DEPTHS = np.arange(5.0, 36.0, 5.0)
COARSE_WARNING = "ignore:the DC simulation mesh has:UserWarning"  # the former mesh, on purpose


def holes(x_left=15.0, x_right=65.0):
    return (np.column_stack([np.full(len(DEPTHS), x_left), DEPTHS]),
            np.column_stack([np.full(len(DEPTHS), x_right), DEPTHS]))


@pytest.fixture(scope="module")
def crosshole():
    return crosshole_bipoles(*holes())


def half_space_error(operator, log10_rho=2.0):
    model = torch.full(operator.grid.shape, log10_rho, dtype=torch.float64)
    return (operator(model).numpy() / 10**log10_rho - 1.0)


# -- layouts -----------------------------------------------------------------------------
def test_crosshole_bipoles_layout(crosshole):
    left, right = holes()
    n = len(DEPTHS)
    assert crosshole.n_data == n * (n - 1)
    np.testing.assert_array_equal(crosshole.a[:, 0], 15.0)   # A and M in the left hole
    np.testing.assert_array_equal(crosshole.m[:, 0], 15.0)
    np.testing.assert_array_equal(crosshole.b[:, 0], 65.0)   # B and N in the right one
    np.testing.assert_array_equal(crosshole.n[:, 0], 65.0)
    np.testing.assert_array_equal(crosshole.a[:, 1], crosshole.b[:, 1])  # bipoles level
    np.testing.assert_array_equal(crosshole.m[:, 1], crosshole.n[:, 1])
    assert not np.any(crosshole.a[:, 1] == crosshole.m[:, 1])
    # grouped by source: the first n - 1 data share A at the first level
    np.testing.assert_array_equal(crosshole.a[: n - 1, 1], DEPTHS[0])
    np.testing.assert_array_equal(crosshole.m[: n - 1, 1], DEPTHS[1:])


def test_join_surveys_keeps_order_and_buried_electrodes(crosshole):
    line = surface_line("dipole-dipole", 10.0, 70.0, 5.0, n_max=3)
    joined = join_surveys(line, crosshole)
    assert joined.n_data == line.n_data + crosshole.n_data
    np.testing.assert_array_equal(joined.m[line.n_data:], crosshole.m)
    np.testing.assert_array_equal(buried_electrodes(line), np.zeros((0, 2)))
    assert len(buried_electrodes(joined)) == 2 * len(DEPTHS)


def test_layout_errors():
    left, right = holes()
    with pytest.raises(ValueError, match=re.escape("left and right must hold the same number "
                                                   "of levels, got 7 and 6")):
        crosshole_bipoles(left, right[:-1])
    with pytest.raises(ValueError, match=re.escape("at least 2 levels per hole, got 1")):
        crosshole_bipoles(left[:1], right[:1])
    with pytest.raises(ValueError, match="same position"):
        crosshole_bipoles(left, left[::-1])
    with pytest.raises(TypeError, match=re.escape("surveys[1] must be a Quadrupoles table, "
                                                  "got ndarray")):
        join_surveys(crosshole_bipoles(left, right), left)
    with pytest.raises(ValueError, match="join_surveys needs at least one"):
        join_surveys()


# -- the refined mesh ------------------------------------------------------------------------
def test_refined_mesh_shape_and_exact_transfer():
    left, right = holes()
    mesh = electrode_refined_mesh(GRID, np.vstack([left, right]), refinement=4)
    assert isinstance(mesh, TreeMesh)
    h = mesh.h_gridded
    at_electrode = mesh.point2index(np.array([[15.0 + 0.1, -5.0 - 0.1]]))
    np.testing.assert_allclose(h[at_electrode].reshape(-1), [0.5, 0.5])  # dx / 4 there
    centre = mesh.point2index(np.array([[40.1, -20.1]]))                 # far from electrodes
    np.testing.assert_allclose(h[centre].reshape(-1), [2.0, 2.0])  # the grid cells
    inside = (mesh.cell_centers[:, 0] > 0) & (mesh.cell_centers[:, 0] < 80) & \
        (mesh.cell_centers[:, 1] > -40)
    assert h[inside].max() <= 2.0 + 1e-12                                 # never coarser
    nodes = mesh.nodes
    assert nodes[:, 1].max() == pytest.approx(0.0)                        # top = surface
    reach = 2.0 * float((1.3 ** np.arange(1, 11)).sum())                  # padded_mesh's
    assert nodes[:, 0].min() <= -reach and nodes[:, 0].max() >= 80 + reach
    assert nodes[:, 1].min() <= -40 - reach
    # mesh faces on grid faces: every cell in the grid copies exactly one grid cell
    transfer, _ = grid_to_mesh_transfer(GRID, mesh)
    rows = transfer[np.flatnonzero(inside)]
    np.testing.assert_allclose(rows.max(axis=1).toarray().ravel(), 1.0)


def test_refined_mesh_errors():
    points = holes()[0]
    with pytest.raises(ValueError, match=re.escape("refinement must be a power of two "
                                                   "(1, 2, 4, 8, ...), got 3")):
        electrode_refined_mesh(GRID, points, refinement=3)
    with pytest.raises(TypeError, match="refinement must be an integer, got float"):
        electrode_refined_mesh(GRID, points, refinement=2.0)
    with pytest.raises(ValueError, match=re.escape("radius must be a finite number > 0, "
                                                   "got -1.0")):
        electrode_refined_mesh(GRID, points, radius=-1.0)
    with pytest.raises(ValueError, match="electrodes must lie inside the grid"):
        electrode_refined_mesh(GRID, [[100.0, 5.0]])
    with pytest.raises(ValueError, match=re.escape("padding_factor must be >= 1, got 0.5")):
        electrode_refined_mesh(GRID, points, padding_factor=0.5)
    with pytest.raises(TypeError, match=re.escape("side_padding_at_grid_size must be True or "
                                                  "False, got 1")):
        electrode_refined_mesh(GRID, points, side_padding_at_grid_size=1)
    line = surface_line("dipole-dipole", 10.0, 70.0, 5.0, n_max=3)
    with pytest.raises(ValueError, match=re.escape("electrode_refinement must be a power of "
                                                   "two (1, 2, 4, 8, ...), got 6")):
        DCResistivity2D(GRID, line, electrode_refinement=6)
    with pytest.raises(ValueError, match=re.escape("electrode_refinement must be an integer "
                                                   ">= 1, got 0")):
        DCResistivity2D(GRID, line, electrode_refinement=0)
    with pytest.raises(TypeError, match="electrode_refinement must be an integer, got str"):
        DCResistivity2D(GRID, line, electrode_refinement="4")


@pytest.mark.filterwarnings(COARSE_WARNING)
def test_default_mesh_depends_on_buried_electrodes(crosshole):
    line = surface_line("dipole-dipole", 10.0, 70.0, 5.0, n_max=3)
    assert isinstance(DCResistivity2D(GRID, line, nky=5).mesh, TensorMesh)   # unchanged
    assert isinstance(DCResistivity2D(GRID, crosshole, nky=5).mesh, TreeMesh)
    former = DCResistivity2D(GRID, crosshole, nky=5, electrode_refinement=1)
    assert isinstance(former.mesh, TensorMesh)
    assert isinstance(DCResistivity2D(GRID, crosshole, nky=5, refinement=2).mesh, TensorMesh)


# -- accuracy: exact half-space values and a finer mesh ------------------------------------
@pytest.mark.filterwarnings(COARSE_WARNING)
def test_refinement_makes_crosshole_data_accurate(crosshole):
    survey = join_surveys(surface_line("dipole-dipole", 10.0, 70.0, 5.0, n_max=3), crosshole)
    coarse = np.abs(half_space_error(DCResistivity2D(GRID, survey, electrode_refinement=1)))
    refined = np.abs(half_space_error(DCResistivity2D(GRID, survey)))
    # exact apparent resistivity of a half-space is its resistivity (image-method factors)
    assert coarse.max() > 0.04                      # the grid's cells: several per cent off
    assert refined.max() < 0.025 and refined.max() < coarse.max() / 2


@pytest.mark.filterwarnings(COARSE_WARNING)
def test_refined_data_converge_to_a_finer_mesh(crosshole):
    # a conductive layer crossing both holes, against the same mesh family refined twice more
    model = torch.full(GRID.shape, 2.0, dtype=torch.float64)
    model[torch.as_tensor((GRID.cell_centers_z > 14) & (GRID.cell_centers_z < 24))] = 1.0
    electrodes = crosshole.electrodes

    def predicted(refinement):
        mesh = electrode_refined_mesh(GRID, electrodes, refinement=refinement)
        return DCResistivity2D(GRID, crosshole, mesh=mesh)(model).numpy()

    finest = predicted(4)
    default, coarse = np.abs(predicted(2) / finest - 1), np.abs(predicted(1) / finest - 1)
    assert default.max() < 0.015 and default.mean() < 0.005
    assert coarse.max() > 2 * default.max()
    # and the model matters: the layer moves the data by far more than the error
    assert np.abs(finest / DCResistivity2D(GRID, crosshole, electrode_refinement=1)(
        torch.full(GRID.shape, 2.0, dtype=torch.float64)).numpy() - 1).max() > 0.3


def test_refined_operator_derivatives(crosshole):
    small = Grid(nx=12, nz=6, dx=2.0, dz=2.0)
    depth = np.array([3.0, 6.0, 9.0])
    survey = crosshole_bipoles(np.c_[[2.0] * 3, depth], np.c_[[20.0] * 3, depth])
    operator = DCResistivity2D(small, survey, nky=5, padding_cells=4)
    assert isinstance(operator.mesh, TreeMesh)
    model = 2.0 + 0.2 * torch.rand(small.shape, dtype=torch.float64,
                                   generator=torch.Generator().manual_seed(0))
    dottest(operator, model, rtol=1e-8)
    taylor_test(operator, model)


def test_cached_source_term_matches_simpegs():
    small = Grid(nx=12, nz=6, dx=2.0, dz=2.0)
    depth = np.array([3.0, 6.0, 9.0])
    survey = crosshole_bipoles(np.c_[[2.0] * 3, depth], np.c_[[20.0] * 3, depth])
    operator = DCResistivity2D(small, survey, nky=5, padding_cells=4)
    simulation = operator.simulation
    assert isinstance(simulation, Simulation2DNodalCachedSources)
    first = simulation.getSourceTerm(simulation._quad_points[0])
    expected = dc.Simulation2DNodal.getSourceTerm(simulation, simulation._quad_points[-1])
    np.testing.assert_array_equal(first, expected)
    assert simulation.getSourceTerm(simulation._quad_points[-1]) is first   # evaluated once
    # a new survey object is a new source term
    other = Quadrupoles(a=[[2.0, 3.0]], b=[[20.0, 3.0]], m=[[2.0, 9.0]], n=[[20.0, 9.0]])
    simulation.survey = other.to_simpeg("volt")
    assert simulation.getSourceTerm(simulation._quad_points[0]).shape[1] == 1

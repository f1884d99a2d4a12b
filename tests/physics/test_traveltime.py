"""Tests of the straight-ray travel-time operator and its ray kernels."""

import copy
import pickle
import re

import discretize
import jointinv.physics.ray_paths as ray_paths
import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as fwAD
from jointinv.physics.traveltime import StraightRayTomography
from simpeg import maps
from simpeg.seismic import straight_ray_tomography as simpeg_tomography

from jointinv import Data, Grid, load_physics
from jointinv.testing import dottest, gradient_check, random_like, taylor_test

# non-square cells and a non-zero origin, so that no axis or offset mix-up hides
GRID = Grid(nx=10, nz=8, dx=3.0, dz=2.0, x0=-7.0, z0=4.0)


def one_ray_each(grid, starts, ends, **kwargs):
    """Operator with ray i from starts[i] to ends[i]."""
    starts, ends = np.asarray(starts, float), np.asarray(ends, float)
    pairs = np.column_stack([np.arange(len(starts))] * 2)
    return StraightRayTomography(grid, starts, ends, pairs=pairs, **kwargs)


def random_points(grid, n, rng):
    return np.column_stack([rng.uniform(grid.x0, grid.x_max, n),
                            rng.uniform(grid.z0, grid.z_max, n)])


def simpeg_travel_times(grid, sources, receivers, slowness):
    """Travel times of every source-receiver pair by SimPEG's straight-ray simulation.

    SimPEG's mesh is in elevation (y up) with x-fastest cell order: our depth z
    becomes y = -z, and our (nz, nx) model is flipped upside down before raveling.
    """
    mesh = discretize.TensorMesh([np.full(grid.nx, grid.dx), np.full(grid.nz, grid.dz)],
                                 origin=[grid.x0, -grid.z_max])

    def elevation(points):
        return np.column_stack([points[:, 0], -points[:, 1]])

    source_list = [
        simpeg_tomography.Src(location=location,
                              receiver_list=[simpeg_tomography.Rx(elevation(receivers))])
        for location in elevation(sources)
    ]
    simulation = simpeg_tomography.Simulation(
        mesh, survey=simpeg_tomography.Survey(source_list), slownessMap=maps.IdentityMap(mesh)
    )
    return simulation.dpred(np.flipud(slowness).ravel())


@pytest.fixture
def case():
    operator, model = StraightRayTomography.example_case()
    return operator, model


# -- forward against references ------------------------------------------------

def test_travel_times_match_simpeg_on_oblique_rays():
    rng = np.random.default_rng(20)
    sources, receivers = random_points(GRID, 4, rng), random_points(GRID, 6, rng)
    slowness = rng.uniform(1 / 4000, 1 / 1500, GRID.shape)
    operator = StraightRayTomography(GRID, sources, receivers)
    ours = operator(torch.as_tensor(1 / slowness)).numpy()
    reference = simpeg_travel_times(GRID, sources, receivers, slowness)
    assert ours.shape == (24,)
    np.testing.assert_allclose(ours, reference, rtol=1e-10, atol=0)


def test_face_ray_counted_once_where_simpeg_counts_it_twice():
    z_face = GRID.nodes_z[3]
    sources, receivers = np.array([[GRID.x0, z_face]]), np.array([[GRID.x_max, z_face]])
    slowness = np.full(GRID.shape, 1 / 2500)
    operator = StraightRayTomography(GRID, sources, receivers)
    ours = float(operator(torch.as_tensor(1 / slowness))[0])
    length = GRID.x_max - GRID.x0
    assert ours == pytest.approx(length / 2500, rel=1e-13)
    simpeg = simpeg_travel_times(GRID, sources, receivers, slowness)[0]
    assert simpeg == pytest.approx(2 * length / 2500, rel=1e-12)


def test_face_rays_go_to_the_cell_below_or_right_and_inside_on_the_last_edge():
    grid = Grid(nx=4, nz=3, dx=10.0, dz=5.0, x0=2.0, z0=1.0)
    nx_, nz_ = grid.nodes_x, grid.nodes_z
    rays = [  # (start, end, cells (iz, ix) expected to hold the ray)
        ((nx_[0], nz_[1]), (nx_[4], nz_[1]), [(1, ix) for ix in range(4)]),  # interior face
        ((nx_[4], nz_[0]), (nx_[0], nz_[0]), [(0, ix) for ix in range(4)]),  # top edge
        ((nx_[0], nz_[3]), (nx_[4], nz_[3]), [(2, ix) for ix in range(4)]),  # bottom edge
        ((nx_[2], nz_[3]), (nx_[2], nz_[0]), [(iz, 2) for iz in range(3)]),  # interior face
        ((nx_[0], nz_[0]), (nx_[0], nz_[3]), [(iz, 0) for iz in range(3)]),  # left edge
        ((nx_[4], nz_[0]), (nx_[4], nz_[3]), [(iz, 3) for iz in range(3)]),  # right edge
        ((nx_[1], nz_[2]), (nx_[3], nz_[2]), [(2, 1), (2, 2)]),  # part of a face
    ]
    operator = one_ray_each(grid, [r[0] for r in rays], [r[1] for r in rays])
    dense = operator.matrix.toarray().reshape(len(rays), grid.nz, grid.nx)
    for row, (_, _, cells) in zip(dense, rays):
        expected = np.zeros(grid.shape)
        for iz, ix in cells:
            expected[iz, ix] = grid.dx if cells[0][0] == cells[-1][0] else grid.dz
        np.testing.assert_allclose(row, expected, rtol=1e-13, atol=1e-12)


def test_homogeneous_travel_times_are_length_over_velocity():
    grid = Grid(nx=6, nz=6, dx=4.0, dz=4.0, x0=1.0, z0=3.0)  # square: the diagonal hits corners
    x0, x1, z0, z1 = grid.x0, grid.x_max, grid.z0, grid.z_max
    rays = np.array([
        [(9.0, z0), (9.0, z1)],              # vertical
        [(x0, 12.0), (x1, 12.0)],            # horizontal
        [(x0, z0), (x1, z1)],                # corner to corner, through every node
        [(x1, z0), (x0, z1)],                # the other diagonal, right to left
        [(x0 + 4.0, z1), (x0 + 12.0, z0)],   # bottom to top through nodes
        [(x0, z0 + 8.0), (x1, z0 + 8.0)],    # along a face
        [(3.3, 5.1), (20.7, 22.9)],          # oblique
        [(x1, 26.5), (x0, 4.0)],             # oblique, right to left, upwards
        [(7.5, 10.0), (7.5, 10.0)],          # zero length
    ])
    operator = one_ray_each(grid, rays[:, 0], rays[:, 1])
    velocity = 2350.0
    times = operator(torch.full(grid.shape, velocity, dtype=torch.float64)).numpy()
    lengths = np.hypot(*(rays[:, 1] - rays[:, 0]).T)
    np.testing.assert_allclose(times, lengths / velocity, rtol=1e-13, atol=1e-18)
    assert times[-1] == 0.0 and operator.matrix[-1].nnz == 0


def test_row_sums_are_ray_lengths_and_rays_stay_in_their_cells():
    rng = np.random.default_rng(5)
    starts, ends = random_points(GRID, 40, rng), random_points(GRID, 40, rng)
    ends[0] = starts[0]
    operator = one_ray_each(GRID, starts, ends)
    lengths = np.hypot(*(ends - starts).T)
    np.testing.assert_allclose(np.asarray(operator.matrix.sum(axis=1)).ravel(), lengths,
                               rtol=1e-12, atol=0)
    # the length in a cell never exceeds its diagonal
    assert operator.matrix.max() <= np.hypot(GRID.dx, GRID.dz) * (1 + 1e-12)


def test_blocks_of_rays_give_the_same_matrix(monkeypatch):
    rng = np.random.default_rng(7)
    sources, receivers = random_points(GRID, 5, rng), random_points(GRID, 7, rng)
    whole = StraightRayTomography(GRID, sources, receivers).matrix
    monkeypatch.setattr(ray_paths, "_BLOCK_VALUES", 3 * (GRID.nx + GRID.nz + 4))
    in_blocks = StraightRayTomography(GRID, sources, receivers).matrix
    assert (whole != in_blocks).nnz == 0


def test_default_pairs_are_source_major_and_explicit_pairs_pick_rows():
    rng = np.random.default_rng(8)
    sources, receivers = random_points(GRID, 2, rng), random_points(GRID, 3, rng)
    everything = StraightRayTomography(GRID, sources, receivers)
    np.testing.assert_array_equal(everything.pairs,
                                  [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]])
    some = StraightRayTomography(GRID, sources, receivers, pairs=[[1, 2], [0, 1]])
    assert some.n_data == 2 and some.data_shape == (2,)
    np.testing.assert_array_equal(some.matrix.toarray(), everything.matrix.toarray()[[5, 1]])


def test_crosshole_geometry():
    operator = StraightRayTomography.crosshole(GRID, 3, 4)
    assert operator.n_data == 12
    np.testing.assert_allclose(operator.sources[:, 0], GRID.x0)
    np.testing.assert_allclose(operator.receivers[:, 0], GRID.x_max)
    np.testing.assert_allclose(operator.sources[:, 1], [5.0, 12.0, 19.0])  # cell centres
    np.testing.assert_allclose(operator.receivers[[0, -1], 1], [5.0, 19.0])


def test_copies_and_pickles_after_use(case):
    operator, model = case
    expected = operator(model)
    operator(model.float())  # fills the cache of torch matrices for two dtypes
    for clone in (copy.deepcopy(operator), pickle.loads(pickle.dumps(operator))):
        assert torch.equal(clone(model), expected)


def test_entry_point_finds_the_operator():
    assert load_physics("traveltime") is StraightRayTomography
    assert StraightRayTomography.property == "velocity"
    assert StraightRayTomography.units == "m/s"
    assert StraightRayTomography.inversion_map == "reciprocal"


# -- derivatives ----------------------------------------------------------------

# torch loads its forward-mode decompositions with torch.jit.script on first use
forward_ad_warning = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
)


def test_dot_and_taylor_tests(case):
    operator, model = case
    dottest(operator, model, rtol=1e-12, seed=1)
    taylor_test(operator, model, seed=2)


def test_jvp_and_vjp_equal_the_explicit_jacobian(case):
    operator, model = case
    jacobian = -operator.matrix.toarray() / model.numpy().ravel() ** 2
    tangent = random_like(model, 3)
    cotangent = random_like(torch.zeros(operator.n_data, dtype=torch.float64), 4)
    np.testing.assert_allclose(operator.jvp(model, tangent).numpy(),
                               jacobian @ tangent.numpy().ravel(), rtol=1e-12)
    np.testing.assert_allclose(operator.vjp(model, cotangent).numpy().ravel(),
                               jacobian.T @ cotangent.numpy(), rtol=1e-12)


@forward_ad_warning
def test_forward_mode_and_reverse_mode_autograd_agree_with_jvp_and_vjp(case):
    operator, model = case
    tangent = random_like(model, 5)
    with fwAD.dual_level():
        dual = operator(fwAD.make_dual(model, tangent))
        forward_tangent = fwAD.unpack_dual(dual).tangent
    np.testing.assert_allclose(forward_tangent.numpy(), operator.jvp(model, tangent).numpy(),
                               rtol=1e-13, atol=0)
    cotangent = random_like(forward_tangent, 6)
    leaf = model.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(operator(leaf), leaf, cotangent)
    np.testing.assert_allclose(gradient.numpy(), operator.vjp(model, cotangent).numpy(),
                               rtol=1e-13, atol=0)


@forward_ad_warning
def test_torch_gradcheck_including_forward_mode_and_second_derivatives(case):
    operator, model = case
    leaf = model.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(operator, (leaf,), check_forward_ad=True, fast_mode=True)
    assert torch.autograd.gradgradcheck(operator, (leaf,), fast_mode=True)


def test_chi_squared_gradient_matches_finite_differences(case):
    operator, model = case
    data = operator.simulate(model, relative_error=0.02, noise_floor=1e-5, seed=9)
    assert isinstance(data, Data)
    start = torch.full_like(model, float(model.mean()))
    analytic, finite = gradient_check(lambda m: data.chi_squared(operator(m)), start, seed=10)
    assert analytic != 0.0


def test_float32_models_give_float32_data(case):
    operator, model = case
    single = operator(model.float())
    assert single.dtype == torch.float32
    np.testing.assert_allclose(single.double().numpy(), operator(model).numpy(), rtol=1e-6, atol=0)
    assert operator.vjp(model.float(), single).dtype == torch.float32


# -- Gaussian kernel (NFs-Inv) ------------------------------------------------------

def test_gaussian_kernel_matches_a_direct_evaluation():
    grid = Grid(nx=7, nz=9, dx=2.0, dz=1.5, x0=-3.0, z0=2.0)
    starts = np.array([[grid.x0, 3.0], [grid.x_max, 14.9], [-0.5, 2.0], [6.0, 8.0]])
    ends = np.array([[grid.x_max, 12.0], [grid.x0, 5.2], [4.2, 15.5], [grid.x0, 8.0]])
    operator = one_ray_each(grid, starts, ends, kernel="gaussian")
    expected = np.zeros((len(starts), grid.nz, grid.nx))
    for ray, ((xs, zs), (xe, ze)) in enumerate(zip(starts, ends)):
        for ix, xc in enumerate(grid.cell_centers_x):
            if not min(xs, xe) <= xc <= max(xs, xe):
                continue
            z_ray = zs + (ze - zs) * (xc - xs) / (xe - xs)
            for iz, zc in enumerate(grid.cell_centers_z):
                weight = np.exp(-0.5 * ((zc - z_ray) / grid.dz) ** 2)
                expected[ray, iz, ix] = weight if weight >= 0.1 else 0.0
    np.testing.assert_allclose(operator.matrix.toarray(), expected.reshape(len(starts), -1),
                               rtol=1e-13, atol=0)
    assert operator.matrix.nnz == np.count_nonzero(expected)


def test_gaussian_kernel_reproduces_nfs_inv_geometry():
    # NFs-Inv: unit cells with centres at integer x and z, rays from the first
    # to the last column centre, weight exp(-(z - p(x))**2 / 2) zeroed below 0.1
    grid = Grid(nx=8, nz=12, dx=1.0, dz=1.0, x0=-0.5, z0=-0.5)
    x, z = np.arange(8.0), np.arange(12.0)
    depths = np.linspace(0, 11, 4)
    operator = StraightRayTomography(grid, np.column_stack([np.zeros(4), depths]),
                                     np.column_stack([np.full(4, 7.0), depths]),
                                     kernel="gaussian")
    rows = []
    for zs in depths:
        for ze in depths:
            line = zs + (ze - zs) / (x[-1] - x[0]) * x
            weight = np.exp(-((z[:, None] - line[None, :]) ** 2) / 2.0)
            rows.append(np.where(weight < 0.1, 0.0, weight).ravel())
    np.testing.assert_allclose(operator.matrix.toarray(), np.array(rows), rtol=1e-13, atol=0)


# -- bad input ------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, error, message", [
    (dict(sources=[[-8.0, 5.0]]), ValueError, "sources must lie inside the grid"),
    (dict(receivers=[[0.0, 20.5]]), ValueError, "receivers must lie inside the grid"),
    (dict(sources=np.empty((0, 2))), ValueError, "sources must hold at least one point"),
    (dict(pairs=np.empty((0, 2), dtype=int)), ValueError,
     "pairs must hold at least one ray, got an empty array"),
    (dict(pairs=[[0, 0], [2, 0]]), ValueError,
     "pairs[:, 0] must be source indices in [0, 1], got 2"),
    (dict(pairs=[[0, -1]]), ValueError, "pairs[:, 1] must be receiver indices in [0, 2], got -1"),
    (dict(pairs=[0, 1]), ValueError, "pairs must have shape (n_rays, 2)"),
    (dict(pairs=[[0.0, 1.0]]), TypeError, "pairs must be an integer array"),
    (dict(kernel="curved"), ValueError,
     "kernel must be one of ['exact', 'gaussian'], got 'curved'"),
    (dict(kernel="gaussian", sources=[[0.0, 5.0], [2.0, 6.0]], receivers=[[2.0, 19.0]]),
     ValueError, "kernel='gaussian' needs rays with different source and receiver x; "
                 "got 1 vertical ray(s), e.g. ray 1 (source 1, receiver 0)"),
])
def test_construction_errors(kwargs, error, message):
    arguments = dict(sources=[[-7.0, 5.0], [0.0, 4.0]],
                     receivers=[[23.0, 20.0], [2.0, 19.0], [10.0, 12.0]])
    arguments.update(kwargs)
    with pytest.raises(error, match=re.escape(message)):
        StraightRayTomography(GRID, **arguments)


def test_model_errors(case):
    operator, model = case
    for value, message in ((0.0, "model (velocity) must be > 0 m/s everywhere, got 0.0"),
                           (-1500.0, "model (velocity) must be > 0 m/s everywhere, got -1500.0"),
                           (float("nan"), "model (velocity) must be finite, got NaN or inf")):
        bad = model.clone()
        bad[2, 3] = value
        with pytest.raises(ValueError, match=re.escape(message)):
            operator(bad)
    with pytest.raises(ValueError, match=re.escape("model must have shape (nz, nx) = (5, 6)")):
        operator(model.T)
    with pytest.raises(ValueError, match=re.escape("tangent must have shape (5, 6), got (30,)")):
        operator.jvp(model, model.ravel())
    with pytest.raises(ValueError, match=re.escape("cotangent must have shape (16,), got (15,)")):
        operator.vjp(model, torch.ones(15, dtype=torch.float64))
    with pytest.raises(ValueError, match=re.escape("n_sources must be an integer >= 1, got 0")):
        StraightRayTomography.crosshole(GRID, 0, 3)


def test_crosshole_refuses_a_string_grid():
    with pytest.raises(TypeError, match=re.escape("grid must be a jointinv.Grid, got str")):
        StraightRayTomography.crosshole("5x4", 3, 3)


@pytest.mark.parametrize("velocity,dtype,message", [
    (5e-324, torch.float64, "model (velocity) must be >= 7.46e-155 m/s in torch.float64"),
    (1e-30, torch.float32, "model (velocity) must be >= 5.42e-20 m/s in torch.float32"),
    (0.0, torch.float64, "model (velocity) must be > 0 m/s everywhere, got 0.0"),
])
def test_velocity_whose_reciprocal_overflows_is_refused(velocity, dtype, message):
    operator = StraightRayTomography.crosshole(Grid(nx=4, nz=3, dx=1.0, dz=1.0), 2, 2)
    with pytest.raises(ValueError, match=re.escape(message)):
        operator(torch.full((3, 4), velocity, dtype=dtype))


@pytest.mark.parametrize("velocity", [0.5, 3e5])
def test_implausible_velocity_warns_once(velocity, recwarn):
    operator = StraightRayTomography.crosshole(Grid(nx=4, nz=3, dx=1.0, dz=1.0), 2, 2)
    model = torch.full((3, 4), velocity, dtype=torch.float64)
    with pytest.warns(UserWarning, match=re.escape("is the model in m/s (not km/s or slowness)?")):
        times = operator(model)
    assert torch.isfinite(times).all()
    recwarn.clear()
    operator(model)
    assert not [w for w in recwarn if "is the model in m/s" in str(w.message)]

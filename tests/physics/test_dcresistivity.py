"""DCResistivity2D against independent oracles (half-space, SimPEG's 1D layered earth,
finite differences), adjoints, caching and errors."""

import logging
import re
import warnings

import numpy as np
import pymatsolver
import pytest
import torch
from discretize import TensorMesh
from jointinv.physics.dc_survey import Quadrupoles, surface_line
from jointinv.physics.dcresistivity import DCResistivity2D
from simpeg.electromagnetics.static import resistivity as dc

import jointinv
from jointinv import Grid
from jointinv.testing import dottest, gradient_check, random_like, taylor_test


class CountingSolverLU(pymatsolver.SolverLU):
    """SuperLU that counts its factorisations (one per construction)."""

    factorisations = 0

    def __init__(self, A, **kwargs):
        type(self).factorisations += 1
        super().__init__(A, **kwargs)


@pytest.fixture
def case():
    return DCResistivity2D.example_case()


@pytest.fixture
def counting_operator():
    grid = Grid(nx=12, nz=4, dx=10.0, dz=10.0, x0=-60.0)
    line = surface_line("dipole-dipole", -30.0, 30.0, 12.0, n_max=3)
    CountingSolverLU.factorisations = 0
    operator = DCResistivity2D(grid, line, padding_cells=4, padding_factor=1.5, nky=5,
                               solver=CountingSolverLU, sensitivity="products")
    model = torch.full(grid.shape, 1.5, dtype=torch.float64)
    model[1:3, 5:8] = 0.5
    return operator, model


# -- physics against independent oracles -------------------------------------------------
def test_simpeg_conductivity_is_ten_to_minus_model(case):
    operator, model = case
    operator.simulation.model = operator.simpeg_model(model)
    sigma = operator.simulation.sigma
    assert sigma.shape == (operator.mesh.n_cells,)
    core = operator.mesh.point2index(np.column_stack(
        [operator.grid.cell_centers[:, 0], -operator.grid.cell_centers[:, 1]]))
    np.testing.assert_allclose(sigma[core], 10.0 ** -model.numpy().ravel(), rtol=1e-12)


HALF_SPACE_GRID = Grid(nx=40, nz=10, dx=2.0, dz=2.0, x0=-40.0)


@pytest.mark.parametrize("array", ["dipole-dipole", "pole-dipole", "dipole-pole", "pole-pole",
                                   "wenner", "schlumberger"])
def test_half_space_apparent_resistivity(array):
    # electrodes 6 cells apart: discretisation error well below the 2 % asked
    line = surface_line(array, -24.0, 24.0, 12.0, n_max=4)
    operator = DCResistivity2D(HALF_SPACE_GRID, line)
    predicted = operator(torch.full(HALF_SPACE_GRID.shape, 2.0, dtype=torch.float64))
    np.testing.assert_allclose(predicted.numpy(), 100.0, rtol=0.02)


def test_half_space_buried_electrodes_and_voltages():
    # two boreholes (x = -10 and 10 m): image-method geometric factors
    a, b = [[-10.0, 4.0], [-10.0, 8.0]], [[-10.0, 16.0], [-10.0, 8.0 + 10.0]]
    m, n = [[10.0, 6.0], [10.0, 4.0]], [[10.0, 14.0], [10.0, 16.0]]
    borehole = Quadrupoles(a=a, b=b, m=m, n=n)
    model = torch.full(HALF_SPACE_GRID.shape, 1.0, dtype=torch.float64)
    rho_a = DCResistivity2D(HALF_SPACE_GRID, borehole)(model).numpy()
    np.testing.assert_allclose(rho_a, 10.0, rtol=0.02)
    volts = DCResistivity2D(HALF_SPACE_GRID, borehole, data_type="volt")(model).numpy()
    np.testing.assert_allclose(volts, rho_a * borehole.geometric_factor(), rtol=1e-12)


def test_padding_value_changes_data_as_expected():
    line = surface_line("dipole-dipole", -24.0, 24.0, 12.0, n_max=2)
    model = torch.full(HALF_SPACE_GRID.shape, 2.0, dtype=torch.float64)
    same = DCResistivity2D(HALF_SPACE_GRID, line, padding_value=2.0)(model)
    copied = DCResistivity2D(HALF_SPACE_GRID, line)(model)
    np.testing.assert_allclose(same.numpy(), copied.numpy(), rtol=1e-12)
    conductive = DCResistivity2D(HALF_SPACE_GRID, line, padding_value=0.0)
    data = conductive(model)
    sigma, mesh = conductive.simulation.sigma, conductive.mesh
    core = mesh.point2index(np.column_stack([HALF_SPACE_GRID.cell_centers[:, 0],
                                             -HALF_SPACE_GRID.cell_centers[:, 1]]))
    padding = np.setdiff1d(np.arange(mesh.n_cells), core)
    np.testing.assert_allclose(sigma[core], 0.01)
    np.testing.assert_allclose(sigma[padding], 1.0)
    assert not np.allclose(data.numpy(), copied.numpy(), rtol=0.01)


WENNER_SPACINGS = np.array([6.0, 12.0, 18.0, 24.0])  # m, a = AM = MN = NB, centred on x = 0


def wenner_sounding() -> Quadrupoles:
    on_surface = np.zeros(len(WENNER_SPACINGS))
    a, m, n, b = (np.column_stack([factor * WENNER_SPACINGS, on_surface])
                  for factor in (-1.5, -0.5, 0.5, 1.5))
    return Quadrupoles(a=a, b=b, m=m, n=n)


def layered_earth_1d(top: float, bottom: float, thickness: float) -> np.ndarray:
    """Wenner apparent resistivity [ohm m] from SimPEG's 1D Hankel-transform solution."""
    sources = []
    for spacing in WENNER_SPACINGS:
        electrodes = [np.r_[factor * spacing, 0.0, 0.0] for factor in (-1.5, -0.5, 0.5, 1.5)]
        receiver = dc.receivers.Dipole(electrodes[1][None], electrodes[2][None], data_type="volt")
        sources.append(dc.sources.Dipole([receiver], electrodes[0], electrodes[3]))
    simulation = dc.Simulation1DLayers(survey=dc.Survey(sources), rho=np.r_[top, bottom],
                                       thicknesses=np.r_[thickness])
    # V = rho_a I / (2 pi a) for a Wenner array on the surface of a half-space, I = 1 A
    return simulation.dpred() * 2.0 * np.pi * WENNER_SPACINGS


def nonconforming_mesh() -> TensorMesh:
    """1.5 m cells under 2 m grid cells; nodes at the electrodes, 6 m a cell face."""
    pad = 1.5 * 1.3 ** np.arange(1, 11)
    h_x = np.r_[pad[::-1], np.full(80, 1.5), pad]
    h_z = np.r_[pad[::-1], np.full(20, 1.5)]
    return TensorMesh([h_x, h_z], origin=(-60.0 - pad.sum(), -30.0 - pad.sum()))


@pytest.mark.parametrize("top, bottom", [(100.0, 10.0), (10.0, 100.0)])
@pytest.mark.parametrize("mesh", ["padded grid", "nonconforming"])
def test_layered_earth_matches_simpeg_1d_layers(top, bottom, mesh):
    # two layers, interface at 6 m depth, under a Wenner sounding (a = 6 to 24 m)
    if mesh == "padded grid":
        grid, user_mesh = Grid(nx=120, nz=30, dx=1.0, dz=1.0, x0=-60.0), None
    else:
        grid, user_mesh = Grid(nx=60, nz=15, dx=2.0, dz=2.0, x0=-60.0), nonconforming_mesh()
    operator = DCResistivity2D(grid, wenner_sounding(), mesh=user_mesh)
    model = torch.full(grid.shape, np.log10(top), dtype=torch.float64)
    model[grid.cell_centers_z > 6.0] = np.log10(bottom)
    expected = layered_earth_1d(top, bottom, thickness=6.0)
    np.testing.assert_allclose(operator(model).numpy(), expected, rtol=0.03)
    assert np.ptp(expected) > 0.5 * min(top, bottom)  # the sounding does see both layers


def test_user_tree_mesh_half_space():
    from discretize import TreeMesh

    grid = Grid(nx=12, nz=4, dx=10.0, dz=10.0, x0=-60.0)
    line = surface_line("dipole-dipole", -30.0, 30.0, 12.0, n_max=3)
    mesh = TreeMesh([np.full(256, 2.0), np.full(128, 2.0)], origin=(-256.0, -256.0),
                    diagonal_balance=False)
    mesh.refine_box([-70.0, -50.0], [70.0, 0.0], levels=mesh.max_level)  # 2 m near the line
    mesh.finalize()
    operator = DCResistivity2D(grid, line, mesh=mesh)
    half_space = torch.full(grid.shape, 2.0, dtype=torch.float64)
    np.testing.assert_allclose(operator(half_space).numpy(), 100.0, rtol=0.02)
    dottest(operator, DCResistivity2D.example_case()[1], rtol=1e-10)


def test_user_mesh_nonconforming_derivatives():
    grid = Grid(nx=12, nz=4, dx=10.0, dz=10.0, x0=-60.0)
    line = surface_line("dipole-dipole", -30.0, 30.0, 12.0, n_max=3)
    h_x = np.r_[40.0, 20.0, np.full(18, 7.0), 20.0, 40.0]  # 7 m cells do not match 10 m
    mesh = TensorMesh([h_x, np.r_[60.0, 30.0, np.full(7, 7.0)]], origin=(-123.0, -139.0))
    operator = DCResistivity2D(grid, line, mesh=mesh, nky=5)
    model = DCResistivity2D.example_case()[1]
    dottest(operator, model, rtol=1e-10)
    taylor_test(operator, model)


# -- derivatives (SimPEG's products and the stored sensitivity) ---------------------------
@pytest.fixture(params=["products", "stored"])
def either_path(request):
    operator, model = DCResistivity2D.example_case()
    return DCResistivity2D(operator.grid, operator.quadrupoles, padding_cells=4,
                           padding_factor=1.5, nky=5, sensitivity=request.param), model


def test_dot_product_wrapped_products(either_path):
    operator, model = either_path
    left, right = dottest(operator, model, rtol=1e-10, seed=3)
    assert abs(left) > 0


def test_taylor(either_path):
    taylor_test(*either_path)


def test_jacobian_matches_finite_differences(either_path):
    # the whole Jacobian by central differences of the forward (no Jvec/Jtvec in it)
    operator, model = either_path
    step = 1e-4
    columns = []
    with torch.no_grad():
        for cell in range(operator.grid.n_cells):
            bump = torch.zeros(operator.grid.n_cells, dtype=torch.float64)
            bump[cell] = step
            bump = bump.reshape(operator.grid.shape)
            columns.append((operator(model + bump) - operator(model - bump)) / (2 * step))
    jacobian = torch.stack(columns, dim=1)  # (n_data, nz * nx), C order
    v = random_like(model, 5)
    u = random_like(torch.zeros(operator.n_data, dtype=torch.float64), 6)
    np.testing.assert_allclose(operator.jvp(model, v).numpy(), (jacobian @ v.reshape(-1)).numpy(),
                               rtol=1e-6)
    np.testing.assert_allclose(operator.vjp(model, u).reshape(-1).numpy(),
                               (jacobian.T @ u).numpy(), rtol=1e-6)


def test_torch_gradcheck_reverse_and_forward(case):
    operator, model = case
    leaf = model.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(operator, (leaf,), eps=1e-6, atol=1e-6, rtol=1e-5,
                                    check_forward_ad=True)


def test_float32_in_float32_out(case):
    operator, model = case
    predicted = operator(model.float())
    assert predicted.dtype == torch.float32
    np.testing.assert_allclose(predicted.numpy(), operator(model).numpy(), rtol=1e-5)
    assert operator.vjp(model.float(), predicted).dtype == torch.float32


def test_misfit_gradient_through_unet_weights(case):
    from jointinv.networks import UNet

    operator, model = case
    observed = operator(model).detach()
    torch.manual_seed(0)
    unet = UNet(in_channels=1, out_channels=1, depth=1, base_channels=2, norm=None,
                activation="tanh").double()
    latent = random_like(torch.zeros(1, 1, *operator.grid.shape, dtype=torch.float64), 7)
    names = [name for name, _ in unet.named_parameters()]
    shapes = [parameter.shape for _, parameter in unet.named_parameters()]
    weights = torch.nn.utils.parameters_to_vector(unet.parameters()).detach()

    def misfit(vector):
        pieces = torch.split(vector, [int(np.prod(shape)) for shape in shapes])
        parameters = {name: piece.reshape(shape)
                      for name, piece, shape in zip(names, pieces, shapes)}
        output = torch.func.functional_call(unet, parameters, (latent,))
        predicted = operator(2.0 + 0.2 * output[0, 0])
        return (((predicted - observed) / (0.05 * observed)) ** 2).sum()

    analytic, finite = gradient_check(misfit, weights, seed=8, step=1e-6, rtol=1e-5)
    assert abs(analytic) > 0


# -- one factorisation per model ----------------------------------------------------------
def test_one_factorisation_per_model(counting_operator):
    operator, model = counting_operator
    nky = operator.simulation.nky
    leaf = model.clone().requires_grad_(True)
    predicted = operator(leaf)
    predicted.sum().backward()
    operator.jvp(model, random_like(model, 1))
    operator.vjp(model, random_like(predicted, 2))
    dottest(operator, model, rtol=1e-10)
    assert CountingSolverLU.factorisations == nky
    assert operator.bridge.n_fields_computed == 1
    operator(model + 0.1)
    assert CountingSolverLU.factorisations == 2 * nky
    # back to the first model: new factorisations, but no more than one set
    operator.vjp(model, random_like(predicted, 2))
    operator.jvp(model, random_like(model, 1))
    assert CountingSolverLU.factorisations == 3 * nky


def test_products_after_a_model_change_equal_a_fresh_operators(counting_operator):
    # SimPEG keeps the Robin boundary term's derivative across model updates
    operator, model = counting_operator
    fresh = DCResistivity2D(operator.grid, operator.quadrupoles, padding_cells=4,
                            padding_factor=1.5, nky=5, sensitivity="products")
    v = random_like(model, 3)
    operator.jvp(model, v)
    np.testing.assert_allclose(operator.jvp(model + 0.2, v).numpy(),
                               fresh.jvp(model + 0.2, v).numpy(), rtol=1e-12)


def test_stale_factorisations_are_not_mixed(counting_operator):
    operator, model = counting_operator
    u = random_like(torch.zeros(operator.n_data, dtype=torch.float64), 4)
    expected = operator.vjp(model, u)
    # someone solves another model on the shared SimPEG simulation directly
    operator.simulation.fields(operator.simpeg_model(model + 0.5))
    np.testing.assert_allclose(operator.vjp(model, u).numpy(), expected.numpy(), rtol=1e-12)


def test_solver_notice_and_choice(caplog):
    import jointinv.simpeg.solvers as solvers

    solvers._announced.clear()
    with caplog.at_level(logging.INFO, logger="jointinv.simpeg.solvers"):
        chosen = solvers.choose_solver(None)
        solvers.choose_solver(None)
    notices = [r.message for r in caplog.records if "factorising with" in r.message]
    assert len(notices) == 1 and solvers.solver_name(chosen) in notices[0]
    expected = next(name for name in solvers.SOLVER_NAMES if solvers._available(name))
    assert solvers.solver_name(chosen) == expected
    assert solvers.choose_solver("SuperLU") is pymatsolver.SolverLU


# -- implausible models -------------------------------------------------------------------
def test_impossible_log10_resistivity_is_refused(case):
    operator, model = case
    for bad in (10.0 ** model, model - 15.0):  # 100-200 ohm m as is; 1e-13 ohm m
        with pytest.raises(ValueError, match=re.escape(
                "model is log10 resistivity [log10 ohm m] and must lie in [-12, 12]")):
            operator(bad)
    with pytest.raises(ValueError, match=re.escape("model is log10 resistivity")):
        operator.vjp(model + 11.0, torch.zeros(operator.n_data, dtype=torch.float64))


def test_resistivity_instead_of_log10_warns_once_per_operator(case):
    operator, model = case
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a plausible model draws no warning
        operator(model)
        operator(torch.full_like(model, -3.0))
    ohm_m = torch.full_like(model, 10.0)  # 10 ohm m passed as if log10
    with pytest.warns(UserWarning, match="did you pass resistivity instead of its log10") as seen:
        operator(ohm_m)
        operator(ohm_m)
        operator.jvp(ohm_m, model)
    assert sum("did you pass" in str(record.message) for record in seen) == 1
    fresh, _ = DCResistivity2D.example_case()
    with pytest.warns(UserWarning, match=re.escape("outside the plausible [-3, 8]")):
        fresh(torch.full_like(model, -3.5))


# -- bad input ----------------------------------------------------------------------------
def test_errors(case):
    operator, model = case
    grid = operator.grid
    line = surface_line("dipole-dipole", -30.0, 30.0, 12.0, n_max=3)
    with pytest.raises(ValueError, match=re.escape("electrodes must lie inside the grid")):
        DCResistivity2D(grid, surface_line("dipole-dipole", -30.0, 90.0, 12.0, n_max=3))
    above = Quadrupoles(a=[[0.0, -2.0]], b=[[10.0, 0.0]], m=[[20.0, 0.0]], n=[[30.0, 0.0]])
    with pytest.raises(ValueError, match=re.escape("electrodes must lie at or below the ground "
                                                   "surface (depth z >= 0.0 m)")):
        DCResistivity2D(grid, above)
    with pytest.raises(ValueError, match="same position .* for electrodes A and N"):
        Quadrupoles(a=[[0.0, 0.0]], b=[[10.0, 0.0]], m=[[20.0, 0.0]], n=[[0.0, 0.0]])
    small = TensorMesh([np.full(10, 10.0), np.full(6, 10.0)], origin=(-60.0, -60.0))
    with pytest.raises(ValueError, match=re.escape("mesh must cover the grid (x in [-60.0, 60.0]")):
        DCResistivity2D(grid, line, mesh=small)
    bad = model.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match=re.escape("model (log10 resistivity) must be finite")):
        operator(bad)
    with pytest.raises(ValueError, match=re.escape("model must have shape (nz, nx) = (4, 12)")):
        operator(model[:, :5])
    with pytest.raises(ValueError, match=re.escape("tangent must have shape (4, 12), got (48,)")):
        operator.jvp(model, model.reshape(-1))
    with pytest.raises(ValueError, match=re.escape("cotangent must have shape (6,), got (5,)")):
        operator.vjp(model, torch.zeros(5, dtype=torch.float64))
    with pytest.raises(TypeError, match="survey must be a jointinv.physics.dc_survey.Quadrupoles"):
        DCResistivity2D(grid, "dipole-dipole")
    with pytest.raises(ValueError, match="positions must be distinct electrodes"):
        DCResistivity2D(grid, np.zeros((3, 2)))
    with pytest.raises(ValueError, match=re.escape(
            "data_type must be one of ['apparent_resistivity', 'volt'], got 'ohm'")):
        DCResistivity2D(grid, line, data_type="ohm")
    with pytest.raises(ValueError, match=re.escape(
            "solver must be one of ['pardiso', 'mumps', 'superlu'] or a solver class, got 'cg'")):
        DCResistivity2D(grid, line, solver="cg")
    with pytest.raises(TypeError, match="solver must be None, a name"):
        DCResistivity2D(grid, line, solver=3)
    with pytest.raises(ValueError, match=re.escape("nky must be an integer >= 3, got 2")):
        DCResistivity2D(grid, line, nky=2)
    if not pymatsolver.AvailableSolvers["Pardiso"]:
        with pytest.raises(ValueError, match="solver 'pardiso' is not available here"):
            DCResistivity2D(grid, line, solver="pardiso")


def test_electrode_positions_build_a_survey_and_a_coarse_mesh_warns():
    """An uneven line given as positions; the half-space datum tells the mesh is too coarse."""
    grid = Grid(nx=40, nz=10, dx=5.0, dz=5.0, x0=-100.0)
    electrodes = np.column_stack([[-60, -48, -40, -25, -10, 0, 15, 30], np.zeros(8)])
    with pytest.warns(UserWarning, match=re.escape("1.6 cells per smallest electrode spacing "
                                                   "(8 m)")):
        coarse = jointinv.create_physics("dcr", grid, electrodes, n_max=3)
    fine = jointinv.create_physics("dcr", grid, electrodes, n_max=3, refinement=3)
    half_space = torch.full(grid.shape, 2.0, dtype=torch.float64)
    error_coarse = float((coarse(half_space) / 100.0 - 1).abs().max())
    error_fine = float((fine(half_space) / 100.0 - 1).abs().max())
    assert error_fine < 0.03 < error_coarse       # what the warning is about
    with pytest.raises(ValueError, match=re.escape("nky = 100000 makes the DC simulation")):
        jointinv.create_physics("dcr", grid, electrodes, nky=10**5)

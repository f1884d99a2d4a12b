"""DCResistivity2D's stored sensitivity: against SimPEG's own getJ and the products path,
the plugin kit on it, one J per model, and Gauss-Newton recovering the same model."""

import logging
import re

import numpy as np
import pytest
import torch
from discretize import TreeMesh
from jointinv.physics.dc_sensitivity import nodal_sensitivity
from jointinv.physics.dc_survey import surface_line
from jointinv.physics.dcresistivity import DCResistivity2D

from jointinv import Grid, invert
from jointinv.testing import check_plugin, random_like

GRID = Grid(nx=12, nz=4, dx=10.0, dz=10.0, x0=-60.0)
LINE = surface_line("dipole-dipole", -30.0, 30.0, 12.0, n_max=3)
SMALL = {"padding_cells": 4, "padding_factor": 1.5, "nky": 5}


def operator_pair(line=LINE, **options):
    """The same DC operator with a stored sensitivity and with SimPEG's products."""
    options = {**SMALL, **options}
    return (DCResistivity2D(GRID, line, sensitivity="stored", **options),
            DCResistivity2D(GRID, line, sensitivity="products", **options))


def example_model():
    return DCResistivity2D.example_case()[1]


def tree_mesh():
    mesh = TreeMesh([np.full(32, 5.0), np.full(16, 5.0)], origin=(-80.0, -80.0))
    mesh.refine_box([-60.0, -40.0], [60.0, 0.0], levels=mesh.max_level)
    mesh.refine(mesh.max_level - 2)
    return mesh


def assert_same(actual, expected):
    """Equal to rounding: the two paths sum the same terms in another order."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-12 * np.abs(expected).max())


def full_jacobian(operator, model):
    """J row by row from the operator's vjp (SimPEG's Jtvec on the products path)."""
    eye = torch.eye(operator.n_data, dtype=torch.float64)
    return torch.stack([operator.vjp(model, row).reshape(-1) for row in eye])


# -- the assembly against SimPEG's own sensitivity ------------------------------------------
@pytest.mark.parametrize("options", [
    {},
    {"data_type": "volt"},
    {"mesh": "tree"},
    {"array": "pole-dipole"},
], ids=["dipole-dipole", "volt", "tree-mesh", "pole-dipole"])
def test_batched_assembly_equals_simpeg_getj(options):
    options = dict(options)
    line = surface_line(options.pop("array", "dipole-dipole"), -30.0, 30.0, 12.0, n_max=3)
    if options.get("mesh") == "tree":
        options["mesh"] = tree_mesh()
    stored, products = operator_pair(line, **options)
    model = example_model()
    m = stored.simpeg_model(model)
    fields = stored.bridge.fields(m)
    ours = nodal_sensitivity(stored.simulation, fields)
    # SimPEG's getJ: one adjoint solve call per receiver, its own loops (an independent code path)
    simpeg = products.simulation.getJ(m, f=products.bridge.fields(m))
    assert ours.shape == (stored.n_data, GRID.n_cells)
    assert_same(ours, simpeg)
    # and SimPEG's products
    assert_same(full_jacobian(products, model).numpy(), ours)


def test_stored_path_passes_the_plugin_kit():
    stored, _ = operator_pair()
    report = check_plugin(DCResistivity2D, case=(stored, example_model()), dot_rtol=1e-10)
    assert report["taylor"].shape == (5, 3)
    assert stored.stored_sensitivity.n_built >= 1


def test_products_equal_to_rounding_and_follow_the_model_dtype():
    stored, products = operator_pair()
    model = example_model()
    v, u = random_like(model, 1), random_like(torch.zeros(stored.n_data, dtype=torch.float64), 2)
    assert_same(stored.jvp(model, v).numpy(), products.jvp(model, v).numpy())
    assert_same(stored.vjp(model, u).numpy(), products.vjp(model, u).numpy())
    single = stored.vjp(model.float(), u.float())
    assert single.dtype == torch.float32
    expected = products.vjp(model, u).numpy()
    np.testing.assert_allclose(single.numpy(), expected, atol=1e-5 * np.abs(expected).max())
    assert stored.stored_sensitivity.n_built == 2  # the float32 model is another (rounded) one


# -- one J per model ------------------------------------------------------------------------
def test_sensitivity_is_rebuilt_for_a_new_model_and_never_two_kept():
    stored, products = operator_pair()
    first, second = example_model(), example_model() + 0.2
    store = stored.stored_sensitivity
    linear = stored.linearize(first)
    assert store.n_built == 0  # lazily: nothing until the first product
    v = random_like(first, 3)
    linear.jvp(v), linear.vjp(linear.predicted), linear.jvp(v)
    assert store.n_built == 1 and store.holds(stored.simpeg_model(first))
    held = store.nbytes
    assert held == 8 * stored.n_data * GRID.n_cells

    other = stored.linearize(second)
    assert store.nbytes == 0  # the first model's J is dropped as soon as the model changes
    assert_same(other.jvp(v).numpy(), products.jvp(second, v).numpy())
    assert store.n_built == 2 and store.nbytes == held
    assert store.holds(stored.simpeg_model(second))
    # an old linearisation still gives its own model's products (J built again)
    assert_same(linear.jvp(v).numpy(), products.jvp(first, v).numpy())
    assert store.n_built == 3 and store.nbytes == held


def test_assembly_uses_the_fields_and_factorisations_of_its_model():
    stored, products = operator_pair()
    model = example_model()
    u = random_like(torch.zeros(stored.n_data, dtype=torch.float64), 4)
    with torch.no_grad():
        stored(model)
    # someone solves another model on the shared SimPEG simulation before the first product
    stored.simulation.fields(stored.simpeg_model(model + 0.5))
    assert_same(stored.vjp(model, u).numpy(), products.vjp(model, u).numpy())


# -- the option -----------------------------------------------------------------------------
def test_auto_stores_below_the_limit_and_falls_back_above_with_a_note(caplog):
    assert DCResistivity2D(GRID, LINE, **SMALL).stored_sensitivity is not None
    with caplog.at_level(logging.INFO, logger="jointinv.simpeg.sensitivity"):
        large = DCResistivity2D(GRID, LINE, max_sensitivity_mb=1e-3, **SMALL)
    assert large.stored_sensitivity is None
    notes = [r.getMessage() for r in caplog.records if "sensitivity matrix of" in r.getMessage()]
    assert len(notes) == 1 and "max_sensitivity_mb=0.001" in notes[0]
    forced = DCResistivity2D(GRID, LINE, sensitivity="stored", max_sensitivity_mb=1e-3, **SMALL)
    assert forced.stored_sensitivity is not None


def test_sensitivity_errors():
    with pytest.raises(ValueError, match=re.escape("sensitivity must be one of")):
        DCResistivity2D(GRID, LINE, sensitivity="dense", **SMALL)
    with pytest.raises(ValueError, match=re.escape("max_sensitivity_mb must be a finite "
                                                   "number > 0, got 0.0")):
        DCResistivity2D(GRID, LINE, max_sensitivity_mb=0.0, **SMALL)


# -- Gauss-Newton recovers the same model -----------------------------------------------------
def test_gauss_newton_recovers_the_same_model_with_stored_and_products():
    grid = Grid(nx=24, nz=8, dx=5.0, dz=5.0, x0=-60.0)
    line = surface_line("dipole-dipole", -40.0, 40.0, 10.0, n_max=4)
    true = torch.full(grid.shape, 2.0, dtype=torch.float64)
    true[2:5, 8:14] = 1.3
    options = {"padding_cells": 5, "padding_factor": 1.5, "nky": 5}
    data = DCResistivity2D(grid, line, **options).simulate(true, relative_error=0.03, seed=0)
    start = torch.full(grid.shape, float(np.log10(np.median(data.observed.numpy()))),
                       dtype=torch.float64)
    models, built = {}, {}
    for mode in ("products", "stored"):
        operator = DCResistivity2D(grid, line, sensitivity=mode, **options)
        result = invert(operator, data, start, max_iterations=4, cg_max_iterations=10,
                        progress=False)
        models[mode] = result.models["log10_resistivity"]
        if operator.stored_sensitivity is not None:
            built[mode] = operator.stored_sensitivity.n_built
    assert float((models["products"] - start).abs().max()) > 0.05  # it moved
    difference = ((models["stored"] - models["products"]).abs() / models["products"].abs()).max()
    assert float(difference) <= 1e-6
    assert 1 <= built["stored"] <= 5  # one J per linearised model with products taken

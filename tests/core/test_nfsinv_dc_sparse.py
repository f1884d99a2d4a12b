"""The SimPEG sparse baseline of ``examples/nfsinv_dc.py``: what it hands SimPEG and what
it brings back (a 12 x 4 grid, seconds)."""

import importlib
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from jointinv.physics.dc_survey import surface_line

import jointinv
from jointinv import Grid

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="module")
def sparse():
    """The example module, imported the way the script imports its siblings."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        yield importlib.import_module("nfsinv_dc_sparse")
    finally:
        sys.path.remove(str(EXAMPLES))


@pytest.fixture(scope="module")
def case():
    """A 24 x 8 grid of 5 m cells (4 per electrode spacing), a conductive blob at depth."""
    grid = Grid(nx=24, nz=8, dx=5.0, dz=5.0, x0=-60.0)
    line = surface_line("dipole-dipole", -40.0, 40.0, 20.0, n_max=3)
    operator = jointinv.create_physics("dcr", grid, line, padding_cells=7, padding_factor=1.5,
                                       nky=7)
    z, x = np.meshgrid(grid.cell_centers_z, grid.cell_centers_x, indexing="ij")
    model = torch.as_tensor(2.0 - 0.8 * np.exp(-((x + 10.0) ** 2 + (z - 12.0) ** 2) / 150.0))
    return operator, model, operator.simulate(model, relative_error=0.05, seed=3)


def test_simulation_model_is_ln_conductivity(sparse, case):
    operator, model, _ = case
    simulation = sparse.log_conductivity_simulation(operator)
    # a 0.01 S/m half-space reads about 100 ohm m (independent of the operator)
    half_space = simulation.dpred(np.full(operator.grid.n_cells, math.log(0.01)))
    np.testing.assert_allclose(half_space, 100.0, rtol=0.05)
    # the same data as the operator for log10 rho = -ln sigma / ln 10, cell by cell
    expected = operator(model).double().numpy()
    np.testing.assert_allclose(simulation.dpred(-math.log(10.0) * model.numpy().ravel()),
                               expected, rtol=1e-9)


def test_regularization_norms_reference_and_orientation(sparse, case):
    grid = case[0].grid
    reg = sparse.sparse_regularization(grid)
    assert [np.unique(term.norm).tolist() for term in reg.objfcts] == [[0.0], [1.0], [1.0]]
    reference = np.full(grid.n_cells, math.log(0.01))
    np.testing.assert_allclose(reg.objfcts[0].reference_model, reference)
    assert reg(reference) == pytest.approx(0.0, abs=1e-12)
    # C order: a model that changes with depth only has no x-gradient, and the reverse
    layered = (reference.reshape(grid.shape) + np.arange(grid.nz)[:, None]).ravel()
    smallness, along_x, along_depth = (term(layered) for term in reg.objfcts)
    assert along_x == pytest.approx(0.0, abs=1e-12)
    assert along_depth > 0.0 and smallness > 0.0
    columns = (reference.reshape(grid.shape) + np.arange(grid.nx)[None, :]).ravel()
    _, along_x, along_depth = (term(columns) for term in reg.objfcts)
    assert along_depth == pytest.approx(0.0, abs=1e-12) and along_x > 0.0


def test_recovered_model_is_back_on_the_grid(sparse, case):
    operator, _, data = case
    outcome = sparse.sparse_inversion(operator, data, max_iterations=2)
    assert outcome.model.shape == operator.grid.shape and outcome.iterations == 2
    # chi^2 of the returned grid model through the jointinv operator is SimPEG's own
    # phi_d: a flipped, transposed or mis-scaled model would not fit the same
    with torch.no_grad():
        chi = float(data.chi_squared(operator(outcome.model)))
        start = float(data.chi_squared(operator(torch.full_like(outcome.model, 2.0))))
    assert chi == pytest.approx(outcome.simpeg_phi_d, rel=1e-8)
    assert chi < start


def test_errors(sparse, case):
    operator, _, data = case
    with pytest.raises(ValueError, match=re.escape("max_irls_iterations must be a positive "
                                                   "integer, got 0")):
        sparse.sparse_inversion_setup(operator, data, max_irls_iterations=0)

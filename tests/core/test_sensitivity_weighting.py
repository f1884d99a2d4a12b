"""Sensitivity weights: the estimate against exact column norms, and that the weights
really reach the regularization a setup builds (a weighting that is silently inert fails)."""

import re

import numpy as np
import pytest
import torch
from jointinv.physics.traveltime import StraightRayTomography

from jointinv import Data, Grid, PhysicsSetup
from jointinv.objective import DataMisfit
from jointinv.regularization import Smallness, Smoothness
from jointinv.sensitivity import sensitivity_weights

GRID = Grid(nx=12, nz=8, dx=2.0, dz=2.0)


@pytest.fixture(scope="module")
def setup():
    operator = StraightRayTomography.crosshole(GRID, n_sources=6, n_receivers=6)
    velocity = torch.full(GRID.shape, 2000.0, dtype=torch.float64)
    data = operator.simulate(velocity, relative_error=0.02, seed=1)
    return PhysicsSetup(operator, data, velocity, map="identity")


def exact_weights(setup, threshold):
    """``sqrt(sum_i (J_ij / sigma_i)**2)`` / max, floored: J = -L / v**2 for travel times."""
    lengths = setup.operator.matrix.toarray()
    jacobian = -lengths / setup.initial_model.numpy().ravel() ** 2
    weighted = jacobian / setup.data.standard_deviation.numpy()[:, None]
    weights = np.sqrt((weighted**2).sum(axis=0)).reshape(GRID.shape)
    return np.maximum(weights / weights.max(), threshold)


def test_estimate_matches_exact_column_norms(setup):
    misfit = DataMisfit("v", setup.operator, setup.data)
    estimate = sensitivity_weights(misfit, setup.initial_model, n_probes=400, threshold=1e-2)
    exact = exact_weights(setup, 1e-2)
    above = exact > 0.05
    assert above.sum() > GRID.n_cells // 4                 # a real spread of weights
    np.testing.assert_allclose(estimate.numpy()[above], exact[above], rtol=0.15)
    assert float(estimate.max()) == pytest.approx(1.0)
    assert float(estimate.min()) >= 1e-2


def test_weights_reach_the_built_regularization(setup):
    """Smallness and both smoothness terms carry the weights; the objective follows them."""
    weighted = PhysicsSetup(setup.operator, setup.data, setup.initial_model, map="identity",
                            sensitivity_weighting=True, alpha_s=1.0)
    plain = PhysicsSetup(setup.operator, setup.data, setup.initial_model, map="identity",
                         alpha_s=1.0)
    terms = [term for _, term in weighted.build("v").regularization.weighted_terms]
    assert {type(term) for term in terms} == {Smallness, Smoothness}
    weights = terms[0].cell_weights
    for term in terms:
        assert term.cell_weights is not None
        torch.testing.assert_close(term.cell_weights, weights)
    # the weights differ from cell to cell (rays converge on sources and receivers)
    assert float(weights.max() / weights.min()) > 2.5
    # a unit change of the most and of the least weighted cell: smallness w_j times the
    # plain one, and the whole regularization scaled in proportion
    start = weighted.initial_model
    ratios = []
    for index in (int(weights.argmax()), int(weights.argmin())):
        bumped = start.clone().reshape(-1)
        bumped[index] += 1.0
        models = {"v": bumped.reshape(GRID.shape)}
        smallness_w = terms[0](models)
        smallness_plain = [t for _, t in plain.build("v").regularization.weighted_terms][0](
            models)
        torch.testing.assert_close(smallness_w, weights.reshape(-1)[index] * smallness_plain)
        ratios.append(float(weighted.build("v").regularization(models)
                            / plain.build("v").regularization(models)))
    assert ratios[0] > 2.0 * ratios[1]


def test_weights_change_the_gauss_newton_solution(setup):
    """An inversion with the weighting differs from one without (the weights are not inert)."""
    from jointinv.strategies import run_strategy

    true = setup.initial_model.clone()
    true[2:5, 4:8] = 2400.0
    data = setup.operator.simulate(true, relative_error=0.02, seed=2)
    models = []
    for weighting in (False, True):
        case = PhysicsSetup(setup.operator, data, setup.initial_model, map="identity",
                            sensitivity_weighting=weighting)
        result = run_strategy("independent", {"v": case}, progress=False, max_iterations=5)
        models.append(result.models["v"])
    change = float((models[1] - models[0]).abs().max())
    assert change > 0.01 * float((models[0] - setup.initial_model).abs().max())


def test_errors(setup):
    misfit = DataMisfit("v", setup.operator, setup.data)
    with pytest.raises(ValueError, match=re.escape("n_probes must be an integer >= 1, got 0")):
        sensitivity_weights(misfit, setup.initial_model, n_probes=0)
    with pytest.raises(ValueError, match=re.escape("threshold must be in (0, 1], got 2.0")):
        sensitivity_weights(misfit, setup.initial_model, threshold=2.0)
    with pytest.raises(ValueError, match=re.escape("threshold must be a finite number > 0, "
                                                   "got 0.0")):
        sensitivity_weights(misfit, setup.initial_model, threshold=0.0)
    with pytest.raises(TypeError, match="sensitivity_weighting must be True or False"):
        PhysicsSetup(setup.operator, setup.data, setup.initial_model, sensitivity_weighting=1)
    assert isinstance(setup.data, Data)

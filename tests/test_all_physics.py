"""One parametrised test over every registered physics plugin.

A new plugin that implements ``example_case()`` gets the contract, adjoint,
Taylor and gradient tests without writing a test file.
"""

import pytest
import torch

import jointinv
from jointinv.testing import dottest, gradient_check, taylor_test

PLUGINS = jointinv.available_physics()


@pytest.fixture(params=PLUGINS)
def case(request):
    operator, model = jointinv.load_physics(request.param).example_case()
    return operator, model


def test_contract_metadata(case):
    operator, model = case
    assert isinstance(operator, jointinv.PhysicsOperator)
    assert operator.property and operator.units
    assert tuple(model.shape) == operator.grid.shape and model.dtype == torch.float64
    predicted = operator(model)
    assert tuple(predicted.shape) == tuple(operator.data_shape)
    assert predicted.numel() == operator.n_data and predicted.dtype == model.dtype
    data = operator.simulate(model, relative_error=0.05, noise_floor=1e-3 *
                             float(predicted.abs().max()), seed=1)
    assert data.n_data == operator.n_data


def test_dot_product(case):
    operator, model = case
    dottest(operator, model, rtol=1e-8)


def test_taylor(case):
    operator, model = case
    taylor_test(operator, model)


def test_misfit_gradient_matches_finite_differences(case):
    operator, model = case
    with torch.no_grad():
        observed = operator(model * 1.01)

    def misfit(m):
        return ((operator(m) - observed) ** 2).sum()

    gradient_check(misfit, model)


def test_rejects_bad_models(case):
    operator, model = case
    with pytest.raises(ValueError, match="model must have shape"):
        operator(model[:-1])
    bad = model.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="must be finite"):
        operator(bad)
    with pytest.raises(TypeError, match="model must be a floating-point tensor"):
        operator(model.long())

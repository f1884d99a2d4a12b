import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as fwAD
from conftest import NumpyLinearSimulation

from jointinv import SimulationBridge
from jointinv.testing import random_like


@pytest.fixture
def simulation():
    return NumpyLinearSimulation(n_data=15, n_model=10)


@pytest.fixture
def model():
    return 0.1 * random_like(torch.zeros(10, dtype=torch.float64), seed=3)


def test_forward_matches_simulation(simulation, model):
    bridge = SimulationBridge(simulation)
    expected = simulation.dpred(model.numpy())
    np.testing.assert_allclose(bridge(model).numpy(), expected, rtol=1e-14)


def test_adjoint_dot_product(simulation, model):
    bridge = SimulationBridge(simulation)
    v = random_like(model, 1)
    u = random_like(torch.zeros(15, dtype=torch.float64), 2)
    with fwAD.dual_level():
        jv = fwAD.unpack_dual(bridge(fwAD.make_dual(model, v))).tangent
    leaf = model.clone().requires_grad_(True)
    (jtu,) = torch.autograd.grad(bridge(leaf), leaf, u)
    left, right = float(jv @ u), float(v @ jtu)
    assert abs(left - right) <= 1e-12 * abs(left)


def test_gradient_matches_finite_differences(simulation, model):
    bridge = SimulationBridge(simulation)
    leaf = model.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda m: bridge(m), (leaf,), eps=1e-6, atol=1e-8)
    assert torch.autograd.gradcheck(lambda m: bridge(m), (leaf,), eps=1e-6, atol=1e-8,
                                    check_forward_ad=True, check_backward_ad=False,
                                    check_undefined_grad=False, check_batched_grad=False)


def test_fields_computed_once_per_model(simulation, model):
    bridge = SimulationBridge(simulation)
    leaf = model.clone().requires_grad_(True)
    predicted = bridge(leaf)
    predicted.square().sum().backward()
    with fwAD.dual_level():
        tangent = fwAD.unpack_dual(bridge(fwAD.make_dual(model, random_like(model, 5)))).tangent
    assert tangent.shape == predicted.shape
    assert simulation.n_fields == 1 and bridge.n_fields_computed == 1
    bridge(model + 1e-3)
    assert simulation.n_fields == 2


def test_dtype_follows_input(simulation, model):
    bridge = SimulationBridge(simulation)
    assert bridge(model.float()).dtype == torch.float32


def test_rejects_objects_without_interface():
    with pytest.raises(TypeError, match=r"simulation must provide a callable Jtvec"):
        SimulationBridge(type("NoAdjoint", (), {"dpred": print, "Jvec": print})())

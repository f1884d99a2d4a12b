"""The L1 smallness (NFs-Inv's DC regularization): the term, its errors, its solvers."""

import pytest
import torch

import jointinv
from jointinv import Grid, PhysicsSetup
from jointinv.regularization import Smallness


def test_l1_smallness_value_gradient_and_errors():
    grid = Grid(nx=3, nz=2, dx=1.0, dz=1.0)
    reference = torch.zeros(grid.shape, dtype=torch.float64)
    m = torch.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, -0.25]], dtype=torch.float64,
                     requires_grad=True)
    value = Smallness("m", grid, reference, norm=1)({"m": m})
    assert float(value.detach()) == pytest.approx(6.75)
    value.backward()
    assert torch.equal(m.grad, torch.sign(m.detach()))
    assert float(Smallness("m", grid, reference)({"m": m.detach()})) == pytest.approx(
        float((m.detach() ** 2).sum()))
    for bad in (0, 3, True, "1"):
        with pytest.raises(ValueError, match="norm must be 2"):
            Smallness("m", grid, reference, norm=bad)


def test_setup_checks_the_norm_and_gauss_newton_refuses_l1(velocity_scale_case):
    operator, data, start = velocity_scale_case
    with pytest.raises(ValueError, match="smallness_norm must be 2 .* got 3"):
        PhysicsSetup(operator, data, start, smallness_norm=3)
    with pytest.raises(ValueError, match="L1 smallness .* no curvature for Gauss-Newton"):
        jointinv.invert(operator, data, start, smallness_norm=1, beta=1.0, progress=False)
    with pytest.raises(ValueError, match="L1 smallness .* give beta="):
        jointinv.invert(operator, data, start, solver="adam", smallness_norm=1,
                        progress=False)


def test_adam_fits_with_an_l1_smallness_and_keeps_it_in_the_objective(velocity_scale_case):
    operator, data, start = velocity_scale_case
    result = jointinv.invert(operator, data, start, solver="adam", smallness_norm=1,
                             alpha_x=0.0, alpha_z=0.0, beta=1.0, cooling_factor=1.0,
                             max_iterations=60, progress=False)
    first, last = result.history[0], result.history[-1]
    assert last["phi_d[density]"] < 0.5 * first["phi_d[density]"]
    # phi_m is alpha_s times the L1 deviation from the start (the reference)
    assert last["phi_m[density]"] == pytest.approx(
        1e-3 * float((result.model - start).abs().sum()), rel=0.05)

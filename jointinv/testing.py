"""Public checks for operators: dot-product (adjoint) test and gradient checks.

Third-party plugins run the same checks as the built-in physics::

    from jointinv.testing import dottest, taylor_test, gradient_check
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["dottest", "taylor_test", "gradient_check", "random_like"]


def random_like(tensor: torch.Tensor, seed: int) -> torch.Tensor:
    """Standard-normal tensor shaped like ``tensor``, drawn on the CPU with ``seed``."""
    generator = torch.Generator(device="cpu").manual_seed(int(seed))
    return torch.randn(tensor.shape, generator=generator, dtype=torch.float64).to(tensor)


def dottest(operator, model: torch.Tensor, rtol: float = 1e-6, seed: int = 0) -> tuple:
    """Check ``<J v, u> == <v, J^T u>`` at ``model`` with random ``u``, ``v``.

    Uses ``operator.jvp`` and ``operator.vjp``. Returns both inner products;
    raises ``AssertionError`` (with both values) when their relative
    difference exceeds ``rtol``.
    """
    __tracebackhide__ = True
    v = random_like(model, seed)
    jv = operator.jvp(model, v)
    u = random_like(jv, seed + 1)
    jtu = operator.vjp(model, u)
    left = float((jv.double() * u.double()).sum())
    right = float((v.double() * jtu.double()).sum())
    scale = max(abs(left), abs(right), np.finfo(float).tiny)
    if abs(left - right) > rtol * scale:
        raise AssertionError(
            f"dot test failed: <Jv, u> = {left!r}, <v, J^T u> = {right!r}, "
            f"relative difference {abs(left - right) / scale:.3e} > rtol {rtol:.1e}"
        )
    return left, right


def taylor_test(operator, model: torch.Tensor, direction=None, steps=None, seed: int = 0,
                min_order: float = 1.8) -> np.ndarray:
    """Taylor test of ``forward`` against ``jvp`` (SimPEG's ``check_derivative``).

    For decreasing ``h``, ``||F(m + h v) - F(m)||`` falls like ``h`` while
    ``||F(m + h v) - F(m) - h J v||`` falls like ``h**2``. Passes when the
    second error's observed order reaches ``min_order`` (or it is at round-off)
    at some step. Returns the table ``(h, first-order error, second-order error)``.
    """
    __tracebackhide__ = True
    model = model.detach()
    v = random_like(model, seed) if direction is None else direction.to(model)
    scale = float(model.abs().max()) or 1.0
    v = v * (0.1 * scale / float(v.abs().max()))
    steps = np.logspace(0, -4, 5) if steps is None else np.asarray(steps)
    with torch.no_grad():
        f0 = operator(model)
    jv = operator.jvp(model, v)
    rows = []
    for h in steps:
        with torch.no_grad():
            fh = operator(model + h * v)
        rows.append((h, float((fh - f0).norm()), float((fh - f0 - h * jv).norm())))
    table = np.array(rows)
    floor = 1e3 * np.finfo(np.float64 if model.dtype == torch.float64 else np.float32).eps
    floor *= max(float(f0.norm()), 1e-300)
    orders = np.log10(table[:-1, 2] / table[1:, 2]) / np.log10(table[:-1, 0] / table[1:, 0])
    if not (np.any(orders >= min_order) or np.all(table[:, 2] <= floor)):
        raise AssertionError(
            f"Taylor test failed: (h, |dF|, |dF - hJv|) =\n{table}\norders {orders}"
        )
    return table


def gradient_check(function, model: torch.Tensor, seed: int = 0, step: float = 1e-6,
                   rtol: float = 1e-4) -> tuple:
    """Compare the autograd gradient of a scalar ``function(model)`` with a
    central finite difference along a random direction.

    Returns ``(directional derivative from autograd, finite difference)``;
    raises ``AssertionError`` when they differ by more than ``rtol`` relative.
    """
    __tracebackhide__ = True
    model = model.detach().clone().requires_grad_(True)
    value = function(model)
    (gradient,) = torch.autograd.grad(value, model)
    v = random_like(model, seed)
    scale = float(model.detach().abs().max()) or 1.0
    h = step * scale
    with torch.no_grad():
        plus = float(function(model.detach() + h * v))
        minus = float(function(model.detach() - h * v))
    finite = (plus - minus) / (2 * h)
    analytic = float((gradient * v).sum())
    if abs(analytic - finite) > rtol * max(abs(analytic), abs(finite), 1e-300):
        raise AssertionError(
            f"gradient check failed: autograd {analytic!r} vs finite difference {finite!r}"
        )
    return analytic, finite

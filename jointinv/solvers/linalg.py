"""Small vector helpers on dicts of tensors and a matrix-free conjugate gradient."""

from __future__ import annotations

import torch

__all__ = ["dot", "axpy", "conjugate_gradient", "power_iteration"]


def dot(a: dict, b: dict) -> float:
    """``sum_k <a_k, b_k>``."""
    return float(sum((a[k] * b[k]).sum() for k in a))


def axpy(alpha: float, x: dict, y: dict) -> dict:
    """``alpha * x + y``."""
    return {k: alpha * x[k] + y[k] for k in y}


def conjugate_gradient(apply, rhs: dict, max_iterations: int = 20, tolerance: float = 1e-2,
                       block_preconditioner: dict | None = None):
    """Solve ``A x = rhs`` for symmetric positive (semi-)definite ``A`` given as ``apply``.

    Stops when ``||r|| <= tolerance * ||rhs||`` (an inexact Newton step, as in
    SimPEG's ``InexactGaussNewton``) or after ``max_iterations``; stops early on
    a direction of non-positive curvature. ``block_preconditioner`` ``{key:
    c}`` multiplies block ``key`` of the residual by ``c`` (an approximate
    inverse of that block's curvature), which balances blocks of very
    different scales (velocity and resistivity in a joint inversion).
    Returns ``(x, iterations)``.
    """
    def precondition(vector):
        if block_preconditioner is None:
            return vector
        return {k: block_preconditioner.get(k, 1.0) * v for k, v in vector.items()}

    x = {k: torch.zeros_like(v) for k, v in rhs.items()}
    r = dict(rhs)
    z = precondition(r)
    p = dict(z)
    rz = dot(r, z)
    stop = (tolerance**2) * dot(r, r)
    iterations = 0
    for iterations in range(1, max_iterations + 1):
        ap = apply(p)
        curvature = dot(p, ap)
        if curvature <= 0:
            if iterations == 1:
                x = dict(rhs)  # fall back to steepest descent
            break
        alpha = rz / curvature
        x = axpy(alpha, p, x)
        r = axpy(-alpha, ap, r)
        if dot(r, r) <= stop:
            break
        z = precondition(r)
        rz_new = dot(r, z)
        p = axpy(rz_new / rz, p, z)
        rz = rz_new
    return x, iterations


def power_iteration(apply, like, iterations: int = 4, seed: int = 0) -> float:
    """Estimate the largest eigenvalue of a symmetric positive operator ``apply``.

    ``like`` is a tensor or a dict of tensors (a block vector); ``apply`` maps
    vectors of that form to the same form.
    """
    generator = torch.Generator(device="cpu").manual_seed(seed)
    blocks = like if isinstance(like, dict) else {"": like}
    x = {k: torch.randn(v.shape, generator=generator, dtype=torch.float64).to(v)
         for k, v in blocks.items()}
    as_input = (lambda d: d) if isinstance(like, dict) else (lambda d: d[""])
    as_blocks = (lambda y: y) if isinstance(like, dict) else (lambda y: {"": y})
    x = {k: v / dot(x, x) ** 0.5 for k, v in x.items()}
    value = 0.0
    for _ in range(iterations):
        y = as_blocks(apply(as_input(x)))
        value = dot(x, y)
        y_norm = dot(y, y) ** 0.5
        if y_norm == 0:
            return 0.0
        x = {k: v / y_norm for k, v in y.items()}
    return value

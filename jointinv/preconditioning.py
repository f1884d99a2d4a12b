"""Per-cell step weights for first-order solvers: depth scaling and illumination.

A weight ``w`` in ``[0, 1]`` per cell rescales how far the optimizer moves
that cell: :meth:`jointinv.parameterizations.Cells.set_step_weights`
reparameterises ``m = m_0 + scale * w * p``, so Adam (whose update of ``p``
is about ``lr`` per parameter whatever the gradient) moves cell ``i`` by
about ``lr * scale * w_i``, and gradient methods (L-BFGS) see the gradient
multiplied by ``w``, i.e. the diagonal preconditioner ``w**2``.

- ``"depth"``: ``w = (z / z_max) ** p`` with ``z`` the depth of the cell
  centre below the top of the grid: shallow cells, next to the sources where
  the gradient is largest and least reliable, move less; for gradient methods
  it is the classical compensation of geometrical spreading (``p`` 1-2).
- ``"illumination"``: ``w = sqrt(d / (d + median d))`` (then scaled to a
  maximum of 1) with ``d`` the diagonal of the Gauss-Newton Hessian
  ``J^T W^2 J`` (the pseudo-Hessian of FWI), estimated at the starting model
  by Hutchinson's method, ``d ~ mean_k (J^T W z_k)**2`` over
  ``ILLUMINATION_PROBES`` random-sign data vectors ``z_k`` (one adjoint each,
  reusing the starting simulation). The median is a water level: cells seen
  at least as well as the typical cell take (nearly) full steps, cells the
  data barely see (deep, outside the acquisition) move in proportion to
  ``sqrt(d)``, which keeps Adam's equal-sized steps from dragging them with
  noise. (Normalising by ``max d`` instead would freeze nearly everything:
  the cells next to a source are seen orders of magnitude better.)
"""

from __future__ import annotations

import torch

from .validation import check_choice

__all__ = ["ILLUMINATION_PROBES", "PRECONDITIONERS", "depth_weights", "hessian_diagonal",
           "illumination_weights", "step_weights"]

PRECONDITIONERS = ("depth", "illumination")
#: Random probes of the Hutchinson estimate of the Hessian diagonal (one adjoint each).
ILLUMINATION_PROBES = 4
#: Smallest weight, relative to the largest: no free cell is frozen altogether.
WEIGHT_FLOOR = 1e-3


def depth_weights(grid, power: float = 1.0, dtype=torch.float64, device=None) -> torch.Tensor:
    """``(z / z_max) ** power`` ``(nz, nx)``, ``z`` the cell-centre depth below the grid top."""
    depth = (torch.arange(grid.nz, dtype=dtype, device=device) + 0.5) * grid.dz
    return (depth / depth[-1]).pow(power)[:, None].expand(grid.nz, grid.nx).clone()


def hessian_diagonal(linear, slope: torch.Tensor, probes: int = ILLUMINATION_PROBES,
                     seed: int = 0) -> torch.Tensor:
    """Hutchinson estimate of ``diag(J^T W^2 J)`` ``(nz, nx)`` in the inversion variable.

    Parameters
    ----------
    linear : LinearizedMisfit
        The misfit at the starting model (its ``vjp(u) = J^T (u / sigma)``).
    slope : torch.Tensor
        ``d property / d variable`` ``(nz, nx)`` (chain rule of the map).
    probes : int
        Number of random-sign probes (one adjoint each).
    seed : int
        Seed of the probes (drawn on the CPU).
    """
    generator = torch.Generator(device="cpu").manual_seed(seed)
    residual = linear.residual
    diagonal = torch.zeros_like(slope)
    for _ in range(probes):
        signs = torch.randint(0, 2, residual.shape, generator=generator).to(residual) * 2 - 1
        diagonal += (slope * linear.vjp(signs)) ** 2
    return diagonal / probes


def illumination_weights(diagonal: torch.Tensor) -> torch.Tensor:
    """``sqrt(d / (d + median d))`` scaled to a maximum of 1, ``d`` a Hessian diagonal."""
    level = float(diagonal.median())
    if level <= 0:
        level = float(diagonal[diagonal > 0].median()) if bool((diagonal > 0).any()) else 0.0
    if level <= 0:
        raise ValueError("illumination is zero everywhere (the data do not depend on the "
                         "model at the start); use preconditioner='depth' or None")
    weights = (diagonal / (diagonal + level)).sqrt()
    return weights / weights.max()


def step_weights(choice, key: str, grid, point, power: float, like: torch.Tensor):
    """Normalised step weights ``(nz, nx)`` of model ``key`` for ``choice``.

    ``choice`` is ``"depth"``, ``"illumination"`` (needs ``point``, a
    :class:`~jointinv.problem.ProblemPoint` at the start) or an array of
    non-negative weights of the grid's shape. The result has maximum 1 and
    a floor of ``WEIGHT_FLOOR``.
    """
    if isinstance(choice, str):
        choice = check_choice("preconditioner", choice, PRECONDITIONERS)
        if choice == "depth":
            weights = depth_weights(grid, power, like.dtype, like.device)
        else:
            weights = illumination_weights(sum(hessian_diagonal(linear, point.slopes[k])
                                               for k, linear in point.linear if k == key))
    else:
        weights = torch.as_tensor(choice).to(like)
        if tuple(weights.shape) != tuple(like.shape):
            raise ValueError(f"preconditioner weights of {key!r} must have the grid shape "
                             f"{tuple(like.shape)}, got {tuple(weights.shape)}")
        if not bool(torch.isfinite(weights).all()) or float(weights.min()) < 0 or \
                float(weights.max()) <= 0:
            raise ValueError(f"preconditioner weights of {key!r} must be finite, >= 0 and not "
                             f"all zero")
        weights = weights / weights.max()
    return weights.clamp(min=WEIGHT_FLOOR)

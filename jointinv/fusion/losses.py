"""Training losses of the fusion network: per-property MSE and a batched cross-gradient.

Both work on normalised models ``(batch, P, nz, nx)``. The cross-gradient
term is the normalised cross-gradient of :class:`jointinv.coupling.NormalizedCrossGradient`
evaluated per sample (each sample's ``eps`` is relative to its own largest
gradient, so the term is invariant to scaling a sample's model) and averaged
over cells, samples and property pairs: a value in [0, 1], 0 when all
output channels share their structure.
"""

from __future__ import annotations

import itertools

import torch

from ..coupling import NCG_EPS
from ..grid import Grid
from ..grid_operators import cell_gradient

__all__ = ["weighted_mse", "batched_cross_gradient"]


def weighted_mse(output: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> tuple:
    """``(sum_p w_p MSE_p / sum_p w_p, [MSE_p])`` over ``(batch, P, nz, nx)`` tensors."""
    per_property = ((output - target) ** 2).mean(dim=(0, 2, 3))
    weights = weights.to(per_property)
    return (weights * per_property).sum() / weights.sum(), per_property


def _unit_gradient(models: torch.Tensor, grid: Grid, eps: float) -> tuple:
    gx, gz = cell_gradient(models, grid)
    norm2 = gx * gx + gz * gz
    largest = norm2.amax(dim=(-2, -1), keepdim=True).detach()
    inv = torch.rsqrt(norm2 + (eps**2) * largest + torch.finfo(models.dtype).tiny)
    return gx * inv, gz * inv


def batched_cross_gradient(models: torch.Tensor, grid: Grid, eps: float = NCG_EPS):
    """Mean ``|u_a x u_b|^2`` over cells, samples and channel pairs of ``(batch, P, nz, nx)``.

    ``u`` is the gradient over ``sqrt(|grad m|^2 + eps^2 max |grad m|^2)``
    (the sample's own maximum). A flat sample contributes 0. With one channel
    the value is 0.
    """
    if models.ndim != 4:
        raise ValueError(f"models must have shape (batch, P, nz, nx), got {tuple(models.shape)}")
    pairs = list(itertools.combinations(range(models.shape[1]), 2))
    if not pairs:
        return models.new_zeros(())
    ux, uz = _unit_gradient(models, grid, eps)
    total = models.new_zeros(())
    for a, b in pairs:
        total = total + ((ux[:, a] * uz[:, b] - uz[:, a] * ux[:, b]) ** 2).mean()
    return total / len(pairs)

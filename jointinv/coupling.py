"""Structural coupling terms between models on the common grid.

Each term reads two or more models from the dict of models and returns a
scalar; all use cell-size-aware gradients (:mod:`jointinv.grid_operators`).

- :class:`CrossGradient` — Gallardo & Meju (2003)
  ``sum_cells v |grad m1 x grad m2|^2`` written, as SimPEG does, with the
  identity ``|a x b|^2 = |a|^2 |b|^2 - (a . b)^2`` on face gradients averaged
  to cells. Its value has units ``[m1]^2 [m2]^2 / m^2``, so its weight depends
  on the properties' units: use ``scales`` (divide each model by a typical
  amplitude) or the normalised form.
- :class:`NormalizedCrossGradient` — the same with unit gradient vectors, so
  it measures structure only and is invariant to scaling either model; its
  value divided by the grid area is the mean ``sin^2`` of the angle between
  the two gradients, in [0, 1].
- :class:`JointTotalVariation` — ``sum_cells v sqrt(sum_k |grad m_k / s_k|^2 + eps^2)``,
  which favours edges shared by all models.
"""

from __future__ import annotations

import torch

from .grid import Grid
from .grid_operators import average_faces_to_cells, cell_gradient, face_gradients
from .objective import Term
from .validation import check_positive_float

__all__ = ["CrossGradient", "NormalizedCrossGradient", "JointTotalVariation",
           "normalized_cross_gradient_map"]


def _check_keys(keys, minimum):
    keys = tuple(keys)
    if len(keys) < minimum or len(set(keys)) != len(keys):
        raise ValueError(f"keys must name at least {minimum} different models, got {keys}")
    return keys


def _scales(keys, scales):
    if scales is None:
        return {key: 1.0 for key in keys}
    unknown = sorted(set(scales) - set(keys))
    if unknown:
        raise ValueError(f"scales name models {unknown} that the term does not read {keys}")
    return {key: check_positive_float(f"scales[{key!r}]", scales.get(key, 1.0)) for key in keys}


class CrossGradient(Term):
    """Cross-gradient ``sum_i v_i [A(g1^2)_i A(g2^2)_i - A(g1 g2)_i^2]``.

    ``g = G m / s`` are face gradients (zero on boundary faces), ``A`` averages
    faces to cells and ``v`` is the cell area [m^2] — the discretisation of
    SimPEG's ``regularization.CrossGradient`` on the same TensorMesh.

    Parameters
    ----------
    keys : (str, str)
        The two models.
    grid : Grid
    scales : dict, optional
        ``{key: s}``: each model is divided by ``s`` (a typical amplitude in
        its units) so the term is dimensionless and its weight unit-free.
    """

    def __init__(self, keys, grid: Grid, scales=None):
        self.keys = _check_keys(keys, 2)[:2]
        self.grid = grid
        self.scales = _scales(self.keys, scales)

    def __call__(self, models):
        self._check_keys(models)
        (a, b) = (models[k] / self.scales[k] for k in self.keys)
        ax, az = face_gradients(a, self.grid)
        bx, bz = face_gradients(b, self.grid)
        aa = average_faces_to_cells(ax * ax, az * az)
        bb = average_faces_to_cells(bx * bx, bz * bz)
        ab = average_faces_to_cells(ax * bx, az * bz)
        return self.grid.dx * self.grid.dz * (aa * bb - ab * ab).sum()


def _unit_gradient(model, grid, eps):
    gx, gz = cell_gradient(model, grid)
    norm2 = gx * gx + gz * gz
    largest = norm2.max()
    if float(largest.detach()) == 0.0:  # a flat model has no structure to align
        return torch.zeros_like(gx), torch.zeros_like(gz)
    # eps is relative to the model's largest gradient, so the result is
    # exactly invariant to scaling the model
    inv = torch.rsqrt(norm2 + (eps**2) * largest)
    return gx * inv, gz * inv


def normalized_cross_gradient_map(m1: torch.Tensor, m2: torch.Tensor, grid: Grid,
                                  eps: float = 1e-2) -> torch.Tensor:
    """``|u1 x u2|^2`` per cell ``(nz, nx)``.

    ``u = grad m / sqrt(|grad m|^2 + eps^2 max|grad m|^2)`` at cell centres.

    0 where the gradients are parallel (or one model is flat), up to 1 where
    they are perpendicular.
    """
    ux, uz = _unit_gradient(m1, grid, eps)
    wx, wz = _unit_gradient(m2, grid, eps)
    return (ux * wz - uz * wx) ** 2


class NormalizedCrossGradient(Term):
    """Cross-gradient of unit gradient vectors: ``sum_i v_i |u1 x u2|_i^2``.

    Invariant under ``m_k -> c m_k`` for any ``c > 0``. ``eps`` (relative to
    each model's largest gradient) keeps flat regions from amplifying noise.
    :meth:`mean` gives the area-weighted mean in [0, 1], the structural
    similarity reported by comparison studies (0 = identical structure).
    """

    def __init__(self, keys, grid: Grid, eps: float = 1e-2):
        self.keys = _check_keys(keys, 2)[:2]
        self.grid = grid
        self.eps = check_positive_float("eps", eps)

    def residual(self, models) -> torch.Tensor:
        """``sqrt(v) (u1 x u2)`` per cell: the value is the sum of its squares."""
        self._check_keys(models)
        a, b = (models[k] for k in self.keys)
        ux, uz = _unit_gradient(a, self.grid, self.eps)
        wx, wz = _unit_gradient(b, self.grid, self.eps)
        return (self.grid.dx * self.grid.dz) ** 0.5 * (ux * wz - uz * wx)

    def __call__(self, models):
        return (self.residual(models) ** 2).sum()

    def mean(self, models) -> float:
        """Area-weighted mean of ``|u1 x u2|^2`` over the grid."""
        with torch.no_grad():
            return float(self(models)) / (self.grid.n_cells * self.grid.dx * self.grid.dz)


class JointTotalVariation(Term):
    """``sum_i v_i sqrt(sum_k A(g_k^2)_i + eps^2)`` with ``g_k = G m_k / s_k``.

    Parameters
    ----------
    keys : sequence of str
        Two or more models.
    grid : Grid
    scales : dict, optional
        ``{key: s}`` typical amplitude of each model (see :class:`CrossGradient`).
    eps : float
        Smoothing of the square root [1/m after scaling], > 0.
    """

    def __init__(self, keys, grid: Grid, scales=None, eps: float = 1e-6):
        self.keys = _check_keys(keys, 2)
        self.grid = grid
        self.scales = _scales(self.keys, scales)
        self.eps = check_positive_float("eps", eps)

    def __call__(self, models):
        self._check_keys(models)
        total = 0.0
        for key in self.keys:
            gx, gz = face_gradients(models[key] / self.scales[key], self.grid)
            total = total + average_faces_to_cells(gx * gx, gz * gz)
        return self.grid.dx * self.grid.dz * torch.sqrt(total + self.eps**2).sum()

"""Model regularization on the grid: smallness and first-difference smoothness.

Both are written in cell units so their weights mean the same on any grid:
differences between neighbouring cells are scaled by ``h_min / h`` (``h`` the
spacing along the axis, ``h_min`` the smaller of ``dx``, ``dz``), i.e. the
gradient times the smallest cell size.
"""

from __future__ import annotations

import torch

from .grid import Grid, check_grid
from .objective import Term, WeightedSum
from .validation import check_nonnegative_float

__all__ = ["Smallness", "Smoothness", "tikhonov", "check_norm"]


def _as_weights(cell_weights, grid: Grid):
    if cell_weights is None:
        return None
    weights = torch.as_tensor(cell_weights)
    if tuple(weights.shape) != grid.shape:
        raise ValueError(
            f"cell_weights must have the grid shape {grid.shape}, got {tuple(weights.shape)}"
        )
    if not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()):
        raise ValueError("cell_weights must be finite and >= 0")
    return weights


NORMS = (1, 2)


class Smallness(Term):
    """``sum(w * (m - m_ref)**2)`` over cells, or ``sum(w * |m - m_ref|)`` with ``norm=1``.

    Parameters
    ----------
    key : str
        Model name.
    grid : Grid
        The model grid.
    reference : torch.Tensor, optional
        Reference model ``(nz, nx)`` in the inversion variable; zero if omitted.
    cell_weights : array, optional
        Non-negative weights ``(nz, nx)`` (e.g. sensitivity weights).
    norm : {2, 1}, default 2
        ``1``: the L1 smallness of NFs-Inv's DC cases, which favours models
        equal to the reference except where the data need otherwise. Its
        curvature is zero, so it is for first-order solvers (Gauss-Newton
        refuses it).
    """

    def __init__(self, key: str, grid: Grid, reference=None, cell_weights=None,
                 norm: int = 2):
        check_grid("grid", grid)
        self.norm = check_norm("norm", norm)
        self.key, self.keys, self.grid = key, (key,), grid
        if reference is not None:
            reference = torch.as_tensor(reference).detach()
            if tuple(reference.shape) != grid.shape:
                raise ValueError(
                    f"reference must have the grid shape {grid.shape}, "
                    f"got {tuple(reference.shape)}"
                )
        self.reference = reference
        self.cell_weights = _as_weights(cell_weights, grid)

    def __call__(self, models):
        self._check_keys(models)
        m = models[self.key]
        deviation = m if self.reference is None else m - self.reference.to(m)
        penalty = deviation.abs() if self.norm == 1 else deviation**2
        if self.cell_weights is not None:
            return (self.cell_weights.to(m) * penalty).sum()
        return penalty.sum()


class Smoothness(Term):
    """First-difference roughness along one axis, ``sum(w_f * ((h_min/h) dm)**2)``.

    ``axis="x"`` differences neighbouring columns, ``axis="z"`` neighbouring
    rows. Face weights are the mean of the two cells' weights, times
    :attr:`face_weights` when set (``(nz, nx - 1)`` for x, ``(nz - 1, nx)``
    for z; e.g. from :class:`jointinv.joint_regularization.StructureGuidance`).
    """

    def __init__(self, key: str, grid: Grid, axis: str, cell_weights=None):
        check_grid("grid", grid)
        if axis not in ("x", "z"):
            raise ValueError(f"axis must be 'x' or 'z', got {axis!r}")
        self.key, self.keys, self.grid, self.axis = key, (key,), grid, axis
        spacing = grid.dx if axis == "x" else grid.dz
        self.scale = min(grid.dx, grid.dz) / spacing
        self.cell_weights = _as_weights(cell_weights, grid)
        self.face_weights = None

    def difference(self, m: torch.Tensor) -> torch.Tensor:
        """Differences of neighbouring cells along the axis (the face values)."""
        return m[:, 1:] - m[:, :-1] if self.axis == "x" else m[1:, :] - m[:-1, :]

    def __call__(self, models):
        self._check_keys(models)
        m = models[self.key]
        squared = (self.scale * self.difference(m)) ** 2
        if self.face_weights is not None:
            squared = self.face_weights.to(m) * squared
        if self.cell_weights is not None:
            w = self.cell_weights.to(m)
            face_weights = 0.5 * (w[:, 1:] + w[:, :-1]) if self.axis == "x" else \
                0.5 * (w[1:, :] + w[:-1, :])
            squared = face_weights * squared
        return squared.sum()


def check_norm(name: str, norm) -> int:
    """``norm`` as 1 or 2 (the smallness norms), else a clear error."""
    if isinstance(norm, bool) or norm not in NORMS:
        raise ValueError(f"{name} must be 2 (least squares) or 1 (L1), got {norm!r}")
    return int(norm)


def tikhonov(key: str, grid: Grid, reference=None, alpha_s: float = 1e-3,
             alpha_x: float = 1.0, alpha_z: float = 1.0, cell_weights=None,
             smallness_norm: int = 2) -> WeightedSum:
    """``alpha_s * Smallness + alpha_x * Smoothness_x + alpha_z * Smoothness_z``.

    The default weights favour smooth models and pull weakly toward the
    reference (``alpha_s`` is per cell, smoothness per face, both in cell
    units; see the module docstring). ``smallness_norm=1`` makes the
    smallness L1 (:class:`Smallness`).
    """
    alpha_s = check_nonnegative_float("alpha_s", alpha_s)
    alpha_x = check_nonnegative_float("alpha_x", alpha_x)
    alpha_z = check_nonnegative_float("alpha_z", alpha_z)
    if alpha_s == alpha_x == alpha_z == 0:
        raise ValueError("at least one of alpha_s, alpha_x, alpha_z must be > 0")
    return (alpha_s * Smallness(key, grid, reference, cell_weights, smallness_norm)
            + alpha_x * Smoothness(key, grid, "x", cell_weights)
            + alpha_z * Smoothness(key, grid, "z", cell_weights))

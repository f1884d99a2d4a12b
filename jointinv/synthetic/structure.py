"""Geological structure of synthetic models: layers, folds, faults, water.

A structure is an integer map of geological units on the grid. Units are
found by *restoring* each cell to the depth it was deposited at, before
folding and faulting, and looking that depth up among the flat interfaces
of the original layer cake. Any property (velocity, resistivity …) is then a
value per unit, so several properties can share one structure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..grid import Grid, check_grid
from ..validation import check_nonnegative_float, check_positive_float

__all__ = ["Fault", "Fold", "layer_units", "water_mask"]


@dataclass(frozen=True)
class Fold:
    """Vertical displacement of the layers, a sum of sinusoids along x.

    A point deposited at depth ``z'`` is found at depth
    ``z' + scale(z') * sum_k a_k sin(2 pi x / lambda_k + phi_k)`` where
    ``scale`` grows linearly from ``top_scale`` at ``z' = 0`` to 1 at the
    grid bottom (folds often tighten with depth).

    Parameters
    ----------
    amplitudes : tuple of float
        Amplitudes ``a_k`` [m] (any sign).
    wavelengths : tuple of float
        Wavelengths ``lambda_k`` [m], > 0.
    phases : tuple of float
        Phases ``phi_k`` [rad].
    top_scale : float, default 1
        Fraction of the fold at the top, in ``[0, 1]``; 1 folds all layers alike.
    """

    amplitudes: tuple
    wavelengths: tuple
    phases: tuple
    top_scale: float = 1.0

    def __post_init__(self):
        if not len(self.amplitudes) == len(self.wavelengths) == len(self.phases):
            raise ValueError(
                "amplitudes, wavelengths and phases must have the same length, got "
                f"{len(self.amplitudes)}, {len(self.wavelengths)} and {len(self.phases)}")
        for wavelength in self.wavelengths:
            check_positive_float("wavelengths", wavelength)
        if not 0.0 <= self.top_scale <= 1.0:
            raise ValueError(f"top_scale must be in [0, 1], got {self.top_scale}")

    def shape_function(self, x: np.ndarray) -> np.ndarray:
        """``sum_k a_k sin(2 pi x / lambda_k + phi_k)`` [m] at positions ``x`` [m]."""
        total = np.zeros_like(x, dtype=float)
        for amplitude, wavelength, phase in zip(self.amplitudes, self.wavelengths, self.phases,
                                                strict=True):
            total += amplitude * np.sin(2 * np.pi * x / wavelength + phase)
        return total

    def restore(self, x: np.ndarray, z: np.ndarray, thickness: float) -> np.ndarray:
        """Depositional depth of points now at ``(x, z)`` [m] below the top.

        Inverts ``z = z' + (top_scale + (1 - top_scale) z' / thickness) f(x)``,
        which is linear in ``z'``. Raises ``ValueError`` if the fold is so
        strong that layers would overturn (the map would not be invertible).
        """
        shape = self.shape_function(x)
        slope = (1.0 - self.top_scale) / thickness
        denominator = 1.0 + slope * shape
        if np.any(denominator <= 0):
            raise ValueError("the fold overturns the layers: reduce the amplitudes or raise "
                             f"top_scale; got max |amplitude sum| {np.abs(shape).max():.4g} m "
                             f"for a thickness of {thickness:.4g} m")
        return (z - self.top_scale * shape) / denominator


@dataclass(frozen=True)
class Fault:
    """A planar fault; the hanging wall is displaced down by ``throw``.

    Parameters
    ----------
    x, z : float
        A point of the fault plane [m] (``z`` depth, positive down).
    dip : float
        Dip angle from the horizontal [degrees], in ``(0, 90]``.
    dips_right : bool
        True if the fault deepens towards +x (the hanging wall is on the +x
        side), False if it deepens towards -x.
    throw : float
        Vertical displacement of the hanging wall [m]; positive moves it down
        (normal fault), negative up (reverse fault).
    """

    x: float
    z: float
    dip: float
    dips_right: bool
    throw: float

    def __post_init__(self):
        if not 0.0 < self.dip <= 90.0:
            raise ValueError(f"dip must be in (0, 90] degrees, got {self.dip}")

    def trace_x(self, z: np.ndarray) -> np.ndarray:
        """Horizontal position [m] of the fault at depth ``z`` [m]."""
        run = (np.asarray(z, dtype=float) - self.z) / math.tan(math.radians(self.dip))
        return self.x + run if self.dips_right else self.x - run

    def hanging_wall(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Boolean mask of the points ``(x, z)`` in the hanging wall."""
        offset = x - self.trace_x(z)
        return offset > 0 if self.dips_right else offset < 0


def water_mask(grid: Grid, water_depth: float) -> np.ndarray:
    """Boolean ``(nz, nx)`` mask of the cells whose centre is above ``water_depth`` [m].

    ``water_depth`` is measured from the top of the grid (``grid.z0``).
    """
    check_grid("grid", grid)
    water_depth = check_nonnegative_float("water_depth", water_depth)
    above = grid.cell_centers_z - grid.z0 < water_depth
    return np.broadcast_to(above[:, None], grid.shape).copy()


def layer_units(grid: Grid, interfaces, fold: Fold | None = None, faults=(),
                top: float = 0.0) -> np.ndarray:
    """Geological unit of every cell: 0 for the top layer, 1 below it, …

    Parameters
    ----------
    grid : Grid
        Model grid.
    interfaces : sequence of float
        Increasing depositional depths [m] of the layer boundaries, measured
        from ``top``; ``len(interfaces) + 1`` units.
    fold : Fold, optional
        Folding applied to the layers.
    faults : sequence of Fault
        Faults applied after folding, in order (later faults cut earlier ones).
    top : float, default 0
        Depth [m] below ``grid.z0`` where the layer cake starts (e.g. the sea
        floor); cells above it get unit 0 and are normally overwritten.

    Returns
    -------
    numpy.ndarray
        Integer array ``(nz, nx)`` of unit indices in ``[0, len(interfaces)]``.
    """
    check_grid("grid", grid)
    interfaces = np.asarray(interfaces, dtype=float)
    if interfaces.ndim != 1 or np.any(np.diff(interfaces) <= 0):
        raise ValueError(f"interfaces must be a strictly increasing 1D sequence of depths, "
                         f"got {interfaces}")
    z_rel, x = np.meshgrid(grid.cell_centers_z - grid.z0, grid.cell_centers_x, indexing="ij")
    # Restore the deformation in reverse order: undo the youngest fault first,
    # then test the older faults on the partly restored positions.
    restored = z_rel
    for fault in reversed(tuple(faults)):
        restored = restored - fault.throw * fault.hanging_wall(x, restored)
    depth = restored - top
    if fold is not None:
        depth = fold.restore(x, depth, thickness=max(grid.z_max - grid.z0 - top, grid.dz))
    return np.searchsorted(interfaces, depth, side="right")

"""Geometry of geological units shared by every property of a synthetic earth.

A :class:`UnitModel` is an integer map of units on the grid plus one label
per unit. It is built from a few primitives, all in metres:

- a *layer cake* in depositional depth: :func:`depositional_depth` undoes the
  faults (:class:`~.structure.Fault`), a uniform dip and a
  :class:`~.structure.Fold`, so that flat interfaces become dipping, folded and
  offset ones; sedimentary bodies (channels, lenses) drawn in depositional
  coordinates are then deformed with the layers;
- an *unconformity*: a younger layer cake above an undulating erosion surface;
- bodies painted over the cake in present coordinates: dipping dikes and
  (rotated) rectangular blocks, which cut everything they cross.

Each property is later a value per unit (:mod:`.petrophysics`), so all
properties change at the same boundaries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..grid import Grid
from .structure import Fold

__all__ = [
    "UnitModel",
    "block_mask",
    "channel_mask",
    "coordinates",
    "depositional_depth",
    "dike_mask",
    "lens_mask",
    "random_interfaces",
]


@dataclass(frozen=True)
class UnitModel:
    """Geological units of one synthetic earth.

    Attributes
    ----------
    units : numpy.ndarray
        Integer ``(nz, nx)`` array: the unit of every cell, in
        ``[0, n_units)``. Some units may not appear on the grid (a layer
        faulted out of view).
    kinds : tuple of str
        One label per unit (``"layer"``, ``"dike"``, ``"block"``, ``"lens"``,
        ``"channel"``, ...); ``len(kinds)`` is the number of units.
    family : str
        Name of the family that drew it (informative only).
    features : dict
        Parameters of the geometry (faults, dips, bodies …), for plots and
        reports; not used to paint properties.
    """

    units: np.ndarray
    kinds: tuple
    family: str = ""
    features: dict = field(default_factory=dict)

    def __post_init__(self):
        units = np.asarray(self.units)
        if units.ndim != 2 or not np.issubdtype(units.dtype, np.integer):
            raise ValueError(f"units must be a 2D integer array (nz, nx), got dtype "
                             f"{units.dtype} and shape {units.shape}")
        if not self.kinds or not all(isinstance(kind, str) for kind in self.kinds):
            raise ValueError(f"kinds must be a non-empty sequence of strings (one per unit), "
                             f"got {self.kinds!r}")
        if units.min() < 0 or units.max() >= len(self.kinds):
            raise ValueError(f"units must lie in [0, {len(self.kinds)}) (one kind per unit), "
                             f"got values in [{units.min()}, {units.max()}]")
        object.__setattr__(self, "units", units.astype(np.int64, copy=False))
        object.__setattr__(self, "kinds", tuple(self.kinds))

    @property
    def n_units(self) -> int:
        """Number of units (``len(kinds)``)."""
        return len(self.kinds)

    def overlay(self, mask: np.ndarray, kind: str, **parameters) -> UnitModel:
        """A new model with the cells of ``mask`` in one new unit of ``kind``.

        ``parameters`` are appended to ``features[kind + "s"]``.
        """
        units = np.where(mask, self.n_units, self.units)
        features = dict(self.features)
        features[kind + "s"] = features.get(kind + "s", ()) + (parameters,)
        return UnitModel(units, self.kinds + (kind,), self.family, features)


def coordinates(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Cell-centre ``(x, z)`` [m], each ``(nz, nx)``: x in grid coordinates, z depth below
    ``grid.z0`` (the convention of :func:`~.structure.layer_units` and :class:`Fault`)."""
    z, x = np.meshgrid(grid.cell_centers_z - grid.z0, grid.cell_centers_x, indexing="ij")
    return x, z


def depositional_depth(grid: Grid, dip: float = 0.0, fold: Fold | None = None,
                       faults=()) -> np.ndarray:
    """Depth [m] at which each cell was deposited, before faulting, tilting and folding.

    Parameters
    ----------
    grid : Grid
        Model grid.
    dip : float, default 0
        Dip of the layers [degrees] in ``(-90, 90)``; positive deepens towards
        +x. The tilt pivots about the middle of the grid.
    fold : Fold, optional
        Folding (applied before the tilt, i.e. undone after it).
    faults : sequence of Fault
        Faults applied last, in order (later faults cut earlier ones).

    Returns
    -------
    numpy.ndarray
        Float ``(nz, nx)`` depth [m] below ``grid.z0``; ``searchsorted`` on
        increasing interface depths gives the layer of each cell.
    """
    if not -90.0 < dip < 90.0:
        raise ValueError(f"dip must be in (-90, 90) degrees, got {dip}")
    x, depth = coordinates(grid)
    # undo the youngest fault first, as layer_units does
    for fault in reversed(tuple(faults)):
        depth = depth - fault.throw * fault.hanging_wall(x, depth)
    depth = depth - math.tan(math.radians(dip)) * (x - 0.5 * (grid.x0 + grid.x_max))
    if fold is not None:
        depth = fold.restore(x, depth, thickness=grid.z_max - grid.z0)
    return depth


def random_interfaces(rng: np.random.Generator, n_layers: int, top: float, bottom: float,
                      min_thickness: float) -> np.ndarray:
    """``n_layers - 1`` increasing interface depths [m] between ``top`` and ``bottom``.

    Thicknesses are a Dirichlet split of ``bottom - top``, each at least
    ``min_thickness`` (less if the layers cannot all be that thick).
    """
    span = bottom - top
    min_thickness = min(min_thickness, span / n_layers)
    thickness = min_thickness + (span - n_layers * min_thickness) * rng.dirichlet(
        np.full(n_layers, 2.0))
    return top + np.cumsum(thickness)[:-1]


def dike_mask(grid: Grid, x: float, top: float, dip: float, width: float) -> np.ndarray:
    """Cells within ``width / 2`` [m] of a dike plane, below depth ``top`` [m].

    The plane passes through ``(x, top)`` (``x`` in grid coordinates, ``top``
    below ``grid.z0``) with ``dip`` [degrees] in ``(-180, 0) U (0, 180)`` from
    the +x axis towards depth: 45 deepens towards +x, 135 towards -x.
    """
    xx, zz = coordinates(grid)
    angle = math.radians(dip)
    distance = np.abs((xx - x) * math.sin(angle) - (zz - top) * math.cos(angle))
    return (distance <= 0.5 * width) & (zz >= top)


def block_mask(grid: Grid, x: float, z: float, width: float, height: float,
               rotation: float = 0.0) -> np.ndarray:
    """Cells inside a ``width`` x ``height`` [m] rectangle centred at ``(x, z)``.

    ``x`` is in grid coordinates, ``z`` below ``grid.z0``; ``rotation``
    [degrees] turns the rectangle clockwise on the section (depth down).
    """
    xx, zz = coordinates(grid)
    angle = math.radians(rotation)
    dx, dz = xx - x, zz - z
    along = dx * math.cos(angle) + dz * math.sin(angle)
    across = -dx * math.sin(angle) + dz * math.cos(angle)
    return (np.abs(along) <= 0.5 * width) & (np.abs(across) <= 0.5 * height)


def lens_mask(x: np.ndarray, depth: np.ndarray, centre_x: float, centre_depth: float,
              width: float, thickness: float) -> np.ndarray:
    """Cells inside an ellipse of ``width`` x ``thickness`` [m] at ``(centre_x, centre_depth)``.

    ``x`` and ``depth`` are ``(nz, nx)`` coordinates, e.g. grid x and
    :func:`depositional_depth`, so that the lens is deformed with the layers.
    """
    return ((x - centre_x) / (0.5 * width)) ** 2 + (
        (depth - centre_depth) / (0.5 * thickness)) ** 2 <= 1.0


def channel_mask(x: np.ndarray, depth: np.ndarray, centre_x: float, top: float, width: float,
                 thickness: float) -> np.ndarray:
    """Cells inside a channel fill: flat top at depth ``top``, half-ellipse base.

    The fill is ``width`` [m] wide at the top and ``thickness`` [m] deep at
    its axis ``centre_x``; coordinates as in :func:`lens_mask`.
    """
    across = np.clip(1.0 - ((x - centre_x) / (0.5 * width)) ** 2, 0.0, None)
    base = top + thickness * np.sqrt(across)
    return (depth >= top) & (depth < base)

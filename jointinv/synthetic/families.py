"""Families of random unit geometries with structure shared by all properties.

Each family is a callable ``family(grid, rng, **options) -> UnitModel`` that
draws one geometry from the NumPy generator ``rng`` only (never global
state). Sizes are fractions of the grid so that a family looks alike on any
grid; below, *depth* is the grid depth ``nz * dz`` and *width* ``nx * dx``.
Layer thicknesses are a Dirichlet split, each at least two cells where there
is room. Faults cross mid-depth at 15–85 % of the width, dip 45–85° either way,
throw 5–25 % of the depth (at least two cells), normal with probability 0.7,
else reverse.

``layered``
    3–8 layers dipping 0–20° either way, folded (amplitude 0–8 % of the
    depth, wavelengths 0.7–2 widths) with probability 0.5.
``faulted``
    3–7 layers dipping 0–15°, cut by 1–3 faults.
``dike``
    2–5 layers dipping 0–10°, cut by 1–2 dikes 3–12 % of the width thick,
    dipping 40–90° either way, from 0–40 % of the depth to the bottom.
``blocks``
    1–4 layers dipping 0–10° and 1–4 blocks 10–35 % of the width wide,
    8–30 % of the depth high, rotated by -25…25°.
``channels``
    3–6 layers dipping 0–10° and 2–5 channel fills (flat top, half-elliptic
    base) 10–30 % of the width wide and 4–12 % of the depth deep, in the layers'
    depositional coordinates (tilted with them).
``lenses``
    3–6 layers dipping 0–15°, always folded (fold as in ``layered``), and 2–5
    lenses 10–35 % of the width long, 3–10 % of the depth thick, deformed with
    the layers.
``unconformity``
    2–4 flat younger layers above an erosion surface at 25–55 % of the depth
    (undulating by 0–8 % of the depth), over 3–7 older layers dipping 10–35°
    and cut by 0–2 faults that stop at the surface.
``mixed``
    any of the above combined: 3–8 layers dipping 0–25°, fold with
    probability 0.4, 0–2 faults, an unconformity with probability 0.3 (2–3
    younger layers), then 0–4 bodies, each a channel, lens, block or dike
    with equal probability.
``any``
    one of the seven families above other than ``mixed``, chosen with equal
    probability for each sample: simple geologies (one dike, a few blocks) as
    well as busy ones, for training sets meant to generalise beyond one kind.
"""

from __future__ import annotations

import math

import numpy as np

from ..grid import Grid
from .structure import Fault, Fold
from .units import (
    UnitModel,
    block_mask,
    channel_mask,
    coordinates,
    depositional_depth,
    dike_mask,
    lens_mask,
    random_interfaces,
)

__all__ = ["FAMILIES_SHARED"]


def _dip(rng, max_dip: float) -> float:
    return float(rng.uniform(0.0, max_dip) * rng.choice([-1.0, 1.0]))


def _fold(rng, grid: Grid, probability: float) -> Fold | None:
    if rng.uniform() >= probability:
        return None
    depth, width = grid.z_max - grid.z0, grid.x_max - grid.x0
    weights = rng.dirichlet(np.ones(2)) * rng.choice([-1.0, 1.0], size=2)
    return Fold(amplitudes=tuple(rng.uniform(0.0, 0.08) * depth * weights),
                wavelengths=tuple(width * rng.uniform(0.7, 2.0, size=2)),
                phases=tuple(rng.uniform(0.0, 2 * np.pi, size=2)))


def _faults(rng, grid: Grid, n_faults: int) -> tuple:
    depth, width = grid.z_max - grid.z0, grid.x_max - grid.x0
    faults = []
    for _ in range(n_faults):
        throw = max(rng.uniform(0.05, 0.25) * depth, 2 * grid.dz)
        faults.append(Fault(x=grid.x0 + width * rng.uniform(0.15, 0.85), z=0.5 * depth,
                            dip=float(rng.uniform(45.0, 85.0)), dips_right=bool(rng.integers(2)),
                            throw=float(throw if rng.uniform() < 0.7 else -throw)))
    return tuple(faults)


def _layer_cake(grid: Grid, rng, n_layers: int, dip: float, fold=None, faults=(),
                family: str = "", visible=None) -> tuple[UnitModel, np.ndarray]:
    """Layers filling the depositional depths seen on the grid, and those depths.

    ``visible`` (boolean ``(nz, nx)``) restricts the depths the layers must
    fill to those of its cells, e.g. below an unconformity.
    """
    depth = depositional_depth(grid, dip=dip, fold=fold, faults=faults)
    seen = depth if visible is None or not visible.any() else depth[visible]
    interfaces = random_interfaces(rng, n_layers, float(seen.min()), float(seen.max()),
                                   min_thickness=2 * grid.dz)
    units = np.searchsorted(interfaces, depth, side="right")
    features = {"dip": dip, "fold": fold, "faults": faults, "interfaces": tuple(interfaces)}
    return UnitModel(units, ("layer",) * n_layers, family, features), depth


def _random_cell(rng, grid: Grid, margin: float = 0.1) -> tuple[int, int]:
    """Row and column of a random cell at least ``margin`` of the grid from its edges."""
    iz = int(rng.integers(int(margin * grid.nz), max(int((1 - margin) * grid.nz), 1)))
    ix = int(rng.integers(int(margin * grid.nx), max(int((1 - margin) * grid.nx), 1)))
    return iz, ix


def _add_dikes(model: UnitModel, grid: Grid, rng, n: int) -> UnitModel:
    depth, width = grid.z_max - grid.z0, grid.x_max - grid.x0
    for _ in range(n):
        dip = float(rng.uniform(40.0, 90.0))
        params = {"x": grid.x0 + width * rng.uniform(0.15, 0.85),
                  "top": depth * rng.uniform(0.0, 0.4),
                  "dip": dip if rng.integers(2) else 180.0 - dip,
                  "width": max(width * rng.uniform(0.03, 0.12), 2 * grid.dx)}
        model = model.overlay(dike_mask(grid, **params), "dike", **params)
    return model


def _add_blocks(model: UnitModel, grid: Grid, rng, n: int) -> UnitModel:
    depth, width = grid.z_max - grid.z0, grid.x_max - grid.x0
    x, z = coordinates(grid)
    for _ in range(n):
        iz, ix = _random_cell(rng, grid, margin=0.15)
        params = {"x": float(x[iz, ix]), "z": float(z[iz, ix]),
                  "width": max(width * rng.uniform(0.10, 0.35), 2 * grid.dx),
                  "height": max(depth * rng.uniform(0.08, 0.30), 2 * grid.dz),
                  "rotation": float(rng.uniform(-25.0, 25.0))}
        model = model.overlay(block_mask(grid, **params), "block", **params)
    return model


def _add_sediment_bodies(model: UnitModel, grid: Grid, rng, depositional: np.ndarray,
                         kind: str, n: int) -> UnitModel:
    """Channels or lenses drawn in depositional coordinates (deformed with the layers)."""
    depth, width = grid.z_max - grid.z0, grid.x_max - grid.x0
    x, _ = coordinates(grid)
    for _ in range(n):
        iz, ix = _random_cell(rng, grid)
        if kind == "channel":
            params = {"centre_x": float(x[iz, ix]), "top": float(depositional[iz, ix]),
                      "width": max(width * rng.uniform(0.10, 0.30), 3 * grid.dx),
                      "thickness": max(depth * rng.uniform(0.04, 0.12), 2 * grid.dz)}
            mask = channel_mask(x, depositional, **params)
        else:
            params = {"centre_x": float(x[iz, ix]), "centre_depth": float(depositional[iz, ix]),
                      "width": max(width * rng.uniform(0.10, 0.35), 3 * grid.dx),
                      "thickness": max(depth * rng.uniform(0.03, 0.10), 2 * grid.dz)}
            mask = lens_mask(x, depositional, **params)
        model = model.overlay(mask, kind, **params)
    return model


def _erosion_surface(grid: Grid, rng) -> np.ndarray:
    """Depth [m] ``(nz, nx)`` of an undulating erosion surface (constant down each column)."""
    depth, width = grid.z_max - grid.z0, grid.x_max - grid.x0
    x, _ = coordinates(grid)
    return depth * (rng.uniform(0.25, 0.55) + rng.uniform(0.0, 0.08) * np.sin(
        2 * np.pi * x / (width * rng.uniform(0.5, 1.5)) + rng.uniform(0, 2 * np.pi)))


def _unconformity(grid: Grid, rng, old: UnitModel, surface: np.ndarray,
                  n_young: int) -> tuple[UnitModel, np.ndarray]:
    """Younger flat layers above the erosion ``surface`` cut into ``old``.

    Returns the new model and the boolean ``(nz, nx)`` mask of the cells above
    the surface.
    """
    _, z = coordinates(grid)
    interfaces = random_interfaces(rng, n_young, 0.0, float(surface.max()), 2 * grid.dz)
    above = z < surface
    units = np.where(above, np.searchsorted(interfaces, z, side="right"),
                     old.units + n_young)
    features = dict(old.features, unconformity_depth=surface[0])
    model = UnitModel(units, ("layer",) * n_young + old.kinds, old.family, features)
    return model, above


def layered(grid: Grid, rng: np.random.Generator) -> UnitModel:
    """3–8 layers dipping 0–20°, folded with probability 0.5 (see the module docstring)."""
    n_layers = int(rng.integers(3, 9))
    return _layer_cake(grid, rng, n_layers, _dip(rng, 20.0), _fold(rng, grid, 0.5),
                       family="layered")[0]


def faulted(grid: Grid, rng: np.random.Generator) -> UnitModel:
    """3–7 layers dipping 0–15°, cut by 1–3 normal or reverse faults."""
    n_layers, dip = int(rng.integers(3, 8)), _dip(rng, 15.0)
    faults = _faults(rng, grid, int(rng.integers(1, 4)))
    return _layer_cake(grid, rng, n_layers, dip, faults=faults, family="faulted")[0]


def dike(grid: Grid, rng: np.random.Generator) -> UnitModel:
    """2–5 layers dipping 0–10°, cut by 1–2 dipping dikes."""
    model, _ = _layer_cake(grid, rng, int(rng.integers(2, 6)), _dip(rng, 10.0), family="dike")
    return _add_dikes(model, grid, rng, int(rng.integers(1, 3)))


def blocks(grid: Grid, rng: np.random.Generator) -> UnitModel:
    """1–4 layers dipping 0–10° and 1–4 rotated rectangular blocks."""
    model, _ = _layer_cake(grid, rng, int(rng.integers(1, 5)), _dip(rng, 10.0),
                           family="blocks")
    return _add_blocks(model, grid, rng, int(rng.integers(1, 5)))


def channels(grid: Grid, rng: np.random.Generator) -> UnitModel:
    """3–6 layers dipping 0–10° and 2–5 channel fills."""
    model, depth = _layer_cake(grid, rng, int(rng.integers(3, 7)), _dip(rng, 10.0),
                               family="channels")
    return _add_sediment_bodies(model, grid, rng, depth, "channel", int(rng.integers(2, 6)))


def lenses(grid: Grid, rng: np.random.Generator) -> UnitModel:
    """3–6 folded layers and 2–5 lenses deformed with them."""
    model, depth = _layer_cake(grid, rng, int(rng.integers(3, 7)), _dip(rng, 15.0),
                               _fold(rng, grid, 1.0), family="lenses")
    return _add_sediment_bodies(model, grid, rng, depth, "lens", int(rng.integers(2, 6)))


def unconformity(grid: Grid, rng: np.random.Generator) -> UnitModel:
    """2–4 flat layers over an erosion surface cut into 3–7 dipping, faulted layers."""
    dip = math.copysign(rng.uniform(10.0, 35.0), rng.uniform(-1.0, 1.0))
    surface = _erosion_surface(grid, rng)
    old, _ = _layer_cake(grid, rng, int(rng.integers(3, 8)), dip,
                         faults=_faults(rng, grid, int(rng.integers(0, 3))),
                         family="unconformity", visible=coordinates(grid)[1] >= surface)
    return _unconformity(grid, rng, old, surface, int(rng.integers(2, 5)))[0]


def mixed(grid: Grid, rng: np.random.Generator) -> UnitModel:
    """A random combination of the other families' ingredients."""
    faults = _faults(rng, grid, int(rng.integers(0, 3)))
    _, z = coordinates(grid)
    surface = _erosion_surface(grid, rng) if rng.uniform() < 0.3 else None
    model, depth = _layer_cake(grid, rng, int(rng.integers(3, 9)), _dip(rng, 25.0),
                               _fold(rng, grid, 0.4), faults, family="mixed",
                               visible=None if surface is None else z >= surface)
    if surface is not None:
        model, above = _unconformity(grid, rng, model, surface, int(rng.integers(2, 4)))
        # The young layers were deposited flat (depositional depth = depth);
        # shift them far above the old coordinates so that a body drawn on
        # one side of the surface never appears on the other.
        depth = np.where(above, z - np.abs(depth).max() - 2 * z.max(), depth)
    counts = np.bincount(rng.integers(0, 4, size=int(rng.integers(0, 5))), minlength=4)
    model = _add_sediment_bodies(model, grid, rng, depth, "channel", int(counts[0]))
    model = _add_sediment_bodies(model, grid, rng, depth, "lens", int(counts[1]))
    model = _add_blocks(model, grid, rng, int(counts[2]))
    return _add_dikes(model, grid, rng, int(counts[3]))


def any_family(grid: Grid, rng: np.random.Generator) -> UnitModel:
    """One of the single families (not ``mixed``), chosen with equal probability."""
    names = sorted(_SINGLE_FAMILIES)
    return _SINGLE_FAMILIES[names[int(rng.integers(len(names)))]](grid, rng)


_SINGLE_FAMILIES = {"layered": layered, "faulted": faulted, "dike": dike, "blocks": blocks,
                    "channels": channels, "lenses": lenses, "unconformity": unconformity}

#: Built-in families: name -> ``callable(grid, rng, **options) -> UnitModel``.
#: Users add theirs here, pass a callable to :func:`draw_sample` directly, or
#: register one in the entry-point group ``jointinv.families``.
FAMILIES_SHARED = {**_SINGLE_FAMILIES, "mixed": mixed, "any": any_family}

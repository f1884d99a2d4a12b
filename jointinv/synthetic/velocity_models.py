"""Seeded synthetic velocity models in the OpenFWI families, without downloads.

Families (Deng et al., 2022, OpenFWI, NeurIPS Datasets and Benchmarks):

``flatvel``
    flat layers, velocity increasing with depth;
``curvevel``
    the same layers folded by a few sinusoids;
``flatfault`` / ``curvefault``
    flat or folded layers offset by one dipping fault;
``marmousi``
    a Marmousi-like complex model: many thin layers, strong folding that
    tightens with depth, three faults, low-velocity layers, a water layer on
    top and random-field texture.

Each model is built in two seeded steps: a :class:`Structure` (units from
:mod:`.structure`) and values per unit, so that other properties can share
the same structure (:func:`random_structure`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..grid import Grid
from ..validation import (
    check_choice,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    check_seed,
)
from .random_fields import gaussian_random_field
from .structure import Fault, Fold, layer_units, water_mask

__all__ = ["FAMILIES", "Structure", "random_structure", "velocity_model"]

#: Names of the model families, in order of complexity.
FAMILIES = ("flatvel", "curvevel", "flatfault", "curvefault", "marmousi")

# Independent random streams per ingredient, so that e.g. changing the
# velocity range does not change the geometry of a given seed.
_STRUCTURE_STREAM, _VALUE_STREAM, _TEXTURE_STREAM = 0, 1, 2


@dataclass(frozen=True)
class Structure:
    """Geological units of a synthetic model.

    Attributes
    ----------
    family : str
        Family name (one of :data:`FAMILIES`).
    units : numpy.ndarray
        Integer ``(nz, nx)`` unit index per cell: 0 at the top of the layer
        cake, increasing with depositional depth.
    n_units : int
        Number of units of the layer cake (some may not appear on the grid).
    water : numpy.ndarray
        Boolean ``(nz, nx)`` mask of the water layer (all False without water).
    fold : Fold or None
        Folding applied to the layers.
    faults : tuple of Fault
        Faults applied after folding.
    """

    family: str
    units: np.ndarray
    n_units: int
    water: np.ndarray
    fold: Fold | None
    faults: tuple


def _rng(seed: int, family: str, stream: int) -> np.random.Generator:
    """Generator for one ingredient of one family (so families differ for one seed)."""
    return np.random.default_rng([seed, FAMILIES.index(family), stream])


def _random_interfaces(rng, n_units: int, thickness: float, min_thickness: float) -> np.ndarray:
    """``n_units - 1`` increasing interface depths, each unit >= ``min_thickness`` thick."""
    min_thickness = min(min_thickness, thickness / n_units)
    fractions = rng.dirichlet(np.ones(n_units))
    layer_thickness = min_thickness + (thickness - n_units * min_thickness) * fractions
    return np.cumsum(layer_thickness)[:-1]


def _random_fold(rng, width: float, thickness: float, relative_amplitude: float,
                 n_terms: int, top_scale: float) -> Fold:
    """A sum of ``n_terms`` sinusoids with total amplitude ``relative_amplitude * thickness``."""
    weights = rng.dirichlet(np.ones(n_terms)) * rng.choice([-1.0, 1.0], size=n_terms)
    amplitudes = relative_amplitude * thickness * weights
    wavelengths = width * rng.uniform(0.5, 2.0, size=n_terms)
    phases = rng.uniform(0.0, 2 * np.pi, size=n_terms)
    return Fold(tuple(amplitudes), tuple(wavelengths), tuple(phases), top_scale)


def _random_fault(rng, grid: Grid, x_range: tuple, thickness: float) -> Fault:
    """A fault crossing mid-depth at a random fraction ``x_range`` of the width."""
    width = grid.x_max - grid.x0
    throw = thickness * rng.uniform(0.1, 0.25) * rng.choice([-1.0, 1.0], p=[0.3, 0.7])
    return Fault(x=grid.x0 + width * rng.uniform(*x_range),
                 z=0.5 * (grid.z_max - grid.z0), dip=rng.uniform(55.0, 80.0),
                 dips_right=bool(rng.integers(2)), throw=throw)


def random_structure(family: str, grid: Grid, seed: int = 0, water_depth: float | None = None,
                     n_layers: int | None = None) -> Structure:
    """Seeded geological units of one model of ``family`` on ``grid``.

    Parameters
    ----------
    family : str
        One of :data:`FAMILIES`.
    grid : Grid
        Model grid.
    seed : int, default 0
        Seed in ``[0, 2**63)``; the same seed gives the same structure.
    water_depth : float, optional
        Thickness [m] of the water layer on top; the layers start below it.
        Default: 0 for the OpenFWI families, 10 % of the grid depth (at least
        one cell) for ``marmousi``.
    n_layers : int, optional
        Number of layers below the water. Default: random, 3–6 for the
        OpenFWI families and 20–35 for ``marmousi``.

    Returns
    -------
    Structure
    """
    family = check_choice("family", family, FAMILIES)
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a jointinv.Grid, got {type(grid).__name__}")
    seed = check_seed("seed", seed)
    depth = grid.z_max - grid.z0
    if water_depth is None:
        water_depth = max(0.1 * depth, grid.dz) if family == "marmousi" else 0.0
    water_depth = check_nonnegative_float("water_depth", water_depth)
    if water_depth >= depth:
        raise ValueError(f"water_depth must be less than the grid depth {depth} m, "
                         f"got {water_depth}")
    rng = _rng(seed, family, _STRUCTURE_STREAM)
    complex_model = family == "marmousi"
    if n_layers is None:
        n_layers = int(rng.integers(20, 36) if complex_model else rng.integers(3, 7))
    n_layers = check_positive_int("n_layers", n_layers)
    thickness = depth - water_depth
    width = grid.x_max - grid.x0

    interfaces = _random_interfaces(rng, n_layers, thickness,
                                    min_thickness=0.5 * grid.dz if complex_model else grid.dz)
    fold = None
    if family in ("curvevel", "curvefault"):
        fold = _random_fold(rng, width, thickness, rng.uniform(0.05, 0.15), 2, top_scale=1.0)
    elif complex_model:
        fold = _random_fold(rng, width, thickness, rng.uniform(0.12, 0.2), 3, top_scale=0.3)
    faults = ()
    if family in ("flatfault", "curvefault"):
        faults = (_random_fault(rng, grid, (0.3, 0.7), thickness),)
    elif complex_model:
        faults = tuple(_random_fault(rng, grid, (lo, lo + 0.2), thickness)
                       for lo in (0.1, 0.4, 0.7))
    units = layer_units(grid, interfaces, fold=fold, faults=faults, top=water_depth)
    return Structure(family=family, units=units, n_units=n_layers,
                     water=water_mask(grid, water_depth), fold=fold, faults=faults)


def _unit_velocities(rng, structure: Structure, v_min: float, v_max: float) -> np.ndarray:
    """Velocity of each unit: increasing with depth; with reversals for ``marmousi``."""
    n = structure.n_units
    span = v_max - v_min
    if structure.family == "marmousi":
        trend = v_min + span * ((np.arange(n) + 0.5) / n) ** 0.8
        return np.clip(trend + rng.normal(0.0, 0.08 * span, size=n), v_min, v_max)
    # Steps between neighbours of at least 20 % of an even share of the range,
    # so that every interface (and every fault offset) is a visible contrast.
    floor = 0.2 / (n + 1)
    steps = span * (floor + (1 - (n + 1) * floor) * rng.dirichlet(np.ones(n + 1)))
    return v_min + np.cumsum(steps)[:n]


def velocity_model(family: str, grid: Grid, seed: int = 0, v_min: float = 1500.0,
                   v_max: float = 4500.0, water_depth: float | None = None,
                   water_velocity: float = 1500.0, texture: float | None = None,
                   n_layers: int | None = None, dtype: torch.dtype | None = None) -> torch.Tensor:
    """A seeded synthetic P-wave velocity model [m/s] of shape ``(nz, nx)``.

    Parameters
    ----------
    family : str
        One of :data:`FAMILIES`: ``"flatvel"``, ``"curvevel"``, ``"flatfault"``,
        ``"curvefault"``, ``"marmousi"``.
    grid : Grid
        Model grid.
    seed : int, default 0
        Seed in ``[0, 2**63)``. The same arguments and seed give an identical
        model; different seeds give different models.
    v_min, v_max : float, default 1500, 4500
        Range [m/s] of the rock velocities, ``0 < v_min < v_max``; every cell
        below the water lies in ``[v_min, v_max]`` (texture included).
    water_depth : float, optional
        Thickness [m] of the water layer; see :func:`random_structure`.
    water_velocity : float, default 1500
        Velocity [m/s] of the water layer, > 0.
    texture : float, optional
        Relative amplitude of a Matérn random-field texture (0.03 = 3 %
        standard deviation), in ``[0, 1)``. Default: 0 for the OpenFWI
        families, 0.03 for ``marmousi``. The texture is elongated along x
        (correlation lengths 1/20 of the width and 1/40 of the depth, at
        least two cells) and the result is clipped to ``[v_min, v_max]``.
    n_layers : int, optional
        Number of layers; see :func:`random_structure`.
    dtype : torch.dtype, optional
        Floating dtype of the result (torch's default dtype if omitted).

    Returns
    -------
    torch.Tensor
        Velocity [m/s], shape ``(nz, nx)``, on the CPU.

    Raises
    ------
    ValueError
        For an unknown family (the message lists the known ones), a seed
        outside ``[0, 2**63)``, ``v_min >= v_max``, a water layer as deep as
        the grid, or a texture outside ``[0, 1)``.

    Examples
    --------
    >>> from jointinv import Grid
    >>> grid = Grid(nx=150, nz=60, dx=12.5, dz=12.5)
    >>> model = velocity_model("marmousi", grid, seed=3)
    >>> tuple(model.shape)
    (60, 150)
    """
    v_min = check_positive_float("v_min", v_min)
    v_max = check_positive_float("v_max", v_max)
    if v_min >= v_max:
        raise ValueError(f"v_min must be less than v_max, got v_min={v_min}, v_max={v_max}")
    water_velocity = check_positive_float("water_velocity", water_velocity)
    structure = random_structure(family, grid, seed, water_depth=water_depth, n_layers=n_layers)
    if texture is None:
        texture = 0.03 if structure.family == "marmousi" else 0.0
    texture = check_nonnegative_float("texture", texture)
    if texture >= 1.0:
        raise ValueError(f"texture must be in [0, 1), got {texture}")
    dtype = torch.get_default_dtype() if dtype is None else dtype
    if not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch dtype, got {dtype}")

    value_rng = _rng(seed, structure.family, _VALUE_STREAM)
    velocities = _unit_velocities(value_rng, structure, v_min, v_max)
    model = velocities[structure.units]
    if texture > 0:
        lengths = (max((grid.z_max - grid.z0) / 40, 2 * grid.dz),
                   max((grid.x_max - grid.x0) / 20, 2 * grid.dx))
        field = gaussian_random_field(grid.shape, lengths, smoothness=3.0,
                                      seed=int(_rng(seed, structure.family,
                                                    _TEXTURE_STREAM).integers(2**62)),
                                      spacing=(grid.dz, grid.dx), dtype=torch.float64).numpy()
        model = np.clip(model * (1.0 + texture * field), v_min, v_max)
    model = np.where(structure.water, water_velocity, model)
    return torch.from_numpy(np.ascontiguousarray(model)).to(dtype)

"""Deterministic samples of synthetic earths with shared structure, by index.

``draw_sample(family, grid, index, seed, properties)`` gives the same models
for the same arguments in any process and any order: all randomness comes
from ``numpy.random.SeedSequence([seed, index])`` (geometry, values and
texture on separate streams below it), never from global state. A dataset
builder can thus draw sample ``i`` wherever and whenever it likes.

Families are looked up by name in :data:`~.families.FAMILIES_SHARED`, then in
the entry-point group ``jointinv.families`` (a third-party package registers
``name = module:function`` there, so that YAML configs can name it); a
callable ``family(grid, rng, **options) -> UnitModel`` can also be passed
directly.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import numpy as np

from ..grid import check_grid
from ..validation import check_seed
from .families import FAMILIES_SHARED
from .petrophysics import check_properties, paint_units
from .units import UnitModel

__all__ = ["FAMILY_ENTRY_POINT_GROUP", "available_families", "draw_sample", "draw_units",
           "load_family"]

FAMILY_ENTRY_POINT_GROUP = "jointinv.families"
_GEOMETRY_STREAM = 0


def _entry_points() -> dict:
    return {ep.name: ep for ep in entry_points(group=FAMILY_ENTRY_POINT_GROUP)}


def available_families() -> list[str]:
    """Sorted names of the built-in and installed (entry-point) families."""
    return sorted(set(FAMILIES_SHARED) | set(_entry_points()))


def load_family(family):
    """The family callable for ``family``: a callable, or a name.

    Raises
    ------
    TypeError
        If ``family`` is neither a string nor callable, or an entry point
        does not load a callable.
    ValueError
        If no family has that name; the message lists the known ones.
    """
    if callable(family):
        return family
    if not isinstance(family, str):
        raise TypeError(f"family must be a name or a callable(grid, rng, **options), "
                        f"got {type(family).__name__}")
    if family in FAMILIES_SHARED:
        return FAMILIES_SHARED[family]
    found = _entry_points()
    if family not in found:
        raise ValueError(f"unknown family {family!r}; known families are: "
                         f"{', '.join(available_families())} (built in, or entry-point group "
                         f"{FAMILY_ENTRY_POINT_GROUP!r})")
    loaded = found[family].load()
    if not callable(loaded):
        raise TypeError(f"entry point {family!r} of group {FAMILY_ENTRY_POINT_GROUP!r} must "
                        f"load a callable(grid, rng, **options), got {type(loaded).__name__}")
    return loaded


def draw_units(family, grid, index: int, seed: int = 0, **options) -> UnitModel:
    """The unit geometry of sample ``index``.

    Parameters
    ----------
    family : str or callable
        A name known to :func:`load_family` or ``callable(grid, rng, **options)``
        returning a :class:`~.units.UnitModel` on ``grid``.
    grid : Grid
        Model grid.
    index : int
        Sample number in ``[0, 2**63)``.
    seed : int, default 0
        Dataset seed in ``[0, 2**63)``.
    **options
        Passed to the family (the built-in ones take none).

    Returns
    -------
    UnitModel
        Drawn with ``default_rng(SeedSequence([seed, index], spawn_key=(0,)))``.
    """
    function = load_family(family)
    grid = check_grid("grid", grid)
    index, seed = check_seed("index", index), check_seed("seed", seed)
    rng = np.random.default_rng(np.random.SeedSequence([seed, index],
                                                       spawn_key=(_GEOMETRY_STREAM,)))
    model = function(grid, rng, **options)
    if not isinstance(model, UnitModel):
        raise TypeError(f"family {getattr(function, '__name__', function)!r} must return a "
                        f"UnitModel, got {type(model).__name__}")
    if tuple(model.units.shape) != grid.shape:
        raise ValueError(f"family {getattr(function, '__name__', function)!r} returned units "
                         f"of shape {tuple(model.units.shape)}, not the grid shape "
                         f"(nz, nx) = {grid.shape}")
    return model


def draw_sample(family, grid, index: int, seed: int = 0, properties=None,
                family_options=None) -> dict:
    """Models of sample ``index``: properties sharing one random unit geometry.

    Parameters
    ----------
    family, grid, index, seed
        As in :func:`draw_units`; family names: :func:`available_families`.
    properties : dict, optional
        ``{key: {"property": name, "range": (min, max), "relation": {...},
        "texture": {...}}}``, see :mod:`.petrophysics`; default velocity and
        log10 resistivity, independent, in their default ranges.
    family_options : dict, optional
        Keyword options of the family callable.

    Returns
    -------
    dict of str to torch.Tensor
        ``{key: model}``, float64 ``(nz, nx)`` CPU tensors. The same
        arguments give bit-identical models in any process and order.

    Raises
    ------
    ValueError
        For an unknown family (the message lists the known ones), a bad
        properties table (the message names the key), or an index or seed
        outside ``[0, 2**63)``.

    Examples
    --------
    >>> from jointinv import Grid
    >>> grid = Grid(nx=64, nz=32, dx=10.0, dz=10.0)
    >>> models = draw_sample("faulted", grid, index=7, seed=1, properties={
    ...     "traveltime": {"property": "velocity"},
    ...     "dcr": {"property": "log10 resistivity",
    ...             "relation": {"to": "traveltime", "kind": "anticorrelated"}}})
    >>> sorted(models), tuple(models["dcr"].shape)
    (['dcr', 'traveltime'], (32, 64))
    """
    check_properties(properties)  # before any geometry is drawn
    units = draw_units(family, grid, index, seed, **(family_options or {}))
    return paint_units(units, grid, properties, seed=seed, index=index)

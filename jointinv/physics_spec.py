"""Operators and grids from plain specifications (YAML configs, worker processes).

A specification is a mapping that names a registered physics and the keyword
arguments of its constructor, so any plugin — built in or third party — can be
used from a config and rebuilt in another process (a dict pickles; a SimPEG
factorisation or a compiled kernel does not)::

    grid:       {nx: 80, nz: 40, dx: 2.5, dz: 2.5}
    traveltime: {physics: traveltime, constructor: crosshole, n_sources: 33, n_receivers: 33}
    dcr:        {physics: dcr, constructor: from_surface_line, array: dipole-dipole,
                 start: 10.0, end: 190.0, electrode_spacing: 5.0, n_max: 8}

``constructor`` (optional) names a public classmethod of the plugin class that
takes the grid first (``crosshole``, ``from_surface_line``); without it the
class itself is called as ``cls(grid, **arguments)``.
"""

from __future__ import annotations

import numbers

from .grid import Grid
from .operator import PhysicsOperator
from .registry import load_physics

__all__ = ["build_grid", "build_operator", "split_spec"]

_GRID_KEYS = ("nx", "nz", "dx", "dz", "x0", "z0")


def build_grid(spec, where: str = "grid") -> Grid:
    """A :class:`Grid` from ``{nx, nz, dx, dz, x0?, z0?}`` (or a Grid, returned as is)."""
    if isinstance(spec, Grid):
        return spec
    if not isinstance(spec, dict):
        raise TypeError(f"{where} must be a mapping {{nx, nz, dx, dz, x0, z0}}, "
                        f"got {type(spec).__name__}")
    unknown = sorted(set(spec) - set(_GRID_KEYS))
    missing = sorted({"nx", "nz", "dx", "dz"} - set(spec))
    if unknown or missing:
        raise ValueError(f"{where} needs keys nx, nz, dx, dz (x0, z0 optional); "
                         f"unknown {unknown}, missing {missing}")
    for key, value in spec.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{where}.{key} must be a number, got {value!r}")
    return Grid(**spec)


def split_spec(spec, where: str) -> tuple[str, str | None, dict]:
    """``(physics name, constructor or None, keyword arguments)`` of an operator spec."""
    if not isinstance(spec, dict):
        raise TypeError(f"{where} must be a mapping with a 'physics' key, "
                        f"got {type(spec).__name__}")
    arguments = dict(spec)
    name = arguments.pop("physics", None)
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where} must name a registered physics: {{physics: NAME, ...}}, "
                         f"got physics={name!r}")
    constructor = arguments.pop("constructor", None)
    if constructor is not None and (not isinstance(constructor, str)
                                    or constructor.startswith("_")):
        raise ValueError(f"{where}.constructor must name a public classmethod, "
                         f"got {constructor!r}")
    return name, constructor, arguments


def build_operator(grid: Grid, spec, where: str = "physics") -> PhysicsOperator:
    """The operator that ``spec`` describes, on ``grid``.

    Raises
    ------
    ValueError
        Unknown physics (the message lists the installed ones) or constructor.
    TypeError
        Arguments the constructor does not accept (prefixed with ``where``).
    """
    name, constructor, arguments = split_spec(spec, where)
    cls = load_physics(name)
    factory = cls
    if constructor is not None:
        factory = getattr(cls, constructor, None)
        if not callable(factory):
            public = sorted(n for n in dir(cls) if not n.startswith("_")
                            and getattr(getattr(cls, n), "__self__", None) is cls)
            raise ValueError(f"{where}.constructor: {cls.__name__} has no classmethod "
                             f"{constructor!r}; it has {public}")
    try:
        operator = factory(grid, **arguments)
    except TypeError as error:
        raise TypeError(f"{where}: {cls.__name__}.{constructor or '__init__'}: {error}") from error
    if not isinstance(operator, PhysicsOperator):
        raise TypeError(f"{where}: {name} built a {type(operator).__name__}, "
                        f"not a jointinv.PhysicsOperator")
    return operator

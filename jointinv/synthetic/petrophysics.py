"""Paint properties on a :class:`~.units.UnitModel`: one value per unit per property.

A *properties* table maps the key each physics uses (``"traveltime"``,
``"dcr"`` …) to the property it inverts for and how to draw it::

    {"traveltime": {"property": "velocity", "range": (1400, 4500)},
     "dcr": {"property": "log10 resistivity", "range": (0.3, 3.5),
             "relation": {"to": "traveltime", "kind": "anticorrelated",
                          "scatter": 0.1},
             "texture": {"amplitude": 0.03}}}

Entries (all but ``property`` optional):

``property`` : str
    Name of the property, e.g. ``"velocity"`` [m/s] or ``"log10 resistivity"``
    [log10 ohm m].
``range`` : (float, float)
    ``(min, max)``, finite, ``min < max``, in the property's units. Default
    for the known properties: :data:`DEFAULT_RANGES`; required for others.
    Every cell lies in the range.
``relation`` : dict
    Petrophysical link to another key ``to`` (which must not, in turn, lead
    back here). In normalised units ``u = (value - min) / (max - min)`` in
    ``[0, 1]``, each unit gets ``u = u_to + scatter * N(0, 1)``
    (``kind="correlated"``), ``u = 1 - u_to + scatter * N(0, 1)``
    (``"anticorrelated"``) or an independent draw (``"none"``, as without a
    relation); ``scatter`` >= 0 defaults to 0.1. Values that leave
    ``[0, 1]`` are reflected back in (not clipped, which would pile them on
    the bounds). Without a relation, ``u`` is uniform in ``[0, 1]`` per unit.
``texture`` : float or dict
    A Matérn Gaussian random field added to the painted model:
    ``amplitude`` (its standard deviation as a fraction of the range, >= 0),
    ``correlation_length`` (``(along z, along x)`` [m]; default 1/20 of the
    depth and 1/10 of the width, at least two cells) and ``smoothness``
    (default 3). A bare number is the amplitude. Cells pushed outside the
    range by the texture are clipped to it.
"""

from __future__ import annotations

import math
import numbers
import zlib

import numpy as np
import torch

from ..grid import Grid, check_grid
from ..validation import check_nonnegative_float, check_positive_float
from .random_fields import gaussian_random_field
from .units import UnitModel

__all__ = ["DEFAULT_PROPERTIES", "DEFAULT_RANGES", "RELATIONS", "check_properties",
           "paint_units"]

#: Default ``(min, max)`` per property name, in its units.
DEFAULT_RANGES = {"velocity": (1400.0, 4500.0), "log10 resistivity": (0.3, 3.5)}

#: Properties drawn when none are given: velocity and resistivity, independent.
DEFAULT_PROPERTIES = {"velocity": {"property": "velocity"},
                      "log10 resistivity": {"property": "log10 resistivity"}}

#: Kinds of petrophysical relation.
RELATIONS = ("correlated", "anticorrelated", "none")

_ENTRIES = ("property", "range", "relation", "texture")
_RELATION_ENTRIES = ("to", "kind", "scatter")
_TEXTURE_ENTRIES = ("amplitude", "correlation_length", "smoothness")
# random streams below SeedSequence([seed, index]); 0 is the geometry
_VALUE_STREAM, _TEXTURE_STREAM = 1, 2


def _check_entries(where: str, value, allowed) -> dict:
    if not isinstance(value, dict):
        raise TypeError(f"{where} must be a dict, got {type(value).__name__}")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ValueError(f"{where} has unknown entries {unknown}; allowed: {list(allowed)}")
    return value


def _check_range(key: str, spec: dict) -> tuple[float, float]:
    name = spec["property"]
    if "range" not in spec:
        if name not in DEFAULT_RANGES:
            raise ValueError(f"properties[{key!r}] needs a 'range' (min, max): property "
                             f"{name!r} has no default (defaults exist for "
                             f"{sorted(DEFAULT_RANGES)})")
        return DEFAULT_RANGES[name]
    value = spec["range"]
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"properties[{key!r}]['range'] must be two numbers (min, max), "
                         f"got {value!r}") from None
    if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
        raise ValueError(f"properties[{key!r}]['range'] must be finite with min < max, "
                         f"got {value!r}")
    return low, high


def _check_relation(key: str, value, keys) -> dict:
    where = f"properties[{key!r}]['relation']"
    if value is None:
        return {"kind": "none"}
    value = _check_entries(where, value, _RELATION_ENTRIES)
    kind = value.get("kind", "correlated")
    if kind not in RELATIONS:
        raise ValueError(f"{where}['kind'] must be one of {list(RELATIONS)}, got {kind!r}")
    if kind == "none":
        return {"kind": "none"}
    target = value.get("to")
    if target not in keys or target == key:
        raise ValueError(f"{where}['to'] must name another property key, one of "
                         f"{sorted(set(keys) - {key})}; got {target!r}")
    scatter = check_nonnegative_float(f"{where}['scatter']", value.get("scatter", 0.1))
    return {"kind": kind, "to": target, "scatter": scatter}


def _check_texture(key: str, value) -> dict | None:
    where = f"properties[{key!r}]['texture']"
    if value is None:
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = {"amplitude": value}
    value = _check_entries(where, value, _TEXTURE_ENTRIES)
    amplitude = check_nonnegative_float(f"{where}['amplitude']", value.get("amplitude", 0.0))
    if amplitude == 0.0:
        return None
    lengths = value.get("correlation_length")
    if lengths is not None:
        values = np.atleast_1d(np.asarray(lengths, dtype=object))
        if values.ndim != 1 or values.size not in (1, 2):
            raise ValueError(f"{where}['correlation_length'] must be a length [m] or two "
                             f"(along z, along x), got {lengths!r}")
        lengths = tuple(check_positive_float(f"{where}['correlation_length']", v)
                        for v in np.broadcast_to(values, (2,)))
    smoothness = check_positive_float(f"{where}['smoothness']", value.get("smoothness", 3.0))
    return {"amplitude": amplitude, "correlation_length": lengths, "smoothness": smoothness}


def _dependency_order(specs: dict) -> list:
    """Keys ordered so that every relation's target comes before it; rejects cycles."""
    order, visiting = [], []

    def visit(key):
        if key in order:
            return
        if key in visiting:
            cycle = " -> ".join(visiting[visiting.index(key):] + [key])
            raise ValueError(f"properties: relations form a cycle ({cycle}); one property "
                             f"of the cycle must be drawn without a relation")
        visiting.append(key)
        target = specs[key]["relation"].get("to")
        if target is not None:
            visit(target)
        visiting.pop()
        order.append(key)

    for key in specs:
        visit(key)
    return order


def check_properties(properties) -> dict:
    """Validate a properties table (module docstring) and fill in its defaults.

    Returns
    -------
    dict
        ``{key: {"property", "range", "relation", "texture"}}`` in the order
        the properties are drawn (relation targets first).

    Raises
    ------
    TypeError
        If the table or an entry has the wrong type.
    ValueError
        For an empty table, an unknown entry, a bad range (empty, min >= max,
        non-finite), an unknown relation kind or target, or a cycle of
        relations; the message names the key.
    """
    if properties is None:
        properties = DEFAULT_PROPERTIES
    if not isinstance(properties, dict):
        raise TypeError(f"properties must be a dict of key -> property spec, "
                        f"got {type(properties).__name__}")
    if not properties:
        raise ValueError("properties must name at least one property, got {}")
    specs = {}
    for key, spec in properties.items():
        if not isinstance(key, str):
            raise TypeError(f"properties keys must be strings, got {key!r}")
        spec = _check_entries(f"properties[{key!r}]", spec, _ENTRIES)
        if not isinstance(spec.get("property"), str):
            raise ValueError(f"properties[{key!r}] needs a 'property' name (a string such as "
                             f"'velocity'), got {spec.get('property')!r}")
        specs[key] = {"property": spec["property"], "range": _check_range(key, spec),
                      "relation": _check_relation(key, spec.get("relation"), properties),
                      "texture": _check_texture(key, spec.get("texture"))}
    return {key: specs[key] for key in _dependency_order(specs)}


def _stream(seed: int, index: int, stream: int, key: str) -> np.random.Generator:
    """Generator of one ingredient of one property: independent of the other keys."""
    return np.random.default_rng(np.random.SeedSequence(
        [seed, index], spawn_key=(stream, zlib.crc32(key.encode()))))


def _reflect(u: np.ndarray) -> np.ndarray:
    """Fold values back into ``[0, 1]`` by mirroring at the bounds."""
    u = np.mod(u, 2.0)
    return np.where(u > 1.0, 2.0 - u, u)


def _texture(grid: Grid, rng, options: dict) -> np.ndarray:
    lengths = options["correlation_length"] or (
        max((grid.z_max - grid.z0) / 20, 2 * grid.dz), max((grid.x_max - grid.x0) / 10,
                                                          2 * grid.dx))
    return gaussian_random_field(grid.shape, lengths, smoothness=options["smoothness"],
                                 seed=int(rng.integers(2**62)), spacing=(grid.dz, grid.dx),
                                 dtype=torch.float64).numpy()


def paint_units(unit_model: UnitModel, grid: Grid, properties=None, seed: int = 0,
                index: int = 0) -> dict:
    """Models of every property on ``unit_model``, one value per unit (plus texture).

    Parameters
    ----------
    unit_model : UnitModel
        Units on ``grid``.
    grid : Grid
        Model grid; ``unit_model.units`` must have its shape ``(nz, nx)``.
    properties : dict, optional
        Properties table (module docstring); default :data:`DEFAULT_PROPERTIES`.
    seed, index : int
        The values of key ``k`` come from ``SeedSequence([seed, index])``
        with a spawn key made of the stream and ``k``, so that adding a
        property or reordering the table does not change the others.

    Returns
    -------
    dict of str to torch.Tensor
        ``{key: model}``, each float64 ``(nz, nx)`` on the CPU, in the units
        of its property, in the order of ``properties``.
    """
    specs = check_properties(properties)
    grid = check_grid("grid", grid)
    if not isinstance(unit_model, UnitModel):
        raise TypeError(f"unit_model must be a UnitModel, got {type(unit_model).__name__}")
    if tuple(unit_model.units.shape) != grid.shape:
        raise ValueError(f"unit_model.units must have the grid shape (nz, nx) = {grid.shape}, "
                         f"got {tuple(unit_model.units.shape)}")
    normalised, models = {}, {}
    for key, spec in specs.items():
        rng = _stream(seed, index, _VALUE_STREAM, key)
        relation = spec["relation"]
        if relation["kind"] == "none":
            u = rng.uniform(size=unit_model.n_units)
        else:
            base = normalised[relation["to"]]
            base = base if relation["kind"] == "correlated" else 1.0 - base
            u = _reflect(base + relation["scatter"] * rng.standard_normal(unit_model.n_units))
        normalised[key] = u
        low, high = spec["range"]
        model = low + (high - low) * u[unit_model.units]
        if spec["texture"] is not None:
            field = _texture(grid, _stream(seed, index, _TEXTURE_STREAM, key), spec["texture"])
            model = np.clip(model + spec["texture"]["amplitude"] * (high - low) * field,
                            low, high)
        models[key] = torch.from_numpy(np.ascontiguousarray(model, dtype=np.float64))
    return {key: models[key] for key in (properties or DEFAULT_PROPERTIES)}

"""Dataset configuration: schema, defaults and validation before any work.

A config is a mapping (usually YAML, ``jointinv dataset build CONFIG.yaml``)::

    grid: {nx: 80, nz: 40, dx: 2.5, dz: 2.5}
    family: {name: mixed, options: {}}              # or family: mixed
    properties:                                     # one model per physics key
      traveltime: {property: velocity, range: [1400.0, 4500.0]}
      dcr: {property: log10 resistivity, range: [1.0, 3.0]}
    relation: {dcr: {to: traveltime, kind: anticorrelated}}   # optional
    physics:
      traveltime:
        spec: {physics: traveltime, constructor: crosshole, n_sources: 33, n_receivers: 33}
        noise: {relative_error: 0.02, noise_floor: 0.0}
        initial: data                               # best homogeneous fit, or a value
        randomise: {n_sources: [17, 33]}            # optional survey randomisation
        setup: {alpha_s: 0.001}                     # optional PhysicsSetup options
                                                    # (bounds default: the range above)
        coverage_probes: exact                      # or N random probes (default 8)
      dcr: {...}
    inversion: {max_iterations: 5}                  # SolverOptions of the independent runs
    n_samples: 2000
    seed: 0

``family.name`` is a family registered with :func:`jointinv.synthetic.draw_sample`
(called as ``draw_sample(name, grid, index, seed, properties,
family_options=options)``), or ``"module:function"`` (or, from Python, a
callable) that draws a whole sample itself:
``function(grid, index, seed, properties, **options) -> {key: (nz, nx) tensor}``.
Property entries may carry the family's ``relation`` and ``texture`` tables;
the top-level ``relation`` ``{key: relation}`` is a shorthand merged into them.

``properties.KEY.range`` [low, high] (finite, in the property's units, e.g.
[1400, 4500] m/s of velocity) is the range the true models are drawn in and
also the property bounds of that physics' inversions
(:class:`jointinv.PhysicsSetup` ``bounds``; every solver keeps the recovered
model inside them). ``physics.KEY.setup.bounds`` [low, high] replaces them
(``null``: no bound on that side; ``[null, null]``: the operator's defaults,
e.g. within 3x of the start for slowness cells); it must contain the range,
where the true models lie. A physics whose inversion map cannot carry bounds
(e.g. ``log10``) needs ``setup.bounds: [null, null]``. The validated config
holds ``setup.bounds`` only when given, so a config keeps its hash (stores and
networks record it); stores built before the range became the bound hold
inversions with the defaults.

Survey randomisation (``randomise``) draws, per sample, one value uniformly in
``[low, high]`` (integers inclusive) for each listed argument. The supported
set is small and physical:

- ``traveltime`` / ``crosshole``: ``n_sources``, ``n_receivers`` (number of
  rays) and ``borehole_depth`` [m] (both boreholes reach from the first cell
  centre to this depth; the survey is then written as explicit source and
  receiver tables);
- ``dcr`` / ``from_surface_line``: ``electrode_spacing`` [m] (the line keeps its
  ``start`` and as many whole spacings as fit before the configured ``end``)
  and ``n_max``.
"""

from __future__ import annotations

import copy
import importlib
import math
import numbers
from pathlib import Path

import yaml

from ..runner import SolverOptions

__all__ = ["DatasetConfigError", "RANDOMISABLE", "load_dataset_config",
           "validate_dataset_config", "resolve_family", "family_label"]

_TOP_KEYS = {"grid", "family", "properties", "relation", "physics", "inversion", "n_samples",
             "seed"}
_PHYSICS_KEYS = {"spec", "noise", "initial", "randomise", "setup", "coverage_probes"}
_SETUP_TYPES = {"alpha_s": float, "alpha_x": float, "alpha_z": float, "chi_factor": float,
                "sensitivity_weighting": bool, "beta": float}
#: ``(physics, constructor) -> {argument: int or float}`` that ``randomise`` may draw.
RANDOMISABLE = {
    ("traveltime", "crosshole"): {"n_sources": int, "n_receivers": int,
                                  "borehole_depth": float},
    ("dcr", "from_surface_line"): {"electrode_spacing": float, "n_max": int},
}


class DatasetConfigError(ValueError):
    """A dataset config that cannot work; the message names the key path."""


def _number(where, value, kind=float):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if kind is int:
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok:
        raise TypeError(f"config {where} must be {'an integer' if kind is int else 'a number'}, "
                        f"got {value!r}")
    return kind(value)


def _mapping(where, value, allowed=None, required=()):
    if not isinstance(value, dict):
        raise TypeError(f"config {where} must be a mapping, got {type(value).__name__}")
    if allowed is not None:
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            raise DatasetConfigError(f"config {where} has unknown keys {unknown}; "
                                     f"allowed: {sorted(allowed)}")
    missing = [key for key in required if key not in value]
    if missing:
        raise DatasetConfigError(f"config {where} is missing keys {missing}")
    return dict(value)


def _interval(where, value, kind=float):
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise DatasetConfigError(f"config {where} must be a [low, high] pair, got {value!r}")
    low, high = (_number(where, v, kind) for v in value)
    if not (math.isfinite(low) and math.isfinite(high)):
        raise DatasetConfigError(f"config {where} must hold finite numbers, got {value!r}")
    if not low <= high:
        raise DatasetConfigError(f"config {where} must satisfy low <= high, got [{low}, {high}]")
    return [low, high]


def load_dataset_config(path) -> dict:
    """Read a YAML dataset config and validate it (:func:`validate_dataset_config`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"dataset config {path} does not exist")
    with open(path) as handle:
        config = yaml.safe_load(handle)
    return validate_dataset_config(config)


def validate_dataset_config(config: dict) -> dict:
    """Check every key, type and range of a dataset config; return a completed copy.

    Pure (no operator is built, nothing is imported but the family's module):
    :func:`jointinv.dataset.builder.check_runtime` then builds the operators and
    draws sample 0 in the calling process, before any work is distributed.

    Raises
    ------
    TypeError
        A value of the wrong type (the message names the key path).
    DatasetConfigError
        (a ``ValueError``) unknown or missing keys, empty or reversed ranges,
        unknown physics, a non-randomisable argument.
    """
    config = _mapping("(top level)", copy.deepcopy(config), _TOP_KEYS,
                      ("grid", "family", "properties", "physics", "n_samples"))
    _mapping("grid", config["grid"], {"nx", "nz", "dx", "dz", "x0", "z0"},
             ("nx", "nz", "dx", "dz"))
    config["family"] = _check_family(config["family"])
    properties = _mapping("properties", config["properties"])
    if not properties:
        raise DatasetConfigError("config properties must name at least one model")
    for key, entry in properties.items():
        entry = _mapping(f"properties.{key}", entry, {"property", "range", "relation", "texture"},
                         ("property", "range"))
        low, high = _interval(f"properties.{key}.range", entry["range"])
        if not low < high:
            raise DatasetConfigError(f"config properties.{key}.range must be a non-empty "
                                     f"interval low < high, got [{low}, {high}]")
        properties[key] = dict(entry, property=str(entry["property"]), range=[low, high])
    relation = _mapping("relation", config.get("relation") or {})
    for key, spec in relation.items():
        if key not in properties:
            raise DatasetConfigError(f"config relation.{key}: no such property; properties "
                                     f"are {sorted(properties)}")
        properties[key]["relation"] = spec
    config["relation"] = relation
    config["properties"] = properties
    physics = _mapping("physics", config["physics"])
    if set(physics) != set(properties):
        raise DatasetConfigError(f"config physics and properties must have the same keys "
                                 f"(one model per physics), got physics {sorted(physics)} and "
                                 f"properties {sorted(properties)}")
    config["physics"] = {key: _check_physics(key, entry, properties[key])
                         for key, entry in physics.items()}
    inversion = _mapping("inversion", config.get("inversion") or {})
    if "progress" in inversion:
        raise DatasetConfigError("config inversion.progress is not an option here: samples "
                                 "report progress through the dataset builder")
    SolverOptions.from_options(inversion, progress=False)  # types, ranges, unknown names
    config["inversion"] = inversion
    config["n_samples"] = _number("n_samples", config["n_samples"], int)
    if config["n_samples"] < 1:
        raise DatasetConfigError(f"config n_samples must be >= 1, got {config['n_samples']}")
    config["seed"] = _number("seed", config.get("seed", 0), int)
    if not 0 <= config["seed"] < 2**32:
        raise DatasetConfigError(f"config seed must be in [0, 2**32), got {config['seed']}")
    return config


def _check_family(family) -> dict:
    if isinstance(family, str) or callable(family):
        family = {"name": family}
    family = _mapping("family", family, {"name", "options"}, ("name",))
    name = family["name"]
    if not (callable(name) or (isinstance(name, str) and name)):
        raise TypeError(f"config family.name must be a non-empty string or a callable, "
                        f"got {name!r}")
    family["options"] = _mapping("family.options", family.get("options") or {})
    return family


def _check_physics(key, entry, prop) -> dict:
    from ..physics_spec import split_spec
    from ..registry import available_physics

    where = f"physics.{key}"
    entry = _mapping(where, entry, _PHYSICS_KEYS, ("spec",))
    name, constructor, _ = split_spec(entry["spec"], f"config {where}.spec")
    installed = available_physics()
    if name not in installed:
        raise DatasetConfigError(f"config {where}.spec.physics: unknown physics {name!r}; "
                                 f"installed: {sorted(installed)}")
    noise = _mapping(f"{where}.noise", entry.get("noise") or {},
                     {"relative_error", "noise_floor"})
    for field in ("relative_error", "noise_floor"):
        noise[field] = _number(f"{where}.noise.{field}", noise.get(field, 0.0))
        if noise[field] < 0:
            raise DatasetConfigError(f"config {where}.noise.{field} must be >= 0, "
                                     f"got {noise[field]}")
    if noise["relative_error"] == noise["noise_floor"] == 0:
        raise DatasetConfigError(f"config {where}.noise needs relative_error > 0 or "
                                 f"noise_floor > 0 (the misfit divides by the uncertainty)")
    initial = entry.get("initial", "data")
    if initial != "data":
        initial = _number(f"{where}.initial", initial)
        low, high = prop["range"]
        if not low <= initial <= high:
            raise DatasetConfigError(f"config {where}.initial must be 'data' or a value in "
                                     f"properties.{key}.range [{low}, {high}], got {initial}")
    randomise = _mapping(f"{where}.randomise", entry.get("randomise") or {})
    allowed = RANDOMISABLE.get((name, constructor), {})
    for argument, bounds in randomise.items():
        if argument not in allowed:
            raise DatasetConfigError(
                f"config {where}.randomise.{argument}: {name} with constructor "
                f"{constructor!r} can randomise only {sorted(allowed)}")
        randomise[argument] = _interval(f"{where}.randomise.{argument}", bounds,
                                        allowed[argument])
        if randomise[argument][0] <= 0:
            raise DatasetConfigError(f"config {where}.randomise.{argument} must be > 0, "
                                     f"got {randomise[argument]}")
    setup = _mapping(f"{where}.setup", entry.get("setup") or {}, {*_SETUP_TYPES, "bounds"})
    if "bounds" in setup:  # left out, the range is the bound (not written, see the docs)
        setup["bounds"] = _inversion_bounds(f"{where}.setup.bounds", key, setup["bounds"],
                                            prop["range"])
    for field, kind in _SETUP_TYPES.items():
        if field in setup:
            if kind is bool and not isinstance(setup[field], bool):
                raise TypeError(f"config {where}.setup.{field} must be true or false, "
                                f"got {setup[field]!r}")
            setup[field] = setup[field] if kind is bool else _number(
                f"{where}.setup.{field}", setup[field])
    probes = entry.get("coverage_probes", 8)
    if probes != "exact":
        probes = _number(f"{where}.coverage_probes", probes, int)
        if probes < 1:
            raise DatasetConfigError(f"config {where}.coverage_probes must be 'exact' or an "
                                     f"integer >= 1, got {probes}")
    return {"spec": dict(entry["spec"]), "noise": noise, "initial": initial,
            "randomise": randomise, "setup": setup, "coverage_probes": probes}


def _inversion_bounds(where, key, value, true_range) -> list:
    """``[low, high]`` property bounds of the inversions (numbers or None) around the range."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise DatasetConfigError(f"config {where} must be a [low, high] pair of numbers or "
                                 f"null, got {value!r}")
    low, high = (None if v is None else _number(where, v) for v in value)
    if any(v is not None and not math.isfinite(v) for v in (low, high)):
        raise DatasetConfigError(f"config {where} must hold finite numbers (null for no "
                                 f"bound), got {value!r}")
    if low is not None and high is not None and not low < high:
        raise DatasetConfigError(f"config {where} must satisfy low < high, got {value!r}")
    range_low, range_high = true_range
    if (low is not None and low > range_low) or (high is not None and high < range_high):
        raise DatasetConfigError(f"config {where} {[low, high]} must contain "
                                 f"properties.{key}.range {list(true_range)}, where the true "
                                 f"models lie")
    return [low, high]


def family_label(name) -> str:
    """How a family is written in the store: its name, or ``module:qualname`` of a callable."""
    if callable(name):
        return f"{name.__module__}:{name.__qualname__}"
    return name


def resolve_family(name):
    """The family as a callable ``(grid, index, seed, properties, **options)``, or the name.

    A callable is returned as it is.
    ``"module:function"`` imports the function; any other string is a family
    registered with :func:`jointinv.synthetic.draw_sample` (checked when it is
    drawn, see :func:`jointinv.dataset.sample.draw_true_models`).
    """
    if callable(name) or ":" not in name:
        return name
    module_name, _, attribute = name.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise DatasetConfigError(f"config family.name {name!r}: cannot import module "
                                 f"{module_name!r} ({error})") from error
    function = getattr(module, attribute, None)
    if not callable(function):
        raise DatasetConfigError(f"config family.name {name!r}: module {module_name!r} has no "
                                 f"callable {attribute!r}")
    return function

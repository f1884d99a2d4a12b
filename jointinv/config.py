"""YAML configuration of comparison studies, validated before any simulation.

Example (``jointinv compare study.yaml``)::

    case: dike                  # built-in joint case: dike | fault
    seed: 0                     # noise seed
    output: jointinv-output/compare
    velocity_units: m/s         # or km/s
    true_models_file: null      # optional .npz with arrays "traveltime", "dcr"
    options:                    # shared by every strategy
      max_iterations: 30
    physics:                    # per-physics regularization (PhysicsSetup fields)
      traveltime: {alpha_s: 0.001}
      dcr: {alpha_s: 0.001}
    strategies:
      - name: independent
      - name: cross_gradient
        coupling_weight: 1.0
      - name: sequential
        coupling_weight: 0.1
"""

from __future__ import annotations

import numbers
from pathlib import Path

import yaml

__all__ = ["load_config", "validate_config", "DEFAULT_CONFIG"]

DEFAULT_CONFIG = {
    "case": "dike",
    "seed": 0,
    "output": "jointinv-output/compare",
    "velocity_units": "m/s",
    "true_models_file": None,
    "options": {},
    "physics": {},
    "strategies": [{"name": "independent"}, {"name": "cross_gradient"}],
}

_TOP_KEYS = set(DEFAULT_CONFIG)
_OPTION_TYPES = {"max_iterations": int, "beta0_ratio": float, "cooling_factor": float,
                 "cg_max_iterations": int, "coupling_weight": float, "coupling": str,
                 "coupling_iterations": int, "coupling_eps": float}
_PHYSICS_TYPES = {"alpha_s": float, "alpha_x": float, "alpha_z": float, "chi_factor": float,
                  "sensitivity_weighting": bool, "beta": float}
_PHYSICS_NAMES = ("traveltime", "dcr")


def _check_type(where: str, value, expected):
    if expected is float:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    elif expected is int:
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    else:
        ok = isinstance(value, expected)
    if not ok:
        raise TypeError(f"config {where} must be of type {expected.__name__}, "
                        f"got {type(value).__name__} ({value!r})")
    return float(value) if expected is float else value


def _check_keys(where: str, mapping, allowed):
    if not isinstance(mapping, dict):
        raise TypeError(f"config {where} must be a mapping, got {type(mapping).__name__}")
    unknown = sorted(set(mapping) - set(allowed))
    if unknown:
        raise ValueError(f"config {where} has unknown keys {unknown}; allowed: {sorted(allowed)}")


def _check_options(where, options):
    _check_keys(where, options, _OPTION_TYPES)
    return {k: _check_type(f"{where}.{k}", v, _OPTION_TYPES[k]) for k, v in options.items()}


def validate_config(config: dict, base: Path | None = None) -> dict:
    """Complete ``config`` with defaults and check every key, type and file."""
    from .coupling import COUPLING_KINDS as COUPLINGS
    from .joint_cases import JOINT_CASES
    from .strategies import STRATEGIES

    if config is None:
        config = {}
    _check_keys("(top level)", config, _TOP_KEYS)
    merged = {**DEFAULT_CONFIG, **config}
    if merged["case"] not in JOINT_CASES:
        raise ValueError(f"config case must be one of {list(JOINT_CASES)}, got {merged['case']!r}")
    _check_type("seed", merged["seed"], int)
    _check_type("output", merged["output"], str)
    if merged["velocity_units"] not in ("m/s", "km/s"):
        raise ValueError(f"config velocity_units must be 'm/s' or 'km/s', "
                         f"got {merged['velocity_units']!r}")
    if merged["true_models_file"] is not None:
        path = Path(_check_type("true_models_file", merged["true_models_file"], str))
        if base is not None and not path.is_absolute():
            path = base / path
        if not path.is_file():
            raise ValueError(f"config true_models_file {str(path)!r} does not exist")
        merged["true_models_file"] = str(path)
    merged["options"] = _check_options("options", merged["options"])
    _check_keys("physics", merged["physics"], _PHYSICS_NAMES)
    for name, values in merged["physics"].items():
        _check_keys(f"physics.{name}", values, _PHYSICS_TYPES)
        merged["physics"][name] = {k: _check_type(f"physics.{name}.{k}", v, _PHYSICS_TYPES[k])
                                   for k, v in values.items()}
    strategies = merged["strategies"]
    if not isinstance(strategies, list) or not strategies:
        raise TypeError("config strategies must be a non-empty list of {name: ..., options}")
    checked = []
    for index, entry in enumerate(strategies):
        where = f"strategies[{index}]"
        if not isinstance(entry, dict) or "name" not in entry:
            raise ValueError(f"config {where} must be a mapping with a 'name' key, got {entry!r}")
        if entry["name"] not in STRATEGIES:
            raise ValueError(f"config {where}.name must be one of {sorted(STRATEGIES)}, "
                             f"got {entry['name']!r}")
        options = _check_options(where, {k: v for k, v in entry.items()
                                         if k not in ("name", "label")})
        if options.get("coupling", "cross_gradient") not in COUPLINGS:
            raise ValueError(f"config {where}.coupling must be one of {list(COUPLINGS)}, "
                             f"got {options['coupling']!r}")
        label = entry.get("label", entry["name"])
        checked.append({"name": entry["name"], "label": str(label), "options": options})
    labels = [e["label"] for e in checked]
    if len(set(labels)) != len(labels):
        raise ValueError(f"config strategies need distinct labels (add label: ...), got {labels}")
    merged["strategies"] = checked
    return merged


def load_config(path) -> dict:
    """Read and validate a YAML comparison config."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"config file {str(path)!r} does not exist")
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ValueError(f"config file {str(path)!r} is not valid YAML: {error}") from error
    return validate_config(config, base=path.parent)

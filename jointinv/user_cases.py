"""Cases for comparison studies: built in, from a config mapping, or from the user's code.

The ``case`` of a comparison config is one of

- the name of a built-in joint case (``dike``, ``fault``);
- ``"FILE.py:FUNCTION"`` (relative to the config's folder) or
  ``"package.module:FUNCTION"``: ``FUNCTION(seed=...)`` returns ``{key: case}``
  where each case has ``operator``, ``data``, ``initial_model`` and
  ``true_model`` (attributes or mapping keys), e.g. a
  :class:`jointinv.cases.Case`;
- a mapping that any registered physics can fill::

      case:
        grid: {nx: 40, nz: 20, dx: 5.0, dz: 5.0}
        true_models: truth.npz       # one (nz, nx) array per key below
        physics:
          gravity:
            operator: {physics: gravity, stations_x: [5.0, 15.0, 25.0]}
            noise: {relative_error: 0.02, noise_floor: 0.001}
            initial: 0.0             # homogeneous starting model
          traveltime:
            operator: {physics: traveltime, constructor: crosshole,
                       n_sources: 9, n_receivers: 9}
            noise: {relative_error: 0.01, noise_floor: 1.0e-5}
            initial: 2000.0

The keys (``gravity``, ``traveltime``) name the models in the results.
"""

from __future__ import annotations

import importlib
import importlib.util
import numbers
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from .data import Data
from .operator import PhysicsOperator
from .physics_spec import build_grid, build_operator

__all__ = ["load_case", "load_case_function", "check_case_spec", "case_keys", "case_label",
           "synthetic_cases"]

_SPEC_KEYS = ("grid", "true_models", "physics")
_PHYSICS_KEYS = ("operator", "noise", "initial")
_NOISE_KEYS = ("relative_error", "noise_floor")


def _check_mapping(where, value, allowed, required=()):
    if not isinstance(value, dict):
        raise TypeError(f"config {where} must be a mapping, got {type(value).__name__}")
    unknown = sorted(set(value) - set(allowed))
    missing = sorted(set(required) - set(value))
    if unknown or missing:
        raise ValueError(f"config {where} has unknown keys {unknown} and misses {missing}; "
                         f"keys: {list(allowed)}")


def _check_number(where, value, low=None, low_open=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"config {where} must be a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or (low is not None and (value <= low if low_open else value < low)):
        bound = "" if low is None else f" {'>' if low_open else '>='} {low}"
        raise ValueError(f"config {where} must be a finite number{bound}, got {value}")
    return value


def check_case_spec(spec: dict, base: Path | None = None) -> dict:
    """Validate a case mapping (keys, numbers, files) without building anything heavy."""
    _check_mapping("case", spec, _SPEC_KEYS, required=_SPEC_KEYS)
    build_grid(spec["grid"], where="config case.grid")
    path = Path(spec["true_models"])
    if base is not None and not path.is_absolute():
        path = base / path
    if not path.is_file():
        raise ValueError(f"config case.true_models {str(path)!r} does not exist")
    physics = spec["physics"]
    if not isinstance(physics, dict) or not physics:
        raise ValueError("config case.physics must map model names to "
                         "{operator, noise, initial}")
    checked = {}
    for key, entry in physics.items():
        where = f"case.physics.{key}"
        _check_mapping(where, entry, _PHYSICS_KEYS, required=("operator", "initial"))
        noise = entry.get("noise", {})
        _check_mapping(f"{where}.noise", noise, _NOISE_KEYS)
        checked[key] = {
            "operator": entry["operator"],
            "noise": {k: _check_number(f"{where}.noise.{k}", v, low=0.0)
                      for k, v in noise.items()},
            "initial": _check_number(f"{where}.initial", entry["initial"]),
        }
    return {"grid": dict(spec["grid"]), "true_models": str(path), "physics": checked}


def case_keys(case) -> tuple | None:
    """Model names of a case (``None`` when only running the user's function tells)."""
    from .joint_cases import JOINT_CASES

    if isinstance(case, dict):
        return tuple(case["physics"])
    if case in JOINT_CASES:
        return ("traveltime", "dcr")
    return None


def case_label(case) -> str:
    """A short name of a case for titles and logs."""
    if isinstance(case, dict):
        return "user-defined (" + ", ".join(case["physics"]) + ")"
    return case.rpartition("/")[-1] if ":" in case else case


def load_case_function(reference: str, base: Path | None = None):
    """The function a ``"FILE.py:FUNCTION"`` or ``"module:FUNCTION"`` case names."""
    target, _, name = reference.rpartition(":")
    if not target or not name.isidentifier():
        raise ValueError(f"config case {reference!r} must be a built-in case name, "
                         f"'FILE.py:FUNCTION' or 'package.module:FUNCTION'")
    if target.endswith(".py"):
        path = Path(target)
        if base is not None and not path.is_absolute():
            path = base / path
        if not path.is_file():
            raise ValueError(f"config case file {str(path)!r} does not exist")
        spec = importlib.util.spec_from_file_location(f"jointinv_user_case_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as error:
            raise ValueError(f"config case module {target!r} cannot be imported: {error}") \
                from error
    function = getattr(module, name, None)
    if not callable(function):
        raise ValueError(f"config case {reference!r}: {target} has no function {name!r}")
    return function


def synthetic_cases(grid, specs: dict, true_models: dict, noise: dict, initial: dict,
                    seed: int = 0, where: str = "case") -> dict:
    """``{key: Case}`` with data simulated from true models, for studies and configs.

    Parameters
    ----------
    grid : jointinv.Grid
    specs : dict
        ``{key: operator spec}`` (:func:`jointinv.physics_spec.build_operator`).
    true_models : dict
        ``{key: (nz, nx)}`` tensors or arrays of each property.
    noise : dict
        ``{key: {"relative_error": ..., "noise_floor": ...}}`` (either may be left out).
    initial : dict
        ``{key: float}`` homogeneous start, or ``{key: callable(operator, data) -> float}``
        (e.g. from the observed data).
    """
    from .cases import Case

    cases = {}
    for key, spec in specs.items():
        operator = build_operator(grid, spec, where=f"{where}.{key}")
        true = operator.check_model(torch.as_tensor(np.asarray(true_models[key],
                                                               dtype=np.float64)))
        data = operator.simulate(true, seed=seed, **noise.get(key, {}))
        start = initial[key](operator, data) if callable(initial[key]) else initial[key]
        cases[key] = Case(name=f"{where}-{key}", operator=operator, true_model=true,
                          initial_model=torch.full_like(true, float(start)), data=data)
    return cases


def _from_spec(spec: dict, seed: int) -> dict:
    grid = build_grid(spec["grid"], where="config case.grid")
    arrays = np.load(spec["true_models"])
    missing = sorted(set(spec["physics"]) - set(arrays))
    if missing:
        raise ValueError(f"config case.true_models must hold an array per physics; it "
                         f"misses {missing} (it holds {sorted(arrays)})")
    physics = spec["physics"]
    return synthetic_cases(grid, {k: e["operator"] for k, e in physics.items()},
                           {k: arrays[k] for k in physics},
                           {k: e["noise"] for k, e in physics.items()},
                           {k: e["initial"] for k, e in physics.items()}, seed=seed,
                           where="config case.physics")


def _check_user_cases(reference, cases) -> dict:
    if not isinstance(cases, dict) or not cases:
        raise TypeError(f"config case {reference!r} must return a non-empty dict "
                        f"{{key: case}}, got {type(cases).__name__}")
    out = {}
    for key, case in cases.items():
        get = (case.get if isinstance(case, dict) else
               (lambda name, case=case: getattr(case, name, None)))
        fields = {name: get(name) for name in ("operator", "data", "initial_model",
                                               "true_model")}
        if not isinstance(fields["operator"], PhysicsOperator) or not isinstance(
                fields["data"], Data) or fields["initial_model"] is None:
            raise TypeError(f"config case {reference!r}: case {key!r} needs an operator "
                            f"(PhysicsOperator), data (Data) and an initial_model")
        out[key] = SimpleNamespace(**fields)
    return out


def load_case(case, seed: int = 0, velocity_units: str = "m/s", base: Path | None = None):
    """``{key: case}`` (each with ``operator``, ``data``, ``initial_model``, ``true_model``)."""
    from .joint_cases import JOINT_CASES, joint_case

    if isinstance(case, dict):
        return _from_spec(case, seed)
    if case in JOINT_CASES:
        return joint_case(case, seed=seed, velocity_units=velocity_units)
    function = load_case_function(case, base)
    return _check_user_cases(case, function(seed=seed))

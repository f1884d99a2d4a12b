"""One training sample: true models -> noisy data -> independent inversions -> arrays.

:func:`make_sample` is the task a worker runs: a pure function of the
validated config (a plain dict) and the sample index, so it can run in any
process. Every random draw is seeded by ``(seed, index, key, purpose)``
through :class:`numpy.random.SeedSequence`, so a sample is the same whichever
worker builds it and in whichever order (for a fixed number of torch threads:
parallel reductions may change the last bits otherwise).
"""

from __future__ import annotations

import os
import socket
import time
import traceback
import zlib

import numpy as np
import torch

from ..maps import get_map
from ..physics_setup import PhysicsSetup
from ..physics_spec import build_grid, build_operator, split_spec
from .config import DatasetConfigError, resolve_family

__all__ = ["make_sample", "failed_record", "draw_true_models", "survey_spec", "derived_seed",
           "homogeneous_fit", "coverage_map", "cached_operator", "inversion_bounds"]

_PURPOSES = {"noise": 1, "survey": 2, "coverage": 3}
_OPERATORS: dict = {}  # per process: operators of fixed surveys, rebuilt never
_MAX_CACHED = 8


def derived_seed(seed: int, index: int, key: str, purpose: str) -> int:
    """A 32-bit seed for one draw of sample ``index``, physics ``key``, ``purpose``."""
    entropy = [seed, index, zlib.crc32(key.encode()), _PURPOSES[purpose]]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def draw_true_models(config: dict, grid, index: int) -> dict:
    """``{key: (nz, nx) float64 tensor}`` of sample ``index`` (the targets).

    A named family goes through :func:`jointinv.synthetic.draw_sample`; a
    callable family is called as ``family(grid, index, seed, properties,
    **options)``.
    """
    family = resolve_family(config["family"]["name"])
    options = dict(config["family"]["options"])
    properties = config["properties"]
    if callable(family):
        models = family(grid, index, config["seed"], properties, **options)
    else:
        try:
            from ..synthetic import draw_sample
        except ImportError:
            raise DatasetConfigError(
                f"config family {family!r}: jointinv.synthetic.draw_sample is not available in "
                f"this installation (the shared-structure model families); give family.name "
                f"as 'module:function' for a family of your own") from None
        try:
            models = draw_sample(family, grid, index, config["seed"], properties,
                                 family_options=options)
        except (KeyError, ValueError) as error:
            raise DatasetConfigError(f"config family {family!r}: {error}") from error
    if not isinstance(models, dict) or set(models) != set(properties):
        got = sorted(models) if isinstance(models, dict) else type(models).__name__
        raise ValueError(f"family {config['family']['name']!r} must return one model per "
                         f"property {sorted(properties)}, got {got}")
    checked = {}
    for key in properties:
        model = torch.as_tensor(models[key], dtype=torch.float64)
        if tuple(model.shape) != grid.shape or not bool(torch.isfinite(model).all()):
            raise ValueError(f"family model {key!r} must be finite with the grid shape "
                             f"{grid.shape}, got shape {tuple(model.shape)}")
        checked[key] = model
    return checked


def survey_spec(config: dict, grid, key: str, index: int) -> dict:
    """The operator spec of physics ``key`` for sample ``index``, randomised within bounds."""
    entry = config["physics"][key]
    spec = dict(entry["spec"])
    if not entry["randomise"]:
        return spec
    rng = np.random.default_rng(derived_seed(config["seed"], index, key, "survey"))
    drawn = {}
    for argument, (low, high) in sorted(entry["randomise"].items()):
        drawn[argument] = (int(rng.integers(low, high + 1)) if isinstance(low, int)
                           else float(rng.uniform(low, high)))
    name, constructor, _ = split_spec(spec, f"physics.{key}.spec")
    if (name, constructor) == ("dcr", "from_surface_line") and "electrode_spacing" in drawn:
        spacing = drawn["electrode_spacing"]
        whole = int(np.floor((spec["end"] - spec["start"]) / spacing + 1e-9))
        spec["end"] = spec["start"] + whole * spacing
    if "borehole_depth" in drawn:
        depth = drawn.pop("borehole_depth")
        n_sources = drawn.pop("n_sources", spec["n_sources"])
        n_receivers = drawn.pop("n_receivers", spec["n_receivers"])
        top = float(grid.cell_centers_z[0])
        bottom = min(max(depth, top), float(grid.cell_centers_z[-1]))  # inside the grid
        x_left, x_right = float(grid.x0), float(grid.x_max)
        spec = {"physics": name, **{k: v for k, v in spec.items() if k not in
                                    ("physics", "constructor", "n_sources", "n_receivers")},
                "sources": [[x_left, z] for z in np.linspace(top, bottom, n_sources).tolist()],
                "receivers": [[x_right, z] for z in
                              np.linspace(top, bottom, n_receivers).tolist()]}
    spec.update(drawn)
    return spec


def cached_operator(grid, spec: dict, where: str):
    """Build an operator; operators of fixed surveys are kept for the next sample."""
    label = repr((grid, sorted(spec.items(), key=lambda item: item[0])))
    if label not in _OPERATORS:
        if len(_OPERATORS) >= _MAX_CACHED:
            _OPERATORS.pop(next(iter(_OPERATORS)))
        _OPERATORS[label] = build_operator(grid, spec, where)
    return _OPERATORS[label]


def homogeneous_fit(operator, data, bounds, iterations: int = 2) -> torch.Tensor:
    """The homogeneous model that best fits ``data`` (``initial: data``).

    Gauss-Newton on one scalar, in the operator's inversion variable (slowness
    for travel times, where the fit is exact in one step), started at the
    middle of the property range ``bounds`` and kept inside it. Two steps by
    default: a starting model needs no more, and each step costs a
    linearisation (for DC a sensitivity at a new model).

    Returns
    -------
    torch.Tensor
        ``(nz, nx)`` float64 homogeneous model of the property.
    """
    low, high = bounds
    mapping = get_map(operator.inversion_map)
    ones = torch.ones(operator.grid.shape, dtype=torch.float64)
    variable = mapping.inverse(torch.tensor(0.5 * (low + high), dtype=torch.float64))
    weight = 1.0 / data.standard_deviation.reshape(-1)
    for _ in range(iterations):
        model = mapping(variable * ones)
        linear = operator.linearize(model)
        residual = (data.observed - linear.predicted).reshape(-1) * weight
        slope = linear.jvp(mapping.derivative(variable * ones)).reshape(-1) * weight
        step = float(slope @ residual) / max(float(slope @ slope), 1e-300)
        value = float(mapping(variable + step).clamp(min(low, high), max(low, high)))
        new = mapping.inverse(torch.tensor(value, dtype=torch.float64))
        converged = abs(float(new - variable)) <= 1e-6 * abs(float(variable))
        variable = new
        if converged:
            break
    return mapping(variable * ones)


def coverage_map(operator, model, data, probes, seed: int) -> np.ndarray:
    """Normalised sensitivity ``sqrt(diag(J^T W^2 J))`` at ``model``, max 1.

    ``W = 1 / standard deviation``. Exact (one ``vjp`` per datum) when
    ``probes`` is ``"exact"`` or ``n_data <= probes`` — cheap when the physics
    keeps its Jacobian (travel times, DC with a stored sensitivity) —, else
    estimated with ``probes`` seeded random ±1 data vectors
    (``E[(J^T W r)^2] = diag(J^T W^2 J)``).

    Returns
    -------
    numpy.ndarray
        ``(nz, nx)`` float32 in [0, 1].
    """
    linear = operator.linearize(model)
    weight = 1.0 / data.standard_deviation
    if probes == "exact" or operator.n_data <= probes:
        vectors = torch.eye(operator.n_data, dtype=torch.float64)
        scale = 1.0
    else:
        rng = np.random.default_rng(seed)
        vectors = torch.as_tensor(rng.choice([-1.0, 1.0], size=(probes, operator.n_data)))
        scale = 1.0 / probes
    total = torch.zeros(operator.grid.shape, dtype=torch.float64)
    for vector in vectors:
        total += linear.vjp(vector.reshape(data.shape) * weight) ** 2
    coverage = torch.sqrt(total * scale)
    peak = float(coverage.max())
    return (coverage / peak if peak > 0 else coverage).numpy().astype(np.float32)


def inversion_bounds(config: dict, key: str):
    """Property bounds of physics ``key``'s inversions: ``setup.bounds``, else the range.

    ``None`` (the operator's defaults) for ``setup.bounds: [null, null]``.
    """
    bounds = config["physics"][key]["setup"].get("bounds", config["properties"][key]["range"])
    return None if list(bounds) == [None, None] else tuple(bounds)


def _setups(config, grid, index, true_models):
    setups, surveys, datas = {}, {}, {}
    for key, entry in config["physics"].items():
        spec = survey_spec(config, grid, key, index)
        operator = cached_operator(grid, spec, f"physics.{key}.spec")
        data = operator.simulate(true_models[key], **entry["noise"],
                                 seed=derived_seed(config["seed"], index, key, "noise"))
        true_range = config["properties"][key]["range"]
        initial = (homogeneous_fit(operator, data, true_range) if entry["initial"] == "data"
                   else torch.full(grid.shape, float(entry["initial"]), dtype=torch.float64))
        options = {**entry["setup"], "bounds": inversion_bounds(config, key)}
        setups[key] = PhysicsSetup(operator, data, initial, true_model=true_models[key],
                                   **options)
        surveys[key], datas[key] = spec, data
    return setups, surveys, datas


def failed_record(index: int, config: dict, error: BaseException) -> dict:
    """The record of a sample whose task died outside :func:`make_sample` (a lost worker)."""
    return {"index": int(index), "seed": config["seed"], "host": "?", "pid": -1,
            "threads": -1, "status": "failed", "wall_time": float("nan"),
            "cpu_time": float("nan"),
            "error": f"{type(error).__name__}: {error}".splitlines()[0], "traceback": ""}


def make_sample(config: dict, index: int, threads: int | None = None) -> dict:
    """Build sample ``index`` of a validated config (the task a worker runs).

    Parameters
    ----------
    config : dict
        Validated config (:func:`jointinv.dataset.config.validate_dataset_config`).
    index : int
        Sample index, ``0 <= index < n_samples``.
    threads : int, optional
        Torch threads of this task (set before any work).

    Returns
    -------
    dict
        ``index``, ``status`` ("complete" or "failed"), ``wall_time`` and
        ``cpu_time`` (of this process, all threads) [s], ``host``, ``pid``,
        ``threads`` and, when complete, ``inputs`` (recovered
        models), ``targets`` (true models), ``coverage`` — each ``(P, nz,
        nx)``, P physics in config order —, ``chi_squared_per_datum``
        ``{key: float}`` and ``survey`` ``{key: operator spec used}``; when
        failed, ``error`` (one line) and ``traceback``.
    """
    from ..strategies import run_strategy

    if threads is not None:
        torch.set_num_threads(threads)
    start, cpu_start = time.perf_counter(), time.process_time()
    record = {"index": int(index), "seed": config["seed"], "host": socket.gethostname(),
              "pid": os.getpid(), "threads": torch.get_num_threads()}
    try:
        grid = build_grid(config["grid"])
        true_models = draw_true_models(config, grid, index)
        setups, surveys, datas = _setups(config, grid, index, true_models)
        result = run_strategy("independent", setups, progress=False, **config["inversion"])
        keys = list(config["physics"])
        metrics = result.metrics
        coverage = [coverage_map(setups[key].operator, result.models[key], datas[key],
                                 config["physics"][key]["coverage_probes"],
                                 derived_seed(config["seed"], index, key, "coverage"))
                    for key in keys]
        record.update(
            status="complete", survey=surveys,
            inputs=np.stack([result.models[key].numpy() for key in keys]),
            targets=np.stack([true_models[key].numpy() for key in keys]),
            coverage=np.stack(coverage),
            chi_squared_per_datum={key: float(metrics[key]["chi_squared_per_datum"])
                                   for key in keys})
    except DatasetConfigError:
        raise  # the config cannot work for any sample: stop the build
    except Exception as error:  # a sample that fails is recorded, and the build goes on
        record.update(status="failed", error=f"{type(error).__name__}: {error}".splitlines()[0],
                      traceback=traceback.format_exc())
    record["wall_time"] = time.perf_counter() - start
    record["cpu_time"] = time.process_time() - cpu_start
    return record

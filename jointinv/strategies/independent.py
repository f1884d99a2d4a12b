"""Strategy ``independent``: each physics inverted on its own."""

from __future__ import annotations

import time

from ..multiscale import invert_setups_by_band
from ..result import InversionResult
from ..runner import SolverOptions, make_result, run
from .common import check_setups

__all__ = ["invert_independent"]


def invert_independent(setups: dict, *, parameterization=None, **solver_options):
    """Invert each physics separately (no coupling).

    Parameters
    ----------
    setups : dict
        ``{name: PhysicsSetup}``. A setup with ``frequencies`` (a waveform
        physics) is inverted band by band, warm-started between bands, as
        ``jointinv.invert(..., frequencies=...)`` does.
    parameterization : dict, optional
        ``{name: Parameterization}`` for the physics that are not cell models
        (first-order solvers).
    **solver_options
        :class:`~jointinv.runner.SolverOptions` (``solver``, ``max_iterations``
        (default 20, per band), ``beta0_ratio``, ...).

    Returns
    -------
    InversionResult
        All models; the history rows of each physics carry its own keys
        (``phi_d[name]``, ``beta[name]``, ...); a banded physics' rows also
        carry ``band`` and ``frequency``, and ``info[name]["bands"]`` its
        misfit per band.
    """
    options = SolverOptions.from_options(solver_options)
    check_setups(setups)
    modules = _per_physics(parameterization, setups)
    start = time.perf_counter()
    method = f"independent ({options.solver})"

    def alone(key):
        def invert_once(band_setups):
            built = {key: band_setups[key].build(key)}
            output = run(built, options, parameterization=modules.get(key))
            return make_result(built, output, start, method)
        return invert_once

    results = [invert_setups_by_band(alone(key), {key: setup}, progress=options.progress)
               for key, setup in setups.items()]
    if len(results) == 1:
        return results[0]
    banded = [f"{key} multiscale {setup.frequencies} Hz" for key, setup in setups.items()
              if setup.frequencies is not None]
    return _merged(results, start, "; ".join([method] + banded))


def _merged(results: list, start: float, method: str) -> InversionResult:
    """One result holding the models, data and histories of separate ``results``."""
    parts = {name: {} for name in ("models", "initial_models", "true_models", "operators",
                                   "data", "predicted", "info")}
    history = []
    for result in results:
        for name, merged in parts.items():
            merged.update(getattr(result, name))
        history.extend(result.history)
    return InversionResult(parts["models"], parts["initial_models"], parts["true_models"],
                           parts["operators"], parts["data"], parts["predicted"], history,
                           time.perf_counter() - start, method, info=parts["info"])


def _per_physics(parameterization, setups) -> dict:
    if parameterization is None:
        return {}
    if not isinstance(parameterization, dict):
        raise TypeError("independent inverts each physics alone: give parameterization as "
                        "{name: Parameterization}, one per physics, got "
                        f"{type(parameterization).__name__}")
    unknown = sorted(set(parameterization) - set(setups))
    if unknown:
        raise ValueError(f"parameterization names {unknown}, which are not setups "
                         f"{sorted(setups)}")
    return parameterization

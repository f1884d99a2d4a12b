"""Strategy ``independent``: each physics inverted on its own."""

from __future__ import annotations

import time

from ..runner import SolverOptions, make_result, run
from .common import build_all

__all__ = ["invert_independent"]


def invert_independent(setups: dict, *, parameterization=None, **solver_options):
    """Invert each physics separately (no coupling).

    Parameters
    ----------
    setups : dict
        ``{name: PhysicsSetup}``.
    parameterization : dict, optional
        ``{name: Parameterization}`` for the physics that are not cell models
        (first-order solvers).
    **solver_options
        :class:`~jointinv.runner.SolverOptions` (``solver``, ``max_iterations``
        (default 20), ``beta0_ratio``, ...).

    Returns
    -------
    InversionResult
        All models; the history rows of each physics carry its own keys
        (``phi_d[name]``, ``beta[name]``, ...).
    """
    options = SolverOptions.from_options(solver_options)
    modules = _per_physics(parameterization, setups)
    start = time.perf_counter()
    built = build_all(setups)
    outputs = [run({key: b}, options, parameterization=modules.get(key))
               for key, b in built.items()]
    merged = outputs[0]
    for output in outputs[1:]:
        merged.properties.update(output.properties)
        merged.variables.update(output.variables)
        merged.predicted.update(output.predicted)
        merged.history.extend(output.history)
    return make_result(built, merged, start, f"independent ({options.solver})")


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

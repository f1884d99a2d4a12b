"""Strategy ``independent``: each physics inverted on its own."""

from __future__ import annotations

import time

from ..problem import InversionProblem
from ..solvers import estimate_betas, gauss_newton
from .common import check_setups, make_result

__all__ = ["invert_independent"]


def invert_independent(setups: dict, max_iterations: int = 20, beta0_ratio: float = 1.0,
                       cooling_factor: float = 2.0, cg_max_iterations: int = 20,
                       progress: bool = True, **_ignored):
    """Gauss-Newton inversion of each physics separately (no coupling).

    Parameters
    ----------
    setups : dict
        ``{name: PhysicsSetup}``.
    max_iterations, beta0_ratio, cooling_factor, cg_max_iterations
        Gauss-Newton settings, as in :func:`jointinv.invert`.

    Returns
    -------
    InversionResult
        All models; the history rows of each physics carry its own keys
        (``phi_d[name]``, ``beta[name]``, ...).
    """
    setups = check_setups(setups)
    start = time.perf_counter()
    built = {key: setup.build(key) for key, setup in setups.items()}
    models, history = {}, []
    for key, (misfit, regularization, m0, lower, upper) in built.items():
        problem = InversionProblem([misfit], {key: regularization}, {key: 1.0})
        betas = estimate_betas(problem, {key: m0}, beta0_ratio)
        problem.betas = {key: setups[key].beta or betas[key]}
        result, rows = gauss_newton(problem, {key: m0}, max_iterations=max_iterations,
                                    cooling_factor=cooling_factor,
                                    cg_max_iterations=cg_max_iterations, lower={key: lower},
                                    upper={key: upper}, progress=progress)
        models.update(result)
        history.extend(rows)
    return make_result(setups, built, models, history, start, "independent")

"""Inexact Gauss-Newton-CG with beta cooling and a target-misfit stop (SimPEG's recipe)."""

from __future__ import annotations

import time

import torch

from .linalg import axpy, conjugate_gradient, dot, scale
from .progress import progress_bar

__all__ = ["gauss_newton"]


def _max_step_to_bound(models, step, lower, fraction=0.99):
    """Largest ``t <= 1`` keeping ``m + t dm > lower`` (fraction to the boundary)."""
    t = 1.0
    for key, bound in (lower or {}).items():
        if bound is None:
            continue
        decreasing = step[key] < 0
        if bool(decreasing.any()):
            room = (models[key] - bound)[decreasing] / (-step[key][decreasing])
            t = min(t, fraction * float(room.min()))
    return t


def record(problem, iteration, parts, phi, start, **extra) -> dict:
    """One history row: every term, each beta, total objective, wall time [s]."""
    row = {"iteration": iteration, "phi": phi, **parts}
    row.update({f"beta[{key}]": beta for key, beta in problem.betas.items()})
    row.update(extra)
    row["time"] = time.perf_counter() - start
    return row


def gauss_newton(problem, models: dict, max_iterations: int = 20, cooling_factor: float = 2.0,
                 cooling_rate: int = 1, cg_max_iterations: int = 20, cg_tolerance: float = 1e-2,
                 max_backtracks: int = 10, lower: dict | None = None,
                 stop_at_target: bool = True, progress: bool = True, callback=None):
    """Minimise ``problem``'s objective from ``models`` by inexact Gauss-Newton-CG.

    Each iteration solves ``H dm = -g`` with CG (``H`` the Gauss-Newton
    Hessian built from the operators' ``jvp``/``vjp``), takes an Armijo
    backtracking step (limited so the model stays above ``lower``), then
    divides each beta whose data set is still above target by
    ``cooling_factor`` every ``cooling_rate`` iterations. Stops when every data
    set reaches its target misfit (``stop_at_target``) or after
    ``max_iterations``.

    Returns
    -------
    models : dict
        Final models ``{key: (nz, nx) tensor}`` in the inversion variable.
    history : list of dict
        One row per iteration (row 0 is the starting model).
    """
    start = time.perf_counter()
    models = {k: v.detach().clone() for k, v in models.items()}
    phi, parts, grad = problem.gradient(models)
    history = [record(problem, 0, parts, phi, start, step=0.0, cg_iterations=0)]
    bar = progress_bar(max_iterations, "Gauss-Newton", progress)
    for iteration in range(1, max_iterations + 1):
        if stop_at_target and problem.at_target(problem.misfit_values(models)):
            break
        hessian = problem.hessian_operator(models)
        step, cg_iterations = conjugate_gradient(hessian, scale(-1.0, grad),
                                                 cg_max_iterations, cg_tolerance)
        slope = dot(grad, step)
        if slope >= 0:  # not a descent direction (should not happen): use -g
            step, slope = scale(-1.0, grad), -dot(grad, grad)
        t = _max_step_to_bound(models, step, lower)
        for _ in range(max_backtracks + 1):
            trial = axpy(t, step, models)
            with torch.no_grad():
                trial_phi = float(problem.objective(trial))
            if trial_phi <= phi + 1e-4 * t * slope:
                break
            t *= 0.5
        else:
            bar.close()
            history[-1]["stopped"] = "line search failed"
            break
        models = trial
        at_target = problem.misfit_values(models)
        if iteration % cooling_rate == 0:
            targets = problem.targets()
            for key in problem.betas:
                if at_target[key] > targets[key]:
                    problem.betas[key] /= cooling_factor
        phi, parts, grad = problem.gradient(models)
        history.append(record(problem, iteration, parts, phi, start, step=t,
                              cg_iterations=cg_iterations))
        bar.update(1)
        bar.set_postfix({f"phi_d[{k}]/target": f"{v / problem.targets()[k]:.3g}"
                         for k, v in at_target.items()})
        if callback is not None:
            callback(iteration, models, history[-1])
    bar.close()
    return models, history

"""Inexact Gauss-Newton-CG with beta cooling and a target-misfit stop (SimPEG's recipe)."""

from __future__ import annotations

import time
from contextlib import contextmanager

import torch

from .cooling import Cooling
from .linalg import axpy, conjugate_gradient, dot
from .progress import IterationReporter

__all__ = ["gauss_newton", "gauss_newton_point", "undefined_couplings_sit_out"]


def _project(models, lower, upper):
    """Clamp each model into its bounds (``None`` = unbounded)."""
    out = {}
    for key, m in models.items():
        lo, hi = (lower or {}).get(key), (upper or {}).get(key)
        out[key] = m if lo is None and hi is None else m.clamp(min=lo, max=hi)
    return out


def _free_mask(models, grad, lower, upper, fixed=None):
    """1 where a variable may move, 0 where it sits on a bound the gradient pushes
    it through (the active set of a projected Newton method) or is fixed."""
    masks = {}
    for key, m in models.items():
        free = torch.ones_like(m)
        if (fixed or {}).get(key) is not None:
            free[fixed[key].to(m.device)] = 0.0
        lo, hi = (lower or {}).get(key), (upper or {}).get(key)
        scale = 1e-10 * max(float(m.abs().max()), 1e-300)
        if lo is not None:
            free[(m <= lo + scale) & (grad[key] > 0)] = 0.0
        if hi is not None:
            free[(m >= hi - scale) & (grad[key] < 0)] = 0.0
        masks[key] = free
    return masks


def record(problem, iteration, parts, phi, start, **extra) -> dict:
    """One history row: every term, each beta, total objective, wall time [s]."""
    row = {"iteration": iteration, "phi": phi, **parts}
    row.update({f"beta[{key}]": beta for key, beta in problem.betas.items()})
    row.update({f"lambda[{name}]": weight for name, weight, _ in problem.couplings})
    row.update(extra)
    row["time"] = time.perf_counter() - start
    return row


@contextmanager
def undefined_couplings_sit_out(problem, models):
    """Couplings not defined at ``models`` sit out one step (weight 0 while it is found
    and judged): a scale-invariant coupling over a flat model (see
    :meth:`~jointinv.coupling.NormalizedCrossGradient.has_structure`) would
    otherwise jump to its full value for any step length and stall the line search."""
    saved = problem.couplings
    problem.couplings = [(name, weight if getattr(term, "has_structure", None) is None
                          or term.has_structure(models) else 0.0, term)
                         for name, weight, term in saved]
    try:
        yield
    finally:
        problem.couplings = saved


def hold_at_target(problem, misfits: dict, limit: float = 2.0) -> None:
    """Rescale betas and coupling weights so the next step brings each misfit to its target.

    A data set below its target has room: the weights of the model terms that
    act on it grow by ``target / phi_d`` (at most ``limit``); above target they
    shrink. Each beta follows the data sets of its regularization, each
    coupling weight the tightest data set.
    """
    targets = problem.targets()
    factor = {k: min(max(targets[k] / max(misfits[k], 1e-300), 1.0 / limit), limit)
              for k in targets}
    for name in problem.tuned_betas():
        keys = problem.regularizations[name].keys
        problem.betas[name] *= min(factor[k] for k in keys)
    tightest = min(factor.values())
    problem.couplings = [(name, weight * tightest, term)
                         for name, weight, term in problem.couplings]


def gauss_newton(problem, models: dict, **options):
    """Minimise ``problem``'s objective from ``models`` by inexact Gauss-Newton-CG.

    Returns ``(models, history)``; see :func:`gauss_newton_point` for the
    options and the method.
    """
    point, history = gauss_newton_point(problem, models, **options)
    return dict(point.variables), history


def gauss_newton_point(problem, models: dict, max_iterations: int = 20,
                       cooling_factor: float = 2.0, cooling_rate: int = 1,
                       cg_max_iterations: int = 20, cg_tolerance: float = 1e-2,
                       max_backtracks: int = 10, lower: dict | None = None,
                       upper: dict | None = None, stop_at_target: bool = True,
                       block_preconditioner: dict | None = None, progress: bool = True,
                       callback=None, start_point=None, hold_iterations: int = 0,
                       fixed: dict | None = None):
    """Minimise ``problem``'s objective from ``models`` by inexact Gauss-Newton-CG.

    Each iteration solves ``H dm = -g`` with CG (``H`` the Gauss-Newton
    Hessian built from the operators' Jacobian products), takes an Armijo
    backtracking step, then divides each beta whose data set is still above
    target by ``cooling_factor`` every ``cooling_rate`` iterations. Stops when
    every data set reaches its target misfit (``stop_at_target``) or after
    ``max_iterations``. Every distinct model is simulated once: the accepted
    trial of the line search is the next iteration's linearisation.

    Coupling weights are where the run starts, and they give way to the
    targets (:class:`~jointinv.solvers.cooling.Cooling`): when a data set
    stays above its target although its beta is cooled, the couplings that
    read it are cooled too. A coupling that is undefined at the current
    models (a normalised cross-gradient over a flat model, see
    :meth:`~jointinv.coupling.NormalizedCrossGradient.has_structure`) sits
    out that step: from flat starting models the first step is the uncoupled
    one, and the coupling acts from the next step on.

    With bounds (``lower``/``upper``: ``{key: float or tensor}``) it is a
    projected Gauss-Newton method like SimPEG's ``ProjectedGNCG``: variables
    held on a bound by the gradient are frozen in the CG solve, and the line
    search runs along the projected path ``clamp(m + t dm)``.
    With ``hold_iterations > 0`` the run does not stop when every data set
    first reaches its target: it goes on for that many iterations minimising
    the regularization and couplings while :func:`hold_at_target` rescales
    betas and coupling weights to keep each misfit at its target (rows
    marked ``phase: "hold"``), then stops at the target; if the hold left a
    data set above target, the run goes on cooling (betas, and couplings
    that hold a data set off target) until every one is back there.

    ``fixed`` (``{key: (nz, nx) bool tensor}``) marks cells that keep their
    starting values: they are frozen like cells on an active bound, so the
    step is exactly zero there and the variable keeps its value bit for bit.

    ``callback(iteration, variables, row)`` runs after each iteration;
    returning True stops the run.

    ``block_preconditioner`` is passed to
    :func:`~jointinv.solvers.linalg.conjugate_gradient`; ``start_point`` is a
    :class:`~jointinv.problem.ProblemPoint` at ``models`` already computed
    (e.g. for the beta estimate).

    Returns
    -------
    point : ProblemPoint
        The problem at the final models (``point.variables``: ``{key: (nz,
        nx)}`` in the inversion variable), with their predicted data.
    history : list of dict
        One row per iteration (row 0 is the starting model); the last row has
        ``stopped``, the reason the solver stopped.
    """
    others = [f"{m.key!r}: {m.function_name!r}" for m in problem.misfits if not m.is_chi_squared]
    if others:
        raise ValueError(f"Gauss-Newton needs chi-squared (misfit 'l2') data misfits, got "
                         f"{', '.join(others)}; use solver 'adam' or 'lbfgs'")
    start = time.perf_counter()
    point = start_point if start_point is not None else problem.linearize(models)
    history = [record(problem, 0, point.parts(), point.phi(), start, step=0.0,
                      cg_iterations=0)]
    reporter = IterationReporter(max_iterations, "Gauss-Newton", problem.targets(), progress)
    reason = f"reached max_iterations={max_iterations}"
    held, holding, cooling = 0, False, Cooling(problem, cooling_factor)
    for iteration in range(1, max_iterations + 1):
        if stop_at_target and point.at_target():
            if held >= hold_iterations:
                reason = "every data set at its target misfit" + (
                    f" (held there for {held} iterations)" if held else "")
                break
            holding = True
        models = point.variables
        with undefined_couplings_sit_out(problem, models):
            trial_point, t, cg_iterations = _step(
                problem, point, lower, upper, fixed, cg_max_iterations, cg_tolerance,
                block_preconditioner, max_backtracks)
        if trial_point is None:
            reason = (f"line search failed after {max_backtracks} halvings (no decrease "
                      f"along the Gauss-Newton step)")
            break
        point = trial_point
        phase = {}
        if holding:
            held += 1
            hold_at_target(problem, point.misfits)
            holding = held < hold_iterations
            phase = {"phase": "hold"}
            cooling.forget()
        elif iteration % cooling_rate == 0:
            cooling(point.misfits)
        history.append(record(problem, iteration, point.parts(), point.phi(), start, step=t,
                              cg_iterations=cg_iterations, **phase))
        reporter.row(history[-1])
        if callback is not None:
            stop = callback(iteration, point.variables, history[-1])
            point.reset_model_terms()  # the callback may have changed them
            if stop is True:
                reason = "the callback asked to stop"
                break
    else:
        if stop_at_target and point.at_target():
            reason = "every data set at its target misfit" + (
                f" (held there for {held} iterations)" if held else "")
    history[-1]["stopped"] = reason
    reporter.stop(reason)
    reporter.close()
    return point, history


def _step(problem, point, lower, upper, fixed, cg_max_iterations, cg_tolerance,
          block_preconditioner, max_backtracks):
    """One projected Gauss-Newton step from ``point`` with an Armijo backtracking search.

    Returns ``(trial point, step length, CG iterations)``; the trial point is
    None when no step length decreases the objective.
    """
    models, grad, phi = point.variables, point.gradient(), point.phi()
    full_hessian = point.hessian()
    free = _free_mask(models, grad, lower, upper, fixed)

    def hessian(v):
        product = full_hessian({k: v[k] * free[k] for k in v})
        return {k: product[k] * free[k] for k in product}

    step, cg_iterations = conjugate_gradient(
        hessian, {k: -grad[k] * free[k] for k in grad}, cg_max_iterations, cg_tolerance,
        block_preconditioner)
    if dot(grad, step) >= 0:  # not a descent direction (should not happen): use -g
        step = {k: -grad[k] * free[k] for k in grad}
    t = 1.0
    for _ in range(max_backtracks + 1):
        trial = _project(axpy(t, step, models), lower, upper)
        trial_point = problem.linearize(trial)
        # Armijo condition along the projected path
        if trial_point.phi() <= phi + 1e-4 * dot(grad, {k: trial[k] - models[k] for k in grad}):
            return trial_point, t, cg_iterations
        t *= 0.5
    return None, t, cg_iterations

"""Adam and L-BFGS on any parameterization (cells, U-Net, neural field)."""

from __future__ import annotations

import time

import torch

from ..validation import check_choice, check_positive_float, check_positive_int
from .gauss_newton import record
from .progress import IterationReporter

__all__ = ["optimize", "OPTIMIZERS"]

OPTIMIZERS = ("adam", "lbfgs")


def _schedule(parameterizations):
    """The one objective schedule the modules set (``Parameterization.schedule``), or None."""
    schedules = {id(s): s for s in (getattr(m, "schedule", None) for m in parameterizations)
                 if s is not None}
    if len(schedules) > 1:
        raise ValueError("parameterizations set different objective schedules; give the "
                         "schedule to one module only")
    return next(iter(schedules.values()), None)


def _evaluate(problem, parameterizations, weights=None):
    """``(loss, parts)`` of the objective at the modules' current parameters.

    ``weights = (data_weight, model_weight)`` scales the data misfits and the
    rest of the objective (an annealing schedule); ``None``: the plain total.
    """
    properties, variables = {}, {}
    for module in parameterizations:
        produced = module()
        properties.update(produced)
        variables.update(module.variables(produced, problem.maps))
    parts = problem.parts(variables, properties)
    if weights is None:
        return problem.total(parts), parts
    data = sum(parts[f"phi_d[{key}]"] for key in problem.keys)
    model = problem.total({**parts, **{f"phi_d[{key}]": 0.0 for key in problem.keys}})
    return weights[0] * data + weights[1] * model, parts


def _first_call_returns(value, closure):
    """A closure whose first call returns ``value`` (gradients already there), then ``closure``."""
    pending = [value]
    return lambda: pending.pop() if pending else closure()


def optimize(problem, parameterizations, optimizer: str = "adam", lr: float | None = None,
             max_iterations: int = 200, stop_at_target: bool = True, progress: bool = True,
             callback=None):
    """Minimise ``problem``'s objective over the parameters of ``parameterizations``.

    Parameters
    ----------
    problem : InversionProblem
        Objective; betas stay fixed.
    parameterizations : sequence of Parameterization
        Together they produce every property the problem reads
        (``module() -> {key: (nz, nx) property}``).
    optimizer : {"adam", "lbfgs"}
        ``torch.optim.Adam`` or ``torch.optim.LBFGS`` (strong-Wolfe line search,
        one iteration per step so the history has one row per iteration).
    lr : float, optional
        Learning rate; default 1e-2 for Adam (with :class:`~jointinv.parameterizations.Cells`,
        whose parameters are normalised, about a 1 % change of the model per
        step), 1 for L-BFGS.
    max_iterations : int
        Number of optimizer steps.
    stop_at_target : bool
        Stop once every data set is at its target misfit.
    callback : callable, optional
        ``callback(iteration, parameterizations, history_row)`` after each row.

    A module's ``schedule`` (:class:`jointinv.neural_field.Annealing`) replaces
    the objective by ``(1 - b(t)) phi_d + b(t) (beta phi_m + couplings)`` at
    iteration ``t`` and may turn off ``stop_at_target``.

    Each iteration evaluates the objective once (the evaluation that gives
    the gradient also gives the history row and the stopping test); after a
    step every module's ``project_()`` restores its bounds.

    Returns
    -------
    properties : dict
        ``{key: (nz, nx) tensor}`` (detached) at the end.
    history : list of dict
        One row per evaluated iteration; the last has ``stopped``.
    """
    optimizer = check_choice("optimizer", optimizer, OPTIMIZERS)
    max_iterations = check_positive_int("max_iterations", max_iterations)
    default_lr = 1e-2 if optimizer == "adam" else 1.0
    lr = check_positive_float("lr", default_lr if lr is None else lr)
    parameterizations = list(parameterizations)
    produced = [k for module in parameterizations for k in module.keys]
    missing = sorted(set(problem.keys) - set(produced))
    if missing:
        raise ValueError(f"parameterizations must produce every model the problem reads; "
                         f"missing {missing}")
    params = [p for module in parameterizations for p in module.parameters() if p.requires_grad]
    if not params:
        raise ValueError("parameterizations have no trainable parameters")
    schedule = _schedule(parameterizations)
    if schedule is not None:
        stop_at_target = stop_at_target and schedule.stop_at_target
    if optimizer == "adam":
        opt = torch.optim.Adam(params, lr=lr)
    else:
        opt = torch.optim.LBFGS(params, lr=lr, max_iter=1, line_search_fn="strong_wolfe")

    weights = [None]

    def closure():
        opt.zero_grad()
        loss, _ = _evaluate(problem, parameterizations, weights[0])
        loss.backward()
        return loss

    start = time.perf_counter()
    history = []
    reporter = IterationReporter(max_iterations, optimizer, problem.targets(), progress)
    reason = f"reached max_iterations={max_iterations}"
    for iteration in range(max_iterations + 1):
        last = iteration == max_iterations
        weights[0] = None if schedule is None else schedule.weights(iteration)
        opt.zero_grad()
        with torch.set_grad_enabled(not last):
            loss, parts = _evaluate(problem, parameterizations, weights[0])
            if not last:
                loss.backward()
        parts = {k: float(v.detach()) for k, v in parts.items()}
        history.append(record(problem, iteration, parts, float(loss.detach()), start))
        if weights[0] is not None:
            history[-1]["annealing_beta"] = weights[0][1]
        if iteration:
            reporter.row(history[-1])
        if callback is not None:
            callback(iteration, parameterizations, history[-1])
        if stop_at_target and problem.at_target({k: parts[f"phi_d[{k}]"] for k in problem.keys}):
            reason = "every data set at its target misfit"
            break
        if last:
            break
        if optimizer == "adam":
            opt.step()
        else:
            # L-BFGS calls the closure first: hand it the evaluation just made
            opt.step(_first_call_returns(loss.detach(), closure))
        for module in parameterizations:
            module.project_()
    history[-1]["stopped"] = reason
    reporter.stop(reason)
    reporter.close()
    with torch.no_grad():
        properties = {}
        for module in parameterizations:
            properties.update({k: v.detach() for k, v in module().items()})
    return properties, history

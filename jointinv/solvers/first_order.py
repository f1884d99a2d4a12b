"""Adam and L-BFGS on any parameterization (cells, U-Net, neural field)."""

from __future__ import annotations

import time

import torch

from ..validation import check_choice, check_positive_float, check_positive_int
from .cooling import WindowedYield
from .gauss_newton import record, undefined_couplings_sit_out
from .progress import IterationReporter

__all__ = ["optimize", "OPTIMIZERS", "LR_SCHEDULES"]

OPTIMIZERS = ("adam", "lbfgs")
#: How Adam's learning rate changes over a run (see :func:`optimize`).
LR_SCHEDULES = ("constant", "cosine")
#: Most objective evaluations one L-BFGS line search may spend (it usually needs one).
LINE_SEARCH_EVALUATIONS = 10


def _schedule(parameterizations):
    """The one objective schedule the modules set (``Parameterization.schedule``), or None."""
    schedules = {id(s): s for s in (getattr(m, "schedule", None) for m in parameterizations)
                 if s is not None}
    if len(schedules) > 1:
        raise ValueError("parameterizations set different objective schedules; give the "
                         "schedule to one module only")
    return next(iter(schedules.values()), None)


def _produce(problem, parameterizations) -> tuple:
    """``(properties, variables)`` the modules produce at their current parameters."""
    properties, variables = {}, {}
    for module in parameterizations:
        produced = module()
        properties.update(produced)
        variables.update(module.variables(produced, problem.maps))
    return properties, variables


def _variables(problem, parameterizations) -> dict:
    """The inversion variables now, when a coupling may be undefined there (else empty)."""
    if not any(hasattr(term, "has_structure") for _, _, term in problem.couplings):
        return {}
    with torch.no_grad():
        return _produce(problem, parameterizations)[1]


def _model_term(problem, parts: dict, weights):
    """``beta phi_m + couplings`` (times the annealing model weight)."""
    model = problem.total({**parts, **{f"phi_d[{key}]": 0.0 for key in problem.keys}})
    return model if weights is None else weights[1] * model


def _evaluate(problem, parameterizations, weights=None):
    """``(data_term, model_term, parts, properties)`` at the modules' current parameters.

    The objective is ``data_term + model_term``: the data misfits and the
    rest. ``weights = (data_weight, model_weight)`` scales them (an annealing
    schedule); ``None``: the plain total.
    """
    properties, variables = _produce(problem, parameterizations)
    parts = problem.parts(variables, properties)
    data = sum(parts[f"phi_d[{key}]"] for key in problem.keys)
    if weights is not None:
        data = weights[0] * data
    return data, _model_term(problem, parts, weights), parts, properties


def _backward(term) -> None:
    if isinstance(term, torch.Tensor) and term.requires_grad:
        term.backward()


def _floats(parts: dict) -> dict:
    return {k: float(torch.as_tensor(v).detach()) for k, v in parts.items()}


def _state(params, problem, weights, batches) -> tuple:
    """What an evaluation depends on: parameters, betas and coupling weights, annealing
    weights, shot batch."""
    return ([p.detach().clone() for p in params],
            (dict(problem.betas), [weight for _, weight, _ in problem.couplings]), weights,
            None if batches is None else batches.description())


def _same_state(a: tuple, b: tuple, ignore_betas: bool = False) -> bool:
    same_rest = (a[2:] == b[2:]) if ignore_betas else (a[1:] == b[1:])
    return (same_rest and len(a[0]) == len(b[0])
            and all(torch.equal(x, y) for x, y in zip(a[0], b[0])))


def misfit_values(problem, parts: dict) -> dict:
    """``{key: value compared with the target}``: chi-squared (``chi2[key]`` when the data
    misfit is another function, ``phi_d[key]`` otherwise)."""
    return {k: parts.get(f"chi2[{k}]", parts[f"phi_d[{k}]"]) for k in problem.keys}


def _learning_rates(lr, default: float, n_modules: int, optimizer: str) -> list:
    """One learning rate per module from a float, a sequence or None (the default)."""
    if lr is None:
        return [default] * n_modules
    if isinstance(lr, (list, tuple)):
        if len(lr) != n_modules:
            raise ValueError(f"lr must give one rate per parameterization ({n_modules}), "
                             f"got {len(lr)}")
        rates = [check_positive_float("lr", value) for value in lr]
        if optimizer == "lbfgs" and len(set(rates)) > 1:
            raise ValueError(f"lbfgs takes one learning rate for all parameters, got {rates}")
        return rates
    return [check_positive_float("lr", lr)] * n_modules


def _first_call_returns(value, closure):
    """A closure whose first call returns ``value`` (gradients already there), then ``closure``."""
    pending = [value]
    return lambda: pending.pop() if pending else closure()


def _cool(problem, misfits: dict, factor: float) -> None:
    """Divide each beta whose data set is above its target by ``factor`` (SimPEG's BetaSchedule)."""
    for name in problem.tuned_betas():
        if problem.above_target(name, misfits):
            problem.betas[name] /= factor


def optimize(problem, parameterizations, optimizer: str = "adam", lr=None,
             max_iterations: int = 200, stop_at_target: bool = True, progress: bool = True,
             callback=None, cooling_factor: float = 1.0, cooling_rate: int = 1,
             batches=None, lr_schedule: str = "constant"):
    """Minimise ``problem``'s objective over the parameters of ``parameterizations``.

    Parameters
    ----------
    problem : InversionProblem
        Objective; its betas are cooled in place (see ``cooling_factor``).
    parameterizations : sequence of Parameterization
        Together they produce every property the problem reads
        (``module() -> {key: (nz, nx) property}``).
    optimizer : {"adam", "lbfgs"}
        ``torch.optim.Adam`` or ``torch.optim.LBFGS`` (strong-Wolfe line search,
        one iteration per step so the history has one row per iteration).
    lr : float or sequence of floats, optional
        Learning rate; default 1e-2 for Adam (with :class:`~jointinv.parameterizations.Cells`,
        whose parameters are normalised, about a 1 % change of the model per
        step), 1 for L-BFGS. Adam takes one rate per module (a sequence as
        long as ``parameterizations``).
    max_iterations : int
        Number of optimizer steps.
    stop_at_target : bool
        Stop once every data set is at its target misfit.
    callback : callable, optional
        ``callback(history_row, properties)`` after each row, with the
        properties ``{key: (nz, nx)}`` (detached) of that evaluation;
        returning True stops the run.
    batches : ShotBatches, optional
        Draws a random subset of shots per iteration (Adam only).
    lr_schedule : {"constant", "cosine"}
        Adam only: ``"cosine"`` decays every rate to 0 at ``max_iterations``
        (half a cosine), so the last iterates settle.
    cooling_factor, cooling_rate : float, int
        Every ``cooling_rate`` iterations each beta whose data set is still
        above its target is divided by ``cooling_factor`` (1: betas fixed),
        as Gauss-Newton does. The new betas take effect from the next
        evaluation, so a step never mixes two objectives (L-BFGS's line
        search sees one). The couplings over a data set that stands still
        above its target yield: divided by ``cooling_factor`` after each
        further window of iterations without progress
        (:class:`~jointinv.solvers.cooling.WindowedYield`). Off when a module
        sets a ``schedule``.

    A module's ``schedule`` (:class:`jointinv.neural_field.Annealing`) replaces
    the objective by ``(1 - b(t)) phi_d + b(t) (beta phi_m + couplings)`` at
    iteration ``t`` and may turn off ``stop_at_target``.

    Each iteration simulates once: the evaluation that gives the gradient
    also gives the history row and the stopping test. L-BFGS's strong-Wolfe
    line search evaluates its trial step, and the accepted trial is reused
    as the next iteration's evaluation (its data gradient is kept apart, so
    a cooled beta only recomputes the regularization); a line search that
    must bracket the step spends more (at most ``LINE_SEARCH_EVALUATIONS``).
    After a step every module's ``project_()`` restores its bounds.

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
    parameterizations = list(parameterizations)
    rates = _learning_rates(lr, default_lr, len(parameterizations), optimizer)
    cooling_factor = check_positive_float("cooling_factor", cooling_factor)
    cooling_rate = check_positive_int("cooling_rate", cooling_rate)
    lr_schedule = check_choice("lr_schedule", lr_schedule, LR_SCHEDULES)
    if lr_schedule != "constant" and optimizer != "adam":
        raise ValueError(f"lr_schedule {lr_schedule!r} needs optimizer 'adam', "
                         f"got {optimizer!r}")
    produced = [k for module in parameterizations for k in module.keys]
    missing = sorted(set(problem.keys) - set(produced))
    if missing:
        raise ValueError(f"parameterizations must produce every model the problem reads; "
                         f"missing {missing}")
    groups = [{"params": [p for p in module.parameters() if p.requires_grad], "lr": rate}
              for module, rate in zip(parameterizations, rates)]
    groups = [group for group in groups if group["params"]]
    if not groups:
        raise ValueError("parameterizations have no trainable parameters")
    schedule = _schedule(parameterizations)
    if schedule is not None:
        stop_at_target = stop_at_target and schedule.stop_at_target
        cooling_factor = 1.0  # the schedule owns the balance of the terms
    # couplings that hold a data set still above its target yield (cooled like betas)
    yielder = (WindowedYield(problem, cooling_factor)
               if cooling_factor > 1.0 and problem.couplings else None)
    params = [p for group in groups for p in group["params"]]
    scheduler = None
    if optimizer == "adam":
        opt = torch.optim.Adam(groups)
        if lr_schedule == "cosine":
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max_iterations)
    else:
        # max_eval: torch's default for max_iter=1 is 1 evaluation, which leaves the line
        # search none to spend; it then returns t = 0 whenever the unit step overshoots
        # and L-BFGS never moves again (its memory only grows from non-zero steps)
        opt = torch.optim.LBFGS(params, lr=rates[0], max_iter=1,
                                max_eval=1 + LINE_SEARCH_EVALUATIONS,
                                line_search_fn="strong_wolfe")

    weights = [None]
    # the last evaluation: L-BFGS's accepted line-search trial is the next iteration's.
    # Its data gradient is kept apart, so that cooling beta needs no new simulation.
    evaluated = {}

    def evaluate(grad: bool = True):
        opt.zero_grad()
        with torch.set_grad_enabled(grad):
            data, model, parts, properties = _evaluate(problem, parameterizations, weights[0])
            data_grads = None
            if grad and optimizer == "lbfgs":
                data_grads = torch.autograd.grad(data, params, retain_graph=True,
                                                 allow_unused=True)
                _backward(model)
                for p, g in zip(params, data_grads):
                    if g is not None:
                        p.grad = g.clone() if p.grad is None else p.grad + g
            elif grad:
                _backward(data + model)
        loss = (data + model).detach() if isinstance(data + model, torch.Tensor) \
            else torch.tensor(float(data + model))
        evaluated.update(loss=loss, parts=_floats(parts), data=torch.as_tensor(data).detach(),
                         data_grads=data_grads,
                         properties={k: v.detach() for k, v in properties.items()},
                         grad=grad, state=None if optimizer == "adam" else
                         _state(params, problem, weights[0], batches))
        return loss

    def refresh_model_terms():
        """Same parameters, new betas: recompute only the regularization and couplings."""
        opt.zero_grad()
        properties, variables = _produce(problem, parameterizations)
        model_parts = problem.model_parts(variables)
        model = _model_term(problem, {**evaluated["parts"], **model_parts}, weights[0])
        _backward(model)
        for p, g in zip(params, evaluated["data_grads"]):
            if g is not None:
                p.grad = g.clone() if p.grad is None else p.grad + g
        evaluated.update(loss=(evaluated["data"] + torch.as_tensor(model).detach()),
                         parts={**evaluated["parts"], **_floats(model_parts)},
                         state=_state(params, problem, weights[0], batches))

    start = time.perf_counter()
    history = []
    reporter = IterationReporter(max_iterations, optimizer, problem.targets(), progress)
    reason = f"reached max_iterations={max_iterations}"
    for iteration in range(max_iterations + 1):
        last = iteration == max_iterations
        # couplings undefined at the current models sit out this step (and its row)
        with undefined_couplings_sit_out(problem, _variables(problem, parameterizations)):
            weights[0] = None if schedule is None else schedule.weights(iteration)
            if batches is not None:
                batches.draw()
            state = _state(params, problem, weights[0], batches) if evaluated.get("state") else None
            if state is not None and evaluated["grad"] and _same_state(evaluated["state"], state):
                pass  # L-BFGS's accepted trial: already evaluated here
            elif (state is not None and evaluated["grad"] and evaluated["data_grads"] is not None
                  and _same_state(evaluated["state"], state, ignore_betas=True)):
                refresh_model_terms()  # cooled betas: the simulation is still valid
            else:
                evaluate(grad=not last)
            loss, parts = evaluated["loss"], evaluated["parts"]
            history.append(record(problem, iteration, parts, float(loss), start))
            if weights[0] is not None:
                history[-1]["annealing_beta"] = weights[0][1]
            if batches is not None:
                history[-1]["shots"] = batches.description()
            if scheduler is not None:
                history[-1]["lr"] = opt.param_groups[0]["lr"]
            if iteration:
                reporter.row(history[-1])
            if callback is not None and callback(history[-1], evaluated["properties"]) is True:
                reason = "the callback asked to stop"
                break
            misfits = misfit_values(problem, parts)
            if stop_at_target and problem.at_target(misfits):
                reason = "every data set at its target misfit"
                break
            if last:
                break
            if optimizer == "adam":
                opt.step()
                if scheduler is not None:
                    scheduler.step()
            else:
                # L-BFGS calls the closure first: hand it the evaluation just made
                opt.step(_first_call_returns(loss, evaluate))
            for module in parameterizations:
                module.project_()
        if cooling_factor > 1.0 and (iteration + 1) % cooling_rate == 0:
            _cool(problem, misfits, cooling_factor)
        if yielder is not None and yielder(misfits):
            # a coupling weight just fell: moments (Adam) or curvature pairs (L-BFGS)
            # gathered under the old weight would keep its gradients' scale
            opt.state.clear()
    if batches is not None:
        batches.release()
    history[-1]["stopped"] = reason
    reporter.stop(reason)
    reporter.close()
    with torch.no_grad():
        properties = {}
        for module in parameterizations:
            properties.update({k: v.detach() for k, v in module().items()})
    return properties, history

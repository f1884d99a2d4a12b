"""Adam and L-BFGS on any parameterization (cells, U-Net, neural field)."""

from __future__ import annotations

import time

import torch

from ..validation import check_choice, check_positive_float, check_positive_int
from .gauss_newton import record
from .progress import progress_bar

__all__ = ["optimize", "OPTIMIZERS"]

OPTIMIZERS = ("adam", "lbfgs")


def optimize(problem, parameterizations: dict, optimizer: str = "adam", lr: float | None = None,
             max_iterations: int = 200, stop_at_target: bool = True, progress: bool = True,
             callback=None, log_every: int = 1):
    """Minimise ``problem``'s objective over the parameters of ``parameterizations``.

    Parameters
    ----------
    problem : InversionProblem
        Objective; betas stay fixed.
    parameterizations : dict
        ``{key: nn.Module}``; ``module()`` returns the ``(nz, nx)`` model.
    optimizer : {"adam", "lbfgs"}
        ``torch.optim.Adam`` or ``torch.optim.LBFGS`` (strong-Wolfe line search,
        one iteration per step so the history has one row per iteration).
    lr : float, optional
        Learning rate; default 1e-2 for Adam, 1 for L-BFGS.
    max_iterations : int
        Number of optimizer steps.
    stop_at_target : bool
        Stop once every data set is at its target misfit.
    log_every : int
        Record a history row every ``log_every`` iterations (and the last).

    Returns
    -------
    models : dict
        ``{key: (nz, nx) tensor}`` (detached) after the last step.
    history : list of dict
    """
    optimizer = check_choice("optimizer", optimizer, OPTIMIZERS)
    max_iterations = check_positive_int("max_iterations", max_iterations)
    default_lr = 1e-2 if optimizer == "adam" else 1.0
    lr = check_positive_float("lr", default_lr if lr is None else lr)
    params = [p for module in parameterizations.values() for p in module.parameters()]
    if not params:
        raise ValueError("parameterizations have no trainable parameters")
    if optimizer == "adam":
        opt = torch.optim.Adam(params, lr=lr)
    else:
        opt = torch.optim.LBFGS(params, lr=lr, max_iter=1, line_search_fn="strong_wolfe")

    def evaluate():
        models = {key: module() for key, module in parameterizations.items()}
        parts = problem.parts(models)
        return problem.total(parts), parts

    def closure():
        opt.zero_grad()
        loss, _ = evaluate()
        loss.backward()
        return loss

    start = time.perf_counter()
    with torch.no_grad():
        loss, parts = evaluate()
    history = [record(problem, 0, {k: float(v) for k, v in parts.items()}, float(loss), start)]
    bar = progress_bar(max_iterations, optimizer, progress)
    for iteration in range(1, max_iterations + 1):
        opt.step(closure)
        bar.update(1)
        last = iteration == max_iterations
        if iteration % log_every == 0 or last or stop_at_target:
            with torch.no_grad():
                loss, parts = evaluate()
            parts = {k: float(v) for k, v in parts.items()}
            if iteration % log_every == 0 or last:
                history.append(record(problem, iteration, parts, float(loss), start))
                if callback is not None:
                    callback(iteration, parameterizations, history[-1])
            misfits = {key: parts[f"phi_d[{key}]"] for key in problem.keys}
            bar.set_postfix({f"phi_d[{k}]/target": f"{v / problem.targets()[k]:.3g}"
                             for k, v in misfits.items()})
            if stop_at_target and problem.at_target(misfits):
                if history[-1]["iteration"] != iteration:
                    history.append(record(problem, iteration, parts, float(loss), start))
                break
    bar.close()
    with torch.no_grad():
        models = {key: module().detach() for key, module in parameterizations.items()}
    return models, history

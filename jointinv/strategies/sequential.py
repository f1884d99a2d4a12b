"""Strategy ``sequential``: separate inversion steps alternating with a coupling step.

Each round runs one Gauss-Newton step of every physics on its own (with its
own beta, cooling and solver), giving updates ``m~_k``; then the models move
to minimise the structural coupling while staying close to those updates:

    min_m  sum_k 1/2 (m_k - m~_k)^T H_k (m_k - m~_k) + lambda_eff * coupling(m)

where ``H_k`` is the Gauss-Newton Hessian of physics ``k``'s own objective at
``m~_k``: "close" is measured by how much each physics' data fit and
regularization would suffer, so the coupling moves the models only where
their data leave them free. ``lambda_eff`` is scaled as in the simultaneous
strategy. Because the physics only ever see their own problem, any solver a
physics brings (SimPEG's included) can run the separate steps.
"""

from __future__ import annotations

import time

import torch

from ..problem import InversionProblem
from ..solvers import estimate_betas, gauss_newton
from ..solvers.gauss_newton import record
from ..solvers.progress import progress_bar
from .common import DEFAULT_COUPLING_WEIGHT, check_setups, make_result, pair_couplings

__all__ = ["invert_sequential", "coupling_step"]


def coupling_step(models: dict, hessians: dict, couplings, iterations: int = 20,
                  lower=None, upper=None):
    """Minimise coupling + Hessian-weighted closeness to ``models`` with L-BFGS.

    ``hessians[key]`` applies ``H_k`` to a ``(nz, nx)`` tensor. Returns new models.
    """
    anchors = {k: m.detach() for k, m in models.items()}
    variables = {k: m.clone().requires_grad_(True) for k, m in anchors.items()}
    optimizer = torch.optim.LBFGS(list(variables.values()), max_iter=iterations,
                                  line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        value = 0.0
        with torch.enable_grad():
            coupling = sum(weight * term(variables) for weight, term in couplings)
            coupling.backward()
        for k, v in variables.items():
            delta = v.detach() - anchors[k]
            h_delta = hessians[k](delta)
            value += 0.5 * float((delta * h_delta).sum())
            v.grad = h_delta if v.grad is None else v.grad + h_delta
        return torch.as_tensor(value + float(coupling.detach()), dtype=torch.float64)

    optimizer.step(closure)
    out = {}
    for k, v in variables.items():
        lo, hi = (lower or {}).get(k), (upper or {}).get(k)
        out[k] = v.detach().clamp(min=lo, max=hi) if (lo is not None or hi is not None) \
            else v.detach()
    return out


def invert_sequential(setups: dict, coupling: str = "cross_gradient",
                      coupling_weight: float = DEFAULT_COUPLING_WEIGHT,
                      max_iterations: int = 30,
                      beta0_ratio: float = 1.0, cooling_factor: float = 2.0,
                      cg_max_iterations: int = 30, coupling_iterations: int = 20,
                      coupling_eps: float = 0.1,
                      progress: bool = True, **_ignored):
    """Alternate separate Gauss-Newton steps with a structural coupling step.

    Parameters
    ----------
    setups : dict
        ``{name: PhysicsSetup}``, two or more physics on one grid.
    coupling_weight : float
        lambda of the coupling step (relative to the unit-free closeness term).
    max_iterations : int
        Rounds (one separate step per physics plus one coupling step each).

    Stops when every data set is at its target after a coupling step.
    """
    setups = check_setups(setups, minimum=2)
    start = time.perf_counter()
    built = {key: setup.build(key) for key, setup in setups.items()}
    keys = list(built)
    couplings = pair_couplings(coupling, setups, built, coupling_weight, coupling_eps)
    problems, models = {}, {}
    for key, (misfit, regularization, m0, _, _) in built.items():
        problem = InversionProblem([misfit], {key: regularization}, {key: 1.0})
        problem.betas = {key: setups[key].beta or
                         estimate_betas(problem, {key: m0}, beta0_ratio)[key]}
        problems[key], models[key] = problem, m0
    lower = {k: b[3] for k, b in built.items()}
    upper = {k: b[4] for k, b in built.items()}
    history, bar = [], progress_bar(max_iterations, "sequential", progress)
    for iteration in range(1, max_iterations + 1):
        if all(problems[k].at_target(problems[k].misfit_values({k: models[k]})) for k in keys):
            break
        for key in keys:
            step, _ = gauss_newton(problems[key], {key: models[key]}, max_iterations=1,
                                   cooling_factor=cooling_factor,
                                   cg_max_iterations=cg_max_iterations,
                                   lower={key: lower[key]}, upper={key: upper[key]},
                                   progress=False)
            models[key] = step[key]
        hessians = {}
        for key in keys:
            apply = problems[key].hessian_operator({key: models[key]})
            hessians[key] = (lambda v, apply=apply, key=key: apply({key: v})[key])
        models = coupling_step(models, hessians, couplings, coupling_iterations, lower, upper)
        parts = {}
        with torch.no_grad():
            for key in keys:
                values = problems[key].parts({key: models[key]})
                parts.update({name: float(value) for name, value in values.items()})
            for index, (_, term) in enumerate(couplings):
                parts[f"coupling[{type(term).__name__}{index}]"] = float(term(models))
        row = record(problems[keys[0]], iteration, parts, float("nan"), start)
        row.update({f"beta[{k}]": problems[k].betas[k] for k in keys})
        history.append(row)
        bar.update(1)
    bar.close()
    return make_result(setups, built, models, history, start,
                       f"sequential {coupling} (lambda={coupling_weight:g})")

"""Invert one data set for one model: the building block of every strategy."""

from __future__ import annotations

import time

import torch

from .data import Data
from .operator import PhysicsOperator
from .parameterizations import Cells
from .physics_setup import PhysicsSetup
from .problem import InversionProblem
from .result import InversionResult
from .solvers import OPTIMIZERS, estimate_betas, gauss_newton, optimize
from .validation import check_choice, check_positive_float, check_positive_int

__all__ = ["invert", "SOLVERS"]

SOLVERS = ("gauss_newton",) + OPTIMIZERS


def invert(operator: PhysicsOperator, data: Data, initial_model: torch.Tensor, *,
           solver: str = "gauss_newton", name: str | None = None, map=None,
           reference_model: torch.Tensor | None = None, alpha_s: float = 1e-3,
           alpha_x: float = 1.0, alpha_z: float = 1.0, beta: float | None = None,
           beta0_ratio: float = 1.0, cooling_factor: float = 2.0, cooling_rate: int = 1,
           chi_factor: float = 1.0, max_iterations: int = 20, cg_max_iterations: int = 20,
           sensitivity_weighting: bool = False, bounds: tuple | None = None,
           lr: float | None = None,
           true_model: torch.Tensor | None = None, progress: bool = True) -> InversionResult:
    """Invert ``data`` for a cell model with Tikhonov regularization.

    Minimises ``phi_d(m) + beta * phi_m(m)`` where ``phi_d`` is the chi-squared
    misfit (target ``chi_factor * n_data``) and ``phi_m`` is
    ``alpha_s`` smallness toward the reference plus ``alpha_x``/``alpha_z``
    first-difference smoothness (:func:`jointinv.regularization.tikhonov`). The
    inversion variable is ``m = map.inverse(property)`` (slowness for travel
    times: the operator's ``inversion_map``).

    Parameters
    ----------
    operator : PhysicsOperator
        The physics.
    data : Data
        Observed data with standard deviations.
    initial_model, reference_model, true_model : torch.Tensor
        ``(nz, nx)`` models of the property (e.g. velocity [m/s]); the reference
        defaults to the initial model. ``true_model`` only feeds the metrics.
    solver : {"gauss_newton", "adam", "lbfgs"}
        Gauss-Newton-CG with beta cooling (SimPEG's recipe), or a first-order
        torch optimizer with fixed beta.
    beta : float, optional
        Trade-off parameter; estimated from the largest-eigenvalue ratio of the
        data and model Hessians times ``beta0_ratio`` if omitted.
    cooling_factor, cooling_rate : float, int
        Gauss-Newton divides beta by ``cooling_factor`` every ``cooling_rate``
        iterations while the misfit is above target.
    sensitivity_weighting : bool
        Weight the regularization by normalised sensitivities (SimPEG's
        ``UpdateSensitivityWeights``), computed once at the initial model.
    bounds : (float or None, float or None), optional
        Lower and upper bounds of the property (e.g. velocity [m/s]) for the
        projected Gauss-Newton solver. With the reciprocal map (slowness) the
        default upper velocity bound is 100 times the fastest initial velocity,
        which keeps slowness positive.
    progress : bool
        Show a progress bar.

    Returns
    -------
    InversionResult
    """
    solver = check_choice("solver", solver, SOLVERS)
    name = name or operator.property.replace(" ", "_") or "model"
    max_iterations = check_positive_int("max_iterations", max_iterations)
    check_positive_float("cooling_factor", cooling_factor)
    check_positive_int("cooling_rate", cooling_rate)
    check_positive_float("beta0_ratio", beta0_ratio)
    setup = PhysicsSetup(operator, data, initial_model, true_model=true_model,
                         reference_model=reference_model, alpha_s=alpha_s, alpha_x=alpha_x,
                         alpha_z=alpha_z, chi_factor=chi_factor, map=map, bounds=bounds,
                         sensitivity_weighting=sensitivity_weighting, beta=beta)
    start = time.perf_counter()
    misfit, regularization, m0, lower, upper = setup.build(name)
    problem = InversionProblem([misfit], {name: regularization}, {name: 1.0})
    if beta is None:
        problem.betas = estimate_betas(problem, {name: m0}, beta0_ratio)
    else:
        problem.betas = {name: check_positive_float("beta", beta)}

    if solver == "gauss_newton":
        models, history = gauss_newton(problem, {name: m0}, max_iterations=max_iterations,
                                       cooling_factor=cooling_factor, cooling_rate=cooling_rate,
                                       cg_max_iterations=cg_max_iterations,
                                       lower={name: lower}, upper={name: upper},
                                       progress=progress)
    else:
        models, history = optimize(problem, {name: Cells(m0)}, optimizer=solver, lr=lr,
                                   max_iterations=max_iterations, progress=progress)
    recovered = misfit.map(models[name])
    with torch.no_grad():
        predicted = operator(recovered)
    return InversionResult(
        models={name: recovered}, initial_models={name: setup.initial_model},
        true_models={name: setup.true_model} if true_model is not None else {},
        operators={name: operator}, data={name: data}, predicted={name: predicted},
        history=history, wall_time=time.perf_counter() - start, method=f"independent ({solver})",
    )

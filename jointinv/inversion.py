"""Invert one data set for one model: the building block of every strategy."""

from __future__ import annotations

import time

import torch

from .data import Data
from .objective import DataMisfit
from .operator import PhysicsOperator
from .parameterizations import Cells
from .problem import InversionProblem
from .regularization import tikhonov
from .result import InversionResult
from .sensitivity import sensitivity_weights
from .solvers import OPTIMIZERS, estimate_betas, gauss_newton, optimize
from .validation import check_choice, check_positive_float, check_positive_int

__all__ = ["invert", "SOLVERS"]

SOLVERS = ("gauss_newton",) + OPTIMIZERS


def _check_model_like(name, model, operator):
    if not isinstance(model, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(model).__name__}")
    if tuple(model.shape) != operator.grid.shape:
        raise ValueError(
            f"{name} must have the grid shape (nz, nx) = {operator.grid.shape}, "
            f"got {tuple(model.shape)}"
        )
    return operator.check_model(model).detach()


def _variable_bounds(map, bounds, initial_model):
    """Bounds of the inversion variable from property bounds ``(low, high)``."""
    if bounds is None:
        bounds = (None, 100.0 * float(initial_model.max())) if map.name == "reciprocal" \
            else (None, None)
    if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
        raise TypeError(f"bounds must be a (lower, upper) pair of floats or None, got {bounds!r}")
    low, high = bounds
    if low is not None and high is not None and not low < high:
        raise ValueError(f"bounds must satisfy lower < upper, got {bounds!r}")
    if map.name != "reciprocal":
        return low, high
    for value in (low, high):
        if value is not None and value <= 0:
            raise ValueError(f"bounds of a reciprocal-mapped property must be > 0, got {bounds!r}")
    # m = 1 / property: the order flips
    return (None if high is None else 1.0 / high), (None if low is None else 1.0 / low)


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
    initial_model = _check_model_like("initial_model", initial_model, operator)
    reference_model = initial_model if reference_model is None else \
        _check_model_like("reference_model", reference_model, operator)
    if true_model is not None:
        true_model = _check_model_like("true_model", true_model, operator)

    start = time.perf_counter()
    misfit = DataMisfit(name, operator, data, map=map, chi_factor=chi_factor)
    m0 = misfit.map.inverse(initial_model)
    weights = sensitivity_weights(misfit, m0) if sensitivity_weighting else None
    regularization = tikhonov(name, operator.grid, misfit.map.inverse(reference_model),
                              alpha_s, alpha_x, alpha_z, cell_weights=weights)
    problem = InversionProblem([misfit], {name: regularization}, {name: 1.0})
    if beta is None:
        problem.betas = {k: v for k, v in estimate_betas(problem, {name: m0}, beta0_ratio).items()}
    else:
        problem.betas = {name: check_positive_float("beta", beta)}

    if solver == "gauss_newton":
        lower, upper = _variable_bounds(misfit.map, bounds, initial_model)
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
        models={name: recovered}, initial_models={name: initial_model},
        true_models={name: true_model} if true_model is not None else {},
        operators={name: operator}, data={name: data}, predicted={name: predicted},
        history=history, wall_time=time.perf_counter() - start, method=f"independent ({solver})",
    )

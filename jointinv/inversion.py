"""Invert one data set for one model: the building block of every strategy."""

from __future__ import annotations

import time

import torch

from .data import Data
from .multiscale import invert_setups_by_band
from .operator import PhysicsOperator
from .physics_setup import PhysicsSetup
from .result import InversionResult
from .runner import SOLVERS, SolverOptions, make_result, run

__all__ = ["invert", "SOLVERS"]


def invert(operator: PhysicsOperator, data: Data, initial_model: torch.Tensor, *,
           solver: str = "gauss_newton", name: str | None = None, map=None,
           reference_model: torch.Tensor | None = None, alpha_s: float = 1e-3,
           alpha_x: float = 1.0, alpha_z: float = 1.0, smallness_norm: int = 2,
           beta: float | None = None, beta0_ratio: float = 1.0, cooling_factor: float = 2.0,
           cooling_rate: int = 1,
           chi_factor: float = 1.0, max_iterations: int = 20, cg_max_iterations: int = 20,
           sensitivity_weighting: bool = False, bounds: tuple | None = None,
           lr: float | None = None, lr_schedule: str = "constant", step=None,
           parameterization=None, mask=None,
           misfit="l2", frequencies=None, filter_order: int = 4, preconditioner=None,
           depth_power: float = 1.0, shots_per_iteration: int | None = None,
           batch_seed: int = 0, callback=None,
           true_model: torch.Tensor | None = None, progress: bool = True) -> InversionResult:
    """Invert ``data`` for a cell model with Tikhonov regularization.

    Minimises ``phi_d(m) + beta * phi_m(m)`` where ``phi_d`` is the chi-squared
    misfit (target ``chi_factor * n_data``) and ``phi_m`` is
    ``alpha_s`` smallness toward the reference plus ``alpha_x``/``alpha_z``
    first-difference smoothness (:func:`jointinv.regularization.tikhonov`;
    ``smallness_norm=1`` makes the smallness L1, for Adam/L-BFGS). The
    inversion variable is ``m = map.inverse(property)`` (slowness for travel
    times: the operator's ``inversion_map``); regularization acts on it.

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
        Gauss-Newton-CG, or a first-order torch optimizer; all cool beta
        (see :class:`jointinv.runner.SolverOptions`).
    parameterization : Parameterization, optional
        A module returning ``{name: property}`` (e.g. a deep image prior
        that outputs velocity [m/s]); first-order solvers only. Default: cells.
    lr : float, optional
        First-order learning rate. With cells it is relative: Adam moves a
        cell by at most about ``lr`` times the RMS starting model per step
        (default 0.01, i.e. 1 %); with a network, in its weights' units.
    lr_schedule : {"constant", "cosine"}
        Adam only: ``"cosine"`` decays the rate to 0 at ``max_iterations``
        (see :class:`jointinv.runner.SolverOptions`).
    step : float, optional
        Instead of ``lr``, Adam's step per iteration in the property's units
        (e.g. ``step=20.0`` for about 20 m/s per iteration), cells only.
    beta : float, optional
        Trade-off parameter; estimated from the largest-eigenvalue ratio of the
        data and model Hessians times ``beta0_ratio`` if omitted.
    cooling_factor, cooling_rate : float, int
        Every solver divides beta by ``cooling_factor`` every ``cooling_rate``
        iterations while the misfit is above target (1: fixed beta).
    sensitivity_weighting : bool
        Weight the regularization by normalised sensitivities (SimPEG's
        ``UpdateSensitivityWeights``), computed once at the initial model.
    bounds : (float or None, float or None), optional
        Lower and upper bounds of the property (e.g. velocity [m/s]), honoured
        by every solver (they must contain the initial model). With the
        reciprocal map (slowness) the
        default upper velocity bound is 100 times the fastest initial velocity,
        which keeps slowness positive.
    misfit : {"l2", "envelope", "correlation"} or callable, default "l2"
        The data misfit: chi-squared, or a waveform misfit of
        :mod:`jointinv.waveform_misfits` for shot gathers (first-order
        solvers), scaled to equal chi-squared at the start; histories then
        also report ``chi2[key]`` (the chi-squared misfit of the same
        prediction, which the target and ``chi2/N`` refer to).
    mask : numpy.ndarray or torch.Tensor, optional
        Boolean ``(nz, nx)``, True where the model stays at ``initial_model``
        (e.g. a water layer of known velocity). Every solver and
        parameterization returns the start on those cells, bit for bit.
    frequencies : sequence of float, optional
        Multiscale inversion: increasing low-pass corners [Hz] (e.g. ``[3, 6,
        12]``); one inversion per band, the observed data and the operator's
        wavelet low-passed alike (:func:`jointinv.waveforms.lowpass` of order
        ``filter_order``), each band warm-started from the previous model,
        one progress line per band (:func:`jointinv.multiscale.invert_bands`);
        the same as :class:`jointinv.PhysicsSetup`'s ``frequencies`` in the
        strategies.
        ``max_iterations`` applies to each band; the regularization's
        reference stays ``reference_model`` (default: the first start).
        Needs a waveform operator (``dt``, ``source_amplitudes``).
    preconditioner, depth_power : optional
        First-order solvers on cells: per-cell step weights, ``"depth"``
        (``(z / z_max) ** depth_power``), ``"illumination"`` (from the
        Gauss-Newton Hessian diagonal at the start) or an ``(nz, nx)`` array
        (:mod:`jointinv.preconditioning`).
    shots_per_iteration, batch_seed : int, optional
        Adam: a seeded random subset of this many shots per iteration
        (operators with shots, e.g. the acoustic one); see
        :class:`jointinv.runner.SolverOptions`.
    callback : callable, optional
        ``callback(row, models)`` after each iteration with the history row
        and ``{key: (nz, nx) model}``; returning True stops.
    progress : bool
        Show a progress bar.

    Returns
    -------
    InversionResult
    """
    if not isinstance(operator, PhysicsOperator):
        raise TypeError(f"operator must be a jointinv.PhysicsOperator, "
                        f"got {type(operator).__name__}")
    if name is not None and (not isinstance(name, str) or not name):
        raise TypeError(f"name must be a non-empty string, got {name!r}")
    options = SolverOptions(solver=solver, max_iterations=max_iterations,
                            beta0_ratio=beta0_ratio, cooling_factor=cooling_factor,
                            cooling_rate=cooling_rate, cg_max_iterations=cg_max_iterations,
                            lr=lr, lr_schedule=lr_schedule, step=step,
                            preconditioner=preconditioner,
                            depth_power=depth_power, shots_per_iteration=shots_per_iteration,
                            batch_seed=batch_seed, callback=callback, progress=progress)
    name = name or operator.property.replace(" ", "_") or "model"
    if parameterization is not None and len(parameterization.keys) == 1:
        name = parameterization.keys[0]
    setup = PhysicsSetup(operator, data, initial_model, true_model=true_model,
                         reference_model=reference_model, alpha_s=alpha_s, alpha_x=alpha_x,
                         alpha_z=alpha_z, smallness_norm=smallness_norm,
                         chi_factor=chi_factor, map=map, bounds=bounds,
                         sensitivity_weighting=sensitivity_weighting, beta=beta, mask=mask,
                         misfit=misfit, frequencies=frequencies, filter_order=filter_order)
    start = time.perf_counter()

    def invert_once(setups):
        built = {name: setups[name].build(name)}
        output = run(built, options, parameterization=parameterization)
        return make_result(built, output, start, f"independent ({options.solver})")

    return invert_setups_by_band(invert_once, {name: setup}, progress=progress)

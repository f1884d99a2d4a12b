"""One physics of an inversion: operator, data, models and regularization choices."""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass

import torch

from .data import Data
from .maps import Map, get_map
from .masks import check_mask
from .multiscale import check_frequencies, check_waveform_operator
from .objective import DataMisfit, Term, misfit_function
from .operator import PhysicsOperator
from .parameterizations import Cells
from .regularization import check_norm, tikhonov
from .sensitivity import sensitivity_weights
from .validation import (
    as_model_tensor,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
)

__all__ = ["PhysicsSetup", "BuiltPhysics", "variable_bounds"]


def _check_model_like(name, model, operator):
    model = as_model_tensor(name, model)
    if tuple(model.shape) != operator.grid.shape:
        raise ValueError(
            f"{name} must have the grid shape (nz, nx) = {operator.grid.shape}, "
            f"got {tuple(model.shape)}"
        )
    return operator.check_model(model).detach()


def _check_bounds(bounds, initial_model):
    """Property bounds ``(lower, upper)`` (floats or None) that contain the start."""
    if bounds is None:
        return None
    if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
        raise TypeError(f"bounds must be a (lower, upper) pair of floats or None, got {bounds!r}")
    checked = []
    for value in bounds:
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"bounds must hold floats or None, got {bounds!r}")
            if not math.isfinite(value):
                raise ValueError(f"bounds must be finite (use None for no bound), got {bounds!r}")
            value = float(value)
        checked.append(value)
    low, high = checked
    if low is not None and high is not None and not low < high:
        raise ValueError(f"bounds must satisfy lower < upper, got {bounds!r}")
    smallest, largest = float(initial_model.min()), float(initial_model.max())
    if (low is not None and smallest < low) or (high is not None and largest > high):
        raise ValueError(f"bounds {bounds!r} must contain the initial model "
                         f"(its values span [{smallest:.6g}, {largest:.6g}])")
    return low, high


#: Without user bounds, a reciprocal-mapped property (velocity from slowness)
#: stays below this factor times the starting model's maximum ...
DEFAULT_RECIPROCAL_RANGE = 3.0
#: ... and above its minimum divided by this factor.
DEFAULT_RECIPROCAL_SLOW_RANGE = 100.0


def _default_reciprocal_bounds(initial_model):
    """Default velocity bounds of a reciprocal map: ``(min / 100, max * 3)`` of the start.

    The factors are :data:`DEFAULT_RECIPROCAL_SLOW_RANGE` and
    :data:`DEFAULT_RECIPROCAL_RANGE`.
    The regularization is quadratic in slowness, which does not see the
    velocity blow up as slowness nears 0: where few ray directions cross
    (cells by a source or receiver at the grid's edge) the regularized
    solution can undershoot slowness to a few percent of the start, i.e.
    velocities of 1e4-1e5 m/s. The fast side is therefore held within 3x
    the start. The slow side has no such singularity (slowness grows
    linearly), and true bodies can be many times slower than a homogeneous
    start (NFs-Inv's cases: 5-10x), so it is left wide.
    """
    return (float(initial_model.min()) / DEFAULT_RECIPROCAL_SLOW_RANGE,
            float(initial_model.max()) * DEFAULT_RECIPROCAL_RANGE)


def variable_bounds(map, bounds, initial_model):
    """Bounds of the inversion variable ``m`` (``property = map(m)``) from property bounds.

    ``initial_model`` is read only for the defaults (``bounds=None``).

    Raises
    ------
    ValueError
        Bounds the map cannot carry over (a ``log10`` map, a reciprocal
        bound <= 0).
    """
    if bounds is None:
        bounds = _default_reciprocal_bounds(initial_model) if map.name == "reciprocal" \
            else (None, None)
    low, high = bounds
    if map.name == "identity":
        return low, high
    if map.name != "reciprocal":
        if low is not None or high is not None:
            raise ValueError(f"bounds are supported with the 'identity' and 'reciprocal' maps, "
                             f"got map {map.name!r}; bound the property with a different map")
        return None, None
    for value in (low, high):
        if value is not None and value <= 0:
            raise ValueError(f"bounds of a reciprocal-mapped property must be > 0, got {bounds!r}")
    # m = 1 / property: the order flips
    return (None if high is None else 1.0 / high), (None if low is None else 1.0 / low)


@dataclass
class BuiltPhysics:
    """One physics made ready for a solver (:meth:`PhysicsSetup.build`).

    Attributes
    ----------
    key : str
        Name of its model in the problem.
    setup : PhysicsSetup
    misfit : DataMisfit
        Reads the property.
    regularization : Term
        Reads the inversion variable.
    map : Map
        ``property = map(variable)``.
    start : torch.Tensor
        ``(nz, nx)`` starting inversion variable.
    lower, upper : float or None
        Bounds of the inversion variable.
    mask : torch.Tensor or None
        Boolean ``(nz, nx)``: True where the model stays at its start.
    beta_regularization : Term or None
        When a joint regularization replaced the smoothness: the full Tikhonov
        term the model would have had, whose Hessian sets the beta of its
        smallness, so that the smallness weighs what it weighs in a separate
        inversion (balanced alone it would weigh as much as the data).
    """

    key: str
    setup: PhysicsSetup
    misfit: DataMisfit
    regularization: Term
    map: Map
    start: torch.Tensor
    lower: float | None
    upper: float | None
    mask: torch.Tensor | None = None
    beta_regularization: Term | None = None

    def cells(self) -> Cells:
        """A :class:`Cells` parameterization at the start, with the variable's bounds and mask."""
        return Cells(self.setup.initial_model, map=self.map, key=self.key, lower=self.lower,
                     upper=self.upper, mask=self.mask)


@dataclass
class PhysicsSetup:
    """Everything one physics brings to an inversion.

    Parameters
    ----------
    operator : PhysicsOperator
    data : Data
        Observed data, shape ``operator.data_shape``.
    initial_model : torch.Tensor
        ``(nz, nx)`` starting model of the property (e.g. velocity [m/s]).
    true_model, reference_model : torch.Tensor, optional
        True model (metrics only); reference of the smallness term (default:
        the initial model).
    alpha_s, alpha_x, alpha_z : float
        Smallness and smoothness weights (:func:`jointinv.regularization.tikhonov`).
    smallness_norm : {2, 1}
        ``1``: an L1 smallness (NFs-Inv's DC cases; first-order solvers only).
    chi_factor : float
        Target misfit ``chi_factor * n_data``.
    map : str or Map, optional
        Inversion variable: ``property = map(m)`` (default: the operator's
        ``inversion_map``, e.g. slowness for travel times).
    bounds : (float or None, float or None), optional
        Property bounds; every solver keeps the model inside them (they must
        contain the initial model). Default for a ``"reciprocal"`` map: at
        most :data:`DEFAULT_RECIPROCAL_RANGE` (3) times the initial model's
        maximum (keeps slowness from undershooting toward 0, i.e. velocity
        spikes, where few ray directions cross) and at least its minimum
        over :data:`DEFAULT_RECIPROCAL_SLOW_RANGE` (100); none otherwise.
    sensitivity_weighting : bool
        Regularization weighted by normalised sensitivities.
    beta : float, optional
        Starting trade-off parameter, > 0 (estimated when omitted).
    misfit : str or callable, default "l2"
        Data misfit: ``"l2"`` (chi-squared), ``"envelope"`` or
        ``"correlation"`` for waveform data, or ``f(predicted, data)``; see
        :class:`jointinv.objective.DataMisfit` (first-order solvers only for
        anything but ``"l2"``).
    mask : numpy.ndarray or torch.Tensor, optional
        Boolean ``(nz, nx)``: True where the model is fixed at
        ``initial_model`` (e.g. a water layer); every solver and
        parameterization leaves those cells at the start, bit for bit.
    frequencies : sequence of float, optional
        Multiscale inversion of a waveform physics (an operator with ``dt``
        [s] and ``source_amplitudes``): increasing low-pass corners [Hz] below
        the Nyquist frequency, e.g. ``[3, 6, 12]``. Every strategy runs one
        inversion per band, data and wavelet low-passed alike, each band
        warm-started from the previous one
        (:func:`jointinv.multiscale.invert_setups_by_band`); in a joint
        strategy the other physics take part in every band unfiltered. One
        physics per joint inversion may have bands.
    filter_order : int, default 4
        Butterworth order of the bands' low-pass.
    initial_model, true_model, reference_model may be NumPy arrays (converted
    to tensors; float64 unless float32).
    """

    operator: PhysicsOperator
    data: Data
    initial_model: torch.Tensor
    true_model: torch.Tensor | None = None
    reference_model: torch.Tensor | None = None
    alpha_s: float = 1e-3
    alpha_x: float = 1.0
    alpha_z: float = 1.0
    smallness_norm: int = 2
    chi_factor: float = 1.0
    map: str | Map | None = None
    bounds: tuple | None = None
    sensitivity_weighting: bool = False
    beta: float | None = None
    mask: object = None
    misfit: object = "l2"
    frequencies: list | None = None
    filter_order: int = 4

    def __post_init__(self):
        if not isinstance(self.operator, PhysicsOperator):
            raise TypeError(f"operator must be a jointinv.PhysicsOperator, "
                            f"got {type(self.operator).__name__}")
        if not isinstance(self.data, Data):
            raise TypeError(f"data must be a jointinv.Data, got {type(self.data).__name__}")
        self.filter_order = check_positive_int("filter_order", self.filter_order)
        if self.frequencies is not None:
            check_waveform_operator(self.operator)
            self.frequencies = check_frequencies(self.frequencies, self.operator.dt)
        self.initial_model = _check_model_like("initial_model", self.initial_model,
                                               self.operator)
        if self.reference_model is not None:
            self.reference_model = _check_model_like("reference_model", self.reference_model,
                                                     self.operator)
        if self.true_model is not None:
            self.true_model = _check_model_like("true_model", self.true_model, self.operator)
        for name in ("alpha_s", "alpha_x", "alpha_z"):
            setattr(self, name, check_nonnegative_float(name, getattr(self, name)))
        if self.alpha_s == self.alpha_x == self.alpha_z == 0:
            raise ValueError("at least one of alpha_s, alpha_x, alpha_z must be > 0")
        self.smallness_norm = check_norm("smallness_norm", self.smallness_norm)
        self.chi_factor = check_positive_float("chi_factor", self.chi_factor)
        if self.beta is not None:
            self.beta = check_positive_float("beta", self.beta)
        if not isinstance(self.sensitivity_weighting, bool):
            raise TypeError(f"sensitivity_weighting must be True or False, "
                            f"got {self.sensitivity_weighting!r}")
        self.map = get_map(self.operator.inversion_map if self.map is None else self.map)
        self.bounds = _check_bounds(self.bounds, self.initial_model)
        self.mask = check_mask("mask", self.mask, self.operator.grid.shape,
                               self.initial_model.device)
        misfit_function(self.misfit, self.operator.property, self.data)  # checks it

    def restarted(self, initial_model: torch.Tensor, data: Data | None = None) -> PhysicsSetup:
        """This setup warm-started from ``initial_model`` (one band of a multiscale run).

        The reference model stays this setup's (default: its initial model)
        and so do the bounds (without bounds, a ``"reciprocal"`` map's
        defaults from this setup's initial model), so that every band
        regularizes and bounds alike; ``data`` replaces the data when given;
        the copy has no ``frequencies``.
        """
        reference = self.initial_model if self.reference_model is None else self.reference_model
        bounds = self.bounds
        if bounds is None and self.map.name == "reciprocal":
            bounds = _default_reciprocal_bounds(self.initial_model)
        start = initial_model.detach()
        if bounds is not None and bounds != (None, None):
            # a previous band kept the model inside them up to the map's round-off
            start = start.clamp(min=bounds[0], max=bounds[1])
        return dataclasses.replace(self, initial_model=start, reference_model=reference,
                                   bounds=bounds, data=self.data if data is None else data,
                                   frequencies=None)

    def build(self, key: str, smoothness: bool = True) -> BuiltPhysics:
        """The misfit, regularization, start and bounds of this physics under name ``key``.

        ``smoothness=False`` leaves the smoothness out of the regularization
        (only the smallness stays): for a joint regularization that replaces it.
        """
        misfit = DataMisfit(key, self.operator, self.data, chi_factor=self.chi_factor,
                            function=self.misfit)
        start = self.map.inverse(self.initial_model)
        if not bool(torch.isfinite(start).all()):
            raise ValueError(f"initial_model is outside the domain of the {self.map.name!r} map")
        reference = self.initial_model if self.reference_model is None else self.reference_model
        weights = (sensitivity_weights(misfit, self.initial_model, self.map.derivative(start))
                   if self.sensitivity_weighting else None)
        if not smoothness and self.alpha_s == 0:
            raise ValueError(f"setup {key!r}: a joint regularization keeps each model's "
                             f"smallness only, so alpha_s must be > 0, got 0")

        def regularization(alpha_x, alpha_z):
            return tikhonov(key, self.operator.grid, self.map.inverse(reference), self.alpha_s,
                            alpha_x, alpha_z, cell_weights=weights,
                            smallness_norm=self.smallness_norm)

        full = regularization(self.alpha_x, self.alpha_z)
        lower, upper = variable_bounds(self.map, self.bounds, self.initial_model)
        if smoothness:
            return BuiltPhysics(key, self, misfit, full, self.map, start, lower, upper,
                                self.mask)
        return BuiltPhysics(key, self, misfit, regularization(0.0, 0.0), self.map, start,
                            lower, upper, self.mask, beta_regularization=full)

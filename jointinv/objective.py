"""Objective terms over a dict of models, and their weighted sums.

A term is a callable ``term(models) -> scalar tensor`` where ``models`` maps
names to tensors of shape ``(nz, nx)``: data misfits read the physical
properties, regularizations and couplings the inversion variables. Terms add
and scale like numbers: ``misfit + beta * (smallness + smoothness)``.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .data import Data
from .operator import PhysicsOperator
from .validation import check_choice, check_positive_float

__all__ = ["Term", "WeightedSum", "DataMisfit", "LinearizedMisfit", "misfit_function"]


class Term:
    """Base class of objective terms: ``term(models) -> scalar tensor``.

    Subclasses implement :meth:`__call__` and list the model names they read
    in :attr:`keys`.
    """

    keys: tuple = ()

    def __call__(self, models: dict) -> torch.Tensor:
        raise NotImplementedError

    def _check_keys(self, models: dict) -> None:
        missing = [key for key in self.keys if key not in models]
        if missing:
            raise ValueError(
                f"{type(self).__name__} needs models {missing}, got models {sorted(models)}"
            )

    def __add__(self, other) -> WeightedSum:
        if not isinstance(other, Term):
            return NotImplemented
        return WeightedSum([(1.0, self)]) + other

    def __mul__(self, weight) -> WeightedSum:
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real):
            return NotImplemented
        return WeightedSum([(float(weight), self)])

    __rmul__ = __mul__


class WeightedSum(Term):
    """``sum_i weight_i * term_i``; weights can be changed in place (beta cooling)."""

    def __init__(self, weighted_terms):
        self.weighted_terms = []
        for weight, term in weighted_terms:
            if not isinstance(term, Term):
                raise TypeError(f"terms must be jointinv Term objects, got {type(term).__name__}")
            if isinstance(term, WeightedSum):
                self.weighted_terms.extend((weight * w, t) for w, t in term.weighted_terms)
            else:
                self.weighted_terms.append((float(weight), term))
        self.keys = tuple(dict.fromkeys(k for _, t in self.weighted_terms for k in t.keys))

    def __add__(self, other) -> WeightedSum:
        if not isinstance(other, Term):
            return NotImplemented
        other_terms = other.weighted_terms if isinstance(other, WeightedSum) else [(1.0, other)]
        return WeightedSum(self.weighted_terms + list(other_terms))

    def __mul__(self, weight) -> WeightedSum:
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real):
            return NotImplemented
        return WeightedSum([(float(weight) * w, t) for w, t in self.weighted_terms])

    __rmul__ = __mul__

    def __call__(self, models: dict) -> torch.Tensor:
        self._check_keys(models)
        total = 0.0
        for weight, term in self.weighted_terms:
            if weight != 0.0:
                total = total + weight * term(models)
        return total


@dataclass
class LinearizedMisfit:
    """A data misfit at one model: value, weighted residual and Jacobian products.

    ``residual = (F(p) - d_obs) / sigma``; ``value = |residual|^2``;
    ``jvp(v) = J v / sigma`` (data shape) and ``vjp(u) = J^T (u / sigma)`` (model
    shape), with ``J = dF/dp`` taken from one :meth:`PhysicsOperator.linearize`.
    """

    value: float
    residual: torch.Tensor
    predicted: torch.Tensor
    jvp: Callable[[torch.Tensor], torch.Tensor]
    vjp: Callable[[torch.Tensor], torch.Tensor]

    def gradient(self) -> torch.Tensor:
        """``d value / d p = 2 J^T (residual / sigma)``, shape ``(nz, nx)``."""
        return 2.0 * self.vjp(self.residual)


class DataMisfit(Term):
    """Data misfit of a property ``p``: chi-squared ``sum(((F(p) - d_obs) / sigma)**2)``
    by default, or a waveform misfit (envelope, normalised correlation).

    Parameters
    ----------
    key : str
        Name of the property (model) this misfit reads.
    operator : PhysicsOperator
        Physics predicting the data from the property (e.g. velocity [m/s]).
    data : Data
        Observed data and standard deviations (shape ``operator.data_shape``).
    chi_factor : float, default 1
        The target misfit is ``chi_factor * n_data``.
    function : str or callable, default "l2"
        ``"l2"``: the chi-squared misfit. ``"envelope"`` or ``"correlation"``:
        :func:`jointinv.waveform_misfits.envelope_misfit` or
        :func:`~jointinv.waveform_misfits.correlation_misfit` (shifted by the
        number of traces, so 0 is a perfect fit) for waveform data
        ``(..., time)``; or a callable ``f(predicted, data) -> scalar tensor``,
        >= 0 and 0 for a perfect fit. Such a misfit is scaled by a constant
        chosen at its first evaluation (the starting model) so that it equals
        the chi-squared misfit there: betas estimated from the chi-squared
        Hessian keep their meaning. The chi-squared misfit of the same
        prediction is still computed (``chi2[key]`` in histories), and the
        target compares it with ``chi_factor * n_data``.
    """

    def __init__(self, key: str, operator: PhysicsOperator, data: Data,
                 chi_factor: float = 1.0, function="l2"):
        if not isinstance(operator, PhysicsOperator):
            raise TypeError(
                f"operator must be a jointinv.PhysicsOperator, got {type(operator).__name__}"
            )
        if not isinstance(data, Data):
            raise TypeError(f"data must be a jointinv.Data, got {type(data).__name__}")
        if tuple(data.shape) != tuple(operator.data_shape):
            raise ValueError(
                f"data for {key!r} must have the operator's data shape "
                f"{tuple(operator.data_shape)}, got {tuple(data.shape)}"
            )
        self.key = key
        self.keys = (key,)
        self.operator = operator
        self.data = data
        self.chi_factor = check_positive_float("chi_factor", chi_factor)
        self.function, self.function_name = misfit_function(function, key, data)
        self.weight = None  # of a non-chi-squared function, set at its first evaluation
        self._batch = None  # (operator, data, factor) of a shot subset, see use_shots

    @property
    def is_chi_squared(self) -> bool:
        """True for the default chi-squared misfit."""
        return self.function is None

    @property
    def supports_shots(self) -> bool:
        """True when the operator has shots it can select (``n_shots``, ``select_shots``)."""
        return hasattr(self.operator, "select_shots") and hasattr(self.operator, "n_shots")

    def use_shots(self, indices) -> None:
        """Evaluate on the shots ``indices`` only (None: all), scaled to the full data set.

        The value becomes ``n_shots / len(indices)`` times the misfit of the
        subset: an unbiased estimate of the full misfit when the subset is
        drawn uniformly (shot mini-batching). Jacobian products
        (:meth:`linearize`) always use every shot.
        """
        if indices is None:
            self._batch = None
            return
        if not self.supports_shots:
            raise ValueError(f"{type(self.operator).__name__} has no shots to select")
        rows = torch.as_tensor(list(indices), dtype=torch.long)
        data = Data(self.data.observed[rows.to(self.data.observed.device)],
                    standard_deviation=self.data.standard_deviation[
                        rows.to(self.data.observed.device)])
        self._batch = (self.operator.select_shots(rows.tolist()), data,
                       self.operator.n_shots / len(rows))

    def _weighted(self, predicted: torch.Tensor, chi_squared: torch.Tensor,
                  data: Data | None = None) -> torch.Tensor:
        raw = self.function(predicted, (self.data if data is None else data).to(predicted))
        if self.weight is None:
            value = float(raw.detach())
            self.weight = float(chi_squared.detach()) / value if value > 0 else 1.0
        return self.weight * raw

    def evaluate(self, properties: dict) -> tuple:
        """``(value, chi_squared)`` at ``properties``: one simulation; ``chi_squared``
        is None for the chi-squared misfit itself (it is the value)."""
        self._check_keys(properties)
        prop = properties[self.key]
        if self._batch is not None:
            operator, data, factor = self._batch
            predicted = operator(prop)
            chi_squared = factor * data.chi_squared(predicted)
            if self.function is None:
                return chi_squared, None
            return factor * self._weighted(predicted, chi_squared, data), chi_squared.detach()
        predicted = self.operator(prop)
        self._last = (prop.detach().clone(), predicted.detach())
        chi_squared = self.data.chi_squared(predicted)
        if self.function is None:
            return chi_squared, None
        return self._weighted(predicted, chi_squared), chi_squared.detach()

    @property
    def target(self) -> float:
        """Target value ``chi_factor * n_data``."""
        return self.chi_factor * self.data.n_data

    def __call__(self, properties: dict) -> torch.Tensor:
        # evaluate remembers the last simulation: the final data of a run need no new one
        return self.evaluate(properties)[0]

    def predict(self, prop: torch.Tensor) -> torch.Tensor:
        """Predicted data at ``prop`` (detached), reusing the last evaluation when it was there."""
        last = getattr(self, "_last", None)
        if last is not None and last[0].shape == prop.shape and torch.equal(last[0], prop):
            return last[1]
        with torch.no_grad():
            return self.operator(prop)

    def residual(self, prop: torch.Tensor) -> torch.Tensor:
        """Weighted residual ``(F(p) - d_obs) / sigma`` with the data's shape."""
        predicted = self.operator(prop)
        data = self.data.to(predicted)
        return (predicted - data.observed) / data.standard_deviation

    def linearize(self, prop: torch.Tensor) -> LinearizedMisfit:
        """The misfit and its Jacobian products at ``prop``, from one simulation."""
        linear = self.operator.linearize(prop)
        data = self.data.to(linear.predicted)
        sigma = data.standard_deviation
        residual = (linear.predicted - data.observed) / sigma
        if self.function is not None and self.weight is None:  # scale it at the start
            self._weighted(linear.predicted, (residual * residual).sum())
        return LinearizedMisfit(
            value=float((residual * residual).sum()), residual=residual,
            predicted=linear.predicted, jvp=lambda v: linear.jvp(v) / sigma,
            vjp=lambda u: linear.vjp(u / sigma))


def misfit_function(function, key: str, data: Data):
    """``(callable or None, name)`` of a data misfit choice; None stands for chi-squared.

    ``key`` names the data in messages. Raises ``TypeError``/``ValueError``
    for an unknown name, a non-callable, or a waveform misfit of data that
    are not traces ``(..., time)``.
    """
    if callable(function):
        return function, getattr(function, "__name__", type(function).__name__)
    if not isinstance(function, str):
        raise TypeError(f"misfit must be a name ('l2', 'envelope', 'correlation') or a "
                        f"callable f(predicted, data), got {type(function).__name__}")
    from .waveform_misfits import WAVEFORM_MISFITS, correlation_misfit, envelope_misfit

    name = check_choice("misfit", function, WAVEFORM_MISFITS)
    if name == "l2":
        return None, name
    if len(data.shape) < 2 or data.shape[-1] < 2:
        raise ValueError(f"misfit {name!r} compares traces (..., time); the data of {key!r} "
                         f"have shape {data.shape}: use misfit 'l2'")
    if name == "envelope":
        return envelope_misfit, name
    n_traces = data.n_data // data.shape[-1]

    def correlation(predicted, observed):
        # -n_traces for a perfect fit: shifted so that the misfit is >= 0 like the others
        return correlation_misfit(predicted, observed) + n_traces

    return correlation, name

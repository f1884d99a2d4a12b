"""Objective terms over a dict of models, and their weighted sums.

A term is a callable ``term(models) -> scalar tensor`` where ``models`` maps
names to tensors of shape ``(nz, nx)`` (the inversion variables). Terms add
and scale like numbers: ``misfit + beta * (smallness + smoothness)``.
"""

from __future__ import annotations

import numbers

import torch

from .data import Data
from .maps import get_map
from .operator import PhysicsOperator
from .validation import check_positive_float

__all__ = ["Term", "WeightedSum", "DataMisfit"]


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


class DataMisfit(Term):
    """Chi-squared data misfit ``sum(((F(map(m)) - d_obs) / sigma)**2)``.

    Parameters
    ----------
    key : str
        Name of the model this misfit reads.
    operator : PhysicsOperator
        Physics predicting the data from the property ``map(m)``.
    data : Data
        Observed data and standard deviations (shape ``operator.data_shape``).
    map : str or map, optional
        Elementwise map from the inversion variable to the property; by
        default the operator's ``inversion_map``.
    chi_factor : float, default 1
        The target misfit is ``chi_factor * n_data``.
    """

    def __init__(self, key: str, operator: PhysicsOperator, data: Data, map=None,
                 chi_factor: float = 1.0):
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
        self.map = get_map(operator.inversion_map if map is None else map)
        self.chi_factor = check_positive_float("chi_factor", chi_factor)

    @property
    def target(self) -> float:
        """Target value ``chi_factor * n_data``."""
        return self.chi_factor * self.data.n_data

    def property_of(self, m: torch.Tensor) -> torch.Tensor:
        """The physical property ``map(m)`` the operator sees."""
        return self.map(m)

    def __call__(self, models: dict) -> torch.Tensor:
        self._check_keys(models)
        return self.data.chi_squared(self.operator(self.map(models[self.key])))

    def residual(self, m: torch.Tensor) -> torch.Tensor:
        """Weighted residual ``(F(map(m)) - d_obs) / sigma`` with the data's shape."""
        predicted = self.operator(self.map(m))
        data = self.data.to(predicted)
        return (predicted - data.observed) / data.standard_deviation

    def linearize(self, m: torch.Tensor):
        """Products with ``J_w = diag(1/sigma) dF(map(m))/dm`` at ``m``.

        Returns ``(jvp, vjp)`` closures: ``jvp(v)`` has the data shape and
        ``vjp(u)`` the model shape. Uses the operator's ``jvp``/``vjp`` and the
        map's diagonal derivative, so a bridged simulator reuses its fields.
        """
        m = m.detach()
        with torch.enable_grad():
            leaf = m.clone().requires_grad_(True)
            prop = self.map(leaf)
            (map_derivative,) = torch.autograd.grad(prop.sum(), leaf)
        prop = prop.detach()
        sigma = self.data.standard_deviation.to(prop)

        def jvp(v):
            return self.operator.jvp(prop, map_derivative * v) / sigma

        def vjp(u):
            return map_derivative * self.operator.vjp(prop, u / sigma)

        return jvp, vjp

"""One physics of an inversion: operator, data, models and regularization choices."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .data import Data
from .objective import DataMisfit
from .operator import PhysicsOperator
from .regularization import tikhonov
from .sensitivity import sensitivity_weights

__all__ = ["PhysicsSetup"]


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
    chi_factor : float
        Target misfit ``chi_factor * n_data``.
    map : str, optional
        Inversion variable (default: the operator's ``inversion_map``).
    bounds : (float or None, float or None), optional
        Property bounds for projected Gauss-Newton.
    sensitivity_weighting : bool
        Regularization weighted by normalised sensitivities.
    beta : float, optional
        Fixed starting trade-off parameter (estimated when omitted).
    """

    operator: PhysicsOperator
    data: Data
    initial_model: torch.Tensor
    true_model: torch.Tensor | None = None
    reference_model: torch.Tensor | None = None
    alpha_s: float = 1e-3
    alpha_x: float = 1.0
    alpha_z: float = 1.0
    chi_factor: float = 1.0
    map: str | None = None
    bounds: tuple | None = None
    sensitivity_weighting: bool = False
    beta: float | None = None

    def __post_init__(self):
        if not isinstance(self.operator, PhysicsOperator):
            raise TypeError(f"operator must be a jointinv.PhysicsOperator, "
                            f"got {type(self.operator).__name__}")
        if not isinstance(self.data, Data):
            raise TypeError(f"data must be a jointinv.Data, got {type(self.data).__name__}")
        self.initial_model = _check_model_like("initial_model", self.initial_model,
                                               self.operator)
        if self.reference_model is not None:
            self.reference_model = _check_model_like("reference_model", self.reference_model,
                                                     self.operator)
        if self.true_model is not None:
            self.true_model = _check_model_like("true_model", self.true_model, self.operator)

    def build(self, key: str):
        """``(misfit, regularization, m0, lower, upper)`` in the inversion variable."""
        misfit = DataMisfit(key, self.operator, self.data, map=self.map,
                            chi_factor=self.chi_factor)
        m0 = misfit.map.inverse(self.initial_model)
        reference = self.initial_model if self.reference_model is None else self.reference_model
        weights = sensitivity_weights(misfit, m0) if self.sensitivity_weighting else None
        regularization = tikhonov(key, self.operator.grid, misfit.map.inverse(reference),
                                  self.alpha_s, self.alpha_x, self.alpha_z, cell_weights=weights)
        lower, upper = _variable_bounds(misfit.map, self.bounds, self.initial_model)
        return misfit, regularization, m0, lower, upper

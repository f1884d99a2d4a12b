"""Model parameterizations: ``nn.Module``s whose ``forward()`` returns physical properties.

A parameterization owns the map from its parameters to the property the
operator expects (velocity [m/s], log10 resistivity, ...), so a network that
outputs velocity drives the travel-time operator with no conversion by the
user. ``forward()`` returns a dict ``{key: (nz, nx) tensor}``; one module may
produce several properties (one network driving two physics). Any solver that
optimises module parameters (Adam, L-BFGS) works with any parameterization;
Gauss-Newton works on :class:`Cells`.

Regularization and structural coupling act on each model's *inversion
variable* ``m = map.inverse(property)`` (slowness for travel times), which
:meth:`Parameterization.variables` returns.
"""

from __future__ import annotations

import torch
from torch import nn

from .maps import Map, get_map
from .masks import apply_mask, check_mask
from .validation import as_model_tensor, check_finite_tensor

__all__ = ["Parameterization", "Cells"]


class Parameterization(nn.Module):
    """Base class: ``forward() -> {key: property}``.

    Attributes
    ----------
    keys : tuple of str
        Names of the properties produced, one per physics it drives.
    schedule : object or None
        Objective weights for first-order solvers: ``None`` minimises the
        problem's ``phi_d + beta * phi_m``; an object with
        ``weights(iteration) -> (data_weight, model_weight)`` and
        ``stop_at_target`` (e.g. :class:`jointinv.neural_field.Annealing`)
        minimises ``data_weight * phi_d + model_weight * (beta * phi_m + couplings)``.
    """

    keys: tuple = ()
    schedule = None

    def forward(self) -> dict:
        raise NotImplementedError

    def variables(self, properties: dict, maps: dict) -> dict:
        """Inversion variables of ``properties`` (``maps[key].inverse``), for regularization."""
        return {key: maps[key].inverse(properties[key]) for key in self.keys}

    def project_(self) -> None:
        """Move the parameters back into their bounds after an optimizer step (hook)."""

    def check_bounds(self, lower, upper) -> None:
        """Refuse bounds this parameterization cannot honour."""
        if lower is not None or upper is not None:
            raise ValueError(
                f"{type(self).__name__} cannot honour model bounds (lower={lower}, "
                f"upper={upper}); bound its output instead (e.g. a sigmoid output head) "
                f"or pass bounds=None"
            )


class Cells(Parameterization):
    """One free value per grid cell, stored in the inversion variable.

    Parameters
    ----------
    initial : torch.Tensor or numpy.ndarray
        Starting model ``(nz, nx)`` of the *property* (e.g. velocity [m/s]); copied.
    map : str or Map, default "identity"
        ``property = map(m)``: the inversion variable ``m`` is what the
        optimizer moves (``"reciprocal"``: slowness for a velocity).
    key : str, default "model"
        Name of the property in the returned dict.
    lower, upper : float or None
        Bounds of the inversion variable ``m`` (not of the property); every
        solver keeps ``m`` inside them.
    mask : torch.Tensor or numpy.ndarray, optional
        Boolean ``(nz, nx)``, True where the cell keeps its starting value
        (e.g. a water layer): the property and the variable returned there
        are the start, bit for bit, whatever the optimizer does.

    Notes
    -----
    The parameter is ``m / scale`` with ``scale`` the RMS of the starting
    variable (1 for a zero start), so first-order optimizers take steps relative to the model's
    size whatever its units (a learning rate of 0.01 moves cells by about 1 %).
    """

    def __init__(self, initial, map: str | Map = "identity", key: str = "model",
                 lower: float | None = None, upper: float | None = None, mask=None):
        super().__init__()
        initial = check_finite_tensor("initial", as_model_tensor("initial", initial))
        if initial.ndim != 2:
            raise ValueError(
                f"initial must be a 2D (nz, nx) model, got shape {tuple(initial.shape)}"
            )
        if not isinstance(key, str) or not key:
            raise TypeError(f"key must be a non-empty string, got {key!r}")
        self.map = get_map(map)
        self.keys = (key,)
        if lower is not None and upper is not None and not lower < upper:
            raise ValueError(f"lower must be < upper, got lower={lower}, upper={upper}")
        self.lower, self.upper = lower, upper
        variable = self.map.inverse(initial.detach())
        if not bool(torch.isfinite(variable).all()):
            raise ValueError(f"initial is outside the domain of the {self.map.name!r} map")
        variable = self._clamp(variable)
        self.mask = check_mask("mask", mask, tuple(initial.shape), initial.device)
        self.register_buffer("start_property", initial.detach().clone())
        self.register_buffer("start_variable", variable.detach().clone())
        # a zero start says nothing about the model's size: then steps are absolute
        self.scale = float(variable.pow(2).mean().sqrt()) or 1.0
        self.normalized = nn.Parameter(variable / self.scale)
        self.register_buffer("step_weights", None)  # see set_step_weights
        self.register_buffer("anchor", None)

    def _clamp(self, m: torch.Tensor) -> torch.Tensor:
        if self.lower is None and self.upper is None:
            return m
        return m.clamp(min=self.lower, max=self.upper)

    def _raw(self) -> torch.Tensor:
        if self.step_weights is None:
            return self.normalized * self.scale
        return self.anchor + self.scale * self.step_weights * self.normalized

    @property
    def variable(self) -> torch.Tensor:
        """The inversion variable ``m`` ``(nz, nx)`` (differentiable), inside the bounds."""
        return apply_mask(self._clamp(self._raw()), self.mask, self.start_variable)

    def set_step_weights(self, weights: torch.Tensor) -> None:
        """Scale each cell's steps by ``weights`` ``(nz, nx)`` in ``(0, 1]`` (a preconditioner).

        From now on ``m = m_now + scale * weights * p`` with ``p`` the
        parameter (reset to 0): Adam moves cell ``i`` by about
        ``lr * scale * weights_i`` per step; a gradient method sees its
        gradient times ``weights`` (see :mod:`jointinv.preconditioning`).
        """
        weights = torch.as_tensor(weights).to(self.normalized.detach())
        if tuple(weights.shape) != tuple(self.normalized.shape) or not bool(
                (weights > 0).all()) or float(weights.max()) > 1 or not bool(
                torch.isfinite(weights).all()):
            raise ValueError(f"weights must be an {tuple(self.normalized.shape)} tensor of "
                             f"values in (0, 1]")
        with torch.no_grad():
            anchor = self._clamp(self._raw()).detach().clone()
            self.normalized.zero_()
        self.anchor, self.step_weights = anchor, weights.clone()

    def _parameter_of(self, m: torch.Tensor) -> torch.Tensor:
        if self.step_weights is None:
            return m / self.scale
        return (m - self.anchor) / (self.scale * self.step_weights)

    def set_variable(self, m: torch.Tensor) -> None:
        """Replace the cell values by the inversion variable ``m`` (e.g. a Gauss-Newton result)."""
        with torch.no_grad():
            self.normalized.copy_(self._parameter_of(self._clamp(m.to(self.normalized))))

    def forward(self) -> dict:
        return {self.keys[0]: apply_mask(self.map(self.variable), self.mask,
                                         self.start_property)}

    def variables(self, properties: dict, maps: dict) -> dict:
        # the cell values themselves: no round trip through map.inverse
        return {self.keys[0]: self.variable}

    def project_(self) -> None:
        if self.lower is None and self.upper is None:
            return
        with torch.no_grad():
            m = self._raw()
            # only cells outside the bounds change: the others keep their bits, so an
            # evaluation made at these parameters stays valid
            outside = self._clamp(m) != m
            self.normalized.copy_(torch.where(outside, self._parameter_of(self._clamp(m)),
                                              self.normalized))

    def check_bounds(self, lower, upper) -> None:
        """Cells honour bounds of the inversion variable (see ``lower``/``upper``)."""

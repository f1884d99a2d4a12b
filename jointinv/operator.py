"""The operator contract every physics implements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .data import Data
from .grid import Grid, check_grid
from .validation import as_model_tensor

__all__ = ["PhysicsOperator", "Linearization"]


@dataclass
class Linearization:
    """An operator linearised at one model: its data and Jacobian products there.

    Attributes
    ----------
    model : torch.Tensor
        ``(nz, nx)`` model the products are taken at (detached).
    predicted : torch.Tensor
        Predicted data at ``model`` (detached), the operator's ``data_shape``.
    jvp : callable
        ``v (nz, nx) -> J v`` (data shape).
    vjp : callable
        ``u (data shape) -> J^T u`` (``(nz, nx)``).
    """

    model: torch.Tensor
    predicted: torch.Tensor
    jvp: Callable[[torch.Tensor], torch.Tensor]
    vjp: Callable[[torch.Tensor], torch.Tensor]


def _check_vector(name, value, shape, like):
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if tuple(value.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(value.shape)}")
    value = value.detach().to(like)
    if not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} must be finite, got NaN or inf")
    return value


class PhysicsOperator(nn.Module):
    """A differentiable map from a model on a :class:`Grid` to predicted data.

    Subclasses declare what they invert for in the class statement,
    ``class MyPhysics(PhysicsOperator, property="velocity", units="m/s")``
    (keywords, so the name ``property`` never shadows the builtin in the class
    body), implement :meth:`_forward` (and :attr:`n_data`), and may add value checks in
    :meth:`_check_model_values` and fast Jacobian products in :meth:`jvp` /
    :meth:`vjp`. The public :meth:`forward` checks the model once, so plugins
    never repeat shape or finiteness checks.

    Parameters
    ----------
    grid : Grid
        The common model grid; models are tensors of shape ``grid.shape``.
    """

    #: Units of :attr:`property`.
    units: str = ""
    #: Name of the elementwise map (see :mod:`jointinv.maps`) in which cell
    #: inversions work by default, e.g. ``"reciprocal"`` (slowness) for travel times.
    inversion_map: str = "identity"

    def __init_subclass__(cls, property=None, units=None, inversion_map=None, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, value in (("property", property), ("units", units),
                            ("inversion_map", inversion_map)):
            if value is not None:
                if not isinstance(value, str):
                    raise TypeError(f"{name} must be a string, got {type(value).__name__}")
                setattr(cls, name, value)

    def __init__(self, grid: Grid):
        super().__init__()
        self.grid = check_grid("grid", grid)

    # -- what subclasses provide -------------------------------------------------
    @property
    def n_data(self) -> int:
        """Number of data values predicted."""
        raise NotImplementedError

    @property
    def data_shape(self) -> tuple:
        """Natural shape of the predicted data (a vector by default)."""
        return (self.n_data,)

    def _forward(self, model: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _check_model_values(self, model: torch.Tensor) -> None:
        """Raise ``ValueError`` for physically impossible values (hook)."""

    # -- the public contract -----------------------------------------------------
    def check_model(self, model) -> torch.Tensor:
        """Validate a model: float32/float64 tensor (or NumPy array), shape ``grid.shape``,
        finite, and physically possible values (:meth:`_check_model_values`)."""
        model = as_model_tensor("model", model)
        if tuple(model.shape) != self.grid.shape:
            raise ValueError(
                f"model must have shape (nz, nx) = {self.grid.shape} "
                f"({self.property} [{self.units}]), got {tuple(model.shape)}"
            )
        if not bool(torch.isfinite(model.detach()).all()):
            raise ValueError(f"model ({self.property}) must be finite, got NaN or inf")
        self._check_model_values(model.detach())
        return model

    def forward(self, model: torch.Tensor) -> torch.Tensor:
        """Predicted data for ``model`` (shape ``grid.shape``, unit :attr:`units`)."""
        return self._forward(self.check_model(model))

    def check_tangent(self, tangent, like: torch.Tensor) -> torch.Tensor:
        """A model-shaped direction ``(nz, nx)``, finite, cast to ``like``'s dtype/device."""
        return _check_vector("tangent", tangent, self.grid.shape, like)

    def check_cotangent(self, cotangent, like: torch.Tensor) -> torch.Tensor:
        """A data-shaped weight ``data_shape``, finite, cast to ``like``'s dtype/device."""
        return _check_vector("cotangent", cotangent, tuple(self.data_shape), like)

    def jvp(self, model: torch.Tensor, tangent: torch.Tensor) -> torch.Tensor:
        """Jacobian-vector product ``J v`` (data shape); ``tangent`` has the model's shape."""
        model = self.check_model(model).detach()
        return self._jvp(model, self.check_tangent(tangent, model))

    def vjp(self, model: torch.Tensor, cotangent: torch.Tensor) -> torch.Tensor:
        """Vector-Jacobian product ``J^T u`` (model shape); ``cotangent`` has the data shape."""
        model = self.check_model(model).detach()
        return self._vjp(model, self.check_cotangent(cotangent, model))

    def linearize(self, model: torch.Tensor) -> Linearization:
        """Predicted data and Jacobian products at ``model``, simulated once.

        Solvers call this once per distinct model and then take any number of
        products from it: the default keeps the forward pass for the
        vector-Jacobian product (no second simulation); plugins with fast
        products (:meth:`_jvp`/:meth:`_vjp` overridden) reuse their own caches
        (SimPEG fields and factorisations, a sparse matrix).
        """
        return self._linearize(self.check_model(model).detach())

    # -- hooks with defaults (plugins may override; inputs are already checked) ---------
    def _jvp(self, model: torch.Tensor, tangent: torch.Tensor) -> torch.Tensor:
        """``J v`` by forward-mode automatic differentiation through :meth:`_forward`."""
        import torch.autograd.forward_ad as fwAD

        with fwAD.dual_level():
            return fwAD.unpack_dual(self._forward(fwAD.make_dual(model, tangent))).tangent

    def _vjp(self, model: torch.Tensor, cotangent: torch.Tensor) -> torch.Tensor:
        """``J^T u`` by reverse-mode automatic differentiation through :meth:`_forward`."""
        leaf = model.detach().requires_grad_(True)
        with torch.enable_grad():
            predicted = self._forward(leaf)
            (gradient,) = torch.autograd.grad(predicted, leaf, cotangent)
        return gradient

    def _has_fast_products(self) -> bool:
        return type(self)._vjp is not PhysicsOperator._vjp

    def _linearize(self, model: torch.Tensor) -> Linearization:
        if self._has_fast_products():
            with torch.no_grad():
                predicted = self._forward(model)
            return Linearization(model, predicted, lambda v: self._jvp(model, v),
                                 lambda u: self._vjp(model, u))
        # keep the graph of this one forward pass: every vjp is a backward pass only
        leaf = model.detach().requires_grad_(True)
        with torch.enable_grad():
            predicted = self._forward(leaf)

        def vjp(u):
            with torch.enable_grad():
                (gradient,) = torch.autograd.grad(predicted, leaf, u, retain_graph=True)
            return gradient

        return Linearization(model, predicted.detach(), lambda v: self._jvp(model, v), vjp)

    def simulate(self, model: torch.Tensor, relative_error: float = 0.0,
                 noise_floor: float = 0.0, seed: int = 0, add_noise: bool = True) -> Data:
        """Synthetic :class:`Data` for ``model`` with seeded Gaussian noise.

        ``standard_deviation = relative_error * |d| + noise_floor``.
        """
        with torch.no_grad():
            clean = self.forward(model)
        return Data.from_clean(clean, relative_error=relative_error, noise_floor=noise_floor,
                               seed=seed, add_noise=add_noise)

    @classmethod
    def example_case(cls):
        """A tiny float64 ``(operator, model)`` pair for the shared plugin tests.

        :func:`jointinv.testing.check_plugin` runs the plugin kit on it (dot
        test, strict Taylor test, gradient check, ``linearize``, bad input),
        and ``tests/test_all_physics.py`` does so for every registered
        plugin, so a new plugin is tested like the built-in ones. Keep it
        small (well under a second).
        """
        raise NotImplementedError(f"{cls.__name__} provides no example_case()")

    #: Name of the physical property the operator inverts for (set last in the
    #: class body so that it does not shadow the builtin ``property`` above).
    property = ""

    def extra_repr(self) -> str:
        return f"property={self.property!r}, units={self.units!r}, grid={self.grid}"

"""The operator contract every physics implements."""

from __future__ import annotations

import torch
from torch import nn

from .data import Data
from .grid import Grid

__all__ = ["PhysicsOperator"]


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
        if not isinstance(grid, Grid):
            raise TypeError(f"grid must be a jointinv.Grid, got {type(grid).__name__}")
        self.grid = grid

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
        """Validate a model: tensor, floating point, shape ``grid.shape``, finite."""
        if not isinstance(model, torch.Tensor):
            raise TypeError(f"model must be a torch.Tensor, got {type(model).__name__}")
        if not model.is_floating_point():
            raise TypeError(f"model must be a floating-point tensor, got dtype {model.dtype}")
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

    def jvp(self, model: torch.Tensor, tangent: torch.Tensor) -> torch.Tensor:
        """Jacobian-vector product ``J v``; ``tangent`` has the model's shape.

        The default uses forward-mode automatic differentiation.
        """
        model = self.check_model(model).detach()
        import torch.autograd.forward_ad as fwAD

        with fwAD.dual_level():
            dual = fwAD.make_dual(model, tangent.to(model))
            return fwAD.unpack_dual(self.forward(dual)).tangent

    def vjp(self, model: torch.Tensor, cotangent: torch.Tensor) -> torch.Tensor:
        """Vector-Jacobian product ``J^T u``; ``cotangent`` has the data shape.

        The default uses reverse-mode automatic differentiation.
        """
        model = self.check_model(model).detach().requires_grad_(True)
        with torch.enable_grad():
            predicted = self.forward(model)
            (gradient,) = torch.autograd.grad(predicted, model, cotangent.to(predicted))
        return gradient

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

        ``tests/test_all_physics.py`` runs the dot test, Taylor test and
        gradient check on it for every registered plugin, so a new plugin is
        tested like the built-in ones. Keep it small (well under a second).
        """
        raise NotImplementedError(f"{cls.__name__} provides no example_case()")

    #: Name of the physical property the operator inverts for (set last in the
    #: class body so that it does not shadow the builtin ``property`` above).
    property = ""

    def extra_repr(self) -> str:
        return f"property={self.property!r}, units={self.units!r}, grid={self.grid}"

"""Straight-ray tomography on slowness: the linear problem ``t = L s``.

The same rays and kernels as :class:`~jointinv.physics.traveltime.StraightRayTomography`,
with the model the slowness [s/m] itself. The operator is then linear, and
``allow_negative=True`` lets an inversion pass through negative slowness on
its way (as NFs-Inv's ``10 tanh`` neural field does, starting near zero).
"""

from __future__ import annotations

import torch

from .traveltime import StraightRayTomography, _SparseProduct

__all__ = ["SlownessTomography"]


class SlownessTomography(StraightRayTomography, property="slowness", units="s/m",
                         inversion_map="identity"):
    """Travel times [s] of straight rays through a slowness model on a grid: ``t = L s``.

    Parameters
    ----------
    grid, sources, receivers, pairs, kernel
        As for :class:`~jointinv.physics.traveltime.StraightRayTomography`;
        models are ``(nz, nx)`` slowness tensors [s/m].
    allow_negative : bool, default False
        Accept negative slowness. It is not physical, but the operator is
        linear, so an inversion may pass through it (NFs-Inv's neural fields
        start from a slowness near zero). By default a negative slowness raises.

    Raises
    ------
    ValueError
        As the velocity operator for the survey; on each call, a negative
        slowness unless ``allow_negative``.

    Examples
    --------
    >>> import torch
    >>> from jointinv import Grid
    >>> grid = Grid(nx=4, nz=3, dx=10.0, dz=10.0)
    >>> op = SlownessTomography(grid, [[0.0, 15.0]], [[40.0, 15.0]])
    >>> op(torch.full(grid.shape, 5e-4, dtype=torch.float64))
    tensor([0.0200], dtype=torch.float64)
    """

    def __init__(self, grid, sources, receivers, pairs=None, kernel: str = "exact",
                 allow_negative: bool = False):
        if not isinstance(allow_negative, bool):
            raise TypeError(f"allow_negative must be True or False, got {allow_negative!r}")
        super().__init__(grid, sources, receivers, pairs=pairs, kernel=kernel)
        self.allow_negative = allow_negative

    def _check_model_values(self, model: torch.Tensor) -> None:
        smallest = float(model.min())
        if smallest < 0 and not self.allow_negative:
            raise ValueError(f"model (slowness) must be >= 0 s/m everywhere, got {smallest:.3g}; "
                             f"pass allow_negative=True to let an inversion cross zero")

    def _forward(self, model: torch.Tensor) -> torch.Tensor:
        return _SparseProduct.apply(model.reshape(-1), *self._matrices(model))

    def _jvp(self, model: torch.Tensor, tangent: torch.Tensor) -> torch.Tensor:
        """``J v = L v``: the ``(n_rays,)`` change of the data [s]."""
        return _SparseProduct.apply(tangent.reshape(-1), *self._matrices(model))

    def _vjp(self, model: torch.Tensor, cotangent: torch.Tensor) -> torch.Tensor:
        """``J^T u = L^T u``, an ``(nz, nx)`` tensor."""
        matrix, transpose = self._matrices(model)
        return _SparseProduct.apply(cotangent, transpose, matrix).reshape(self.grid.shape)

    @classmethod
    def example_case(cls):
        """Tiny float64 operator and the slowness [s/m] of the velocity operator's example."""
        velocity_operator, velocity = StraightRayTomography.example_case()
        operator = cls(velocity_operator.grid, velocity_operator.sources,
                       velocity_operator.receivers)
        return operator, 1.0 / velocity

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, allow_negative={self.allow_negative}"

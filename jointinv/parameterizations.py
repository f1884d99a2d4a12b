"""Model parameterizations: ``nn.Module``s whose ``forward()`` returns a model.

``Cells`` is the plain one (the model is the parameter). Neural
reparameterizations (deep image prior, neural fields) follow the same
interface, so every solver that optimises module parameters works with them.
"""

from __future__ import annotations

import torch
from torch import nn

from .validation import check_finite_tensor

__all__ = ["Cells"]


class Cells(nn.Module):
    """One free value per grid cell.

    Parameters
    ----------
    initial : torch.Tensor
        Starting model ``(nz, nx)`` in the inversion variable (copied).
    """

    def __init__(self, initial: torch.Tensor):
        super().__init__()
        initial = check_finite_tensor("initial", torch.as_tensor(initial))
        if initial.ndim != 2:
            raise ValueError(
                f"initial must be a 2D (nz, nx) model, got shape {tuple(initial.shape)}"
            )
        self.values = nn.Parameter(initial.detach().clone())

    def forward(self) -> torch.Tensor:
        return self.values

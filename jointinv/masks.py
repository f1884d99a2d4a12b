"""Cells held at their starting values (a water layer, a known near surface).

A *fixed-cell mask* is a boolean ``(nz, nx)`` tensor, True where the model
keeps its starting value. :func:`check_mask` validates one;
:func:`hold_fixed_cells` makes any :class:`~jointinv.parameterizations.Parameterization`
return the start on those cells for the duration of a run, whatever its
parameters do (a U-Net, a neural field), so the masked property is the
start bit for bit.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch

__all__ = ["check_mask", "hold_fixed_cells", "apply_mask"]


def check_mask(name: str, mask, shape: tuple, device=None) -> torch.Tensor | None:
    """A boolean ``shape`` tensor with at least one free cell, or None.

    Parameters
    ----------
    name : str
        Argument name for messages.
    mask : None, numpy.ndarray or torch.Tensor
        Boolean ``(nz, nx)``; True = fixed at the starting value.
    shape : tuple
        The grid shape ``(nz, nx)``.
    device : torch.device, optional
        Where the returned tensor lives.

    Raises
    ------
    TypeError
        If ``mask`` is not a boolean array or tensor.
    ValueError
        If its shape is not ``shape`` or every cell is fixed (nothing to invert).
    """
    if mask is None:
        return None
    if isinstance(mask, np.ndarray):
        mask = torch.from_numpy(mask)
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        kind = (f"a tensor of dtype {mask.dtype}" if isinstance(mask, torch.Tensor)
                else type(mask).__name__)
        raise TypeError(f"{name} must be a boolean array or tensor (True = fixed at the "
                        f"starting value), got {kind}")
    if tuple(mask.shape) != tuple(shape):
        raise ValueError(f"{name} must have the grid shape (nz, nx) = {tuple(shape)}, "
                         f"got {tuple(mask.shape)}")
    if bool(mask.all()):
        raise ValueError(f"{name} fixes every cell: nothing is left to invert")
    return mask.detach().clone().to(device=device)


def apply_mask(values: torch.Tensor, mask: torch.Tensor | None,
               start: torch.Tensor) -> torch.Tensor:
    """``values`` with ``start`` on the masked cells (exactly; differentiable elsewhere)."""
    if mask is None:
        return values
    return torch.where(mask.to(values.device), start.to(values), values)


def _hold(fixed: dict):
    def hook(module, inputs, output):
        return {key: apply_mask(value, *fixed[key]) if key in fixed else value
                for key, value in output.items()}
    return hook


@contextmanager
def hold_fixed_cells(module, fixed: dict):
    """Make ``module()`` return the start on masked cells while the context is open.

    Parameters
    ----------
    module : Parameterization
        Any module whose ``forward()`` returns ``{key: (nz, nx) property}``.
    fixed : dict
        ``{key: (mask, start_property)}``; keys the module does not produce are
        ignored (another module produces them).
    """
    fixed = {key: value for key, value in fixed.items()
             if value[0] is not None and key in module.keys}
    if not fixed:
        yield module
        return
    handle = module.register_forward_hook(_hold(fixed))
    try:
        yield module
    finally:
        handle.remove()

"""Starting models for inversions: smoothed, 1D, homogeneous, gradient, perturbed.

The builders of FAD-FWI's initial-model study (smoothed, smoothed 1D and
homogeneous models, and ±10–30 % perturbations of the smoothed 1D one). Each
can keep a water layer fixed at the water velocity, as is usual in marine
FWI where the water is known. Results follow the input model's dtype and
device (or the default dtype on the CPU when built from a grid alone).
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.ndimage
import torch

from ..grid import Grid
from ..validation import check_finite_tensor, check_nonnegative_float, check_positive_float
from .structure import water_mask

__all__ = [
    "homogeneous_model",
    "linear_gradient_model",
    "perturbed_model",
    "smoothed_1d_model",
    "smoothed_model",
]


def _check_grid(grid) -> Grid:
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a jointinv.Grid, got {type(grid).__name__}")
    return grid


def _check_model(model, grid: Grid) -> torch.Tensor:
    model = check_finite_tensor("model", model)
    if tuple(model.shape) != grid.shape:
        raise ValueError(f"model must have the grid shape (nz, nx) = {grid.shape}, "
                         f"got {tuple(model.shape)}")
    return model


def _with_water(model: torch.Tensor, grid: Grid, water_depth, water_velocity) -> torch.Tensor:
    """Set the cells above ``water_depth`` [m] (if given) to ``water_velocity``."""
    if water_depth is None:
        return model
    water_velocity = check_positive_float("water_velocity", water_velocity)
    mask = torch.from_numpy(water_mask(grid, water_depth)).to(model.device)
    return torch.where(mask, torch.as_tensor(water_velocity).to(model), model)


def _gaussian_sigma_cells(smoothing_length, grid: Grid) -> tuple[float, float]:
    """Gaussian standard deviations ``(along z, along x)`` in cells from metres."""
    smoothing_length = check_positive_float("smoothing_length", smoothing_length)
    return smoothing_length / grid.dz, smoothing_length / grid.dx


def smoothed_model(model: torch.Tensor, grid: Grid, smoothing_length: float,
                   water_depth: float | None = None,
                   water_velocity: float = 1500.0) -> torch.Tensor:
    """Gaussian-smoothed copy of ``model``.

    Parameters
    ----------
    model : torch.Tensor
        Model ``(nz, nx)`` (e.g. the true velocity [m/s]).
    grid : Grid
        Its grid.
    smoothing_length : float
        Standard deviation [m] of the Gaussian kernel, > 0, the same in x and
        z (converted to cells with ``dx`` and ``dz``). Edges are extended by
        repeating the border values, so no low values leak in from outside.
    water_depth : float, optional
        If given, the cells above this depth [m] are reset to
        ``water_velocity`` after smoothing (the water stays known and sharp).
    water_velocity : float, default 1500
        Velocity [m/s] of the water layer.

    Returns
    -------
    torch.Tensor
        Smoothed model, same shape, dtype and device as ``model``.
    """
    grid = _check_grid(grid)
    model = _check_model(model, grid)
    sigma = _gaussian_sigma_cells(smoothing_length, grid)
    values = model.detach().cpu().double().numpy()
    smooth = scipy.ndimage.gaussian_filter(values, sigma=sigma, mode="nearest")
    return _with_water(torch.from_numpy(smooth).to(model), grid, water_depth, water_velocity)


def smoothed_1d_model(model: torch.Tensor, grid: Grid, smoothing_length: float,
                      water_depth: float | None = None,
                      water_velocity: float = 1500.0) -> torch.Tensor:
    """Laterally averaged, then depth-smoothed model: ``v(z)`` repeated along x.

    Each row is replaced by its mean over x, the profile is smoothed along
    depth with a Gaussian of standard deviation ``smoothing_length`` [m], and
    the water layer (if ``water_depth`` is given) is reset to
    ``water_velocity``. Arguments and result as in :func:`smoothed_model`.
    """
    grid = _check_grid(grid)
    model = _check_model(model, grid)
    sigma_z, _ = _gaussian_sigma_cells(smoothing_length, grid)
    profile = model.detach().cpu().double().numpy().mean(axis=1)
    profile = scipy.ndimage.gaussian_filter1d(profile, sigma=sigma_z, mode="nearest")
    layered = np.repeat(profile[:, None], grid.nx, axis=1)
    return _with_water(torch.from_numpy(layered).to(model), grid, water_depth, water_velocity)


def homogeneous_model(grid: Grid, velocity: float, water_depth: float | None = None,
                      water_velocity: float = 1500.0,
                      dtype: torch.dtype | None = None) -> torch.Tensor:
    """Constant model ``velocity`` [m/s] (> 0), with an optional water layer.

    Returns a tensor ``(nz, nx)`` on the CPU in ``dtype`` (torch's default if
    omitted).
    """
    grid = _check_grid(grid)
    velocity = check_positive_float("velocity", velocity)
    dtype = torch.get_default_dtype() if dtype is None else dtype
    model = torch.full(grid.shape, velocity, dtype=dtype)
    return _with_water(model, grid, water_depth, water_velocity)


def linear_gradient_model(grid: Grid, top_velocity: float, bottom_velocity: float,
                          water_depth: float | None = None, water_velocity: float = 1500.0,
                          dtype: torch.dtype | None = None) -> torch.Tensor:
    """Velocity increasing (or decreasing) linearly with depth.

    ``v`` goes from ``top_velocity`` [m/s] at the top of the rock (the grid
    top, or ``water_depth`` when a water layer is given) to ``bottom_velocity``
    [m/s] at the bottom of the grid, evaluated at cell centres; both > 0.
    Cells above ``water_depth`` get ``water_velocity``. Returns ``(nz, nx)`` on
    the CPU in ``dtype`` (torch's default if omitted).
    """
    grid = _check_grid(grid)
    top_velocity = check_positive_float("top_velocity", top_velocity)
    bottom_velocity = check_positive_float("bottom_velocity", bottom_velocity)
    dtype = torch.get_default_dtype() if dtype is None else dtype
    top = 0.0 if water_depth is None else check_nonnegative_float("water_depth", water_depth)
    thickness = grid.z_max - grid.z0 - top
    if thickness <= 0:
        raise ValueError(f"water_depth must be less than the grid depth {grid.z_max - grid.z0} m, "
                         f"got {water_depth}")
    depth = grid.cell_centers_z - grid.z0
    fraction = np.clip((depth - top) / thickness, 0.0, 1.0)
    profile = top_velocity + (bottom_velocity - top_velocity) * fraction
    model = torch.from_numpy(np.repeat(profile[:, None], grid.nx, axis=1)).to(dtype)
    return _with_water(model, grid, water_depth, water_velocity)


def perturbed_model(model: torch.Tensor, grid: Grid, percent: float,
                    water_depth: float | None = None,
                    water_velocity: float = 1500.0) -> torch.Tensor:
    """``model * (1 + percent / 100)``: a uniformly too slow or too fast start.

    Parameters
    ----------
    model : torch.Tensor
        Any model ``(nz, nx)``, e.g. from :func:`smoothed_1d_model`.
    grid : Grid
        Its grid.
    percent : float
        Perturbation in percent, > -100 (FAD-FWI uses -30 … +30).
    water_depth, water_velocity : optional
        As in :func:`smoothed_model`: the water layer is reset, not perturbed.

    Returns
    -------
    torch.Tensor
        Perturbed model, same shape, dtype and device as ``model``.
    """
    grid = _check_grid(grid)
    model = _check_model(model, grid)
    if isinstance(percent, bool) or not isinstance(percent, numbers.Real):
        raise TypeError(f"percent must be a real number, got {type(percent).__name__}")
    if not np.isfinite(percent) or percent <= -100:
        raise ValueError(f"percent must be a finite number > -100, got {percent}")
    scaled = model.detach() * (1.0 + percent / 100.0)
    return _with_water(scaled, grid, water_depth, water_velocity)

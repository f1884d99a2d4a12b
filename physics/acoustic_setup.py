"""Argument checks and discretisation choices for the acoustic propagator.

One small function per argument (``TypeError`` for a wrong type,
``ValueError`` naming the argument, the allowed range and what it got), plus
the CFL sub-stepping rule, the source resampling and the snapping of
``(x, z)`` points to cells.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
import torch

from jointinv.grid import Grid
from jointinv.validation import check_grid

from .acoustic_step import SECOND_DERIVATIVE, critical_courant_number

__all__ = [
    "COURANT_SAFETY",
    "check_accuracy",
    "check_pml_width",
    "check_source_amplitudes",
    "cfl_step_ratio",
    "check_stable",
    "warn_cells_per_wavelength",
    "snap_to_cells",
    "upsample",
]

#: Internal steps keep the Courant number at or below this fraction of the
#: scheme's critical value (a margin for the C-PML and rounding).
COURANT_SAFETY = 0.9


def check_accuracy(accuracy) -> int:
    """Spatial finite-difference order: 2, 4, 6 or 8."""
    if isinstance(accuracy, bool) or not isinstance(accuracy, numbers.Integral):
        raise TypeError(f"accuracy must be an integer, got {type(accuracy).__name__}")
    if int(accuracy) not in SECOND_DERIVATIVE:
        raise ValueError(f"accuracy must be one of 2, 4, 6 or 8, got {accuracy}")
    return int(accuracy)


def check_pml_width(pml_width) -> int:
    """Absorbing-layer width in cells: an integer >= 0."""
    if isinstance(pml_width, bool) or not isinstance(pml_width, numbers.Integral):
        raise TypeError(f"pml_width must be an integer number of cells, got "
                        f"{type(pml_width).__name__}")
    if pml_width < 0:
        raise ValueError(f"pml_width must be an integer >= 0 (cells), got {pml_width}")
    return int(pml_width)


def check_source_amplitudes(amplitudes: torch.Tensor, n_shots: int, nt: int) -> torch.Tensor:
    """A source time function ``(nt,)`` or ``(n_shots, nt)``; returns ``(n_shots, nt)``."""
    if not isinstance(amplitudes, torch.Tensor):
        raise TypeError(f"wavelet must be a torch.Tensor, got {type(amplitudes).__name__}")
    if not amplitudes.is_floating_point():
        raise TypeError(f"wavelet must be a floating-point tensor, got dtype {amplitudes.dtype}")
    if tuple(amplitudes.shape) not in ((nt,), (n_shots, nt)):
        raise ValueError(f"wavelet must have shape (nt,) = ({nt},) or (n_shots, nt) = "
                         f"({n_shots}, {nt}), got {tuple(amplitudes.shape)}")
    amplitudes = amplitudes.expand(n_shots, nt)
    if not bool(torch.isfinite(amplitudes.detach()).all()):
        raise ValueError("wavelet must be finite everywhere, got NaN or inf")
    return amplitudes


def _courant(dt: float, spacing: tuple, velocity: float) -> float:
    return dt * velocity * math.sqrt(sum(1.0 / h ** 2 for h in spacing))


def cfl_step_ratio(dt: float, spacing: tuple, max_velocity: float, accuracy: int) -> int:
    """Number of internal steps per ``dt`` that keeps the scheme stable.

    The Courant number ``dt * v_max * sqrt(1/dx^2 + 1/dz^2)`` is kept at or
    below ``COURANT_SAFETY`` times :func:`critical_courant_number`. When
    ``dt`` is too large, it is divided into ``ratio`` equal internal steps
    (the source is resampled, the receivers are read every ``ratio`` steps)
    and a warning says so: a legal ``dt`` is never rejected.
    """
    limit = COURANT_SAFETY * critical_courant_number(accuracy)
    courant = _courant(dt, spacing, max_velocity)
    ratio = max(1, math.ceil(courant / limit - 1e-12))
    if ratio > 1:
        warnings.warn(
            f"dt = {dt:.4g} s exceeds the stable time step {dt * limit / courant:.4g} s for "
            f"max_velocity = {max_velocity:.6g} m/s (Courant number {courant:.3f} > "
            f"{limit:.3f} at accuracy {accuracy}); taking {ratio} internal steps per sample",
            UserWarning, stacklevel=3)
    return ratio


def check_stable(max_model_velocity: float, internal_dt: float, spacing: tuple,
                 accuracy: int, max_velocity: float) -> None:
    """Raise if the model is faster than the pinned ``max_velocity`` allows.

    Above ``max_velocity`` the PML is tuned for a slower medium (a warning);
    beyond the scheme's critical Courant number the run would blow up (an error).
    """
    if max_model_velocity <= max_velocity:
        return
    courant = _courant(internal_dt, spacing, max_model_velocity)
    critical = critical_courant_number(accuracy)
    if courant > critical:
        raise ValueError(
            f"velocity maximum {max_model_velocity:.6g} m/s exceeds max_velocity = "
            f"{max_velocity:.6g} m/s and makes the internal time step {internal_dt:.4g} s "
            f"unstable (Courant number {courant:.3f} > {critical:.3f} at accuracy "
            f"{accuracy}); construct the operator with a larger max_velocity")
    warnings.warn(f"velocity maximum {max_model_velocity:.6g} m/s exceeds max_velocity = "
                  f"{max_velocity:.6g} m/s (still stable)", UserWarning, stacklevel=4)


def warn_cells_per_wavelength(min_velocity: float, frequency: float, spacing: tuple) -> bool:
    """Warn (and return True) below 6 cells per dominant wavelength."""
    cells = min_velocity / (frequency * max(spacing))
    if cells < 6:
        warnings.warn(
            f"only {cells:.2f} cells per wavelength (minimum velocity {min_velocity:.6g} m/s, "
            f"dominant frequency {frequency:.4g} Hz, cell size {max(spacing):.4g} m); at least "
            f"6 are recommended to limit numerical dispersion", UserWarning, stacklevel=4)
        return True
    return False


def snap_to_cells(grid: Grid, name: str, points) -> np.ndarray:
    """``(n, 2)`` points ``(x, z)`` [m] -> ``(n, 2)`` int64 cell indices ``(iz, ix)``.

    Each point goes to the cell that contains it, i.e. the nearest cell
    centre; a point on an edge shared by two cells goes to the one with the
    larger index, and points on the outer edges to the edge cells. Points
    outside the grid raise ``ValueError``: the PML lies outside the grid, so
    no source or receiver can sit in it.
    """
    points = check_grid("grid", grid).check_inside(name, points)
    ix = np.floor((points[:, 0] - grid.x0) / grid.dx).astype(np.int64)
    iz = np.floor((points[:, 1] - grid.z0) / grid.dz).astype(np.int64)
    return np.column_stack([np.clip(iz, 0, grid.nz - 1), np.clip(ix, 0, grid.nx - 1)])


def upsample(signal: torch.Tensor, ratio: int) -> torch.Tensor:
    """Band-limited (Fourier) interpolation of ``(..., nt)`` to ``(..., nt * ratio)``.

    Exact for signals without energy at or above the Nyquist frequency of
    the original sampling; linear and differentiable.
    """
    if ratio == 1:
        return signal
    nt = signal.shape[-1]
    spectrum = torch.fft.rfft(signal, dim=-1)
    if nt % 2 == 0:  # the Nyquist bin is shared by +/- frequencies once resampled
        spectrum = torch.cat([spectrum[..., :-1], 0.5 * spectrum[..., -1:]], dim=-1)
    n_fine = nt * ratio
    zeros = spectrum.new_zeros((*spectrum.shape[:-1], n_fine // 2 + 1 - spectrum.shape[-1]))
    return torch.fft.irfft(torch.cat([spectrum, zeros], dim=-1), n=n_fine, dim=-1) * ratio

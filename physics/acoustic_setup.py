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

from jointinv.grid import Grid, check_grid
from jointinv.validation import check_memory

from .acoustic_step import SECOND_DERIVATIVE, critical_courant_number

__all__ = [
    "shot_geometry",
    "COURANT_SAFETY",
    "check_accuracy",
    "check_pml_width",
    "check_source_amplitudes",
    "cfl_step_ratio",
    "stable_step_ratio",
    "check_propagation_size",
    "DEFAULT_MAX_TIME_STEPS",
    "check_stable",
    "warn_cells_per_wavelength",
    "snap_to_cells",
    "downsample",
    "upsample",
]

#: Default ceiling on internal time steps of one propagation (``nt`` times the
#: CFL sub-steps): FWI runs take thousands; a million already means hours.
DEFAULT_MAX_TIME_STEPS = 10**6
#: Bytes per value in the memory estimates (float64, the worst case).
_ITEMSIZE = 8

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
    silent = ~amplitudes.detach().ne(0).any(dim=-1)
    if bool(silent.any()):
        raise ValueError(f"wavelet must not be zero at every time sample (no source, zero data, "
                         f"no dominant frequency); got an all-zero wavelet for "
                         f"{int(silent.sum())} of {n_shots} shot(s)")
    return amplitudes


def _courant(dt: float, spacing: tuple, velocity: float) -> float:
    return dt * velocity * math.sqrt(sum(1.0 / h ** 2 for h in spacing))


def stable_step_ratio(dt: float, spacing: tuple, max_velocity: float, accuracy: int) -> int:
    """Internal steps per ``dt`` that keep the Courant number at or below the limit
    (``COURANT_SAFETY`` times :func:`critical_courant_number`); no warning."""
    limit = COURANT_SAFETY * critical_courant_number(accuracy)
    courant = _courant(dt, spacing, max_velocity)
    if not math.isfinite(courant) or courant / limit > 2**62:
        raise ValueError(f"dt = {dt:.4g} s is far too large for max_velocity = "
                         f"{max_velocity:.6g} m/s and cells of {min(spacing):.4g} m "
                         f"(Courant number {courant:.3g}, stable up to {limit:.3f})")
    return max(1, math.ceil(courant / limit - 1e-12))


def cfl_step_ratio(dt: float, spacing: tuple, max_velocity: float, accuracy: int) -> int:
    """Number of internal steps per ``dt`` that keeps the scheme stable.

    The Courant number ``dt * v_max * sqrt(1/dx^2 + 1/dz^2)`` is kept at or
    below ``COURANT_SAFETY`` times :func:`critical_courant_number`. When
    ``dt`` is too large, it is divided into ``ratio`` equal internal steps
    (the source and the receiver data are resampled band-limited, as
    Deepwave does: :func:`upsample`, :func:`downsample`)
    and a warning says so: a legal ``dt`` is never rejected.
    """
    ratio = stable_step_ratio(dt, spacing, max_velocity, accuracy)
    if ratio > 1:
        limit = COURANT_SAFETY * critical_courant_number(accuracy)
        courant = _courant(dt, spacing, max_velocity)
        warnings.warn(
            f"dt = {dt:.4g} s exceeds the stable time step {dt * limit / courant:.4g} s for "
            f"max_velocity = {max_velocity:.6g} m/s (Courant number {courant:.3f} > "
            f"{limit:.3f} at accuracy {accuracy}); taking {ratio} internal steps per sample",
            UserWarning, stacklevel=3)
    return ratio


def check_propagation_size(*, n_shots: int, n_receivers: int, nt: int, dt: float, ratio: int,
                           padded_shape: tuple, gradient: str, max_time_steps: int,
                           max_memory_gb: float) -> None:
    """Refuse, before allocating, a propagation too long or too large for memory.

    Parameters
    ----------
    n_shots, n_receivers, nt : int
        Data shape ``(n_shots, n_receivers, nt)``.
    dt : float
        Sampling interval [s].
    ratio : int
        Internal (CFL) steps per sample; 1 gives a lower bound when the
        velocity is not known yet.
    padded_shape : tuple of int
        ``(nz, nx)`` of the simulation domain with its PML and halo.
    gradient : {"checkpoint", "autograd"}
        ``"autograd"`` keeps every step for the backward pass.
    max_time_steps : int
        Largest ``nt * ratio`` allowed.
    max_memory_gb : float
        Largest estimate [GiB] allowed.

    Raises
    ------
    ValueError
        Naming ``dt`` when the CFL sub-steps make the run too long or large,
        ``nt`` otherwise, with the estimate and the limit.

    Notes
    -----
    The estimate counts float64 values: the records at every internal step
    ``n_shots n_receivers nt ratio`` (twice with sub-steps: the resampling
    holds their spectrum too), the resampled
    source (three copies of ``n_shots nt ratio``), about ten wavefield-sized
    arrays, and the stored states of the backward pass:
    two wavefields per checkpoint (every ``sqrt(2 n_steps)`` steps) plus one
    segment of Laplacians, or four arrays per step under ``"autograd"``.
    """
    n_steps = nt * ratio
    if n_steps > max_time_steps:
        if ratio > 1:
            raise ValueError(f"dt = {dt:g} s needs {ratio} internal (CFL) steps per sample: "
                             f"{n_steps:.3g} time steps for nt = {nt}, more than "
                             f"max_time_steps = {max_time_steps:.3g}; use a dt near the stable "
                             f"step {dt / ratio:.3g} s (or raise max_time_steps)")
        raise ValueError(f"nt = {nt} samples make {n_steps:.3g} time steps, more than "
                         f"max_time_steps = {max_time_steps:.3g}; use fewer samples (or raise "
                         f"max_time_steps)")
    cells = n_shots * padded_shape[0] * padded_shape[1]
    if gradient == "autograd":
        stored = 4.0 * cells * n_steps
    else:
        interval = math.sqrt(2 * n_steps)
        stored = 2.0 * cells * (n_steps / interval + 1) + cells * interval
    records = n_shots * n_receivers * n_steps * (2.0 if ratio > 1 else 1.0)
    values = records + 3.0 * n_shots * n_steps + 10.0 * cells + stored
    name = f"dt = {dt:g} s ({ratio} internal steps per sample)" if ratio > 1 else "nt"
    check_memory(name, values * _ITEMSIZE, max_memory_gb,
                 f"the propagation (nt = {nt} samples, {n_shots} shot(s), "
                 f"{n_receivers} receiver(s), padded grid {padded_shape[0]} x "
                 f"{padded_shape[1]}, gradient={gradient!r})",
                 hint="use fewer samples, shots or cells, or pass a larger max_memory_gb")


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

    Deepwave's rule for the source under CFL sub-stepping: the spectrum is
    zero-padded, and the Nyquist bin of an even ``nt`` (ambiguous between
    positive and negative frequency) is dropped. Exact for signals without
    energy at or above the Nyquist frequency of the original sampling;
    linear and differentiable.
    """
    if ratio == 1:
        return signal
    nt = signal.shape[-1]
    spectrum = torch.fft.rfft(signal, dim=-1)
    if nt % 2 == 0:
        spectrum = torch.cat([spectrum[..., :-1], torch.zeros_like(spectrum[..., -1:])], dim=-1)
    return torch.fft.irfft(spectrum, n=nt * ratio, dim=-1) * ratio


def downsample(signal: torch.Tensor, ratio: int) -> torch.Tensor:
    """Band-limited resampling of ``(..., nt * ratio)`` to ``(..., nt)``: the receivers
    under CFL sub-stepping.

    Deepwave's rule: the spectrum is cut at the Nyquist frequency of the
    coarse sampling (its Nyquist bin dropped for an even ``nt``) and
    transformed back, so frequencies the coarse samples cannot hold are
    removed instead of aliased, as reading every ``ratio``-th step would do.
    The transpose of :func:`upsample` up to the factor ``ratio``; linear and
    differentiable.
    """
    if ratio == 1:
        return signal
    nt = signal.shape[-1] // ratio
    if nt * ratio != signal.shape[-1]:
        raise ValueError(f"signal length must be a multiple of ratio = {ratio}, got "
                         f"{signal.shape[-1]}")
    spectrum = torch.fft.rfft(signal, dim=-1)[..., :nt // 2 + 1]
    if nt % 2 == 0:
        spectrum = torch.cat([spectrum[..., :-1], torch.zeros_like(spectrum[..., -1:])], dim=-1)
    return torch.fft.irfft(spectrum, n=nt, dim=-1) / ratio


def _as_array(name: str, points) -> np.ndarray:
    if isinstance(points, torch.Tensor):
        points = points.detach().cpu().numpy()
    try:
        return np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be an array of (x, z) in metres") from error


def shot_geometry(grid: Grid, sources, receivers) -> tuple:
    """Source and receiver cells of every shot, as Deepwave's locations allow.

    Parameters
    ----------
    grid : Grid
    sources : array_like
        ``(n_shots, 2)`` ``(x, z)`` [m], one source per shot, or
        ``(n_shots, 1, 2)`` (Deepwave's ``[shot, source, 2]`` with one source).
    receivers : array_like
        ``(n_receivers, 2)``: every shot records on the same receivers (an
        ocean-bottom or land spread); or ``(n_shots, n_receivers, 2)``: each
        shot has its own receivers (a towed streamer moving with the source).

    Returns
    -------
    source_cells : numpy.ndarray
        ``(n_shots, 2)`` int64 ``(iz, ix)``.
    receiver_cells : numpy.ndarray
        ``(n_receivers, 2)`` or ``(n_shots, n_receivers, 2)`` int64 ``(iz, ix)``.

    Raises
    ------
    ValueError
        For another shape, several sources in one shot (the propagator
        injects one per shot), a receiver layout for a different number of
        shots, or a point outside the grid (see :func:`snap_to_cells`).
    """
    source_array = _as_array("sources", sources)
    if source_array.ndim == 3:
        if source_array.shape[1] != 1 or source_array.shape[2] != 2:
            raise ValueError(f"sources must have shape (n_shots, 2) or (n_shots, 1, 2): one "
                             f"source per shot, got {source_array.shape}")
        source_array = source_array[:, 0, :]
    source_cells = snap_to_cells(grid, "sources", source_array)
    receiver_array = _as_array("receivers", receivers)
    if receiver_array.ndim != 3:
        return source_cells, snap_to_cells(grid, "receivers", receiver_array)
    n_shots = len(source_cells)
    if receiver_array.shape[0] != n_shots or receiver_array.shape[2] != 2:
        raise ValueError(f"receivers per shot must have shape (n_shots, n_receivers, 2) = "
                         f"({n_shots}, n_receivers, 2), got {receiver_array.shape}")
    if receiver_array.shape[1] == 0:
        raise ValueError("receivers must hold at least one receiver per shot, got 0")
    cells = snap_to_cells(grid, "receivers", receiver_array.reshape(-1, 2))
    return source_cells, cells.reshape(n_shots, -1, 2)

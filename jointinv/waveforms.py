"""Processing of recorded waveforms: zero-phase low-cut, low-pass and band-pass filters, noise.

All work on tensors of any shape ``(..., nt)`` with time along the last axis
(e.g. ``(shot, receiver, time)`` from the acoustic operator), stay on the
input's device and dtype, and are differentiable, so the same filter can be
applied to observed and predicted data inside an objective.
"""

from __future__ import annotations

import torch

from .data import Data, gaussian_noise
from .validation import (
    check_finite_tensor,
    check_positive_float,
    check_positive_int,
    check_seed,
)

__all__ = ["bandpass", "lowcut", "lowcut_response", "lowpass", "lowpass_response",
           "noisy_data"]


def _check_traces(name: str, data) -> torch.Tensor:
    """Require a finite floating tensor with at least two time samples."""
    data = check_finite_tensor(name, data)
    if data.ndim < 1 or data.shape[-1] < 2:
        raise ValueError(
            f"{name} must have shape (..., nt) with nt >= 2 time samples, "
            f"got {tuple(data.shape)}"
        )
    return data


def lowcut_response(frequencies: torch.Tensor, cutoff_hz: float, order: int) -> torch.Tensor:
    """Gain of the zero-phase Butterworth low-cut filter at ``frequencies`` [Hz].

    ``G(f) = 1 / (1 + (f_c / f)**(2 n))`` — the squared magnitude of an
    order-``n`` Butterworth high-pass, i.e. its response when applied forward
    and backward. ``G(0) = 0``, ``G(f_c) = 1/2`` and ``G -> 1`` above ``f_c``.
    """
    cutoff_hz = check_positive_float("cutoff_hz", cutoff_hz)
    order = check_positive_int("order", order)
    ratio = frequencies.abs() / cutoff_hz
    # Written as r^2n / (1 + r^2n) so that f = 0 gives exactly 0 without 1/0.
    power = ratio ** (2 * order)
    return power / (1.0 + power)


def lowcut(data: torch.Tensor, dt: float, cutoff_hz: float = 2.5, order: int = 4) -> torch.Tensor:
    """Remove frequencies below ``cutoff_hz`` without shifting the phase.

    The zero-phase equivalent of filtering forward and backward with an
    order-``order`` Butterworth high-pass, applied in the frequency domain.

    Parameters
    ----------
    data : torch.Tensor
        Traces, shape ``(..., nt)``, floating point; time is the last axis.
    dt : float
        Time sample interval [s], > 0.
    cutoff_hz : float, default 2.5
        Corner frequency [Hz] (gain 1/2, i.e. -6 dB), in ``(0, 1 / (2 dt))``.
        2.5 Hz is the "missing low frequencies" case of FAD-FWI.
    order : int, default 4
        Order of the one-pass Butterworth filter (the zero-phase gain falls
        like ``f**(4 order)`` below the cutoff).

    Returns
    -------
    torch.Tensor
        Filtered traces, same shape, dtype and device as ``data``.

    Notes
    -----
    With ``D(f)`` the discrete Fourier transform of a trace zero-padded to at
    least ``2 nt`` samples (so the filter's impulse response does not wrap
    around), the output is ``IDFT[G(f) D(f)]`` cut back to ``nt`` samples,
    where ``G(f) = 1 / (1 + (f_c / f)**(2 order))`` is real and even, hence
    zero phase. The operation is linear and self-adjoint up to the cropping,
    and torch autograd differentiates it.

    Raises
    ------
    TypeError
        If ``data`` is not a floating-point tensor.
    ValueError
        If ``data`` has fewer than 2 samples or non-finite values, or
        ``cutoff_hz`` is not below the Nyquist frequency ``1 / (2 dt)``.
    """
    data, dt = _check_filter(data, dt, cutoff_hz)
    order = check_positive_int("order", order)
    return _apply_gain(data, dt, lambda f: lowcut_response(f, cutoff_hz, order))


def lowpass_response(frequencies: torch.Tensor, cutoff_hz: float, order: int) -> torch.Tensor:
    """Gain of the zero-phase Butterworth low-pass filter at ``frequencies`` [Hz].

    ``G(f) = 1 / (1 + (f / f_c)**(2 n))``: the squared magnitude of an
    order-``n`` Butterworth low-pass (its response applied forward and
    backward). ``G(0) = 1``, ``G(f_c) = 1/2`` and ``G -> 0`` above ``f_c``.
    """
    cutoff_hz = check_positive_float("cutoff_hz", cutoff_hz)
    order = check_positive_int("order", order)
    return 1.0 / (1.0 + (frequencies.abs() / cutoff_hz) ** (2 * order))


def lowpass(data: torch.Tensor, dt: float, cutoff_hz: float, order: int = 4) -> torch.Tensor:
    """Remove frequencies above ``cutoff_hz`` without shifting the phase.

    The zero-phase equivalent of filtering forward and backward with an
    order-``order`` Butterworth low-pass, applied in the frequency domain as
    :func:`lowcut` is (zero-padded to ``2 nt``; linear, differentiable). The
    filter of multiscale FWI: apply it to the observed data and to the source
    wavelet alike.

    Parameters
    ----------
    data : torch.Tensor
        Traces, shape ``(..., nt)``, floating point; time is the last axis.
    dt : float
        Time sample interval [s], > 0.
    cutoff_hz : float
        Corner frequency [Hz] (gain 1/2, -6 dB), in ``(0, 1 / (2 dt))``.
    order : int, default 4
        Order of the one-pass Butterworth filter (the zero-phase gain falls
        like ``f**(-4 order)`` above the cutoff).

    Returns
    -------
    torch.Tensor
        Filtered traces, same shape, dtype and device as ``data``.

    Raises
    ------
    TypeError
        If ``data`` is not a floating-point tensor.
    ValueError
        If ``data`` has fewer than 2 samples or non-finite values, or
        ``cutoff_hz`` is not in ``(0, 1 / (2 dt))``.
    """
    data, dt = _check_filter(data, dt, cutoff_hz)
    order = check_positive_int("order", order)
    return _apply_gain(data, dt, lambda f: lowpass_response(f, cutoff_hz, order))


def bandpass(data: torch.Tensor, dt: float, low_hz: float, high_hz: float,
             order: int = 4) -> torch.Tensor:
    """Keep frequencies between ``low_hz`` and ``high_hz``, zero phase.

    The product of the gains of :func:`lowcut` at ``low_hz`` and
    :func:`lowpass` at ``high_hz``, applied once in the frequency domain.

    Parameters
    ----------
    data : torch.Tensor
        Traces ``(..., nt)``, floating point.
    dt : float
        Time sample interval [s], > 0.
    low_hz, high_hz : float
        Corner frequencies [Hz], ``0 < low_hz < high_hz < 1 / (2 dt)``.
    order : int, default 4
        Butterworth order of each side.

    Returns
    -------
    torch.Tensor
        Filtered traces, same shape, dtype and device as ``data``.

    Raises
    ------
    ValueError
        If the corners are not ordered and below the Nyquist frequency, or
        ``data`` is not valid (see :func:`lowpass`).
    """
    data, dt = _check_filter(data, dt, low_hz, "low_hz")
    _check_filter(data, dt, high_hz, "high_hz")
    if not low_hz < high_hz:
        raise ValueError(f"low_hz must be below high_hz, got low_hz={low_hz}, "
                         f"high_hz={high_hz}")
    order = check_positive_int("order", order)
    return _apply_gain(data, dt, lambda f: lowcut_response(f, low_hz, order)
                       * lowpass_response(f, high_hz, order))


def _check_filter(data, dt, cutoff_hz, name_cutoff: str = "cutoff_hz") -> tuple:
    """Checked ``(data, dt)``; the corner frequency must be in ``(0, Nyquist)``."""
    data = _check_traces("data", data)
    dt = check_positive_float("dt", dt)
    cutoff_hz = check_positive_float(name_cutoff, cutoff_hz)
    nyquist = 0.5 / dt
    if cutoff_hz >= nyquist:
        raise ValueError(
            f"{name_cutoff} must be below the Nyquist frequency 1/(2 dt) = {nyquist} Hz, "
            f"got {cutoff_hz}"
        )
    return data, dt


def _apply_gain(data: torch.Tensor, dt: float, gain) -> torch.Tensor:
    """``IDFT[G(f) DFT[data]]`` with the trace zero-padded to ``2 nt`` (no wrap-around)."""
    nt = data.shape[-1]
    n_fft = 2 * nt
    spectrum = torch.fft.rfft(data, n=n_fft, dim=-1)
    frequencies = torch.fft.rfftfreq(n_fft, d=dt, device=data.device, dtype=data.dtype)
    return torch.fft.irfft(spectrum * gain(frequencies), n=n_fft, dim=-1)[..., :nt]


def noisy_data(clean: torch.Tensor, fraction: float = 0.5, seed: int = 0,
               per_trace: bool = False) -> Data:
    """Add seeded Gaussian noise with ``sigma = fraction * sigma_0``.

    ``sigma_0`` is the standard deviation of the clean data: of all samples
    together (default), or of each trace (last axis) when ``per_trace``.
    FAD-FWI's noisy case is ``fraction = 0.5`` (``sigma = 0.5 sigma_0``).

    Parameters
    ----------
    clean : torch.Tensor
        Noise-free data, shape ``(..., nt)``, floating point.
    fraction : float, default 0.5
        Noise standard deviation as a fraction of ``sigma_0``, > 0.
    seed : int, default 0
        Seed of the noise (drawn on the CPU, so identical on every device).
    per_trace : bool, default False
        Use each trace's own ``sigma_0`` instead of the global one.

    Returns
    -------
    Data
        ``observed = clean + N(0, sigma**2)``, ``standard_deviation = sigma``
        (broadcast to the data shape), ``clean`` kept.

    Raises
    ------
    ValueError
        If ``fraction`` is not > 0, or the clean data (a trace, with
        ``per_trace``) has zero standard deviation, which would give zero noise.
    """
    clean = _check_traces("clean", clean).detach()
    fraction = check_positive_float("fraction", fraction)
    seed = check_seed("seed", seed)
    if not isinstance(per_trace, bool):
        raise TypeError(f"per_trace must be a bool, got {type(per_trace).__name__}")
    if per_trace:
        sigma_0 = clean.std(dim=-1, correction=0, keepdim=True)
    else:
        sigma_0 = clean.std(correction=0)
    if not bool((sigma_0 > 0).all()):
        where = "a trace of clean" if per_trace else "clean"
        raise ValueError(f"{where} has zero standard deviation, so sigma = fraction * sigma_0 "
                         "would be 0; use per_trace=False or data that are not constant")
    sigma = (fraction * sigma_0).expand_as(clean).clone()
    observed = clean + gaussian_noise(clean, sigma, seed)
    return Data(observed, standard_deviation=sigma, clean=clean)

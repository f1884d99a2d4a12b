"""Source wavelets for the waveform physics."""

from __future__ import annotations

import math
import numbers

import torch

from .validation import (
    DEFAULT_MAX_MEMORY_GB,
    check_memory,
    check_positive_float,
    check_positive_int,
)

__all__ = ["ricker", "peak_frequency"]


def ricker(freq: float, nt: int, dt: float, peak_time: float | None = None,
           dtype: torch.dtype | None = None, device=None) -> torch.Tensor:
    r"""Ricker wavelet (second derivative of a Gaussian, peak value 1).

    .. math:: w(t) = \left(1 - 2\pi^2 f^2 \tau^2\right) e^{-\pi^2 f^2 \tau^2},
              \qquad \tau = t - t_\mathrm{peak},\; t = k\,\Delta t,\; k = 0 \dots n_t - 1.

    Parameters
    ----------
    freq : float
        Peak (dominant) frequency [Hz], > 0 and at most the Nyquist frequency
        ``1 / (2 dt)`` (above it the sampled wavelet is aliased noise).
    nt : int
        Number of time samples, >= 1 (at most about 2.7e8: the float64
        evaluation must fit in 8 GiB).
    dt : float
        Sampling interval [s], > 0.
    peak_time : float, optional
        Time of the peak [s], finite (it may lie outside the record).
        Default ``1.5 / freq``, so the wavelet starts at about ``1e-8`` of its
        peak instead of being cut.
    dtype : torch.dtype, optional
        Default: ``torch.get_default_dtype()``.
    device : torch.device or str, optional
        Default: the CPU.

    Returns
    -------
    torch.Tensor
        Shape ``(nt,)``; dimensionless (scale it to the source strength).

    Examples
    --------
    >>> w = ricker(10.0, 301, 0.001)
    >>> int(w.argmax()), float(w.max())
    (150, 1.0)
    """
    freq = check_positive_float("freq", freq)
    nt = check_positive_int("nt", nt)
    dt = check_positive_float("dt", dt)
    if freq > 0.5 / dt:
        raise ValueError(f"freq must be at most the Nyquist frequency 1 / (2 dt) = "
                         f"{0.5 / dt:.6g} Hz for dt = {dt:g} s, got {freq:g} Hz")
    check_memory("nt", 4 * nt * 8, DEFAULT_MAX_MEMORY_GB, f"the Ricker wavelet of nt = {nt} "
                 f"samples (four float64 arrays)")
    if peak_time is None:
        peak_time = 1.5 / freq
    else:
        if isinstance(peak_time, bool) or not isinstance(peak_time, numbers.Real):
            raise TypeError(f"peak_time must be a real number [s], got "
                            f"{type(peak_time).__name__}")
        if not math.isfinite(float(peak_time)):
            raise ValueError(f"peak_time must be a finite time in seconds, got {peak_time}")
    dtype = torch.get_default_dtype() if dtype is None else dtype
    # Evaluate in float64 so that float32 wavelets are correctly rounded.
    tau = torch.arange(nt, dtype=torch.float64, device=device) * dt - float(peak_time)
    arg = (math.pi * freq * tau) ** 2
    # far from the peak exp(-arg) is 0 in float64; avoid inf * 0 = NaN for huge arg
    arg = arg.clamp(max=1e4)
    return ((1 - 2 * arg) * torch.exp(-arg)).to(dtype)


def peak_frequency(wavelet: torch.Tensor, dt: float) -> float:
    """Frequency [Hz] of the largest amplitude-spectrum value of ``wavelet``.

    ``wavelet`` has shape ``(..., nt)`` (all traces are summed in power);
    the zero-frequency bin is skipped. Used to pick the absorbing-boundary
    frequency and the sampling warning when the user gives a wavelet but no
    frequency.
    """
    dt = check_positive_float("dt", dt)
    if not isinstance(wavelet, torch.Tensor) or not wavelet.is_floating_point():
        raise TypeError(f"wavelet must be a floating-point torch.Tensor, got "
                        f"{getattr(wavelet, 'dtype', type(wavelet).__name__)}")
    if wavelet.ndim == 0 or wavelet.shape[-1] < 2 or wavelet.numel() == 0:
        raise ValueError(f"wavelet must have shape (..., nt) with nt >= 2, "
                         f"got {tuple(wavelet.shape)}")
    if not bool(torch.isfinite(wavelet.detach()).all()):
        raise ValueError("wavelet must be finite everywhere, got NaN or inf")
    if not bool(wavelet.detach().ne(0).any()):
        raise ValueError("wavelet must not be zero everywhere (it has no peak frequency), "
                         "got all zeros")
    signal = wavelet.detach().double().reshape(-1, wavelet.shape[-1])
    n_fft = max(4 * signal.shape[-1], 8192)  # zero padding refines the frequency grid
    power = torch.fft.rfft(signal, n=n_fft).abs().pow(2).sum(0)
    power[0] = 0.0
    return float(power.argmax()) / (n_fft * dt)

"""Multiscale (frequency-continuation) inversion of waveform data.

Full-waveform inversion from a poor starting model fits the low frequencies
first, where the misfit has fewer local minima (cycle skipping needs a
half-period error), then widens the band (Bunks et al., 1995, Geophysics
60(5)). :func:`invert_bands` runs one inversion per low-pass band
``f <= f_1 < f_2 < ...``: the observed data *and* the operator's source
wavelet go through the same zero-phase low-pass
(:func:`jointinv.waveforms.lowpass`), which keeps them consistent because
the wave equation is linear and time-invariant in the source; each band
starts from the previous band's model (a parameterization keeps its
weights).
"""

from __future__ import annotations

import math
import numbers
import sys
import time
from contextlib import contextmanager

import torch

from .data import Data
from .waveforms import lowpass

__all__ = ["check_frequencies", "filtered_wavelet", "invert_bands", "lowpass_data"]


def check_frequencies(frequencies, dt: float) -> list:
    """Increasing corner frequencies [Hz], each in ``(0, 1 / (2 dt))``.

    Raises
    ------
    TypeError
        If ``frequencies`` is not a sequence of real numbers.
    ValueError
        If it is empty, not strictly increasing, or a value is not in range.
    """
    if isinstance(frequencies, (str, bytes)) or not hasattr(frequencies, "__len__"):
        raise TypeError(f"frequencies must be a list of corner frequencies [Hz], "
                        f"got {type(frequencies).__name__}")
    values = list(frequencies)
    if not values:
        raise ValueError("frequencies must hold at least one corner frequency [Hz], got []")
    nyquist = 0.5 / dt
    for value in values:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"frequencies must hold real numbers [Hz], got {values!r}")
        if not (math.isfinite(value) and 0 < value < nyquist):
            raise ValueError(f"frequencies must be in (0, {nyquist:g}) Hz (the Nyquist "
                             f"frequency of dt = {dt:g} s), got {values!r}")
    if any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"frequencies must increase (low bands first), got {values!r}")
    return [float(value) for value in values]


def _waveform_operator(operator):
    missing = [name for name in ("dt", "source_amplitudes") if not hasattr(operator, name)]
    if missing:
        raise ValueError(f"frequencies needs a waveform operator with a sampling interval "
                         f"'dt' and a wavelet 'source_amplitudes' (e.g. AcousticWave2D); "
                         f"{type(operator).__name__} has no {missing}")
    return operator


def lowpass_data(data: Data, dt: float, cutoff_hz: float, order: int = 4) -> Data:
    """``data`` with observed (and clean) traces low-passed; standard deviations kept.

    Keeping the standard deviations keeps the target ``chi_factor * n_data``
    of each band; as the filter removes part of the noise, a low band may
    reach it before its signal is fitted, so give each band enough
    ``max_iterations`` and read its misfit in the history.
    """
    return Data(lowpass(data.observed, dt, cutoff_hz, order),
                standard_deviation=data.standard_deviation,
                relative_error=data.relative_error, noise_floor=data.noise_floor,
                clean=None if data.clean is None else lowpass(data.clean, dt, cutoff_hz, order))


@contextmanager
def filtered_wavelet(operator, cutoff_hz: float, order: int = 4):
    """Low-pass ``operator.source_amplitudes`` while the context is open, then restore it."""
    original = operator.source_amplitudes
    operator.source_amplitudes = lowpass(original, operator.dt, cutoff_hz, order)
    try:
        yield operator
    finally:
        operator.source_amplitudes = original


def _band_line(index: int, n_bands: int, cutoff: float, result, key_targets: dict) -> str:
    last = result.history[-1]
    fields = [f"multiscale band {index + 1}/{n_bands} (f <= {cutoff:g} Hz):",
              f"{len(result.history) - 1} iterations"]
    for key, target in key_targets.items():
        fields.append(f"phi_d[{key}]={last[f'phi_d[{key}]']:.4g}")
        chi2 = last.get(f"chi2[{key}]", last[f"phi_d[{key}]"])
        fields.append(f"chi2/N[{key}]={chi2 / target['n_data']:.4g}")
    fields.append(f"({last.get('stopped', '')})")
    return " ".join(fields)


def invert_bands(invert_band, operator, data: Data, initial_model: torch.Tensor,
                 frequencies, order: int = 4, progress: bool = True, stream=None):
    """Invert band by band, each low-pass band starting from the previous model.

    Parameters
    ----------
    invert_band : callable
        ``invert_band(band_data, start_model) -> InversionResult``: one
        inversion (``jointinv.invert`` with every other option fixed).
    operator : PhysicsOperator
        A waveform operator with ``dt`` [s] and ``source_amplitudes``
        ``(n_shots, nt)``; its wavelet is filtered during each band and
        restored afterwards.
    data : Data
        Observed traces ``(shot, receiver, time)``.
    initial_model : torch.Tensor
        ``(nz, nx)`` start of the first band.
    frequencies : sequence of float
        Increasing low-pass corners [Hz], below the Nyquist frequency.
    order : int
        Butterworth order of the low-pass (:func:`jointinv.waveforms.lowpass`).
    progress : bool
        Print one line per band (misfit, chi^2/N, why it stopped) to ``stream``
        (default standard error).

    Returns
    -------
    InversionResult
        The last band's result with the history of every band (rows carry
        ``band`` and ``frequency``; ``iteration`` counts across bands) and
        ``info[key]["bands"]``: per band, the corner, iterations, final
        ``phi_d`` and ``chi2``.
    """
    _waveform_operator(operator)
    frequencies = check_frequencies(frequencies, operator.dt)
    stream = sys.stderr if stream is None else stream
    start_time = time.perf_counter()
    history, bands, start, result = [], [], initial_model, None
    offset = 0
    for index, cutoff in enumerate(frequencies):
        band_data = lowpass_data(data, operator.dt, cutoff, order)
        with filtered_wavelet(operator, cutoff, order):
            result = invert_band(band_data, start)
        for row in result.history:
            history.append({**row, "band": index, "frequency": cutoff,
                            "iteration": offset + row["iteration"]})
        offset = history[-1]["iteration"]
        last = result.history[-1]
        summary = {"frequency": cutoff, "iterations": len(result.history) - 1}
        for key in result.models:
            summary[f"phi_d[{key}]"] = last[f"phi_d[{key}]"]
            summary[f"chi2[{key}]"] = last.get(f"chi2[{key}]", last[f"phi_d[{key}]"])
        bands.append(summary)
        if progress:
            targets = {key: {"n_data": result.data[key].n_data} for key in result.models}
            print(_band_line(index, len(frequencies), cutoff, result, targets), file=stream,
                  flush=True)
        start = next(iter(result.models.values()))
    result.history = history
    result.initial_models = {key: initial_model for key in result.initial_models}
    result.wall_time = time.perf_counter() - start_time
    result.method = f"multiscale {frequencies} Hz, {result.method}"
    for key in result.models:
        result.info[key]["bands"] = bands
    return result

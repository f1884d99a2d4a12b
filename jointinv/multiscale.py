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
weights). :func:`invert_setups_by_band` does the same for the
:class:`~jointinv.PhysicsSetup` records of any strategy: the one setup with
``frequencies`` sets the bands; in a joint inversion the other physics take
part in every band with their own, unfiltered data, each warm-started from
its previous band's model.
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

__all__ = ["check_frequencies", "check_waveform_operator", "filtered_wavelet", "invert_bands",
           "invert_setups_by_band", "lowpass_data"]


def check_frequencies(frequencies, dt: float | None) -> list:
    """Increasing corner frequencies [Hz], each in ``(0, 1 / (2 dt))``.

    ``dt=None`` (the sampling interval not known yet, e.g. in a config):
    each in ``(0, inf)``.

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
    nyquist = math.inf if dt is None else 0.5 / dt
    for value in values:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"frequencies must hold real numbers [Hz], got {values!r}")
        if not (math.isfinite(value) and 0 < value < nyquist):
            where = "" if dt is None else f" (the Nyquist frequency of dt = {dt:g} s)"
            raise ValueError(f"frequencies must be in (0, {nyquist:g}) Hz{where}, "
                             f"got {values!r}")
    if any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"frequencies must increase (low bands first), got {values!r}")
    return [float(value) for value in values]


def check_waveform_operator(operator):
    """``operator`` if it has the ``dt`` [s] and ``source_amplitudes`` bands need.

    Raises
    ------
    ValueError
        Naming ``frequencies`` and what the operator lacks (e.g. travel times, DC).
    """
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


def _band_summary(cutoff: float, result) -> dict:
    """Corner, iterations and final ``phi_d``/``chi2`` of every model of one band's result."""
    # a strategy that finds every data set at its target may stop before any row
    last = result.history[-1] if result.history else {}
    summary = {"frequency": cutoff, "iterations": int(last.get("iteration", 0))}
    for key in result.models:
        phi_d = last[f"phi_d[{key}]"] if f"phi_d[{key}]" in last else result.misfit(key)
        summary[f"phi_d[{key}]"] = phi_d
        summary[f"chi2[{key}]"] = last.get(f"chi2[{key}]", phi_d)
    summary["stopped"] = (last.get("stopped", "") if result.history
                          else "every data set at its target misfit")
    return summary


def _band_line(index: int, n_bands: int, summary: dict, result) -> str:
    fields = [f"multiscale band {index + 1}/{n_bands} (f <= {summary['frequency']:g} Hz):",
              f"{summary['iterations']} iterations"]
    for key in result.models:
        fields.append(f"phi_d[{key}]={summary[f'phi_d[{key}]']:.4g}")
        fields.append(f"chi2/N[{key}]={summary[f'chi2[{key}]'] / result.data[key].n_data:.4g}")
    fields.append(f"({summary['stopped']})")
    return " ".join(fields)


def invert_bands(invert_band, operator, data: Data, initial_model: torch.Tensor,
                 frequencies, order: int = 4, progress: bool = True, stream=None,
                 key: str | None = None):
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
        Print one line per band (misfit and chi^2/N of every model, why it
        stopped) to ``stream`` (default standard error).
    key : str, optional
        The model of ``operator`` in the band results, which the next band
        starts from (default: the results' only model). Any other model's
        warm start is ``invert_band``'s to make.

    Returns
    -------
    InversionResult
        The last band's result with the history of every band (rows carry
        ``band`` and ``frequency``; ``iteration`` counts across bands) and
        ``info[k]["bands"]`` of every model ``k``: per band, the corner,
        iterations, final ``phi_d[k]`` and ``chi2[k]`` of every model.
    """
    check_waveform_operator(operator)
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
        offset = history[-1]["iteration"] if history else offset
        summary = _band_summary(cutoff, result)
        bands.append(summary)
        if progress:
            print(_band_line(index, len(frequencies), summary, result), file=stream, flush=True)
        if key is None:
            if len(result.models) != 1:
                raise ValueError(f"key must name the model of the banded operator among "
                                 f"{sorted(result.models)}")
            key = next(iter(result.models))
        start = result.models[key]
    result.history = history
    result.initial_models = {**result.initial_models, key: initial_model}
    result.wall_time = time.perf_counter() - start_time
    result.method = f"multiscale {frequencies} Hz, {result.method}"
    for name in result.models:
        result.info[name]["bands"] = bands
    return result


def invert_setups_by_band(invert_setups, setups: dict, progress: bool = True, stream=None):
    """``invert_setups(setups)``, once per band of the setup that has ``frequencies``.

    Parameters
    ----------
    invert_setups : callable
        ``invert_setups({key: PhysicsSetup}) -> InversionResult``: one run of a
        strategy (every option but the setups fixed).
    setups : dict
        ``{key: PhysicsSetup}``. At most one of them may have ``frequencies``
        (its bands set the continuation); without any, ``invert_setups``
        runs once on ``setups`` as given.
    progress : bool
        One line per band (:func:`invert_bands`).

    Returns
    -------
    InversionResult
        As :func:`invert_bands`, with every model's own initial model.

    Notes
    -----
    Band ``i`` runs on setups restarted (:meth:`PhysicsSetup.restarted`)
    from the models of band ``i - 1``: the banded physics with its data and
    wavelet low-passed at ``frequencies[i]``, every other physics with its
    own data, unfiltered (a travel time or an apparent resistivity has no
    band to filter), in every band. Each keeps its reference model (default:
    its first start) and bounds. With one setup this is exactly
    ``jointinv.invert(..., frequencies=...)``.

    Raises
    ------
    ValueError
        If several setups have ``frequencies`` (before any simulation).
    """
    banded = [key for key, setup in setups.items() if setup.frequencies is not None]
    if not banded:
        return invert_setups(setups)
    if len(banded) > 1:
        raise ValueError(f"frequencies may be given to one physics of a joint inversion (its "
                         f"bands set the continuation), got them for {banded}; invert those "
                         f"physics with strategy 'independent', or give the bands to one")
    key = banded[0]
    waveform = setups[key]
    latest = {name: setup.initial_model for name, setup in setups.items()}

    def one_band(band_data, start):
        latest[key] = start
        result = invert_setups({name: setup.restarted(latest[name], band_data if name == key
                                                      else None)
                                for name, setup in setups.items()})
        latest.update({name: result.models[name] for name in setups})
        return result

    result = invert_bands(one_band, waveform.operator, waveform.data, waveform.initial_model,
                          waveform.frequencies, order=waveform.filter_order, progress=progress,
                          stream=stream, key=key)
    result.initial_models = {name: setup.initial_model for name, setup in setups.items()}
    return result

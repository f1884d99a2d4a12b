"""Tests of the zero-phase low-cut filter and the relative Gaussian noise."""

import math
import re

import pytest
import torch

from jointinv import Data
from jointinv.testing import gradient_check, random_like
from jointinv.waveforms import lowcut, lowcut_response, noisy_data

DT = 0.004  # s
NT = 2000  # 8 s of data


def sine(frequency_hz, nt=NT, dt=DT):
    time = torch.arange(nt, dtype=torch.float64) * dt
    return torch.sin(2 * math.pi * frequency_hz * time)


def interior(trace, seconds=1.5, dt=DT):
    """Drop the ends, where a truncated sine is not a sine any more."""
    edge = int(seconds / dt)
    return trace[..., edge:-edge]


def test_lowcut_removes_1hz_and_keeps_10hz():
    low = lowcut(sine(1.0), DT, cutoff_hz=2.5, order=4)
    high = lowcut(sine(10.0), DT, cutoff_hz=2.5, order=4)
    assert float(interior(low).abs().max()) < 0.01
    amplitude_10 = float(interior(high).abs().max())
    assert abs(amplitude_10 - 1.0) < 0.01
    # ... and it is the same sine, not just the same amplitude.
    assert float((interior(high) - interior(sine(10.0))).abs().max()) < 0.01


def test_gain_is_one_half_at_the_cutoff():
    filtered = lowcut(sine(2.5), DT, cutoff_hz=2.5, order=6)
    assert float(interior(filtered).abs().max()) == pytest.approx(0.5, abs=0.01)
    gain = lowcut_response(torch.tensor([0.0, 2.5, 1e3]), cutoff_hz=2.5, order=6)
    assert gain.tolist() == pytest.approx([0.0, 0.5, 1.0])


def test_lowcut_is_zero_phase():
    # A symmetric pulse stays symmetric about the same peak sample.
    time = (torch.arange(801, dtype=torch.float64) - 400) * DT
    pulse = torch.exp(-((time / 0.03) ** 2))
    filtered = lowcut(pulse, DT, cutoff_hz=5.0)
    assert int(filtered.argmax()) == 400
    assert torch.allclose(filtered, filtered.flip(-1), atol=1e-12)
    assert float(filtered.sum().abs()) < 1e-6 * float(pulse.sum())  # no DC left


def test_lowcut_batches_follow_dtype_and_are_differentiable():
    traces = random_like(torch.empty(2, 3, 64, dtype=torch.float64), seed=3).float()
    filtered = lowcut(traces, DT, cutoff_hz=10.0)
    assert filtered.shape == traces.shape and filtered.dtype == torch.float32
    one_trace = lowcut(traces[1, 2], DT, cutoff_hz=10.0)
    assert torch.allclose(filtered[1, 2], one_trace, atol=1e-6)
    weights = random_like(torch.empty(2, 3, 64, dtype=torch.float64), seed=4)
    gradient_check(lambda d: (weights * lowcut(d, DT, cutoff_hz=10.0)).sum() ** 2,
                   traces.double(), rtol=1e-6)


def test_lowcut_errors():
    trace = sine(10.0, nt=100)
    with pytest.raises(ValueError, match=re.escape(
            "cutoff_hz must be below the Nyquist frequency 1/(2 dt) = 125.0 Hz, got 200.0")):
        lowcut(trace, DT, cutoff_hz=200.0)
    with pytest.raises(ValueError, match=re.escape("dt must be a finite number > 0, got -0.004")):
        lowcut(trace, -DT)
    with pytest.raises(ValueError, match=re.escape("order must be an integer >= 1, got 0")):
        lowcut(trace, DT, order=0)
    with pytest.raises(ValueError, match=re.escape("nt >= 2 time samples, got (3, 1)")):
        lowcut(torch.zeros(3, 1), DT)
    with pytest.raises(TypeError, match=re.escape("data must be a floating-point tensor")):
        lowcut(torch.zeros(4, dtype=torch.int64), DT)


@pytest.fixture
def clean_gather():
    """Two shots of band-limited 'traces' with very different trace energies."""
    white = random_like(torch.empty(2, 40, 300, dtype=torch.float64), seed=11)
    traces = lowcut(white, DT, cutoff_hz=5.0)
    return traces * torch.linspace(0.1, 10.0, 40, dtype=torch.float64)[None, :, None]


def test_noise_level_is_half_the_clean_standard_deviation(clean_gather):
    data = noisy_data(clean_gather, fraction=0.5, seed=5)
    assert isinstance(data, Data)
    sigma_0 = float(clean_gather.std(correction=0))
    measured = float((data.observed - clean_gather).std())
    assert measured / sigma_0 == pytest.approx(0.5, rel=0.02)
    assert torch.allclose(data.standard_deviation, torch.full_like(clean_gather, 0.5 * sigma_0))
    assert torch.equal(data.clean, clean_gather)
    # chi-squared of the clean data against the noisy data is ~ n_data.
    assert float(data.chi_squared(clean_gather)) / data.n_data == pytest.approx(1.0, rel=0.02)


def test_noise_per_trace(clean_gather):
    data = noisy_data(clean_gather, fraction=0.2, seed=5, per_trace=True)
    ratio = (data.observed - clean_gather).std(dim=-1) / clean_gather.std(dim=-1)
    assert float((ratio - 0.2).abs().max()) < 0.05
    assert float(ratio.std()) < 0.02  # quiet traces get proportionally little noise


def test_noise_is_reproducible(clean_gather):
    first = noisy_data(clean_gather, seed=7).observed
    assert torch.equal(first, noisy_data(clean_gather, seed=7).observed)
    assert not torch.allclose(first, noisy_data(clean_gather, seed=8).observed)


def test_noise_errors(clean_gather):
    with pytest.raises(ValueError,
                       match=re.escape("fraction must be a finite number > 0, got 0.0")):
        noisy_data(clean_gather, fraction=0.0)
    with pytest.raises(ValueError,
                       match=re.escape("seed must be an integer in [0, 2**63), got -1")):
        noisy_data(clean_gather, seed=-1)
    with pytest.raises(TypeError, match=re.escape("seed must be an integer, got float")):
        noisy_data(clean_gather, seed=1.5)
    silent = clean_gather.clone()
    silent[0, 3] = 0.0
    with pytest.raises(ValueError, match="a trace of clean has zero standard deviation"):
        noisy_data(silent, per_trace=True)


def test_lowpass_keeps_2hz_removes_20hz_and_halves_the_cutoff():
    from jointinv.waveforms import lowpass

    kept = lowpass(sine(2.0), DT, cutoff_hz=8.0, order=4)
    removed = lowpass(sine(20.0), DT, cutoff_hz=8.0, order=4)
    at_cutoff = lowpass(sine(8.0), DT, cutoff_hz=8.0, order=6)
    # zero phase: the same sine, not a shifted one
    assert float((interior(kept) - interior(sine(2.0))).abs().max()) < 0.01
    assert float(interior(removed).abs().max()) < 0.01
    assert float(interior(at_cutoff).abs().max()) == pytest.approx(0.5, abs=0.01)
    assert float((interior(at_cutoff) - 0.5 * interior(sine(8.0))).abs().max()) < 0.01


def test_bandpass_keeps_the_band_only():
    from jointinv.waveforms import bandpass

    mixture = sine(1.0) + sine(6.0) + sine(30.0)
    filtered = bandpass(mixture, DT, low_hz=3.0, high_hz=12.0, order=4)
    assert float((interior(filtered) - interior(sine(6.0))).abs().max()) < 0.02
    weights = random_like(sine(1.0, nt=64), 1)
    gradient_check(lambda d: (weights * bandpass(d, 0.01, 3.0, 12.0)).sum(),
                   random_like(sine(1.0, nt=64), 0))


def test_filter_errors_are_named():
    from jointinv.waveforms import bandpass, lowpass

    with pytest.raises(ValueError, match=re.escape("cutoff_hz must be below the Nyquist "
                                                   "frequency 1/(2 dt) = 125.0 Hz, got 130.0")):
        lowpass(sine(1.0), DT, cutoff_hz=130.0)
    with pytest.raises(ValueError, match=re.escape("low_hz must be below high_hz, got "
                                                   "low_hz=10.0, high_hz=5.0")):
        bandpass(sine(1.0), DT, 10.0, 5.0)
    with pytest.raises(ValueError, match="high_hz must be below the Nyquist"):
        bandpass(sine(1.0), DT, 10.0, 200.0)

"""Tests of the waveform misfits: values, gradients and cycle skipping."""

import math
import re

import numpy as np
import pytest
import torch

from jointinv import Data
from jointinv.testing import gradient_check, random_like
from jointinv.waveform_misfits import (
    correlation_misfit,
    envelope_misfit,
    get_waveform_misfit,
    l2_misfit,
    squared_envelope,
)

DT = 0.002  # s
PEAK_HZ = 10.0


def ricker(shift=0.0, nt=500, dt=DT, peak_hz=PEAK_HZ, centre=0.5):
    """Ricker wavelet written out here, independent of the library."""
    time = torch.arange(nt, dtype=torch.float64) * dt - centre - shift
    argument = (math.pi * peak_hz * time) ** 2
    return (1 - 2 * argument) * torch.exp(-argument)


@pytest.fixture
def traces():
    predicted = random_like(torch.empty(2, 3, 40, dtype=torch.float64), seed=1)
    observed = random_like(torch.empty(2, 3, 40, dtype=torch.float64), seed=2)
    return predicted, observed


def test_l2_value_and_data_weights(traces):
    predicted, observed = traces
    expected = 0.5 * float(((predicted - observed) ** 2).sum())
    assert float(l2_misfit(predicted, observed)) == pytest.approx(expected, rel=1e-12)
    data = Data(observed, standard_deviation=torch.full_like(observed, 0.5))
    assert float(l2_misfit(predicted, data)) == pytest.approx(4 * expected, rel=1e-12)
    assert float(l2_misfit(predicted, data)) == pytest.approx(
        0.5 * float(data.chi_squared(predicted)), rel=1e-12)


def test_envelope_of_a_modulated_cosine_is_its_modulation():
    time = torch.arange(1000, dtype=torch.float64) * DT
    modulation = torch.exp(-(((time - 1.0) / 0.2) ** 2))
    trace = modulation * torch.cos(2 * math.pi * 40.0 * time)
    assert torch.allclose(squared_envelope(trace).sqrt(), modulation, atol=1e-3)


def test_correlation_ignores_amplitude(traces):
    predicted, observed = traces
    n_traces = 6
    assert float(correlation_misfit(3.0 * observed, observed)) == pytest.approx(-n_traces)
    assert float(correlation_misfit(predicted, observed)) > -n_traces + 0.5


@pytest.mark.parametrize("name", ["l2", "envelope", "correlation"])
def test_zero_at_match_and_gradient(traces, name):
    predicted, observed = traces
    misfit = get_waveform_misfit(name)
    gradient_check(lambda p: misfit(p, observed), predicted, rtol=1e-6)
    matched = predicted.detach().clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(misfit(matched, predicted), matched)
    assert float(gradient.abs().max()) < 1e-6


@pytest.mark.parametrize("power", [0.5, 2.0])
def test_envelope_power_gradient(traces, power):
    predicted, observed = traces
    gradient_check(lambda p: envelope_misfit(p, observed, power=power), predicted, rtol=1e-6)


def test_cycle_skipping_l2_versus_envelope():
    """Shifting a 10 Hz Ricker: L2 has a false minimum about one period away,
    the envelope misfit keeps growing with the shift."""
    observed = ricker()
    shifts = np.arange(0, 61) * DT  # 0 ... 120 ms (1.2 periods)
    l2 = np.array([float(l2_misfit(ricker(s), observed)) for s in shifts])
    env = np.array([float(envelope_misfit(ricker(s), observed)) for s in shifts])
    l2_minima = [i for i in range(1, len(l2) - 1) if l2[i] < l2[i - 1] and l2[i] < l2[i + 1]]
    assert l2_minima, "L2 should have a local minimum away from zero shift"
    false_shift = shifts[l2_minima[0]]
    assert 0.5 / PEAK_HZ < false_shift < 1.2 / PEAK_HZ
    assert np.all(np.diff(env) > 0)
    # A descent from the false minimum climbs back up in L2, not in the envelope.
    assert l2[l2_minima[0]] < l2[l2_minima[0] - 5]
    assert env[l2_minima[0]] > env[l2_minima[0] - 5]


def test_errors(traces):
    predicted, observed = traces
    with pytest.raises(ValueError, match=re.escape(
            "observed must have the shape of predicted (2, 3, 40), got (2, 3, 39)")):
        l2_misfit(predicted, observed[..., :39])
    with pytest.raises(ValueError, match=re.escape(
            "misfit must be one of ['correlation', 'envelope', 'l2'], got 'l1'")):
        get_waveform_misfit("l1")
    with pytest.raises(ValueError, match=re.escape("power must be a finite number > 0, got -1.0")):
        envelope_misfit(predicted, observed, power=-1)
    with pytest.raises(TypeError, match=re.escape("predicted must be a torch.Tensor, got list")):
        correlation_misfit([1.0, 2.0], observed)

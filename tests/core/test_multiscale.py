"""Multiscale frequency continuation: low-pass bands of data and wavelet, warm starts."""

import io
import re

import pytest
import torch
from conftest import DenseLinearOperator
from jointinv.physics.acoustic import AcousticWave2D

import jointinv
from jointinv.multiscale import filtered_wavelet, invert_bands, lowpass_data
from jointinv.waveforms import lowpass


def test_filtered_wavelet_gives_filtered_data(acoustic_example):
    # the wave equation is linear and time invariant in the source: filtering the
    # wavelet filters the data, which is why both go through the same low-pass
    short, _, true = acoustic_example
    operator = AcousticWave2D(short.grid, sources=[[25.0, 15.0]], receivers=[[105.0, 95.0]],
                              dt=1.5e-3, nt=400, frequency=25.0, pml_width=4,
                              max_velocity=3000.0, compile=False)
    original = operator.source_amplitudes.clone()
    full = operator(true)
    with filtered_wavelet(operator, 30.0):
        low = operator(true)
    assert torch.equal(operator.source_amplitudes, original)   # restored
    expected = lowpass(full, operator.dt, 30.0)
    # the filter's tails pass the end of the record and the wavelet's start (t < 0)
    window = slice(0, 300)
    difference = (low - expected)[..., window].norm() / expected[..., window].norm()
    assert float(difference) < 0.02
    assert float((low - full).norm() / full.norm()) > 0.1   # and the filter did something


def test_three_bands_report_misfit_per_band_and_warm_start(acoustic_example):
    operator, data, true = acoustic_example
    start = torch.full_like(true, float(true.mean()))
    stream = io.StringIO()
    starts = []

    def one_band(band_data, band_start):
        starts.append(band_start.clone())
        return jointinv.invert(operator, band_data, band_start, solver="adam", step=10.0,
                               beta=1e-6, max_iterations=3, progress=False)

    result = invert_bands(one_band, operator, data, start, [10.0, 20.0, 40.0], stream=stream)
    lines = stream.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        f"multiscale band {i}/3 (f <= {f:g} Hz)" for i, f in ((1, 10), (2, 20), (3, 40))]
    assert all("chi2/N[velocity]=" in line and "phi_d[velocity]=" in line for line in lines)
    bands = result.info["velocity"]["bands"]
    assert [b["frequency"] for b in bands] == [10.0, 20.0, 40.0]
    assert [row["band"] for row in result.history] == [0] * 4 + [1] * 4 + [2] * 4
    iterations = [row["iteration"] for row in result.history]
    assert iterations == sorted(iterations) and iterations[-1] == 9
    # warm start: each band begins where the previous one ended
    assert torch.equal(starts[0], start) and not torch.equal(starts[1], start)
    assert torch.equal(result.initial_models["velocity"], start)


def test_invert_frequencies_option(acoustic_example, capsys):
    operator, data, true = acoustic_example
    start = torch.full_like(true, float(true.mean()))
    result = jointinv.invert(operator, data, start, solver="adam", step=10.0, beta=1e-6,
                             frequencies=[15.0, 30.0], max_iterations=2)
    assert len(result.info["velocity"]["bands"]) == 2
    assert "multiscale band 2/2 (f <= 30 Hz)" in capsys.readouterr().err
    assert result.method.startswith("multiscale [15.0, 30.0] Hz")


def test_lowpass_data_keeps_standard_deviations(acoustic_example):
    operator, data, _ = acoustic_example
    band = lowpass_data(data, operator.dt, 20.0)
    assert torch.equal(band.standard_deviation, data.standard_deviation)
    torch.testing.assert_close(band.observed, lowpass(data.observed, operator.dt, 20.0))


def test_multiscale_errors_are_named(acoustic_example, small_grid):
    operator, data, true = acoustic_example
    with pytest.raises(ValueError, match=re.escape("frequencies must increase (low bands "
                                                   "first), got [20.0, 10.0]")):
        jointinv.invert(operator, data, true, frequencies=[20.0, 10.0])
    with pytest.raises(ValueError, match=re.escape("frequencies must be in (0, 333.333) Hz")):
        jointinv.invert(operator, data, true, frequencies=[10.0, 400.0])
    with pytest.raises(TypeError, match="frequencies must be a list"):
        jointinv.invert(operator, data, true, frequencies=10.0)
    linear = DenseLinearOperator(small_grid, n_data=10)
    vector = linear.simulate(torch.zeros(small_grid.shape, dtype=torch.float64),
                             noise_floor=1.0)
    with pytest.raises(ValueError, match="frequencies needs a waveform operator"):
        jointinv.invert(linear, vector, torch.zeros(small_grid.shape), frequencies=[1.0])

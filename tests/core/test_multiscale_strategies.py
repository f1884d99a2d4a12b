"""Multiscale bands (``PhysicsSetup.frequencies``) through the strategies, not just ``invert``."""

import re

import pytest
import torch
from jointinv.physics.acoustic import AcousticWave2D
from jointinv.physics.traveltime import StraightRayTomography

import jointinv
from jointinv import PhysicsSetup
from jointinv.multiscale import filtered_wavelet, lowpass_data
from jointinv.strategies import run_strategy

BANDS = [15.0, 30.0]
ADAM = {"solver": "adam", "step": 10.0, "max_iterations": 2}
VELOCITY_BOUNDS = (1500.0, 2950.0)  # m/s, below the example operator's max_velocity
TT_BOUNDS = (1000.0, 6000.0)  # m/s


@pytest.fixture(scope="module")
def travel_times(acoustic_example):
    """Cross-hole travel times on the acoustic example's grid: (operator, data, true)."""
    acoustic, _, true = acoustic_example
    operator = StraightRayTomography.crosshole(acoustic.grid, 4, 4)
    data = operator.simulate(true, relative_error=0.01, noise_floor=1e-5, seed=2)
    return operator, data, true


def homogeneous(true):
    return torch.full_like(true, float(true.mean()))


def band_lines(text):
    return [line for line in text.splitlines() if line.startswith("multiscale band")]


def test_independent_bands_equal_invert_and_report_each_band(acoustic_example, travel_times,
                                                             capsys):
    operator, data, true = acoustic_example
    tt_operator, tt_data, _ = travel_times
    start = homogeneous(true)
    setups = {"velocity": PhysicsSetup(operator, data, start, beta=1e-6, frequencies=BANDS),
              "tt": PhysicsSetup(tt_operator, tt_data, start)}
    result = run_strategy("independent", setups, progress=True, **ADAM)
    lines = band_lines(capsys.readouterr().err)
    assert [line.split(":")[0] for line in lines] == [
        "multiscale band 1/2 (f <= 15 Hz)", "multiscale band 2/2 (f <= 30 Hz)"]
    assert all("phi_d[velocity]=" in line and "chi2/N[velocity]=" in line for line in lines)
    alone = jointinv.invert(operator, data, start, beta=1e-6, frequencies=BANDS,
                            progress=False, **ADAM)
    torch.testing.assert_close(result.models["velocity"], alone.model, rtol=0, atol=0)
    bands = result.info["velocity"]["bands"]
    assert [b["frequency"] for b in bands] == BANDS
    assert [b["phi_d[velocity]"] for b in bands] == [
        b["phi_d[velocity]"] for b in alone.info["velocity"]["bands"]]
    assert bands[0]["phi_d[velocity]"] != bands[1]["phi_d[velocity]"]
    # the travel times are not banded: the same as inverting them alone
    tt_alone = jointinv.invert(tt_operator, tt_data, start, progress=False, **ADAM)
    torch.testing.assert_close(result.models["tt"], tt_alone.model, rtol=0, atol=0)
    assert "bands" not in result.info["tt"]
    assert torch.equal(result.initial_models["velocity"], start)


def _by_hand(strategy, setups, options):
    """The band loop written out: filtered data and wavelet, warm starts, fixed references."""
    operator, data = setups["velocity"].operator, setups["velocity"].data
    starts = {key: setup.initial_model for key, setup in setups.items()}
    tt_start = setups["tt"].initial_model
    misfits = []
    for cutoff in BANDS:
        band = {"velocity": PhysicsSetup(operator, lowpass_data(data, operator.dt, cutoff),
                                         starts["velocity"], bounds=VELOCITY_BOUNDS,
                                         reference_model=setups["velocity"].initial_model),
                "tt": PhysicsSetup(setups["tt"].operator, setups["tt"].data, starts["tt"],
                                   reference_model=tt_start, bounds=TT_BOUNDS)}
        with filtered_wavelet(operator, cutoff):
            result = run_strategy(strategy, band, progress=False, **options)
        starts = dict(result.models)
        misfits.append({key: result.history[-1][f"phi_d[{key}]"] for key in band})
    return result, misfits


@pytest.mark.parametrize("strategy,options", [
    ("cross_gradient", {"max_iterations": 1, "cg_max_iterations": 3}),
    ("sequential", {"max_iterations": 1, "cg_max_iterations": 3, "coupling_iterations": 3}),
])
def test_joint_strategy_runs_the_bands_with_the_travel_times_in_every_band(
        acoustic_example, travel_times, capsys, strategy, options):
    operator, data, true = acoustic_example
    tt_operator, tt_data, _ = travel_times
    start = homogeneous(true)
    # Gauss-Newton's first steps overshoot; the bounds keep the propagator stable
    setups = {"velocity": PhysicsSetup(operator, data, start, bounds=VELOCITY_BOUNDS,
                                       frequencies=BANDS),
              "tt": PhysicsSetup(tt_operator, tt_data, start, bounds=TT_BOUNDS)}
    result = run_strategy(strategy, setups, progress=True, **options)
    lines = band_lines(capsys.readouterr().err)
    assert len(lines) == 2
    assert all("phi_d[velocity]=" in line and "phi_d[tt]=" in line for line in lines)
    expected, misfits = _by_hand(strategy, setups, options)
    for key in setups:
        torch.testing.assert_close(result.models[key], expected.models[key])
        assert torch.equal(result.initial_models[key], start)
    bands = result.info["velocity"]["bands"]
    for band, by_hand in zip(bands, misfits):
        for key in setups:
            assert band[f"phi_d[{key}]"] == pytest.approx(by_hand[key], rel=1e-9)
    assert [row["band"] for row in result.history][-1] == 1
    assert result.method.startswith("multiscale [15.0, 30.0] Hz")


def test_a_restarted_setup_keeps_its_reference_and_default_bounds(acoustic_example,
                                                                   travel_times):
    operator, data, true = acoustic_example
    tt_operator, tt_data, _ = travel_times
    start = homogeneous(true)
    setup = PhysicsSetup(tt_operator, tt_data, start)
    warm = setup.restarted(true)
    assert torch.equal(warm.initial_model, true)
    assert torch.equal(warm.reference_model, start)
    assert warm.frequencies is None and warm.data is tt_data
    # the defaults of a slowness inversion come from the start: a warm start keeps the first
    first, again = setup.build("tt"), warm.build("tt")
    assert (again.lower, again.upper) == (first.lower, first.upper)
    assert (PhysicsSetup(tt_operator, tt_data, true).build("tt").lower != first.lower)
    banded = PhysicsSetup(operator, data, start, frequencies=BANDS)
    band_data = lowpass_data(data, operator.dt, BANDS[0])
    assert banded.restarted(true, band_data).data is band_data


def test_bad_bands_are_named_before_any_simulation(acoustic_example, travel_times,
                                                   monkeypatch):
    operator, data, true = acoustic_example
    tt_operator, tt_data, _ = travel_times
    start = homogeneous(true)
    with pytest.raises(ValueError, match=re.escape(
            "frequencies needs a waveform operator with a sampling interval 'dt' and a "
            "wavelet 'source_amplitudes' (e.g. AcousticWave2D); StraightRayTomography has no")):
        PhysicsSetup(tt_operator, tt_data, start, frequencies=[10.0])
    with pytest.raises(ValueError, match=re.escape(
            "frequencies must increase (low bands first), got [30.0, 15.0]")):
        PhysicsSetup(operator, data, start, frequencies=[30.0, 15.0])
    with pytest.raises(ValueError, match=re.escape(
            "frequencies must be in (0, 333.333) Hz (the Nyquist frequency of dt = 0.0015 s)")):
        PhysicsSetup(operator, data, start, frequencies=[15.0, 400.0])
    with pytest.raises(TypeError, match="frequencies must be a list of corner frequencies"):
        PhysicsSetup(operator, data, start, frequencies=15.0)
    with pytest.raises(ValueError, match="filter_order must be"):
        PhysicsSetup(operator, data, start, frequencies=BANDS, filter_order=0)

    def no_simulation(self, model):
        raise AssertionError("simulated before the bands were checked")

    monkeypatch.setattr(AcousticWave2D, "forward", no_simulation)
    banded = PhysicsSetup(operator, data, start, frequencies=BANDS)
    with pytest.raises(ValueError, match=re.escape(
            "frequencies may be given to one physics of a joint inversion (its bands set the "
            "continuation), got them for ['a', 'b']")):
        run_strategy("cross_gradient", {"a": banded, "b": banded}, progress=False)

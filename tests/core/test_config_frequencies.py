"""``physics.NAME.frequencies`` in comparison configs: checks, round trip, a banded run."""

import re

import numpy as np
import pytest
import yaml
from jointinv.physics.acoustic import AcousticWave2D

from jointinv.compare import run_comparison
from jointinv.config import load_config, validate_config

ACOUSTIC = {"physics": "acoustic", "sources": [[25.0, 15.0], [115.0, 15.0]],
            "receivers": [[45.0, 95.0], [75.0, 95.0], [105.0, 25.0]], "dt": 1.5e-3,
            "nt": 60, "frequency": 25.0, "accuracy": 4, "pml_width": 4,
            "max_velocity": 3000.0, "compile": False}


def _config(folder, frequencies, physics="acoustic"):
    """A case mapping of the acoustic example and cross-hole travel times on one grid."""
    _, true = AcousticWave2D.example_case()
    np.savez(folder / "truth.npz", acoustic=true.numpy(), traveltime=true.numpy())
    case = {"grid": {"nx": 14, "nz": 12, "dx": 10.0, "dz": 10.0}, "true_models": "truth.npz",
            "physics": {
                "acoustic": {"operator": ACOUSTIC, "noise": {"noise_floor": 1e-4},
                             "initial": 2400.0},
                "traveltime": {"operator": {"physics": "traveltime", "constructor": "crosshole",
                                            "n_sources": 4, "n_receivers": 4},
                               "noise": {"relative_error": 0.01, "noise_floor": 1e-5},
                               "initial": 2400.0}}}
    config = {"case": case, "output": str(folder / "out"),
              "options": {"solver": "adam", "max_iterations": 2},
              "physics": {physics: {"frequencies": frequencies, "filter_order": 3}},
              "strategies": [{"name": "independent"}]}
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_bands_survive_a_yaml_round_trip_and_run(tmp_path):
    config = load_config(_config(tmp_path, [15, 30.0]))
    assert config["physics"]["acoustic"] == {"frequencies": [15, 30.0], "filter_order": 3}
    assert validate_config(config) == config
    again = tmp_path / "again.yaml"
    again.write_text(yaml.safe_dump(config))
    assert load_config(again) == config
    study = run_comparison(config, progress=False, log=lambda *_: None)
    result = study["results"]["independent"]
    bands = result.info["acoustic"]["bands"]
    assert [band["frequency"] for band in bands] == [15.0, 30.0]
    assert "bands" not in result.info["traveltime"]
    assert {row["band"] for row in result.history if "phi_d[acoustic]" in row} == {0, 1}


@pytest.mark.parametrize("frequencies,physics,error,message", [
    ([30.0, 15.0], "acoustic", ValueError, "config physics.acoustic.frequencies: frequencies "
     "must increase (low bands first), got [30.0, 15.0]"),
    ([-1.0], "acoustic", ValueError, "config physics.acoustic.frequencies: frequencies must "
     "be in (0, inf) Hz, got [-1.0]"),
    (15.0, "acoustic", TypeError, "config physics.acoustic.frequencies must be of type list "
     "or null, got float"),
    (["low"], "acoustic", TypeError, "config physics.acoustic.frequencies: frequencies must "
     "hold real numbers [Hz]"),
    ([15.0, 400.0], "acoustic", ValueError, "config physics.acoustic.frequencies: frequencies "
     "must be in (0, 333.333) Hz (the Nyquist frequency of dt = 0.0015 s)"),
    ([15.0], "traveltime", ValueError, "config physics.traveltime.frequencies: frequencies "
     "needs a waveform operator"),
])
def test_bad_bands_are_named(tmp_path, frequencies, physics, error, message):
    with pytest.raises(error, match=re.escape(message)):
        load_config(_config(tmp_path, frequencies, physics))


def test_built_in_cases_have_no_waveform_physics():
    with pytest.raises(ValueError, match=re.escape(
            "config physics.traveltime.frequencies: the built-in case 'dike' has no waveform "
            "physics")):
        validate_config({"case": "dike", "physics": {"traveltime": {"frequencies": [5.0]}}})

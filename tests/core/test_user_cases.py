"""Comparison configs with user-supplied cases and any registered physics."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from jointinv.compare import run_comparison
from jointinv.config import load_config

EXAMPLE = Path(__file__).parents[2] / "examples" / "plugins" / "gravity_traveltime"


def _write_mapping_case(folder: Path) -> Path:
    grid = {"nx": 12, "nz": 6, "dx": 5.0, "dz": 5.0}
    velocity = np.full((6, 12), 2000.0)
    velocity[2:5, 4:8] = 2500.0
    density = (velocity - 2000.0) / 1000.0
    np.savez(folder / "truth.npz", traveltime=velocity, gravity=density)
    config = {
        "case": {
            "grid": grid, "true_models": "truth.npz",
            "physics": {
                "traveltime": {"operator": {"physics": "traveltime", "constructor": "crosshole",
                                            "n_sources": 5, "n_receivers": 5},
                               "noise": {"relative_error": 0.01, "noise_floor": 1e-5},
                               "initial": 2000.0},
                "gravity": {"operator": {"physics": "gravity",
                                         "stations_x": np.linspace(2.5, 57.5, 12).tolist()},
                            "noise": {"noise_floor": 0.001}, "initial": 0.0},
            }},
        "output": str(folder / "out"),
        "options": {"max_iterations": 3},
        "physics": {"gravity": {"alpha_s": 0.01}},
        "strategies": [{"name": "independent"}, {"name": "cross_gradient"}],
    }
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_a_case_mapping_runs_a_third_party_plugin_with_travel_times(tmp_path):
    config = load_config(_write_mapping_case(tmp_path))
    study = run_comparison(config, progress=False, log=lambda *_: None)
    models = {(row["method"], row["model"]) for row in study["rows"]}
    assert models == {(m, k) for m in ("independent", "cross_gradient")
                      for k in ("traveltime", "gravity")}
    assert all(np.isfinite(row["rmse"]) for row in study["rows"])


def test_the_shipped_gravity_example_runs_through_the_cli(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "jointinv.cli", "compare", str(EXAMPLE / "compare.yaml"),
         "--output", str(tmp_path / "out"), "--quiet"],
        capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert "| cross_gradient | gravity |" in completed.stdout
    assert (tmp_path / "out" / "metrics.md").is_file()


@pytest.mark.parametrize("case,message", [
    ("basin", "must be one of the built-in cases ['dike', 'fault', 'fusion']"),
    ("nowhere.py:build", "case file"),
    ("jointinv.grid:no_such_function", "has no function 'no_such_function'"),
    ({"grid": {"nx": 3, "nz": 3, "dx": 1.0, "dz": 1.0}, "physics": {}},
     "config case has unknown keys [] and misses ['true_models']"),
])
def test_bad_cases_are_named(tmp_path, case, message):
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({"case": case}))
    with pytest.raises(ValueError, match=re.escape(message)):
        study = load_config(path)
        run_comparison(study, progress=False, log=lambda *_: None)


def test_physics_settings_must_name_a_model_of_the_case(tmp_path):
    path = _write_mapping_case(tmp_path)
    config = yaml.safe_load(path.read_text())
    config["physics"] = {"dcr": {"alpha_s": 0.1}}
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ValueError, match=re.escape("config physics has unknown keys ['dcr']")):
        load_config(path)

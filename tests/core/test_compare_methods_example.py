"""The shipped every-method comparison config parses, and a tiny version of it runs."""

from pathlib import Path

import numpy as np
import yaml

from jointinv.compare import run_comparison
from jointinv.config import load_config
from jointinv.result import InversionResult

EXAMPLE = Path(__file__).parents[2] / "examples" / "couplings" / "compare_methods.yaml"


def _tiny_case(folder: Path) -> dict:
    """A 16 x 8 cross-hole + surface-DC case with a shared block (seconds per method)."""
    velocity = np.full((8, 16), 2000.0)
    velocity[2:6, 5:10] = 2600.0
    log_resistivity = np.where(velocity > 2000.0, 2.5, 2.0)
    np.savez(folder / "truth.npz", traveltime=velocity, dcr=log_resistivity)
    return {"grid": {"nx": 16, "nz": 8, "dx": 5.0, "dz": 5.0},
            "true_models": str(folder / "truth.npz"),
            "physics": {
                "traveltime": {"operator": {"physics": "traveltime", "constructor": "crosshole",
                                            "n_sources": 6, "n_receivers": 6},
                               "noise": {"relative_error": 0.01, "noise_floor": 1e-5},
                               "initial": 2000.0},
                "dcr": {"operator": {"physics": "dcr", "constructor": "from_surface_line",
                                     "array": "dipole-dipole", "start": 5.0, "end": 75.0,
                                     "electrode_spacing": 10.0, "n_max": 3},
                        "noise": {"relative_error": 0.03}, "initial": 2.0}}}


def test_every_method_of_the_example_config_runs(tmp_path, monkeypatch):
    # each method's own PNGs take most of the time and are tested elsewhere
    monkeypatch.setattr(InversionResult, "plot", lambda self, folder: [])
    config = load_config(EXAMPLE)
    labels = [s["label"] for s in config["strategies"]]
    assert {"independent", "cross_gradient", "joint_total_variation", "structure_guided",
            "petrophysical", "sequential", "structure_guided_petrophysical", "mgs_regularization",
            "structure_guided_cg_petrophysical",
            "structure_guided_cg_aware_petrophysical"} <= set(labels)
    # tiny: a small case and one short iteration, the same strategies and options otherwise
    tiny = yaml.safe_load(EXAMPLE.read_text())
    tiny["case"] = _tiny_case(tmp_path)
    tiny["options"].update(max_iterations=1, cg_max_iterations=5, coupling_iterations=2)
    tiny["output"] = str(tmp_path / "out")
    study = run_comparison(tiny, progress=False, log=lambda *_: None)
    assert {row["method"] for row in study["rows"]} == set(labels)
    assert all(np.isfinite(row["rmse"]) for row in study["rows"])
    assert (tmp_path / "out" / "models.png").is_file()

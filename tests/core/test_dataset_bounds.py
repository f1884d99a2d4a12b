"""The dataset builder's inversions keep the config's property range (issue 11)."""

import re

import numpy as np
import pytest
import torch

from jointinv.dataset import DatasetConfigError, build_dataset, validate_dataset_config
from jointinv.dataset.sample import make_sample

LOW, HIGH = 1000.0, 2000.0  # m/s


def fast_with_a_slow_block(grid, index, seed, properties):
    """Velocity at the top of the range but for a slow block: data that pull cells above it."""
    model = torch.full(grid.shape, HIGH, dtype=torch.float64)
    model[3:6, 4:8] = LOW + 0.2 * (HIGH - LOW)
    return {key: model.clone() for key in properties}


def one_survey(**setup):
    """Cross-hole travel times on a 12 x 8 grid, noisy, a few Gauss-Newton iterations."""
    return {
        "grid": {"nx": 12, "nz": 8, "dx": 5.0, "dz": 5.0},
        "family": {"name": fast_with_a_slow_block},
        "properties": {"tt": {"property": "velocity", "range": [LOW, HIGH]}},
        "physics": {"tt": {"spec": {"physics": "traveltime", "constructor": "crosshole",
                                    "n_sources": 6, "n_receivers": 6},
                           "noise": {"relative_error": 0.03}, "coverage_probes": 4,
                           "setup": setup}},
        "inversion": {"max_iterations": 4, "cg_max_iterations": 10},
        "n_samples": 1, "seed": 5,
    }


def test_the_inversions_keep_the_declared_range():
    config = validate_dataset_config(one_survey())
    record = make_sample(config, 0)
    assert record["status"] == "complete", record.get("traceback")
    recovered = record["inputs"][0]
    # slowness cells are bounded at 1 / HIGH: the velocity comes back within round-off
    assert recovered.max() <= HIGH * (1 + 1e-12)
    assert recovered.min() >= LOW * (1 - 1e-12)
    assert np.isclose(recovered.max(), HIGH, rtol=1e-9)  # the bound is active somewhere
    # the default is not written into the config: the hash of a config stays what it was
    assert "bounds" not in config["physics"]["tt"]["setup"]


def test_setup_bounds_replace_the_range():
    unbounded = validate_dataset_config(one_survey(bounds=[None, None]))
    assert unbounded["physics"]["tt"]["setup"]["bounds"] == [None, None]
    wider = validate_dataset_config(one_survey(bounds=[500, None]))
    assert wider["physics"]["tt"]["setup"]["bounds"] == [500.0, None]
    assert validate_dataset_config(wider) == wider
    # with the operator's defaults the same sample leaves the range: the bound above does work
    record = make_sample(unbounded, 0)
    assert record["status"] == "complete"
    assert record["inputs"][0].max() > HIGH * (1 + 1e-6)


@pytest.mark.parametrize("change, error, message", [
    ({"range": [LOW, float("inf")]}, DatasetConfigError,
     "config properties.tt.range must hold finite numbers, got [1000.0, inf]"),
    ({"bounds": 1500.0}, DatasetConfigError,
     "config physics.tt.setup.bounds must be a [low, high] pair of numbers or null, got 1500.0"),
    ({"bounds": ["slow", None]}, TypeError,
     "config physics.tt.setup.bounds must be a number, got 'slow'"),
    ({"bounds": [None, float("nan")]}, DatasetConfigError,
     "config physics.tt.setup.bounds must hold finite numbers (null for no bound)"),
    ({"bounds": [3000.0, 500.0]}, DatasetConfigError,
     "config physics.tt.setup.bounds must satisfy low < high, got [3000.0, 500.0]"),
    ({"bounds": [1200.0, None]}, DatasetConfigError,
     "config physics.tt.setup.bounds [1200.0, None] must contain properties.tt.range "
     "[1000.0, 2000.0], where the true models lie"),
])
def test_malformed_bounds_are_named(change, error, message):
    config = one_survey()
    if "range" in change:
        config["properties"]["tt"]["range"] = change["range"]
    else:
        config["physics"]["tt"]["setup"]["bounds"] = change["bounds"]
    with pytest.raises(error, match=re.escape(message)):
        validate_dataset_config(config)


def test_bounds_the_inversion_map_cannot_take_stop_the_build_before_work(tmp_path):
    with pytest.raises(DatasetConfigError, match=re.escape(
            "config physics.tt.setup.bounds [-1.0, None] (by default properties.tt.range): "
            "bounds of a reciprocal-mapped property must be > 0")):
        build_dataset(one_survey(bounds=[-1.0, None]), tmp_path / "store", workers=0,
                      progress=False)
    assert not (tmp_path / "store").exists()

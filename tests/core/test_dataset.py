"""Dataset builder: config errors before any work, store semantics, the torch Dataset."""

import errno
import re
import time

import numpy as np
import pytest
import torch

from jointinv.dataset import (
    DatasetConfigError,
    DatasetStore,
    DatasetStoreError,
    JointInversionDataset,
    build_dataset,
    validate_dataset_config,
)
from jointinv.dataset import store as store_module
from jointinv.dataset.cli import main
from jointinv.dataset.toy import dike


def tiny_config(n_samples=4, **changes):
    """Two cheap travel-time surveys on a 12 x 8 grid (one randomised)."""
    config = {
        "grid": {"nx": 12, "nz": 8, "dx": 5.0, "dz": 5.0},
        "family": {"name": dike},
        "properties": {"fast": {"property": "velocity", "range": [1500.0, 3000.0]},
                       "slow": {"property": "velocity", "range": [1000.0, 2000.0]}},
        "physics": {
            "fast": {"spec": {"physics": "traveltime", "constructor": "crosshole",
                              "n_sources": 6, "n_receivers": 6},
                     "noise": {"relative_error": 0.01}, "coverage_probes": "exact"},
            "slow": {"spec": {"physics": "traveltime", "constructor": "crosshole",
                              "n_sources": 5, "n_receivers": 5},
                     "noise": {"relative_error": 0.01}, "initial": 1400.0,
                     "randomise": {"n_sources": [3, 6], "borehole_depth": [20.0, 40.0]}},
        },
        "inversion": {"max_iterations": 2, "cg_max_iterations": 5},
        "n_samples": n_samples,
        "seed": 3,
    }
    config.update(changes)
    return config


def failing_family(grid, index, seed, properties):
    if index == 2:
        raise RuntimeError("no geology today")
    return dike(grid, index, seed, properties)


# -- bad configs: clear errors, before any work (the store is never created) --------------
@pytest.mark.parametrize("change, error, message", [
    ({"family": {"name": "no_such_family"}}, ValueError, "no_such_family"),
    ({"family": {"name": "jointinv.dataset.toy:no_such"}}, DatasetConfigError,
     "has no callable 'no_such'"),
    ({"properties": {"fast": {"property": "velocity", "range": [2000.0, 2000.0]},
                     "slow": {"property": "velocity", "range": [1000.0, 2000.0]}}},
     DatasetConfigError, "properties.fast.range must be a non-empty interval"),
    ({"properties": {"fast": {"property": "velocity", "range": [3000.0, 1500.0]},
                     "slow": {"property": "velocity", "range": [1000.0, 2000.0]}}},
     DatasetConfigError, "properties.fast.range must satisfy low <= high"),
    ({"properties": {"fast": {"property": "velocity", "range": [1500.0, 3000.0]}}},
     DatasetConfigError, "physics and properties must have the same keys"),
    ({"n_samples": 0}, DatasetConfigError, "n_samples must be >= 1"),
    ({"inversion": {"max_iteration": 2}}, TypeError, "unknown solver options"),
])
def test_bad_config_refused_before_work(tmp_path, change, error, message):
    with pytest.raises(error, match=re.escape(message)):
        build_dataset(tiny_config(**change), tmp_path / "store", workers=0, progress=False)
    assert not (tmp_path / "store").exists()


def test_unknown_physics_names_the_installed_ones(tmp_path):
    config = tiny_config()
    config["physics"]["fast"]["spec"]["physics"] = "gravitty"
    with pytest.raises(DatasetConfigError, match=r"physics.fast.spec.physics: unknown physics "
                                                 r"'gravitty'; installed: \[.*'traveltime'"):
        build_dataset(config, tmp_path / "store", workers=0, progress=False)
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("physics, message", [
    ({"randomise": {"kernel": [1, 2]}}, "can randomise only ['borehole_depth', 'n_receivers'"),
    ({"noise": {"relative_error": 0.0}}, "needs relative_error > 0 or noise_floor > 0"),
    ({"initial": 9000.0}, "initial must be 'data' or a value in properties.fast.range"),
    ({"colour": "red"}, "physics.fast has unknown keys ['colour']"),
    ({"coverage_probes": 0}, "coverage_probes must be 'exact' or an integer >= 1, got 0"),
])
def test_bad_physics_entries(physics, message):
    config = tiny_config()
    config["physics"]["fast"].update(physics)
    with pytest.raises(DatasetConfigError, match=re.escape(message)):
        validate_dataset_config(config)


def test_property_must_match_the_physics(tmp_path):
    config = tiny_config()
    config["properties"]["fast"]["property"] = "log10 resistivity"
    with pytest.raises(DatasetConfigError, match="inverts for 'velocity'"):
        build_dataset(config, tmp_path / "store", workers=0, progress=False)


def test_missing_draw_sample_is_a_clear_error(tmp_path, monkeypatch):
    import jointinv.synthetic as synthetic

    monkeypatch.delattr(synthetic, "draw_sample", raising=False)
    with pytest.raises(DatasetConfigError, match="draw_sample is not available"):
        build_dataset(tiny_config(family={"name": "mixed"}), tmp_path / "store", workers=0,
                      progress=False)


def test_unreachable_scheduler_fails_fast(tmp_path):
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match=r"cannot reach the Dask scheduler at "
                                              r"'tcp://127.0.0.1:9'"):
        build_dataset(tiny_config(), tmp_path / "store", scheduler="tcp://127.0.0.1:9",
                      progress=False)
    assert time.perf_counter() - start < 15
    assert not (tmp_path / "store").exists()
    with pytest.raises(ValueError, match="scheduler must be an address like"):
        build_dataset(tiny_config(), tmp_path / "store", scheduler="localhost", progress=False)


def test_bad_worker_counts():
    with pytest.raises(ValueError, match=r"workers must be in \[0, \d+\]"):
        build_dataset(tiny_config(), "unused", workers=999, progress=False)
    with pytest.raises(ValueError, match="workers cannot be given with scheduler"):
        build_dataset(tiny_config(), "unused", workers=1, scheduler="tcp://127.0.0.1:9",
                      progress=False)


# -- building and reading ---------------------------------------------------------------
def test_64_sample_store_read_back(tmp_path):
    start = time.perf_counter()
    summary = build_dataset(tiny_config(64), tmp_path / "store", workers=0, progress=False,
                            threads_per_worker=1)
    elapsed = time.perf_counter() - start
    assert (summary.complete, summary.failed, summary.built) == (64, 0, 64)
    assert elapsed < 60, f"64 tiny samples took {elapsed:.1f} s"
    dataset = JointInversionDataset(tmp_path / "store")
    assert len(dataset) == 64 and dataset.keys == ["fast", "slow"]
    inputs, targets = dataset[5]
    assert inputs.shape == (4, 8, 12) and targets.shape == (2, 8, 12)
    assert inputs.dtype == targets.dtype == torch.float32
    coverage = inputs[2:]
    assert float(coverage.max()) == pytest.approx(1.0) and float(coverage.min()) >= 0.0
    raw = DatasetStore.open(tmp_path / "store", mode="r").read_sample(dataset.sample_index(5))
    torch.testing.assert_close(dataset.denormalise(targets),
                               torch.as_tensor(raw["targets"], dtype=torch.float32))
    # normalised targets have zero mean and unit variance over the store
    stacked = torch.stack([dataset[i][1] for i in range(len(dataset))])
    torch.testing.assert_close(stacked.mean(dim=(0, 2, 3)), torch.zeros(2), atol=1e-4, rtol=0)
    torch.testing.assert_close(stacked.std(dim=(0, 2, 3)), torch.ones(2), atol=1e-3, rtol=0)
    marker = raw["marker"]
    assert marker["seed"] == 3 and marker["status"] == "complete"
    assert set(marker["chi_squared_per_datum"]) == {"fast", "slow"}
    survey = marker["survey"]["slow"]  # randomised: explicit borehole tables
    assert 3 <= len(survey["sources"]) <= 6 and survey["sources"][-1][1] <= 40.0
    assert len((tmp_path / "store" / "build.log").read_text().splitlines()) == 64


def test_range_normalisation_maps_the_config_range_to_unit_interval(tmp_path):
    build_dataset(tiny_config(2), tmp_path / "store", workers=0, progress=False)
    dataset = JointInversionDataset(tmp_path / "store", normalisation="range", coverage=False)
    inputs, targets = dataset[0]
    assert inputs.shape == (2, 8, 12)
    assert float(targets.abs().max()) <= 1.0
    torch.testing.assert_close(dataset.denormalise(torch.ones(2, 1, 1)).flatten(),
                               torch.tensor([3000.0, 2000.0]))


def test_existing_store_refused_then_resume_and_overwrite(tmp_path):
    path = tmp_path / "store"
    build_dataset(tiny_config(3), path, workers=0, progress=False)
    with pytest.raises(DatasetStoreError, match="already exists; use --resume"):
        build_dataset(tiny_config(3), path, workers=0, progress=False)
    assert build_dataset(tiny_config(3), path, resume=True, workers=0, progress=False).built == 0
    grown = build_dataset(tiny_config(3), path, n_samples=5, resume=True, workers=0,
                          progress=False)
    assert (grown.built, grown.complete) == (2, 5)
    with pytest.raises(DatasetStoreError, match=r"config differs .*keys \['seed'\]"):
        build_dataset(tiny_config(5, seed=4), path, resume=True, workers=0, progress=False)
    again = build_dataset(tiny_config(2), path, overwrite=True, workers=0, progress=False)
    assert (again.n_samples, again.built) == (2, 2)
    (tmp_path / "other").mkdir()
    with pytest.raises(DatasetStoreError, match="not a jointinv dataset store"):
        build_dataset(tiny_config(2), tmp_path / "other", overwrite=True, workers=0,
                      progress=False)


def test_failed_sample_is_recorded_and_the_build_goes_on(tmp_path, capsys):
    summary = build_dataset(tiny_config(4, family={"name": failing_family}), tmp_path / "store",
                            workers=0, progress=False)
    assert (summary.complete, summary.failed) == (3, 1)
    marker = DatasetStore.open(tmp_path / "store", mode="r").markers()[2]
    assert marker["status"] == "failed" and "no geology today" in marker["error"]
    assert "index=2 status=failed" in (tmp_path / "store" / "build.log").read_text()
    with pytest.raises(ValueError, match=re.escape("lacks 1 of its 4 samples (0 missing, "
                                                   "1 failed)")):
        JointInversionDataset(tmp_path / "store")
    assert len(JointInversionDataset(tmp_path / "store", allow_missing=True)) == 3
    assert main(["info", str(tmp_path / "store")]) == 0
    assert "3 complete, 1 failed, 0 missing of 4" in capsys.readouterr().out


def test_disk_full_leaves_a_consistent_store_that_resume_finishes(tmp_path, monkeypatch):
    real = store_module._write_json_atomic
    calls = []

    def full_disk(path, content):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, content)

    monkeypatch.setattr(store_module, "_write_json_atomic", full_disk)
    with pytest.raises(DatasetStoreError, match="write sample 2 .* the disk is full.*--resume"):
        build_dataset(tiny_config(5), tmp_path / "store", workers=0, progress=False)
    store = DatasetStore.open(tmp_path / "store", mode="r")
    assert store.complete_indices() == [0, 1] and store.missing_indices() == [2, 3, 4]
    with pytest.raises(ValueError, match=re.escape("lacks 3 of its 5 samples (3 missing")):
        JointInversionDataset(tmp_path / "store")
    monkeypatch.setattr(store_module, "_write_json_atomic", real)
    resumed = build_dataset(tiny_config(5), tmp_path / "store", resume=True, workers=0,
                            progress=False)
    assert (resumed.built, resumed.complete) == (3, 5)


def test_permission_denied_at_creation_leaves_nothing(tmp_path, monkeypatch):
    import zarr

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(zarr, "open_group", denied)
    with pytest.raises(DatasetStoreError, match="create the store .*permission denied"):
        build_dataset(tiny_config(2), tmp_path / "store", workers=0, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_samples_do_not_depend_on_order_or_batch(tmp_path):
    build_dataset(tiny_config(4), tmp_path / "a", workers=0, progress=False)
    build_dataset(tiny_config(2), tmp_path / "b", workers=0, progress=False)
    build_dataset(tiny_config(4), tmp_path / "b", n_samples=4, resume=True, workers=0,
                  progress=False)
    a = DatasetStore.open(tmp_path / "a", mode="r")
    b = DatasetStore.open(tmp_path / "b", mode="r")
    for name in ("inputs", "targets", "coverage", "chi_squared_per_datum"):
        np.testing.assert_array_equal(a.group[name][:], b.group[name][:])


def test_existing_scheduler_builds_the_same_samples(tmp_path):
    distributed = pytest.importorskip("distributed")
    threads = torch.get_num_threads()
    build_dataset(tiny_config(3), tmp_path / "serial", workers=0, threads_per_worker=1,
                  progress=False)
    try:
        with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                      dashboard_address=":0") as cluster:
            summary = build_dataset(tiny_config(3), tmp_path / "dask", progress=False,
                                    scheduler=cluster.scheduler_address)
    finally:
        torch.set_num_threads(threads)
    assert summary.complete == 3 and summary.runner == f"Dask scheduler {cluster.scheduler_address}"
    a = DatasetStore.open(tmp_path / "serial", mode="r")
    b = DatasetStore.open(tmp_path / "dask", mode="r")
    np.testing.assert_array_equal(a.group["inputs"][:], b.group["inputs"][:])


# -- the per-sample pieces against independent values ---------------------------------
@pytest.fixture
def crosshole():
    from jointinv.physics_spec import build_grid, build_operator

    grid = build_grid({"nx": 6, "nz": 4, "dx": 5.0, "dz": 5.0})
    return build_operator(grid, {"physics": "traveltime", "constructor": "crosshole",
                                 "n_sources": 3, "n_receivers": 3})


def test_homogeneous_fit_recovers_a_homogeneous_truth(crosshole):
    from jointinv.dataset.sample import homogeneous_fit

    truth = torch.full(crosshole.grid.shape, 2345.0, dtype=torch.float64)
    data = crosshole.simulate(truth, relative_error=0.02, add_noise=False)
    fitted = homogeneous_fit(crosshole, data, (1000.0, 4000.0))
    torch.testing.assert_close(fitted, truth, rtol=1e-9, atol=0)
    # kept inside the property range
    assert float(homogeneous_fit(crosshole, data, (1000.0, 2000.0)).max()) == 2000.0


def test_coverage_is_the_weighted_column_norm_of_the_jacobian(crosshole):
    from jointinv.dataset.sample import coverage_map

    velocity = torch.linspace(1500.0, 2500.0, 24, dtype=torch.float64).reshape(4, 6)
    data = crosshole.simulate(velocity, relative_error=0.05, seed=1)
    # travel time t = L (1 / v): dt/dv = -L / v^2, rows weighted by 1 / sigma
    lengths = crosshole.matrix.toarray()
    jacobian = -lengths / velocity.numpy().reshape(1, -1) ** 2
    weighted = jacobian / data.standard_deviation.numpy().reshape(-1, 1)
    expected = np.sqrt((weighted ** 2).sum(axis=0)).reshape(4, 6)
    expected /= expected.max()
    for probes in ("exact", 9):  # n_data = 9 <= probes: exact as well
        exact = coverage_map(crosshole, velocity, data, probes=probes, seed=0)
        np.testing.assert_allclose(exact, expected, rtol=1e-5, atol=1e-6)
    estimate = coverage_map(crosshole, velocity, data, probes=8, seed=0)
    assert estimate.dtype == np.float32 and float(estimate.max()) == 1.0
    assert np.abs(estimate - expected).max() < 0.5  # 8 random probes: a rough estimate


def test_example_config_is_valid():
    from pathlib import Path

    from jointinv.dataset import load_dataset_config

    example = Path(__file__).resolve().parents[2] / "examples" / "dataset" / "joint_tt_dc.yaml"
    config = load_dataset_config(example)
    assert config["grid"] == {"nx": 80, "nz": 40, "dx": 2.5, "dz": 2.5}
    assert list(config["physics"]) == ["traveltime", "dcr"]
    assert config["physics"]["dcr"]["noise"]["relative_error"] == 0.03
    # the family ablation's config differs from it in the family only
    other = load_dataset_config(example.with_name("joint_tt_dc_any_family.yaml"))
    assert other["family"]["name"] == "any"
    assert {**other, "family": config["family"]} == config

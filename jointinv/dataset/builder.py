"""Build a training set: every sample's independent inversions, in parallel, into a store.

>>> summary = build_dataset("examples/dataset/joint_tt_dc.yaml", "tt_dc.zarr",
...                         n_samples=8, workers=2)                # doctest: +SKIP

Order of work: the config is validated and checked in this process (the
operators are built and sample 0's true models drawn), the store's state is
checked (refused when it exists without ``resume``/``overwrite``), the
cluster is started or reached — all before any sample runs. Then samples run
(see :mod:`jointinv.dataset.executors`) and this process writes each one as it
completes, with one line in ``STORE/build.log`` and a progress bar (samples/s,
ETA). A failed sample is recorded with its error and the build goes on.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .config import DatasetConfigError, family_label, load_dataset_config, validate_dataset_config
from .executors import check_scheduler_address, make_runner, plan_workers
from .sample import draw_true_models
from .store import DatasetStore, DatasetStoreError

__all__ = ["build_dataset", "BuildSummary", "check_runtime"]


@dataclass
class BuildSummary:
    """What one :func:`build_dataset` call did.

    Attributes
    ----------
    store : pathlib.Path
    n_samples : int
        Sample slots of the store.
    built : int
        Samples run by this call (complete or failed).
    complete, failed : int
        Samples of the whole store.
    elapsed : float
        Seconds this call spent running samples (after the cluster started).
    samples_per_hour : float
        ``built / elapsed`` x 3600.
    runner : str
        Where the samples ran.
    """

    store: Path
    n_samples: int
    built: int
    complete: int
    failed: int
    elapsed: float
    samples_per_hour: float
    runner: str

    def __str__(self) -> str:
        return (f"{self.store}: {self.complete}/{self.n_samples} samples complete, "
                f"{self.failed} failed; this run built {self.built} in {self.elapsed:.1f} s "
                f"({self.samples_per_hour:.0f} samples/hour, {self.runner})")


def _stored_config(config: dict) -> dict:
    """The config as JSON (a callable family written as ``module:qualname``)."""
    stored = dict(config, family=dict(config["family"],
                                      name=family_label(config["family"]["name"])))
    return json.loads(json.dumps(stored))


def check_runtime(config: dict):
    """Build every operator and draw sample 0 here, so a config that cannot work fails now.

    Returns the grid. Raises ``ValueError``/``TypeError`` naming the config key.
    """
    from ..maps import get_map
    from ..physics_setup import variable_bounds
    from ..physics_spec import build_grid, build_operator
    from .sample import inversion_bounds

    grid = build_grid(config["grid"], "config grid")
    for key, entry in config["physics"].items():
        operator = build_operator(grid, entry["spec"], f"config physics.{key}.spec")
        wanted = config["properties"][key]["property"]
        if operator.property != wanted:
            raise DatasetConfigError(f"config properties.{key}.property is {wanted!r} but "
                                     f"physics.{key} ({entry['spec']['physics']}) inverts for "
                                     f"{operator.property!r}")
        bounds = inversion_bounds(config, key)
        try:  # the check every sample's PhysicsSetup makes, once here
            if bounds is not None:
                variable_bounds(get_map(operator.inversion_map), bounds, None)
        except ValueError as error:
            raise DatasetConfigError(
                f"config physics.{key}.setup.bounds {list(bounds)} (by default "
                f"properties.{key}.range): {error}; [null, null] gives the operator's "
                f"defaults") from error
    draw_true_models(config, grid, 0)
    return grid


def _check_existing(path: Path, stored: dict, resume: bool, overwrite: bool) -> None:
    """Refuse, before any work, a store that exists without ``resume``/``overwrite``, or
    one that ``resume`` cannot continue (not a store, another config)."""
    if not path.exists() or overwrite:
        return
    if not resume:
        raise DatasetStoreError(f"{path} already exists; use --resume to build its missing "
                                f"samples or --overwrite to start again")
    if not DatasetStore.is_store(path):
        raise DatasetStoreError(f"--resume: {path} is not a jointinv dataset store")
    old = DatasetStore.open(path, mode="r").config
    changed = sorted(k for k in set(old) | set(stored)
                     if old.get(k) != stored.get(k) and k != "n_samples")
    if changed:
        raise DatasetStoreError(f"--resume: the config differs from the one {path} was built "
                                f"with (keys {changed}); use the same config, --overwrite, or "
                                f"a new store")


def _open_store(path: Path, config, grid, stored: dict, overwrite: bool,
                grow: bool) -> DatasetStore:
    if path.exists() and overwrite:
        DatasetStore.remove(path)
    if not path.exists():
        return DatasetStore.create(path, config, grid.shape, stored)
    store = DatasetStore.open(path)
    if grow and config["n_samples"] > store.n_samples:
        store.resize(config["n_samples"])
        store.set_attrs(config=stored)
    return store


def _log_line(record: dict, keys) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    line = (f"{stamp} index={record['index']} status={record['status']} "
            f"wall_time={record['wall_time']:.2f}s cpu_time={record['cpu_time']:.2f}s "
            f"host={record['host']} pid={record['pid']} threads={record['threads']}")
    if record["status"] == "complete":
        return line + " " + " ".join(f"chi2/N[{k}]={record['chi_squared_per_datum'][k]:.3g}"
                                     for k in keys)
    return line + f" error={record['error']!r}"


def build_dataset(config, store, n_samples: int | None = None, resume: bool = False,
                  overwrite: bool = False, workers: int | None = None,
                  scheduler: str | None = None, progress: bool = True,
                  threads_per_worker: int | None = None) -> BuildSummary:
    """Build (or finish) a training set of independent-inversion samples.

    Parameters
    ----------
    config : dict or path
        Dataset config (:mod:`jointinv.dataset.config`) or a YAML file.
    store : path
        Zarr directory store (:mod:`jointinv.dataset.store`).
    n_samples : int, optional
        Overrides ``config["n_samples"]`` (with ``resume``, may grow the store).
    resume : bool
        Build exactly the samples the store lacks (no marker); complete and
        failed samples are kept. The store keeps its number of samples unless
        ``n_samples`` is given and larger.
    overwrite : bool
        Delete an existing store first.
    workers : int, optional
        Local worker processes, 0 to run in this process (default: one per core).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``) instead of a
        local cluster; unreachable → ``ConnectionError`` within 5 s, before any work.
    progress : bool
        Progress bar (samples/s, ETA) on stderr.
    threads_per_worker : int, optional
        Torch/BLAS threads per sample (default: cores // workers).

    Returns
    -------
    BuildSummary

    Raises
    ------
    ValueError, TypeError
        Bad config or arguments (before any work).
    DatasetStoreError
        Existing store without ``resume``/``overwrite``, a config that differs
        from the store's, or an ``OSError`` while writing (the store stays
        consistent; rerun with ``resume``).
    ConnectionError
        Unreachable scheduler.
    """
    from tqdm.auto import tqdm

    if resume and overwrite:
        raise ValueError("resume and overwrite exclude each other: choose one")
    config = (validate_dataset_config(config) if isinstance(config, dict)
              else load_dataset_config(config))
    if n_samples is not None:
        config = validate_dataset_config(dict(config, n_samples=n_samples))
    scheduler = check_scheduler_address(scheduler)
    workers, threads = plan_workers(workers, threads_per_worker, scheduler)
    path, stored = Path(store), _stored_config(config)
    _check_existing(path, stored, resume, overwrite)
    grid = check_runtime(config)
    runner = make_runner(workers, threads, scheduler)
    try:
        target = _open_store(path, config, grid, stored, overwrite, n_samples is not None)
        todo = target.missing_indices()
        bar = tqdm(total=len(todo), desc="dataset", unit="sample", disable=not progress,
                   file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
        if progress:
            bar.write(f"{len(todo)} samples to build into {path} ({runner.description})",
                      file=sys.stderr)
        start, built, failed = time.perf_counter(), 0, 0
        try:
            for record in runner.run(config, todo):
                target.write_sample(record)
                try:
                    target.append_log(_log_line(record, target.keys))
                except OSError as error:
                    raise DatasetStoreError(f"could not append to {path / 'build.log'}: "
                                            f"{error}; the store is consistent") from error
                built += 1
                failed += record["status"] == "failed"
                bar.update(1)
                if failed:
                    bar.set_postfix(failed=failed)
        finally:
            bar.close()
        elapsed = time.perf_counter() - start
    finally:
        runner.close()
    try:
        target.compute_statistics()
    except OSError as error:
        raise DatasetStoreError(f"could not write the statistics of {path}: {error}; the "
                                f"samples are stored, run again with --resume") from error
    markers = target.markers()
    complete = sum(m["status"] == "complete" for m in markers.values())
    return BuildSummary(path, target.n_samples, built, complete, len(markers) - complete,
                        elapsed, 3600.0 * built / elapsed if elapsed > 0 else 0.0,
                        runner.description)

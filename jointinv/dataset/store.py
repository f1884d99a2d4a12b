"""On-disk store of a training set: a Zarr directory, one chunk per sample, atomic markers.

Why Zarr and not HDF5
---------------------
An HDF5 file is one file with internal B-trees and a free-space map: a process
killed (SIGKILL, out of memory, a cluster's wall-clock limit) in the middle of a
write can leave the whole file unreadable, and HDF5 allows one writer at a
time. A Zarr *directory* store keeps every chunk in its own file, and Zarr
writes each file to a temporary name and renames it (``os.replace``), so a
kill loses at most the sample being written and never damages another. With
one sample per chunk, writing sample ``i`` touches only its own files.

Atomic samples
--------------
A sample counts as present only when its marker ``samples/NNNNNN.json`` exists.
The marker is written last, to a temporary file and renamed, after every array
chunk of the sample; it holds the index, status (``complete`` or ``failed``
with the error), seed, per-physics chi-squared per datum, the survey specs
actually used, wall time, host and torch threads. A sample whose chunks were
written but whose marker was not (a kill in between) is rebuilt by
``--resume``. Power loss is not covered: files are not fsync'ed.

Layout::

    STORE/zarr.json                 root group; attrs: format, config, keys, grid, statistics
    STORE/inputs                    (N, P, nz, nx) float64  recovered models
    STORE/targets                   (N, P, nz, nx) float64  true models
    STORE/coverage                  (N, P, nz, nx) float32  coverage maps in [0, 1]
    STORE/chi_squared_per_datum     (N, P)         float64
    STORE/wall_time                 (N,)           float64  [s]
    STORE/samples/NNNNNN.json       per-sample markers (written last)
    STORE/build.log                 one line per sample

P is the number of physics, in the order of the config's ``physics``. Only
the builder's parent process writes (workers return arrays), so there is
never more than one writer, and the store needs no shared file system.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np

__all__ = ["DatasetStore", "DatasetStoreError", "STORE_FORMAT"]

STORE_FORMAT = "jointinv-dataset/1"
_ARRAYS = ("inputs", "targets", "coverage", "chi_squared_per_datum", "wall_time")


class DatasetStoreError(RuntimeError):
    """The store cannot be created, opened or written (the message says how to go on)."""


def _zarr():
    try:
        import zarr
    except ImportError:
        raise ImportError("jointinv.dataset needs zarr: pip install 'jointinv[dataset]'") from None
    return zarr


def _write_json_atomic(path: Path, content: dict) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    try:
        temporary.write_text(json.dumps(content, indent=1, sort_keys=True))
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _explain(error: OSError, path, action: str) -> str:
    if error.errno == errno.ENOSPC:
        cause = "the disk is full"
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        cause = "permission denied"
    else:
        cause = str(error)
    return f"could not {action} in the dataset store {path}: {cause} ({error})"


class DatasetStore:
    """A dataset store on disk (see the module docstring for the layout).

    Use :meth:`create` or :meth:`open`; :meth:`write_sample` from the one
    writing process; :meth:`read_sample`, :meth:`complete_indices` from any.
    """

    def __init__(self, path, group):
        self.path = Path(path)
        self.group = group
        self.attrs = dict(group.attrs)

    # -- life cycle -----------------------------------------------------------------
    @staticmethod
    def is_store(path) -> bool:
        """Whether ``path`` holds a jointinv dataset store."""
        root = Path(path) / "zarr.json"
        try:
            return json.loads(root.read_text())["attributes"]["format"] == STORE_FORMAT
        except (OSError, ValueError, KeyError, TypeError):
            return False

    @classmethod
    def create(cls, path, config: dict, grid_shape: tuple, stored_config: dict) -> DatasetStore:
        """A new, empty store at ``path`` (which must not exist), created atomically.

        The store is built in a temporary sibling folder and renamed into place,
        so a kill during creation leaves no half-made store at ``path``.
        """
        zarr = _zarr()
        path = Path(path)
        n, keys = config["n_samples"], list(config["physics"])
        nz, nx = grid_shape
        temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            group = zarr.open_group(str(temporary), mode="w-", zarr_format=3)
            shapes = {"inputs": ((n, len(keys), nz, nx), "float64"),
                      "targets": ((n, len(keys), nz, nx), "float64"),
                      "coverage": ((n, len(keys), nz, nx), "float32"),
                      "chi_squared_per_datum": ((n, len(keys)), "float64"),
                      "wall_time": ((n,), "float64")}
            for name, (shape, dtype) in shapes.items():
                group.create_array(name, shape=shape, chunks=(1,) + shape[1:], dtype=dtype,
                                   fill_value=np.nan)
            group.attrs.update({"format": STORE_FORMAT, "config": stored_config, "keys": keys,
                                "grid_shape": [nz, nx], "n_samples": n, "statistics": None})
            (temporary / "samples").mkdir()
            os.rename(temporary, path)
        except OSError as error:
            shutil.rmtree(temporary, ignore_errors=True)
            raise DatasetStoreError(_explain(error, path, "create the store")) from error
        return cls.open(path)

    @classmethod
    def open(cls, path, mode: str = "r+") -> DatasetStore:
        """Open an existing store (``mode`` "r" to read, "r+" to add samples)."""
        path = Path(path)
        if not cls.is_store(path):
            raise DatasetStoreError(f"{path} is not a jointinv dataset store (no zarr.json "
                                    f"with format {STORE_FORMAT!r})")
        group = _zarr().open_group(str(path), mode=mode)
        missing = [name for name in _ARRAYS if name not in group]
        if missing:
            raise DatasetStoreError(f"dataset store {path} lacks arrays {missing}; rebuild it "
                                    f"with --overwrite")
        if mode != "r":
            for leftover in path.rglob("*.partial"):  # temporary files of a killed writer
                leftover.unlink(missing_ok=True)
        return cls(path, group)

    @staticmethod
    def remove(path) -> None:
        """Delete a store (``--overwrite``); refuses a folder that is not a store."""
        path = Path(path)
        if path.exists() and not DatasetStore.is_store(path):
            raise DatasetStoreError(f"--overwrite refuses to delete {path}: it is not a jointinv "
                                    f"dataset store")
        shutil.rmtree(path, ignore_errors=False)

    # -- contents -------------------------------------------------------------------
    @property
    def n_samples(self) -> int:
        return int(self.attrs["n_samples"])

    @property
    def keys(self) -> list:
        return list(self.attrs["keys"])

    @property
    def config(self) -> dict:
        return self.attrs["config"]

    def resize(self, n_samples: int) -> None:
        """Grow the store to ``n_samples`` (``--resume --samples N`` with a larger N)."""
        if n_samples < self.n_samples:
            raise DatasetStoreError(f"the store holds {self.n_samples} sample slots; "
                                    f"--samples {n_samples} cannot shrink it")
        for name in _ARRAYS:
            array = self.group[name]
            array.resize((n_samples,) + array.shape[1:])
        self.set_attrs(n_samples=n_samples)

    def set_attrs(self, **attrs) -> None:
        self.group.attrs.update(attrs)
        self.attrs.update(attrs)

    def markers(self) -> dict:
        """``{index: marker dict}`` of every sample written (complete or failed)."""
        found = {}
        for path in (self.path / "samples").glob("[0-9]*.json"):
            marker = json.loads(path.read_text())
            if marker["index"] < self.n_samples:
                found[marker["index"]] = marker
        return found

    def complete_indices(self) -> list:
        return sorted(i for i, m in self.markers().items() if m["status"] == "complete")

    def missing_indices(self) -> list:
        """Indices with no marker: never built, or killed before the marker."""
        present = self.markers()
        return [i for i in range(self.n_samples) if i not in present]

    def write_sample(self, record: dict) -> None:
        """Write one sample from :func:`jointinv.dataset.sample.make_sample`, marker last.

        Raises
        ------
        DatasetStoreError
            Disk full, permission denied or any other ``OSError``; the sample's
            marker is then not written, so the store stays consistent (the
            sample counts as missing and ``--resume`` rebuilds it).
        """
        index = record["index"]
        marker = {k: v for k, v in record.items()
                  if k not in ("inputs", "targets", "coverage")}
        try:
            if record["status"] == "complete":
                self.group["inputs"][index] = record["inputs"]
                self.group["targets"][index] = record["targets"]
                self.group["coverage"][index] = record["coverage"]
                self.group["chi_squared_per_datum"][index] = [
                    record["chi_squared_per_datum"][key] for key in self.keys]
            self.group["wall_time"][index] = record["wall_time"]
            _write_json_atomic(self.path / "samples" / f"{index:06d}.json", marker)
        except OSError as error:
            raise DatasetStoreError(
                _explain(error, self.path, f"write sample {index}") +
                "; the store is consistent (the sample counts as missing): free space or fix "
                "the permissions, then run again with --resume") from error

    def read_sample(self, index: int) -> dict:
        """``inputs``, ``targets``, ``coverage`` (``(P, nz, nx)``) and the marker of a sample."""
        return {"inputs": self.group["inputs"][index], "targets": self.group["targets"][index],
                "coverage": self.group["coverage"][index],
                "marker": json.loads((self.path / "samples" / f"{index:06d}.json").read_text())}

    def compute_statistics(self) -> dict:
        """Per-property mean and standard deviation of the complete targets, stored in attrs.

        Returns
        -------
        dict
            ``{key: {"mean": float, "std": float, "range": [low, high]}}`` in
            the property's units (``range`` from the config).
        """
        indices = self.complete_indices()
        n_keys = len(self.keys)
        total, total_squares = np.zeros(n_keys), np.zeros(n_keys)
        for index in indices:
            values = np.asarray(self.group["targets"][index], dtype=np.float64)
            total += values.sum(axis=(1, 2))
            total_squares += (values ** 2).sum(axis=(1, 2))
        count = max(1, len(indices) * int(np.prod(self.attrs["grid_shape"])))
        mean = total / count
        std = np.sqrt(np.maximum(total_squares / count - mean ** 2, 0.0))
        statistics = {key: {"mean": float(mean[p]), "std": float(std[p]),
                            "range": self.config["properties"][key]["range"]}
                      for p, key in enumerate(self.keys)}
        self.set_attrs(statistics=statistics, statistics_samples=len(indices))
        return statistics

    def append_log(self, line: str) -> None:
        with open(self.path / "build.log", "a") as handle:
            handle.write(line.rstrip("\n") + "\n")

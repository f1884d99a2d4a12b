"""Where samples run: in this process, on a local Dask cluster, or on a Dask scheduler.

Each runner yields the records of :func:`jointinv.dataset.sample.make_sample`
as they complete; the builder's process writes them to the store (workers
never touch it, so a remote cluster needs no shared file system).

Threads: a local worker process runs one sample at a time (the inversion is
Python-heavy and holds the GIL, so two samples in one process would not run
in parallel); the cores left per worker go to torch/BLAS threads, set both in
the worker's environment (``OMP_NUM_THREADS`` ...) and by
``torch.set_num_threads`` inside the task, with ``workers x threads <= cores``.
"""

from __future__ import annotations

import logging
import os
import re

from .config import DatasetConfigError
from .sample import failed_record, make_sample

__all__ = ["DaskRunner", "SerialRunner", "available_cores", "check_scheduler_address",
           "make_runner", "plan_workers"]

_ADDRESS = re.compile(r"^(tcp|tls|inproc|ucx|ws|wss)://\S+$")
CONNECT_TIMEOUT = 5  # seconds to reach an existing scheduler


def available_cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _thread_env(threads: int) -> dict:
    return {name: str(threads) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                            "OPENBLAS_NUM_THREADS")}


class SerialRunner:
    """Samples one after the other in this process (``workers=0``; debugging, tests)."""

    description = "in this process"

    def __init__(self, threads: int):
        self.threads = threads

    def run(self, config: dict, indices):
        import torch

        caller_threads = torch.get_num_threads()  # make_sample sets the process's threads
        try:
            for index in indices:
                yield make_sample(config, index, self.threads)
        finally:
            torch.set_num_threads(caller_threads)

    def close(self) -> None:
        pass


class DaskRunner:
    """Samples as Dask tasks on a local cluster (default) or an existing scheduler.

    Parameters
    ----------
    workers : int or None
        Local worker processes (ignored with ``scheduler``).
    threads : int
        Torch/BLAS threads per sample.
    scheduler : str, optional
        Address of a running scheduler, e.g. ``"tcp://10.0.0.1:8786"``.
    """

    def __init__(self, workers: int | None, threads: int, scheduler: str | None = None):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ImportError("parallel dataset builds need dask.distributed: "
                              "pip install 'jointinv[dataset]'") from None
        self.threads = threads
        self.cluster = None
        if scheduler is not None:
            try:
                self.client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT}s",
                                     set_as_default=False)
            except (OSError, TimeoutError) as error:
                raise ConnectionError(f"scheduler: cannot reach the Dask scheduler at "
                                      f"{scheduler!r} within {CONNECT_TIMEOUT} s ({error}); "
                                      f"start it (dask scheduler) or omit --scheduler to use "
                                      f"a local cluster") from None
            self.description = f"Dask scheduler {scheduler}"
            return
        self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                    dashboard_address=":0", silence_logs=logging.ERROR,
                                    env=_thread_env(threads))
        self.client = Client(self.cluster, set_as_default=False)
        self.description = (f"local Dask cluster: {workers} worker process(es) x {threads} "
                            f"torch thread(s)")

    def run(self, config: dict, indices):
        from distributed import as_completed

        futures = self.client.map(make_sample, [config] * len(indices), list(indices),
                                  threads=self.threads, pure=False)
        index_of = {future.key: index for future, index in zip(futures, indices)}
        try:
            for future in as_completed(futures, loop=self.client.loop):
                try:
                    record = future.result()
                except DatasetConfigError:
                    raise
                except Exception as error:  # e.g. a worker killed by the OS: record it
                    record = failed_record(index_of[future.key], config, error)
                future.release()
                yield record
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def check_scheduler_address(scheduler) -> str | None:
    """``None`` or a well-formed scheduler address, else ``ValueError``."""
    if scheduler is None:
        return None
    if not isinstance(scheduler, str) or not _ADDRESS.match(scheduler):
        raise ValueError(f"scheduler must be an address like 'tcp://host:8786', "
                         f"got {scheduler!r}")
    return scheduler


def plan_workers(workers, threads, scheduler) -> tuple:
    """``(workers, threads)`` checked and completed: ``workers x threads <= cores``.

    ``workers`` None: one worker per core, 1 thread each; given: ``threads``
    defaults to ``cores // workers``. With ``scheduler`` the cluster owns the
    workers and each sample uses ``threads`` (default 1) torch threads.
    """
    cores = available_cores()
    for name, value in (("workers", workers), ("threads_per_worker", threads)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise TypeError(f"{name} must be an integer, got {value!r}")
    if scheduler is not None:
        if workers is not None:
            raise ValueError("workers cannot be given with scheduler: the scheduler's "
                             "cluster owns its workers")
        threads = 1 if threads is None else threads
        if threads < 1:
            raise ValueError(f"threads_per_worker must be >= 1, got {threads}")
        return None, threads
    if workers is None:
        workers = cores
    if not 0 <= workers <= cores:
        raise ValueError(f"workers must be in [0, {cores}] (0: in this process; this machine "
                         f"has {cores} cores), got {workers}")
    if threads is None:
        threads = max(1, cores // max(workers, 1))
    if not 1 <= threads <= cores // max(workers, 1):
        raise ValueError(f"threads_per_worker must be in [1, {cores // max(workers, 1)}] so "
                         f"that workers x threads <= {cores} cores, got {threads}")
    return workers, threads


def make_runner(workers, threads, scheduler):
    """The runner for checked ``(workers, threads, scheduler)``."""
    if scheduler is None and workers == 0:
        return SerialRunner(threads)
    return DaskRunner(workers, threads, scheduler)

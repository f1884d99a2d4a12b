"""Command line ``jointinv dataset build|info`` (wired into ``jointinv`` by :mod:`jointinv.cli`).

``add_dataset_parser(subparsers)`` adds the ``dataset`` command to the main
parser; :func:`main` runs it alone (``python -m jointinv.dataset build ...``).
Exit status: 0 done, 1 store or cluster error (the message says how to go
on), 2 bad config or arguments, 3 some samples failed (listed in
``STORE/build.log``), 130 interrupted (``--resume`` finishes the store).
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_dataset_parser", "build_parser", "run_dataset", "main"]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {value}")
    return value


def _nonnegative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {value}")
    return value


def add_dataset_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``dataset build`` and ``dataset info`` to ``subparsers`` (of the ``jointinv`` CLI)."""
    dataset = subparsers.add_parser(
        "dataset", help="build training data for learned coupling (independent inversions)",
        description="Training data: true models -> noisy data -> independent inversions, "
                    "stored sample by sample in a Zarr store.")
    _add_commands(dataset)
    return dataset


def _add_commands(parser) -> None:
    commands = parser.add_subparsers(dest="dataset_command", required=True)
    build = commands.add_parser("build", help="build or finish a dataset store from a YAML config")
    build.add_argument("config", help="YAML dataset config (see jointinv.dataset.config)")
    build.add_argument("--output", required=True, help="dataset store (a Zarr directory)")
    mode = build.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true",
                      help="build only the samples the store lacks")
    mode.add_argument("--overwrite", action="store_true", help="delete the store first")
    build.add_argument("--workers", type=_nonnegative, default=None,
                       help="local worker processes (0: in this process; default: one per core)")
    build.add_argument("--threads-per-worker", type=_positive, default=None,
                       help="torch/BLAS threads per sample (default: cores // workers)")
    build.add_argument("--scheduler", default=None,
                       help="address of a running Dask scheduler, e.g. tcp://host:8786")
    build.add_argument("--samples", type=_positive, default=None,
                       help="number of samples (overrides the config's n_samples)")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.set_defaults(run=run_dataset)
    info = commands.add_parser("info", help="summarise a dataset store")
    info.add_argument("store")
    info.set_defaults(run=run_dataset)


def _info(args) -> int:
    from .store import DatasetStore

    store = DatasetStore.open(args.store, mode="r")
    markers = store.markers()
    complete = [m for m in markers.values() if m["status"] == "complete"]
    wall = sorted(m["wall_time"] for m in complete)
    print(f"{store.path}: {len(complete)} complete, {len(markers) - len(complete)} failed, "
          f"{store.n_samples - len(markers)} missing of {store.n_samples}; physics "
          f"{store.keys}, grid {tuple(store.attrs['grid_shape'])}")
    if wall:
        print(f"wall time per sample: median {wall[len(wall) // 2]:.2f} s, max {wall[-1]:.2f} s")
    return 0


def run_dataset(args) -> int:
    """Run ``jointinv dataset build`` or ``jointinv dataset info`` from parsed ``args``."""
    from .builder import build_dataset
    from .store import DatasetStoreError

    try:
        if args.dataset_command == "info":
            return _info(args)
        summary = build_dataset(args.config, args.output, n_samples=args.samples,
                                resume=args.resume, overwrite=args.overwrite,
                                workers=args.workers, scheduler=args.scheduler,
                                progress=not args.quiet,
                                threads_per_worker=args.threads_per_worker)
    except (DatasetStoreError, ConnectionError, FileNotFoundError) as error:
        print(f"jointinv dataset: error: {error}", file=sys.stderr)
        return 1
    except (ValueError, TypeError) as error:
        print(f"jointinv dataset: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("jointinv dataset: interrupted; finished samples are stored, run again with "
              "--resume to build the rest", file=sys.stderr)
        return 130
    print(summary)
    return 3 if summary.failed else 0


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m jointinv.dataset`` (``build ...`` or ``info ...``)."""
    parser = argparse.ArgumentParser(prog="python -m jointinv.dataset")
    _add_commands(parser)
    return parser


def main(argv=None) -> int:
    """``python -m jointinv.dataset ARGS`` (the same as ``jointinv dataset ARGS``)."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    return args.run(args)

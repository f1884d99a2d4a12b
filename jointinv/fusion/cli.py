"""Command line ``jointinv train`` (for :mod:`jointinv.cli`), ``python -m jointinv.fusion train``.

``add_train_parser(subparsers)`` adds the ``train`` command to the main
parser; :func:`main` runs it alone. Exit status: 0 done, 1 store or
checkpoint error, 2 bad config or arguments, 130 interrupted (``--resume``
continues from the last finished epoch).
"""

from __future__ import annotations

import argparse
import sys

from ..dataset.cli import _positive  # the same argparse type as jointinv dataset

__all__ = ["add_train_parser", "build_parser", "run_train", "main"]


def _add_arguments(parser) -> None:
    parser.add_argument("config", nargs="?", default=None,
                        help="YAML training config (see jointinv.fusion.config; "
                             "default: all defaults)")
    parser.add_argument("--store", required=True, help="dataset store (jointinv dataset build)")
    parser.add_argument("--output", required=True,
                        help="folder for checkpoint.pt, network.pt, history.csv, "
                             "learning_curve.png")
    parser.add_argument("--resume", action="store_true",
                        help="continue OUTPUT/checkpoint.pt (same config and store)")
    parser.add_argument("--device", default=None,
                        help="torch device (default: the accelerator if any, else cpu)")
    parser.add_argument("--max-epochs", type=_positive, default=None,
                        help="stop after this many epochs in total (resume later)")
    parser.add_argument("--quiet", action="store_true", help="no line per epoch")
    parser.set_defaults(run=run_train)


def add_train_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``train`` to ``subparsers`` (of the ``jointinv`` CLI)."""
    train = subparsers.add_parser(
        "train", help="train the fusion network (learned coupling) on a dataset store",
        description="Train the U-Net fusion network: recovered models -> true models.")
    _add_arguments(train)
    return train


def run_train(args) -> int:
    from .config import TrainingConfigError
    from .training import train_fusion

    try:
        summary = train_fusion(args.config, args.store, args.output, resume=args.resume,
                               device=args.device, progress=not args.quiet,
                               max_epochs=args.max_epochs)
    except TrainingConfigError as error:
        print(f"jointinv train: error: {error}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as error:
        print(f"jointinv train: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("jointinv train: interrupted; continue with --resume", file=sys.stderr)
        return 130
    print(f"{summary.network}: best validation loss {summary.best_validation_loss:.4g} at "
          f"epoch {summary.best_epoch} of {summary.epochs} ({summary.n_train} training, "
          f"{summary.n_validation} validation samples; {summary.elapsed:.0f} s)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m jointinv.fusion",
                                     description="Learned coupling: the fusion network.")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train the fusion network on a dataset store")
    _add_arguments(train)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)

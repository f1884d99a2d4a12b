"""Command line: ``jointinv demo``, ``jointinv plugins``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ["main"]


def _demo(args) -> int:
    import torch

    from .cases import crosshole_traveltime_case
    from .inversion import invert

    torch.set_default_dtype(torch.float64)
    start = time.perf_counter()
    case = crosshole_traveltime_case(seed=args.seed)
    print(f"jointinv demo: {case.description} on a {case.operator.grid.nx} x "
          f"{case.operator.grid.nz} grid ({case.data.n_data} data)")
    result = invert(case.operator, case.data, case.initial_model, true_model=case.true_model,
                    solver=args.solver, max_iterations=args.max_iterations,
                    progress=not args.quiet)
    folder = result.save(Path(args.output))
    print(result.summary())
    print(f"finished in {time.perf_counter() - start:.1f} s; models, metrics and figures "
          f"written to {folder.resolve()}")
    return 0


def _plugins(args) -> int:
    from .registry import available_physics, load_physics

    for name in available_physics():
        try:
            cls = load_physics(name)
            print(f"{name:12s} {cls.__module__}.{cls.__name__}: {cls.property} [{cls.units}]")
        except Exception as error:  # a broken plugin must not hide the others
            print(f"{name:12s} (failed to load: {error})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jointinv", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the built-in cross-hole travel-time demo")
    demo.add_argument("--output", default="jointinv-output/demo",
                      help="folder for models, metrics and figures (default: %(default)s)")
    demo.add_argument("--solver", default="gauss_newton",
                      choices=["gauss_newton", "adam", "lbfgs"])
    demo.add_argument("--max-iterations", type=int, default=10)
    demo.add_argument("--seed", type=int, default=0, help="noise seed")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(run=_demo)
    plugins = commands.add_parser("plugins", help="list installed physics plugins")
    plugins.set_defaults(run=_plugins)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())

"""Command line: ``jointinv demo``, ``jointinv compare CONFIG``, ``jointinv plugins``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ["main"]


def _demo(args) -> int:
    if args.max_iterations is None:
        args.max_iterations = 10 if args.case == "crosshole" else 30
    if args.case != "crosshole":
        return _joint_demo(args)
    return _crosshole_demo(args)


def _joint_demo(args) -> int:
    from .compare import run_comparison

    start = time.perf_counter()
    print(f"jointinv demo: the {args.case} geology seen by cross-hole travel times and a "
          f"surface DC line, inverted independently and jointly with cross-gradient")
    config = {"case": args.case, "seed": args.seed, "output": args.output,
              "options": {"max_iterations": args.max_iterations},
              "strategies": [{"name": "independent"}, {"name": "cross_gradient"}]}
    study = run_comparison(config, progress=not args.quiet)
    print(study["table"])
    print(f"finished in {time.perf_counter() - start:.1f} s; models, metrics and figures "
          f"written to {Path(study['output']).resolve()}")
    return 0


def _compare(args) -> int:
    from .compare import run_comparison
    from .config import load_config

    config = load_config(args.config)
    if args.output:
        config["output"] = args.output
    start = time.perf_counter()
    study = run_comparison(config, progress=not args.quiet)
    print(study["table"])
    print(f"finished in {time.perf_counter() - start:.1f} s; written to "
          f"{Path(study['output']).resolve()}")
    return 0


def _crosshole_demo(args) -> int:
    from .cases import crosshole_traveltime_case
    from .inversion import invert

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
    demo = commands.add_parser(
        "demo", help="run a built-in demo: a joint seismic-DC case, or cross-hole travel times")
    demo.add_argument("--case", default="fault", choices=["fault", "dike", "crosshole"],
                      help="joint geology (fault, dike) inverted independently and with "
                           "cross-gradient, or the travel-time-only cross-hole case "
                           "(default: %(default)s)")
    demo.add_argument("--output", default="jointinv-output/demo",
                      help="folder for models, metrics and figures (default: %(default)s)")
    demo.add_argument("--solver", default="gauss_newton",
                      choices=["gauss_newton", "adam", "lbfgs"],
                      help="solver of the crosshole case")
    demo.add_argument("--max-iterations", type=int, default=None,
                      help="Gauss-Newton iterations (default: 10 crosshole, 30 joint)")
    demo.add_argument("--seed", type=int, default=0, help="noise seed")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(run=_demo)
    compare = commands.add_parser("compare", help="run a comparison study from a YAML config")
    compare.add_argument("config", help="YAML file (see jointinv.config for the keys)")
    compare.add_argument("--output", help="override the config's output folder")
    compare.add_argument("--quiet", action="store_true", help="no progress bars")
    compare.set_defaults(run=_compare)
    plugins = commands.add_parser("plugins", help="list installed physics plugins")
    plugins.set_defaults(run=_plugins)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TypeError) as error:
        # bad input: one clear line, not a traceback
        print(f"jointinv {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

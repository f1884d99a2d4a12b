"""Command line: jointinv demo, jointinv compare CONFIG, jointinv schema, jointinv plugins.

Runs write into an output folder that must be new or empty (or pass
--overwrite); every file is written atomically, and while a run is not
finished the folder holds an INCOMPLETE file listing what is done. Ctrl-C
stops a run with one line and exit code 130.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .validation import check_positive_int, check_seed

__all__ = ["main", "build_parser"]

#: Exit code of a run stopped by Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130
_DESCRIPTION = """Multi-physics geophysical joint inversion. Runs write into an output
folder that must be new or empty (or pass --overwrite); files are written
atomically, and while a run is not finished the folder holds an INCOMPLETE
file listing what is done. Ctrl-C stops a run cleanly (exit code 130)."""


def _argument(check):
    """An argparse type from a :mod:`jointinv.validation` check of integers."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        try:
            return check("value", value)
        except ValueError as error:  # "value must be ..., got ..."
            raise argparse.ArgumentTypeError(str(error).removeprefix("value ")) from None
    return parse


def _demo(args) -> int:
    if args.max_iterations is None:
        args.max_iterations = 10 if args.case == "crosshole" else 30
    if args.case == "fusion":
        return _fusion_demo(args)
    if args.case != "crosshole":
        return _joint_demo(args)
    return _crosshole_demo(args)


def _joint_solver_options(solver: str) -> dict:
    """``{"solver": solver}`` when the joint strategies take a solver.

    A strategy that does not would run its own solver: asking for another
    one is then an error, never silently ignored.
    """
    from .config import strategy_settings

    takes = all("solver" in strategy_settings(name) for name in ("independent", "cross_gradient"))
    if takes:
        return {"solver": solver}
    if solver != "gauss_newton":
        raise ValueError(f"--solver {solver} is not available for the joint cases yet "
                         f"(their strategies run gauss_newton only); use --case crosshole")
    return {}


def _demo_joint_method(solver: str) -> tuple[dict, str]:
    """The demo's joint strategy entry and how to say it, for ``solver``.

    The default method updates its structure guidance and mixture between
    Gauss-Newton iterations; a first-order solver runs the normalised
    cross-gradient instead.
    """
    from .joint_cases import DEMO_JOINT_METHOD

    if solver == "gauss_newton":
        method = DEMO_JOINT_METHOD
        couplings = " and ".join(f"{c['kind'].replace('_', '-')} (lambda={c['weight']:g})"
                                 for c in method["coupling"])
        return method, (f"structure-guided smoothness (edge contrast {method['edge_contrast']:g})"
                        f" with {couplings} couplings")
    return {"name": "cross_gradient"}, f"cross-gradient ({solver} runs no structure guidance)"


def _joint_demo(args) -> int:

    options = {"max_iterations": args.max_iterations, **_joint_solver_options(args.solver)}
    method, said = _demo_joint_method(args.solver)
    config = {"case": args.case, "seed": args.seed, "output": args.output, "options": options,
              "strategies": [{"name": "independent"}, dict(method)]}
    return _run_demo_comparison(
        args, config, f"jointinv demo: the {args.case} geology seen by cross-hole travel times "
                      f"and a surface DC line, inverted independently and jointly with {said}")


def _run_demo_comparison(args, config: dict, introduction: str) -> int:
    """Run a demo's comparison config, print its table and where it was written."""
    from .compare import run_comparison

    args.folder = Path(args.output)
    start = time.perf_counter()
    print(introduction)
    study = run_comparison(config, progress=not args.quiet, overwrite=args.overwrite,
                           command=f"jointinv demo --case {args.case}")
    print(study["table"])
    print(f"finished in {time.perf_counter() - start:.1f} s; models, metrics and figures "
          f"written to {Path(study['output']).resolve()}")
    return 0


#: The fusion demo's strategy: the network output as start and reference (the study's best).
FUSION_DEMO_STRATEGY = {"name": "fusion", "label": "fusion", "rounds": 2, "weight": 0.5,
                        "use_as": "both", "alpha_s": 0.05}


def _fusion_demo(args) -> int:
    """Independent, cross-gradient and fusion (shipped network) on the held-out fusion case."""
    from .fusion import shipped_network_path

    options = {"max_iterations": args.max_iterations, **_joint_solver_options(args.solver)}
    fusion = {**FUSION_DEMO_STRATEGY, "network": str(shipped_network_path())}
    config = {"case": "fusion", "seed": args.seed, "output": args.output, "options": options,
              "strategies": [{"name": "independent"}, {"name": "cross_gradient"}, fusion]}
    return _run_demo_comparison(
        args, config, "jointinv demo: a held-out sample of the shipped fusion network's training "
                      "family (cross-hole travel times and a surface DC line), inverted "
                      "independently, with cross-gradient and with the fusion network (2 rounds)")


def _compare(args) -> int:
    from .compare import run_comparison
    from .config import load_config

    config = load_config(args.config)
    if args.output:
        config["output"] = args.output
    args.folder = Path(config["output"])
    start = time.perf_counter()
    study = run_comparison(config, progress=not args.quiet, overwrite=args.overwrite,
                           command=f"jointinv compare {args.config}")
    print(study["table"])
    print(f"finished in {time.perf_counter() - start:.1f} s; written to "
          f"{Path(study['output']).resolve()}")
    return 0


def _crosshole_demo(args) -> int:
    from .cases import crosshole_traveltime_case
    from .inversion import invert
    from .outputs import RunFolder, check_output_folder

    folder = args.folder = check_output_folder(args.output, args.overwrite)
    start = time.perf_counter()
    with RunFolder(folder, f"jointinv demo --case crosshole --solver {args.solver}",
                   ["inversion", "result"]) as run:
        case = crosshole_traveltime_case(seed=args.seed)
        print(f"jointinv demo: {case.description} on a {case.operator.grid.nx} x "
              f"{case.operator.grid.nz} grid ({case.data.n_data} data)")
        run.start("inversion")
        result = invert(case.operator, case.data, case.initial_model,
                        true_model=case.true_model, solver=args.solver,
                        max_iterations=args.max_iterations, progress=not args.quiet)
        result.config = {"case": "crosshole", "seed": args.seed, "solver": args.solver,
                         "max_iterations": args.max_iterations}
        run.done("inversion")
        run.start("result")
        result.save(folder)
        run.done("result")
    print(result.summary())
    print(f"finished in {time.perf_counter() - start:.1f} s; models, metrics and figures "
          f"written to {folder.resolve()}")
    return 0


def _schema(args) -> int:
    from .config import schema_text

    print(schema_text())
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


def _add_run_options(command, output_help: str, default=None) -> None:
    command.add_argument("--output", default=default, help=output_help)
    command.add_argument("--overwrite", action="store_true",
                         help="write into an existing non-empty output folder, replacing "
                              "the files this run writes (others are left alone)")
    command.add_argument("--quiet", action="store_true", help="no progress display")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="jointinv", description=_DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"jointinv {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="run a built-in demo: a joint seismic-DC case, or cross-hole travel times",
        description="Run a built-in demo: a joint seismic-DC geology inverted independently "
                    "and jointly (structure-guided smoothness with cross-gradient and "
                    "petrophysical couplings), or cross-hole travel times alone.")
    demo.add_argument("--case", default="fault", choices=["fault", "dike", "crosshole", "fusion"],
                      help="joint geology (fault, dike) inverted independently and jointly "
                           "(structure-guided smoothness with cross-gradient and petrophysical "
                           "couplings), the travel-time-only cross-hole case, or "
                           "fusion: a held-out sample of the shipped fusion network's "
                           "training family, inverted independently, with cross-gradient "
                           "and with the network (default: %(default)s)")
    _add_run_options(demo, "folder for models, metrics and figures, new or empty "
                           "(default: %(default)s)", default="jointinv-output/demo")
    demo.add_argument("--solver", default="gauss_newton",
                      choices=["gauss_newton", "adam", "lbfgs"],
                      help="solver of every inversion (default: %(default)s)")
    demo.add_argument("--max-iterations", type=_argument(check_positive_int), default=None,
                      help="solver iterations, >= 1 (default: 10 crosshole, 30 joint)")
    demo.add_argument("--seed", type=_argument(check_seed), default=0,
                      help="noise seed, >= 0 (default: 0)")
    demo.set_defaults(run=_demo)
    compare = commands.add_parser(
        "compare", help="run several strategies on one joint case from a YAML config",
        description="Run several strategies on one joint case from a YAML config.",
        epilog="jointinv schema lists every config key with its type, range and default.")
    compare.add_argument("config", help="YAML file; see jointinv schema for its keys")
    _add_run_options(compare, "output folder, new or empty (default: the config's output)")
    compare.set_defaults(run=_compare)
    schema = commands.add_parser(
        "schema", help="list every key of a compare config with its type, range and default")
    schema.set_defaults(run=_schema)
    from .dataset.cli import add_dataset_parser
    from .fusion.cli import add_train_parser

    add_dataset_parser(commands)
    add_train_parser(commands)
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
    except KeyboardInterrupt:
        folder = getattr(args, "folder", None)
        where = (f"; finished parts are in {folder}, listed in {folder / 'INCOMPLETE'}"
                 if folder is not None and (folder / "INCOMPLETE").exists() else "")
        if sys.stderr.isatty():
            print("\r\033[K", end="", file=sys.stderr)  # clear a half-drawn progress bar
        print(f"jointinv {args.command}: interrupted by Ctrl-C{where}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # output piped into a reader that stopped (jointinv schema | head): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())

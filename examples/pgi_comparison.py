"""SimPEG's PGI against jointinv's petrophysical coupling, on DC lines alone.

Both invert the same DC data with the same SimPEG simulation (the one inside
jointinv's DC operator: ``operator.simulation``, whose model is log10
resistivity on the grid's cells) from the same homogeneous start, on the five
cases of ``examples/coupling_study.py`` (the DC line of each):

- ``jointinv Tikhonov``: jointinv's independent Gauss-Newton inversion;
- ``jointinv petrophysical (one model)``: the same plus the petrophysical
  coupling over the DC model alone (a 3-unit Gaussian mixture learned in
  flight, :class:`jointinv.petrophysics.GaussianMixtureCoupling`), held
  ``HOLD`` iterations at the target as in the coupling study;
- ``SimPEG Tikhonov``: ``WeightedLeastSquares`` with the same smallness/
  smoothness ratio, sensitivity weights, beta from the eigenvalue estimate,
  cooling by 2, stop at the target misfit;
- ``SimPEG PGI``: ``regularization.PGI`` with a 3-unit
  ``utils.WeightedGaussianMixture`` fitted to SimPEG's Tikhonov model (no
  petrophysical knowledge, as jointinv's mixture), re-estimated every
  iteration (``PGI_UpdateParameters(update_gmm=True)``, low confidence in
  that prior), ``PGI_BetaAlphaSchedule``, ``MultiTargetMisfits`` and
  ``PGI_AddMrefInSmooth``, as in SimPEG's PGI tutorials.

Every figure (RMSE of log10 rho against the truth, chi^2/N, wall time) is
computed the same way for all four from the final model (chi^2 through the
jointinv operator). The joint travel-time + DC petrophysical runs of the
coupling study are quoted beside them for what the second physics adds.

Run::

    python examples/pgi_comparison.py [--cases fault dike ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from coupling_study import CASES, HOLD, setups_for  # noqa: E402 - the sibling example
from simpeg_direct import grid_model, inverse_problem, regularization_mesh  # noqa: E402

from jointinv.coupling import Coupling  # noqa: E402
from jointinv.runner import SolverOptions, make_result, run  # noqa: E402
from jointinv.strategies.common import build_all  # noqa: E402

N_UNITS = 3


def jointinv_dc(setup, coupling, max_iterations: int) -> dict:
    """jointinv's Gauss-Newton on the DC line alone, with an optional one-model coupling."""
    start = time.perf_counter()
    built = build_all({"dcr": setup})
    options = SolverOptions.from_options({"max_iterations": max_iterations, "progress": False,
                                          "hold_iterations": HOLD if coupling else 0})
    output = run(built, options, couplings=coupling)
    result = make_result(built, output, start, "jointinv")
    return {"model": result.models["dcr"], "iterations": len(result.history) - 1,
            "wall_time_s": result.wall_time}


def _simpeg_problem(operator, data, regularization, max_iterations):
    from simpeg import optimization

    optimizer = optimization.ProjectedGNCG(maxIter=max_iterations, maxIterCG=30)
    return inverse_problem(operator.simulation, data, regularization, optimizer), optimizer


def simpeg_tikhonov(setup, max_iterations: int) -> dict:
    """SimPEG's L2 inversion with jointinv's alpha_s / smoothness ratio."""
    from simpeg import directives, inversion, regularization

    operator, grid = setup.operator, setup.operator.grid
    m0 = operator.simpeg_model(setup.initial_model)
    mesh = regularization_mesh(grid)
    # alpha_s 1e-3 against length_scale 1 (smoothness in cell units): jointinv's default
    reg = regularization.WeightedLeastSquares(mesh, alpha_s=1e-3, reference_model=m0)
    problem, _ = _simpeg_problem(operator, setup.data, reg, max_iterations)
    steps = [directives.UpdateSensitivityWeights(every_iteration=False),
             directives.BetaEstimate_ByEig(beta0_ratio=1.0, random_seed=0),
             directives.BetaSchedule(coolingFactor=2.0, coolingRate=1),
             directives.TargetMisfit(chifact=1.0), directives.UpdatePreconditioner()]
    start = time.perf_counter()
    model = inversion.BaseInversion(problem, directiveList=steps).run(m0)
    return {"model": grid_model(model, grid), "iterations": problem.opt.iter,
            "wall_time_s": time.perf_counter() - start}


def simpeg_pgi(setup, tikhonov_model, max_iterations: int) -> dict:
    """SimPEG's PGI with a mixture fitted to its own Tikhonov model, learned in flight."""
    from simpeg import directives, inversion, maps, regularization, utils

    operator, grid = setup.operator, setup.operator.grid
    m0 = operator.simpeg_model(setup.initial_model)
    mesh = regularization_mesh(grid)
    mixture = utils.WeightedGaussianMixture(n_components=N_UNITS, mesh=mesh,
                                            covariance_type="full", random_state=0)
    mixture.fit(operator.simpeg_model(tikhonov_model).reshape(-1, 1))
    reg = regularization.PGI(gmmref=mixture, mesh=mesh,
                             wiresmap=maps.Wires(("log10_rho", mesh.n_cells)),
                             maplist=[maps.IdentityMap(nP=mesh.n_cells)],
                             alpha_pgi=1.0, alpha_x=1.0, alpha_y=1.0)
    problem, _ = _simpeg_problem(operator, setup.data, reg, max_iterations)
    steps = [directives.BetaEstimate_ByEig(beta0_ratio=1.0, random_seed=0),
             # low confidence in the fitted prior: the mixture follows the model
             directives.PGI_UpdateParameters(update_gmm=True, kappa=0.0, nu=1.0, zeta=1.0),
             directives.MultiTargetMisfits(verbose=False),
             directives.PGI_AddMrefInSmooth(wait_till_stable=True, verbose=False),
             directives.PGI_BetaAlphaSchedule(coolingFactor=2.0, tolerance=0.2, progress=0.2),
             directives.UpdatePreconditioner()]
    start = time.perf_counter()
    model = inversion.BaseInversion(problem, directiveList=steps).run(m0)
    return {"model": grid_model(model, grid), "iterations": problem.opt.iter,
            "wall_time_s": time.perf_counter() - start}


def scores(run_output: dict, setup) -> dict:
    """RMSE of log10 rho, chi^2/N through the jointinv operator, iterations, wall time."""
    model = run_output["model"]
    with torch.no_grad():
        predicted = setup.operator(model)
    return {"rmse": float((model - setup.true_model).pow(2).mean().sqrt()),
            "chi2/N": float(setup.data.chi_squared(predicted)) / setup.data.n_data,
            "iterations": run_output["iterations"], "wall_time_s": run_output["wall_time_s"]}


METHODS = ("jointinv Tikhonov", "jointinv petrophysical (one model)", "SimPEG Tikhonov",
           "SimPEG PGI")


def compare(case: str, weight: float, max_iterations: int) -> dict:
    """``{method: scores}`` on the DC line of ``case``; a fresh setup per run."""
    out = {}

    def dc():
        return setups_for(case)["dcr"]

    setup = dc()
    out[METHODS[0]] = scores(jointinv_dc(setup, None, max_iterations), setup)
    setup = dc()
    petrophysical = Coupling("petrophysical", weight=weight, n_clusters=N_UNITS)
    out[METHODS[1]] = scores(jointinv_dc(setup, petrophysical, max_iterations), setup)
    setup = dc()
    tikhonov = simpeg_tikhonov(setup, max_iterations)
    out[METHODS[2]] = scores(tikhonov, setup)
    setup = dc()
    out[METHODS[3]] = scores(simpeg_pgi(setup, tikhonov["model"], max_iterations), setup)
    return out


def joint_rows(study: Path, case: str, weight: float) -> dict:
    """The coupling study's independent and joint petrophysical runs of ``case``, if any."""
    rows = {}
    log = study / "runs.jsonl"
    if log.exists():
        for line in log.read_text().splitlines():
            row = json.loads(line)
            if row["case"] == case and (row["method"], row["value"]) in (
                    ("independent", None), ("petrophysical", weight)):
                rows[row["method"]] = row
    return rows


def table(results: dict, study: Path, weight: float) -> str:
    lines = ["| case | method | RMSE log10 rho | / jointinv Tikhonov | chi2/N DC | iterations | "
             "time [s] |", "|---|---|---|---|---|---|---|"]
    for case, rows in results.items():
        reference = rows[METHODS[0]]["rmse"]
        for method, row in rows.items():
            lines.append(f"| {case} | {method} | {row['rmse']:.3f} | "
                         f"{row['rmse'] / reference:.3f} | {row['chi2/N']:.2f} | "
                         f"{row['iterations']} | {row['wall_time_s']:.1f} |")
        joint = joint_rows(study, case, weight)
        if "petrophysical" in joint and "independent" in joint:
            row, independent = joint["petrophysical"], joint["independent"]
            lines.append(f"| {case} | (joint TT + DC petrophysical, lambda={weight:g}; ratio to "
                         f"joint-study independent) | {row['rmse[dcr]']:.3f} | "
                         f"{row['rmse[dcr]'] / independent['rmse[dcr]']:.3f} | "
                         f"{row['chi2/N[dcr]']:.2f} | | {row['wall_time_s']:.1f} |")
    means = {m: np.mean([rows[m]["rmse"] / rows[METHODS[0]]["rmse"]
                         for rows in results.values()]) for m in METHODS}
    lines += ["", "Mean RMSE ratio to jointinv Tikhonov over the cases: " + "; ".join(
        f"{m} {v:.3f}" for m, v in means.items()) + "."]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--weight", type=float, default=0.3,
                        help="lambda of jointinv's one-model petrophysical coupling")
    parser.add_argument("--max-iterations", type=int, default=30)
    parser.add_argument("--output", default="examples/couplings")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message="the DC simulation mesh has")
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    results = {}
    for case in args.cases:
        results[case] = compare(case, args.weight, args.max_iterations)
        for method, row in results[case].items():
            print(f"{case:26s} {method:36s} RMSE {row['rmse']:.4f}  chi2/N "
                  f"{row['chi2/N']:.2f}  {row['iterations']} it  {row['wall_time_s']:.1f} s",
                  flush=True)
    text = table(results, output, args.weight)
    (output / "pgi_comparison.md").write_text(
        "# SimPEG PGI vs jointinv's petrophysical coupling (DC lines alone)\n\n"
        "Generated by `python examples/pgi_comparison.py`.\n\n" + text + "\n")
    (output / "pgi_comparison.json").write_text(json.dumps(results, indent=1))
    print(text)


if __name__ == "__main__":
    main()

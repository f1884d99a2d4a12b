"""NFs-Inv DC Cases 3.1-3.3 and 4: neural field with an annealed L1 smallness vs conventional.

Set-ups of the NFs-Inv paper (seed document ``002``; the authors'
``DCR/Generate_Synthetic_Voltages.ipynb`` and ``DCR/Case_*.py``), built by
``examples/nfsinv_dc_dike.py``'s :func:`dike_case`: 200 x 45 cells of 5 m,
a dipole-dipole line of 29 electrodes 25 m apart (348 data, 5 % noise, seed
225), a 0.1 S/m dike dipping 45 (Case 3.1), 35 (3.2) or 50 degrees (3.3)
under a 0.02 S/m top layer in 0.01 S/m, and Case 4: the 45-degree dike in 45
log-spaced layers from 0.02 to 0.001 S/m.

Methods:

- conventional: the engine's Gauss-Newton-CG, smooth L2 regularization with
  sensitivity weighting (as ``nfsinv_dc_dike.py``);
- neural field (the paper's): a 7-layer LeakyReLU MLP on the raw cell
  coordinates, ``ln sigma = -8 sigmoid(y)`` (our head: ``log10 rho = 3.47
  sigmoid(y)``), Adam lr 1e-3, the annealed objective
  ``(1 - b(t)) phi_d + b(t) phi_m`` with ``b(t) = exp(-t / 800)`` over 2000
  iterations and ``phi_m`` the L1 smallness toward 0.01 S/m. The paper's
  loss is ``(1 - b)/2 ||W r||^2 + b ||ln sigma - ln 0.01||_1`` (both over the
  number of cells); ours is ``(1 - b) ||W r||^2 + b * beta * ||log10 rho - 2||_1``,
  the same balance for ``beta = 2 ln 10``;
- sparse: the paper's conventional baseline, SimPEG's own sparse inversion
  (``examples/nfsinv_dc_sparse.py``): ``regularization.Sparse`` with p = 0
  (smallness) and q = 1 (both gradients) in ln conductivity, reference and
  start 0.01 S/m, sensitivity weights, beta by SimPEG's eigenvalue estimate,
  L2 to chi^2 = N then IRLS (``directives.UpdateIRLS``), at most 50
  Gauss-Newton iterations, on the operator's own SimPEG mesh and survey and
  the same data; its model (the grid's cells) is scored like the others, and
  SimPEG's own final phi_d/N is printed beside the operator's chi^2/N.

Printed per case and method: RMSE in log10 resistivity, the mean
conductivity inside the true dike (true 0.1 S/m; the paper reports 0.021-0.029
S/m for SimPEG's sparse inversion of Case 3.1), the IoU of the thresholded body with
the dike (threshold halfway, in log10, between the true background and the
dike), its dip, chi^2/N and wall time; figures per case.

Cost: each neural-field iteration is one SimPEG forward and adjoint (about
1.5-6 s on one core of this machine, depending on its load), so the paper's
2000 iterations take one to three hours per case: ``--iterations 400
--decay 160`` compresses the schedule for a quick look. A GPU does not help
the SimPEG solves. The sparse inversion took 585-634 s per case here (27-48
Gauss-Newton iterations of 12-22 s: SimPEG assembles J at every model; one
core at a machine load of 6-7).

Run::

    python examples/nfsinv_dc.py [--cases 3.1 3.2 3.3 4] [--methods conventional neural sparse]
                                 [--iterations 2000] [--decay 800] [--output DIR]
"""

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
from nfsinv_dc_dike import LAYERED_BOTTOM, dike_case, dike_metrics, plot_conductivity
from nfsinv_dc_sparse import sparse_inversion

import jointinv
from jointinv.neural_field import Annealing, NeuralField, OutputHead

CASES = {"3.1": (1.0, False), "3.2": (0.7, False), "3.3": (1.2, False), "4": (1.0, True)}
START_SIGMA = 0.01  # S/m: the paper's starting/reference conductivity
LABELS = {"sparse": "SimPEG sparse, IRLS p=0, q=1"}
# the paper's ln(sigma) = -8 sigmoid(y) as log10 resistivity = (8 / ln 10) sigmoid(y)
LOG10_RHO_RANGE = (0.0, 8.0 / math.log(10.0))


def neural_field(grid, decay: float) -> NeuralField:
    """The paper's DC field: raw coordinates, 7 LeakyReLU layers, bounded log conductivity."""
    head = OutputHead("sigmoid", lower=LOG10_RHO_RANGE[0], upper=LOG10_RHO_RANGE[1])
    schedule = Annealing("exponential", initial=1.0, final=0.0, decay=decay,
                         stop_at_target=False)
    return NeuralField(grid, {"log10 resistivity": head}, encoding="none", schedule=schedule)


def invert(method: str, operator, data, true_model, args):
    start = torch.full(operator.grid.shape, -math.log10(START_SIGMA), dtype=torch.float64)
    if method == "conventional":
        return jointinv.invert(operator, data, start, solver="gauss_newton", alpha_s=1e-3,
                               beta0_ratio=10.0, cooling_factor=2.0, max_iterations=12,
                               cg_max_iterations=10, sensitivity_weighting=True,
                               true_model=true_model, progress=args.progress)
    return jointinv.invert(operator, data, start, solver="adam", lr=1e-3,
                           parameterization=neural_field(operator.grid, args.decay),
                           smallness_norm=1, alpha_s=1.0, alpha_x=0.0, alpha_z=0.0,
                           beta=2.0 * math.log(10.0), max_iterations=args.iterations,
                           true_model=true_model, progress=args.progress)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--methods", nargs="+", default=["conventional", "neural"],
                        choices=["conventional", "neural", "sparse"])
    parser.add_argument("--iterations", type=int, default=2000,
                        help="neural-field Adam iterations (default: the paper's 2000)")
    parser.add_argument("--decay", type=float, default=800.0,
                        help="e-folding of the annealing weight [iterations] (paper: 800)")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--output", default="examples/output/nfsinv_dc")
    args = parser.parse_args()
    output = Path(args.output)
    rows = []
    for case in args.cases:
        slope, layered = CASES[case]
        grid, line, true_sigma, dike, background = dike_case(slope, layered)
        operator = jointinv.create_physics("dcr", grid, line, padding_cells=7,
                                           padding_factor=1.5)
        true_model = -torch.log10(true_sigma)
        data = operator.simulate(true_model, relative_error=0.05, seed=225)
        print(f"Case {case}: {data.n_data} data, dike slope {slope}"
              f"{', layered background' if layered else ''}", flush=True)
        for method in args.methods:
            start = time.perf_counter()
            if method == "sparse":
                outcome = sparse_inversion(operator, data)
                seconds = time.perf_counter() - start
                model, n_iterations = outcome.model, outcome.iterations
                with torch.no_grad():  # chi^2 through the jointinv operator, as the others
                    chi = float(data.chi_squared(operator(model))) / data.n_data
                simpeg = (f"{outcome.simpeg_phi_d / data.n_data:.2f}", outcome.irls_iterations)
                extra = f", SimPEG phi_d/N {simpeg[0]}, {simpeg[1]} IRLS"
                folder = output / f"case_{case}_{method}"
                folder.mkdir(parents=True, exist_ok=True)
                np.savez(folder / "model.npz", log10_resistivity=model.numpy(),
                         iterations=n_iterations, irls_iterations=outcome.irls_iterations,
                         simpeg_phi_d=outcome.simpeg_phi_d, beta=outcome.beta)
            else:
                result = invert(method, operator, data, true_model, args)
                seconds = time.perf_counter() - start
                model, n_iterations = result.model.double(), result.n_iterations
                chi = result.misfit(next(iter(result.predicted))) / data.n_data
                extra, simpeg = "", ("", "")
                result.save(output / f"case_{case}_{method}")
            sigma = (10.0 ** -model).numpy()
            found = dike_metrics(sigma, dike, grid, background)
            rmse = float(((model - true_model) ** 2).mean().sqrt())
            rows.append((case, method, rmse, found, chi, n_iterations, seconds, simpeg))
            print(f"  {method}: RMSE log10 rho {rmse:.3f}, mean sigma in dike "
                  f"{found['mean_sigma_in_dike']:.4f} S/m, IoU {found['iou_fixed']:.3f} "
                  f"(adaptive {found['iou_adaptive']:.3f}), dip {found['dip_adaptive_deg']:.1f}"
                  f" deg (true {found['dip_true_deg']:.1f}), chi^2/N {chi:.2f}{extra}, "
                  f"{n_iterations} iterations, {seconds:.0f} s", flush=True)
            plot_conductivity(true_sigma, sigma, found["masks"]["adaptive"], grid, line,
                              output / f"case_{case}_{method}.png", slope=slope,
                              label=LABELS.get(method, method),
                              vmin=LAYERED_BOTTOM if layered else 0.01)
    print("\n| case | method | RMSE log10 rho | mean sigma in dike [S/m] | IoU | IoU adaptive | "
          "dip [deg] (true) | chi^2/N | SimPEG phi_d/N | iterations | IRLS iterations | "
          "time [s] |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for case, method, rmse, found, chi, n, seconds, (phi_d, irls) in rows:
        print(f"| {case} | {method} | {rmse:.3f} | {found['mean_sigma_in_dike']:.4f} | "
              f"{found['iou_fixed']:.3f} | {found['iou_adaptive']:.3f} | "
              f"{found['dip_adaptive_deg']:.1f} ({found['dip_true_deg']:.1f}) | {chi:.2f} | "
              f"{phi_d} | {n} | {irls} | {seconds:.0f} |")


if __name__ == "__main__":
    main()

"""SimPEG's own sparse inversion (IRLS, p = 0, q = 1) of an NFs-Inv DC case.

The conventional baseline of the NFs-Inv paper (the authors'
``DCR/Conventional_inversion_using_SimPEG_z=225.ipynb``), run by SimPEG
itself on the jointinv operator's mesh, survey and data:

- model: ln conductivity [ln S/m] on the grid's 200 x 45 core cells (the
  paper's active cells), C order; SimPEG's map is the jointinv operator's own
  chain (grid -> padded mesh transfer, ``10 ** -log10 rho``) after
  ``log10 rho = -ln sigma / ln 10``, so the padding follows the adjacent
  cells exactly as when the data were simulated;
- ``regularization.Sparse`` with norms ``[0, 1, 1]`` (smallness p = 0, both
  gradients q = 1, total-gradient IRLS weights), ``alpha_s = 0.01``,
  ``alpha_x = alpha_y = 1``, reference and start ``ln 0.01``, the reference
  also in the smoothness;
- ``InexactGaussNewton(maxIter=50)``; directives
  ``UpdateSensitivityWeights`` (SimPEG's defaults), ``UpdateIRLS`` (L2 with beta
  cooled by 2 to chi^2 = N, then IRLS, at most ``max_irls_iterations``
  cycles), ``BetaEstimate_ByEig(beta0_ratio=100)`` seeded, and
  ``UpdatePreconditioner``; the simulation stores its sensitivity.

The notebook's SimPEG 0.22 ``Update_IRLS(max_irls_iterations=50, minGNiter=1,
chifact_start=1.0)`` is SimPEG 0.25's ``UpdateIRLS``. Its data are voltages;
ours are the apparent resistivities every other method of
``nfsinv_dc.py`` inverts, with the same 5 % standard deviations (a fixed
factor per datum apart, so the same chi^2).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from simpeg_direct import grid_model, inverse_problem, regularization_mesh

START_SIGMA = 0.01  # S/m, the notebook's start and reference
NORMS = (0.0, 1.0, 1.0)  # p (smallness), q_x, q_z
ALPHA_S, ALPHA_X, ALPHA_Z = 0.01, 1.0, 1.0
BETA0_RATIO = 100.0
MAX_ITERATIONS = 50  # Gauss-Newton iterations, L2 and IRLS together
MAX_IRLS_ITERATIONS = 50


@dataclass
class SparseOutcome:
    """What SimPEG's sparse inversion returns, on the jointinv grid.

    ``model`` is log10 resistivity [log10 ohm m] ``(nz, nx)`` float64;
    ``simpeg_phi_d`` SimPEG's own final data misfit (chi^2, not halved).
    """

    model: torch.Tensor
    iterations: int
    irls_iterations: int
    simpeg_phi_d: float
    beta: float


def log_conductivity_simulation(operator):
    """A SimPEG simulation like ``operator.simulation`` (mesh, survey, solver, nky),
    whose model is ln conductivity on the grid's cells (C order), stored J."""
    from simpeg import maps
    from simpeg.utils import PerformanceWarning

    n_cells = operator.grid.n_cells
    to_log10_rho = maps.LinearMap(sp.identity(n_cells, format="csr") * (-1.0 / math.log(10.0)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PerformanceWarning)  # the operator chose the solver
        simulation = type(operator.simulation)(
            operator.mesh, survey=operator.survey,
            sigmaMap=operator.simulation.sigmaMap * to_log10_rho,
            solver=operator.solver, nky=operator.simulation.nky, storeJ=True)
    simulation.solver_opts = operator.simulation.solver_opts
    return simulation


def sparse_regularization(grid):
    """The notebook's ``Sparse`` regularization (norms, alphas, reference ln 0.01)."""
    from simpeg import maps, regularization

    reference = np.full(grid.n_cells, math.log(START_SIGMA))
    reg = regularization.Sparse(regularization_mesh(grid), reference_model=reference,
                                mapping=maps.IdentityMap(nP=grid.n_cells),
                                gradient_type="total", alpha_s=ALPHA_S, alpha_x=ALPHA_X,
                                alpha_y=ALPHA_Z, reference_model_in_smooth=True)
    reg.norms = list(NORMS)
    return reg


def sparse_inversion_setup(operator, data, max_iterations: int = MAX_ITERATIONS,
                           max_irls_iterations: int = MAX_IRLS_ITERATIONS):
    """``(inversion, start model, IRLS directive)``: SimPEG's sparse inversion of ``data``
    (jointinv ``Data`` of ``operator``), ready to ``inversion.run(start)``."""
    from simpeg import directives, inversion, optimization

    for name, value in (("max_iterations", max_iterations),
                        ("max_irls_iterations", max_irls_iterations)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    simulation = log_conductivity_simulation(operator)
    optimizer = optimization.InexactGaussNewton(maxIter=max_iterations)
    problem = inverse_problem(simulation, data, sparse_regularization(operator.grid), optimizer)
    irls = directives.UpdateIRLS(max_irls_iterations=max_irls_iterations, chifact_start=1.0)
    steps = [directives.UpdateSensitivityWeights(), irls,
             directives.BetaEstimate_ByEig(beta0_ratio=BETA0_RATIO, random_seed=0),
             directives.UpdatePreconditioner()]
    start = np.full(operator.grid.n_cells, math.log(START_SIGMA))
    return inversion.BaseInversion(problem, directiveList=steps), start, irls


def sparse_inversion(operator, data, max_iterations: int = MAX_ITERATIONS,
                     max_irls_iterations: int = MAX_IRLS_ITERATIONS) -> SparseOutcome:
    """Run SimPEG's sparse inversion; the model comes back as log10 resistivity."""
    run, start, irls = sparse_inversion_setup(operator, data, max_iterations,
                                              max_irls_iterations)
    begin = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="splu converted its input")
        log_sigma = run.run(start)
        # SimPEG's misfit at the returned model (its last phi_d may be a trial's)
        phi_d = float(run.invProb.dmisfit(log_sigma))
    problem = run.invProb
    print(f"  SimPEG sparse: {problem.opt.iter} Gauss-Newton iterations, "
          f"{irls.metrics.irls_iteration_count} IRLS, {time.perf_counter() - begin:.0f} s",
          flush=True)
    return SparseOutcome(model=-grid_model(log_sigma, operator.grid) / math.log(10.0),
                         iterations=int(problem.opt.iter),
                         irls_iterations=int(irls.metrics.irls_iteration_count),
                         simpeg_phi_d=phi_d, beta=float(problem.beta))

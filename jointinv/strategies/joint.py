"""Strategy ``cross_gradient``: simultaneous joint inversion with a structural coupling."""

from __future__ import annotations

import time

from ..problem import InversionProblem
from ..solvers import estimate_betas, gauss_newton
from .common import DEFAULT_COUPLING_WEIGHT, check_setups, make_result, pair_couplings

__all__ = ["invert_joint"]


def invert_joint(setups: dict, coupling: str = "cross_gradient",
                 coupling_weight: float = DEFAULT_COUPLING_WEIGHT, max_iterations: int = 30,
                 beta0_ratio: float = 1.0, cooling_factor: float = 2.0,
                 cg_max_iterations: int = 30, coupling_eps: float = 0.1,
                 progress: bool = True, **_ignored):
    """Invert all data sets at once, coupling every pair of models.

    Minimises ``sum_k [phi_d,k + beta_k phi_m,k] + lambda_eff * coupling`` by
    Gauss-Newton-CG. Each physics keeps its own data misfit, regularization,
    beta (estimated from its eigenvalue ratio) and target; a beta is cooled
    only while its data set is above target, and the run stops when every
    data set is at its target.

    Parameters
    ----------
    setups : dict
        ``{name: PhysicsSetup}`` with at least two physics on one grid.
    coupling : {"cross_gradient", "cross_gradient_unnormalized", "joint_total_variation"}
        Structural term; see :func:`jointinv.strategies.common.coupling_term`
        for how ``coupling_weight`` is made unit-free.
    coupling_weight : float
        lambda, dimensionless (default 0.3).
    coupling_eps : float
        Gradient floor of the normalised cross-gradient, relative to each
        model's largest gradient.
    """
    setups = check_setups(setups, minimum=2)
    start = time.perf_counter()
    built = {key: setup.build(key) for key, setup in setups.items()}
    keys = list(built)
    couplings = pair_couplings(coupling, setups, built, coupling_weight, coupling_eps)
    problem = InversionProblem([b[0] for b in built.values()],
                               {k: b[1] for k, b in built.items()}, {}, couplings=couplings)
    m0 = {k: b[2] for k, b in built.items()}
    eigenvalues = {}
    betas = estimate_betas(problem, m0, beta0_ratio, eigenvalues=eigenvalues)
    problem.betas = {k: setups[k].beta or betas[k] for k in keys}
    # the data Hessians of different physics differ by orders of magnitude in
    # their own units: scale each block by its largest data eigenvalue
    preconditioner = {k: 1.0 / eigenvalues[k][0] for k in keys}
    models, history = gauss_newton(
        problem, m0, max_iterations=max_iterations, cooling_factor=cooling_factor,
        cg_max_iterations=cg_max_iterations, lower={k: b[3] for k, b in built.items()},
        upper={k: b[4] for k, b in built.items()}, block_preconditioner=preconditioner,
        progress=progress)
    return make_result(setups, built, models, history, start,
                       f"joint {coupling} (lambda={coupling_weight:g})")

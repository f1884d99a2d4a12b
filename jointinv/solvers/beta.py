"""Trade-off parameter: initial estimate and cooling, following SimPEG.

``beta0 = ratio * lambda_max(H_d) / lambda_max(H_m)`` with both largest
eigenvalues from a few power iterations (SimPEG's ``BetaEstimate_ByEig``);
then ``beta <- beta / cooling_factor`` every ``cooling_rate`` iterations
(SimPEG's ``BetaSchedule``) while the data set is above its target misfit.
"""

from __future__ import annotations

from .linalg import power_iteration

__all__ = ["estimate_betas"]


def estimate_betas(point, ratio: float = 1.0, iterations: int = 4,
                   seed: int = 0, eigenvalues: dict | None = None) -> dict:
    """``{key: beta0}`` for each regularized model, at a :class:`~jointinv.problem.ProblemPoint`.

    The data Hessian products reuse the point's simulations. If
    ``eigenvalues`` is a dict, it receives ``{key: (lambda_d, lambda_m)}``.
    """
    models = point.variables
    data_ops = point.data_hessians()
    reg_ops = point.problem.regularization_hessian_operator(models)
    betas = {}
    for key, reg_op in reg_ops.items():
        lam_d = power_iteration(data_ops[key], models[key], iterations, seed)
        lam_m = power_iteration(reg_op, models[key], iterations, seed)
        if lam_m <= 0 or lam_d <= 0:
            raise ValueError(
                f"cannot estimate beta for {key!r}: largest eigenvalues of the data "
                f"({lam_d:.3g}) and regularization ({lam_m:.3g}) Hessians must be > 0"
            )
        betas[key] = ratio * lam_d / lam_m
        if eigenvalues is not None:
            eigenvalues[key] = (lam_d, lam_m)
    return betas

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
                   seed: int = 0, eigenvalues: dict | None = None,
                   stand_ins: dict | None = None) -> dict:
    """``{name: beta0}`` per regularization, at a :class:`~jointinv.problem.ProblemPoint`.

    The data Hessian products reuse the point's simulations. A regularization
    over several models (a joint one) is balanced against the largest of their
    data eigenvalues. ``stand_ins`` (``{name: Term}``) are balanced in place of
    the named regularizations: a model's full Tikhonov term for its smallness
    alone, so that the smallness gets the beta of a separate inversion. If
    ``eigenvalues`` is a dict, it receives ``{"data": {key: lambda_d},
    "regularization": {name: lambda_m}}``.
    """
    models = point.variables
    data_ops = point.data_hessians()
    lam_d = {key: power_iteration(op, models[key], iterations, seed)
             for key, op in data_ops.items()}
    betas, lam_m = {}, {}
    for name, reg_op in point.problem.regularization_hessian_operator(
            models, stand_ins).items():
        keys = point.problem.regularizations[name].keys
        lam_m[name] = power_iteration(reg_op, {k: models[k] for k in keys}, iterations, seed)
        largest = max(lam_d[k] for k in keys)
        if lam_m[name] <= 0 or largest <= 0:
            raise ValueError(
                f"cannot estimate beta for {name!r}: largest eigenvalues of the data "
                f"({largest:.3g}) and regularization ({lam_m[name]:.3g}) Hessians must be > 0"
            )
        betas[name] = ratio * largest / lam_m[name]
    if eigenvalues is not None:
        eigenvalues.update({"data": lam_d, "regularization": lam_m})
    return betas

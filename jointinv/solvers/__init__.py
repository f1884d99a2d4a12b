"""Solvers: inexact Gauss-Newton-CG (cells) and Adam / L-BFGS (any parameterization)."""

from .beta import estimate_betas
from .first_order import LR_SCHEDULES, OPTIMIZERS, optimize
from .gauss_newton import gauss_newton
from .linalg import conjugate_gradient, power_iteration

__all__ = ["LR_SCHEDULES", "OPTIMIZERS", "conjugate_gradient", "estimate_betas",
           "gauss_newton", "optimize", "power_iteration"]

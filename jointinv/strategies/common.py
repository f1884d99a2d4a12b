"""Pieces shared by the strategies: setups checks, coupling choice, results."""

from __future__ import annotations

import time

import torch

from ..coupling import CrossGradient, JointTotalVariation, NormalizedCrossGradient
from ..physics_setup import PhysicsSetup
from ..result import InversionResult
from ..validation import check_choice, check_nonnegative_float

__all__ = ["COUPLINGS", "DEFAULT_COUPLING_WEIGHT", "check_setups", "coupling_term",
           "make_result", "pair_couplings"]

COUPLINGS = ("cross_gradient", "cross_gradient_unnormalized", "joint_total_variation")

#: Default coupling weight lambda (see :func:`coupling_term`). At 1, models
#: whose gradients are everywhere perpendicular cost as much as all data sets
#: sitting at their target misfit; 0.3 balanced structure and data fit on the
#: built-in joint cases (velocity [m/s] with log10 resistivity).
DEFAULT_COUPLING_WEIGHT = 0.3


def check_setups(setups, minimum: int = 1) -> dict:
    """Validate ``{key: PhysicsSetup}`` before any simulation runs."""
    if not isinstance(setups, dict):
        raise TypeError(
            f"setups must be a dict {{name: PhysicsSetup}}, got {type(setups).__name__}"
        )
    if len(setups) < minimum:
        raise ValueError(f"setups must hold at least {minimum} physics, got {len(setups)}")
    for key, setup in setups.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"setup names must be non-empty strings, got {key!r}")
        if not isinstance(setup, PhysicsSetup):
            raise TypeError(f"setups[{key!r}] must be a jointinv.PhysicsSetup, "
                            f"got {type(setup).__name__}")
    return setups


def check_common_grid(setups) -> None:
    """Coupled models must live on one grid (each physics owns its own mesh transfer)."""
    grids = {key: setup.operator.grid for key, setup in setups.items()}
    first_key, first = next(iter(grids.items()))
    for key, grid in grids.items():
        if grid != first:
            raise ValueError(
                f"coupled physics must share one jointinv.Grid: {first_key!r} uses {first} but "
                f"{key!r} uses {grid}; build both operators on the same grid (each physics "
                f"transfers the grid to its own mesh)"
            )


def pair_couplings(kind: str, setups: dict, built: dict, weight: float, eps: float) -> list:
    """Checks the physics share one grid; ``(weight, term)`` for every pair of models."""
    check_common_grid(setups)
    keys = list(built)
    grid = setups[keys[0]].operator.grid
    n_data = sum(setup.data.n_data for setup in setups.values())
    starts = {k: built[k][2] for k in keys}
    return [coupling_term(kind, (a, b), grid, starts, weight, n_data, eps)
            for i, a in enumerate(keys) for b in keys[i + 1:]]


def coupling_term(kind: str, keys, grid, initial_models: dict, weight: float,
                  n_data_total: int, eps: float = 0.1):
    """``(effective weight, term)`` for the objective.

    The term is scaled so that ``weight`` (lambda) means the same for any
    units, amplitudes and grid size:

    - ``"cross_gradient"`` (default): :class:`NormalizedCrossGradient`, whose
      value over the grid area is in [0, 1]; the objective adds
      ``lambda * n_data_total * mean |u1 x u2|^2``. ``eps`` (relative to each
      model's largest gradient) damps directions where a model has only weak
      gradients, so faint, poorly resolved structure is not imposed on the
      other model.
    - ``"cross_gradient_unnormalized"``: :class:`CrossGradient` of the models
      divided by their mean absolute starting value (so m/s and km/s, or
      different resistivity levels, give the same term), times
      ``lambda * n_data_total / area``.
    - ``"joint_total_variation"``: :class:`JointTotalVariation` of the same
      scaled models, times ``lambda * n_data_total / area``.
    """
    kind = check_choice("coupling", kind, COUPLINGS)
    weight = check_nonnegative_float("coupling_weight", weight)
    area = grid.n_cells * grid.dx * grid.dz
    if kind == "cross_gradient":
        return weight * n_data_total / area, NormalizedCrossGradient(keys, grid, eps=eps)
    scales = {k: max(float(initial_models[k].abs().mean()), 1e-12) for k in keys}
    term_class = CrossGradient if kind == "cross_gradient_unnormalized" else JointTotalVariation
    return weight * n_data_total / area, term_class(keys, grid, scales=scales)


def make_result(setups, built, models, history, start, method) -> InversionResult:
    """An :class:`InversionResult` from inversion-variable models ``{key: m}``."""
    recovered, predicted = {}, {}
    for key, (misfit, *_rest) in built.items():
        recovered[key] = misfit.map(models[key]).detach()
        with torch.no_grad():
            predicted[key] = setups[key].operator(recovered[key])
    return InversionResult(
        models=recovered,
        initial_models={k: s.initial_model for k, s in setups.items()},
        true_models={k: s.true_model for k, s in setups.items() if s.true_model is not None},
        operators={k: s.operator for k, s in setups.items()},
        data={k: s.data for k, s in setups.items()},
        predicted=predicted, history=history, wall_time=time.perf_counter() - start,
        method=method,
    )

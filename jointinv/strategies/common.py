"""Pieces shared by the strategies: setup checks, option checks, the result."""

from __future__ import annotations

import inspect

from ..physics_setup import PhysicsSetup
from ..runner import SolverOptions

__all__ = ["check_setups", "build_all", "strategy_option_names"]


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


def build_all(setups: dict, minimum: int = 1, smoothness: bool = True) -> dict:
    """``{key: BuiltPhysics}`` after checking the setups (see :meth:`PhysicsSetup.build`)."""
    check_setups(setups, minimum)
    return {key: setup.build(key, smoothness=smoothness) for key, setup in setups.items()}


def strategy_option_names(function) -> tuple:
    """Every option a strategy function accepts: its own keywords and :class:`SolverOptions`."""
    own = [name for name, parameter in inspect.signature(function).parameters.items()
           if name != "setups" and parameter.kind is not inspect.Parameter.VAR_KEYWORD]
    return tuple(sorted(set(own) | set(SolverOptions.names())))

"""Inversion strategies over several physics: independent, joint (simultaneous), sequential, fusion.

Every strategy is ``function(setups, **options)``; :func:`run_strategy` runs
one by name and refuses options it does not accept.
"""

from ..fusion.strategy import invert_fusion  # learned coupling: its own package
from .common import strategy_option_names
from .independent import invert_independent
from .joint import invert_cross_gradient, invert_joint, invert_joint_total_variation
from .sequential import invert_sequential

STRATEGIES = {
    "independent": invert_independent,
    "joint": invert_joint,
    "cross_gradient": invert_cross_gradient,
    "joint_total_variation": invert_joint_total_variation,
    "sequential": invert_sequential,
    "fusion": invert_fusion,
}

__all__ = ["STRATEGIES", "invert_cross_gradient", "invert_fusion", "invert_independent",
           "invert_joint", "invert_joint_total_variation", "invert_sequential", "run_strategy",
           "strategy_options"]


def strategy_options(name: str) -> tuple:
    """Names of the options strategy ``name`` accepts (its own and the solver's)."""
    if name not in STRATEGIES:
        raise ValueError(f"strategy must be one of {sorted(STRATEGIES)}, got {name!r}")
    return strategy_option_names(STRATEGIES[name])


def run_strategy(name: str, setups: dict, **options):
    """Run the strategy ``name`` (one of :data:`STRATEGIES`) on ``setups``.

    Raises
    ------
    TypeError
        For an option the strategy does not accept (the message lists those it does).
    """
    allowed = strategy_options(name)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(f"strategy {name!r} got unknown options {unknown}; "
                        f"allowed: {list(allowed)}")
    return STRATEGIES[name](setups, **options)

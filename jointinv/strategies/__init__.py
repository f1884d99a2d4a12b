"""Inversion strategies over several physics: independent, joint (simultaneous), sequential."""

from .common import COUPLINGS, DEFAULT_COUPLING_WEIGHT, coupling_term
from .independent import invert_independent
from .joint import invert_joint
from .sequential import invert_sequential

STRATEGIES = {
    "independent": invert_independent,
    "cross_gradient": invert_joint,
    "sequential": invert_sequential,
}

__all__ = ["COUPLINGS", "DEFAULT_COUPLING_WEIGHT", "STRATEGIES", "coupling_term",
           "invert_independent", "invert_joint", "invert_sequential", "run_strategy"]


def run_strategy(name: str, setups: dict, **options):
    """Run the strategy ``name`` (one of :data:`STRATEGIES`) on ``setups``."""
    if name not in STRATEGIES:
        raise ValueError(f"strategy must be one of {sorted(STRATEGIES)}, got {name!r}")
    return STRATEGIES[name](setups, **options)

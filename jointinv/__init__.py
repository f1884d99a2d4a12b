"""jointinv: multi-physics geophysical joint inversion with PyTorch.

Physics plugins implement one contract (:class:`PhysicsOperator`), found by
name through the ``jointinv.physics`` entry points (:func:`load_physics`).
"""

from .bridge import SimulationBridge
from .data import Data, gaussian_noise
from .grid import Grid
from .inversion import SOLVERS, invert
from .maps import IdentityMap, ReciprocalMap, get_map
from .operator import PhysicsOperator
from .physics_setup import PhysicsSetup
from .registry import available_physics, create_physics, load_physics
from .result import InversionResult

__version__ = "0.1.0"

__all__ = [
    "Data",
    "Grid",
    "IdentityMap",
    "InversionResult",
    "PhysicsOperator",
    "PhysicsSetup",
    "ReciprocalMap",
    "SOLVERS",
    "SimulationBridge",
    "available_physics",
    "create_physics",
    "gaussian_noise",
    "get_map",
    "invert",
    "load_physics",
]

"""SimPEG glue: what every SimPEG plugin needs, next to the bridge.

- :class:`SimPEGOperator`: base class that turns a SimPEG simulation whose
  model is the grid model (C order) into a :class:`~jointinv.PhysicsOperator`
  (forward through the bridge, ``jvp``/``vjp`` through ``Jvec``/``Jtvec``
  with the fields of one solve per model);
- :class:`FactorisationGuard`: never mixes SimPEG's cached solves across models;
- :class:`StoredSensitivity`: one dense Jacobian per model, for plugins whose
  ``J`` fits in memory (``sensitivity="auto"``/``"stored"``);
- :mod:`.mesh`: depth ↔ elevation, ``(nz, nx)`` C order ↔ discretize order,
  the grid as a 2D mesh or a 3D prism, a padded mesh and the grid → mesh
  transfer;
- :func:`electrode_refined_mesh`: an octree mesh refined around (borehole)
  electrodes;
- :mod:`.solvers`: the sparse direct solver to factorise with.

``import jointinv`` does not import this subpackage (nor discretize and
pymatsolver). Inside it, ``import simpeg`` is an absolute import and still
means SimPEG, never this subpackage.
"""

from .mesh import (
    check_mesh_covers_grid,
    depth_to_elevation,
    grid_tensor_mesh,
    grid_to_discretize_order,
    grid_to_mesh_transfer,
    padded_mesh,
)
from .operator import FactorisationGuard, SimPEGOperator
from .refined_mesh import electrode_refined_mesh
from .sensitivity import (
    MAX_SENSITIVITY_MB,
    SENSITIVITY_MODES,
    StoredSensitivity,
    sensitivity_mode,
)
from .solvers import SOLVER_NAMES, choose_solver, solver_name, solver_options

__all__ = [
    "FactorisationGuard",
    "MAX_SENSITIVITY_MB",
    "SENSITIVITY_MODES",
    "SOLVER_NAMES",
    "SimPEGOperator",
    "StoredSensitivity",
    "check_mesh_covers_grid",
    "choose_solver",
    "depth_to_elevation",
    "electrode_refined_mesh",
    "grid_tensor_mesh",
    "grid_to_discretize_order",
    "grid_to_mesh_transfer",
    "padded_mesh",
    "sensitivity_mode",
    "solver_name",
    "solver_options",
]

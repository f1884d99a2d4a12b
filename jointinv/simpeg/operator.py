"""A physics operator around a SimPEG simulation, and the guard on its cached solves.

:class:`SimPEGOperator` is the base of every SimPEG plugin: the plugin builds
a simulation whose model vector is the grid model in C order (its maps take
that vector to the mesh), and the base class gives it the whole operator
contract through :class:`~jointinv.SimulationBridge` (fields once per model,
``dpred``, ``Jvec``, ``Jtvec``). :class:`FactorisationGuard` sits between
the bridge and SimPEG so that cached fields and factorisations are never
mixed across models.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from scipy.sparse import SparseEfficiencyWarning

from ..bridge import SimulationBridge, _to_numpy
from ..grid import Grid
from ..operator import PhysicsOperator

__all__ = ["FactorisationGuard", "SimPEGOperator"]


class FactorisationGuard:
    """A SimPEG simulation seen by the bridge, with a guard on its cached solves.

    SimPEG keeps what the last ``fields`` call built on the simulation (the
    factorisations ``Ainv`` of a PDE simulation), and ``Jvec``/``Jtvec`` use
    it whatever fields are passed in. If someone computed fields for another
    model in between (e.g. by calling ``simulation.fields`` directly), the
    bridge's cached fields no longer match: then they are computed again
    rather than silently mixed. SimPEG also keeps its model-dependent
    matrices when a new model is ``np.allclose`` to the old one (a
    finite-difference step is), so every new solve starts from a cleared model.

    Parameters
    ----------
    simulation : simpeg.simulation.BaseSimulation
        Any SimPEG simulation (``fields``, ``dpred``, ``Jvec``, ``Jtvec``).
    """

    def __init__(self, simulation):
        self.simulation = simulation
        self._latest_fields = None

    def fields(self, m: np.ndarray):
        """Fields at ``m`` (float64 model vector), solved from a cleared model."""
        del self.simulation.model
        with warnings.catch_warnings():
            # SimPEG hands splu a CSR matrix; the conversion is needed anyway.
            warnings.simplefilter("ignore", SparseEfficiencyWarning)
            self._latest_fields = self.simulation.fields(m)
        return self._latest_fields

    def _current(self, m, f):
        model = self.simulation.model
        fresh = (f is not None and f is self._latest_fields
                 and isinstance(model, np.ndarray) and np.array_equal(model, m))
        return f if fresh else self.fields(m)

    def dpred(self, m, f=None):
        return self.simulation.dpred(m, f=self._current(m, f))

    def Jvec(self, m, v, f=None):  # noqa: N802 - SimPEG's name
        return self.simulation.Jvec(m, v, f=self._current(m, f))

    def Jtvec(self, m, v, f=None):  # noqa: N802 - SimPEG's name
        return self.simulation.Jtvec(m, v, f=self._current(m, f))


class SimPEGOperator(PhysicsOperator):
    r"""Base class of physics operators simulated by SimPEG.

    A subclass declares its property and units in the class statement, builds
    its SimPEG simulation and hands it over::

        class Gravity(SimPEGOperator, property="density contrast", units="g/cc"):
            def __init__(self, grid, ...):
                simulation = ...  # model vector = grid model, C order
                super().__init__(grid, simulation)

    Parameters
    ----------
    grid : jointinv.Grid
        The common grid; models are ``(nz, nx)`` tensors.
    simulation : simpeg.simulation.BaseSimulation
        With a survey, and maps that take the grid model as a float64 vector
        of length ``grid.n_cells`` in C order (row = depth) to the mesh's
        cells, e.g. ``simpeg.maps.Projection(grid.n_cells,
        grid_to_discretize_order(grid))`` on :func:`grid_tensor_mesh`, or a
        :func:`grid_to_mesh_transfer` inside a ``LinearMap`` on a padded mesh.

    Attributes
    ----------
    simulation : simpeg.simulation.BaseSimulation
    bridge : jointinv.SimulationBridge
        Fields cached per model; ``bridge.n_fields_computed`` counts the solves.

    Notes
    -----
    :meth:`forward` is ``simulation.dpred``, :meth:`jvp` is ``Jvec`` and
    :meth:`vjp` is ``Jtvec``, all with the fields of one solve per model
    (:class:`FactorisationGuard`); torch autograd (both modes) goes through
    the same products. SimPEG runs in float64 on the CPU: data and gradients
    come back in the model's dtype and on its device.
    """

    def __init__(self, grid: Grid, simulation):
        super().__init__(grid)
        for method in ("fields", "dpred", "Jvec", "Jtvec"):
            if not callable(getattr(simulation, method, None)):
                raise TypeError(f"simulation must be a SimPEG simulation with {method}(); "
                                f"got {type(simulation).__name__}")
        try:
            simulation.model = np.zeros(grid.n_cells)
        except ValueError as error:
            raise ValueError(
                f"simulation's maps must take the grid model as a vector of "
                f"grid.n_cells = {grid.n_cells} values (C order); SimPEG says: {error}"
            ) from error
        del simulation.model
        self.simulation = simulation
        self.bridge = SimulationBridge(FactorisationGuard(simulation))

    @property
    def n_data(self) -> int:
        """Number of data of the simulation's survey."""
        return int(self.simulation.survey.nD)

    def simpeg_model(self, model: torch.Tensor) -> np.ndarray:
        """SimPEG's model vector for ``model``: float64, C order, unit :attr:`units`."""
        return _to_numpy(model)

    def _forward(self, model: torch.Tensor) -> torch.Tensor:
        return self.bridge(model)

    def _jvp(self, model: torch.Tensor, tangent: torch.Tensor) -> torch.Tensor:
        """``J v`` by SimPEG's ``Jvec`` with the cached fields; ``tangent`` is ``(nz, nx)``."""
        product = self.bridge.Jvec(self.simpeg_model(model), _to_numpy(tangent))
        return torch.as_tensor(product).to(model).reshape(self.data_shape)

    def _vjp(self, model: torch.Tensor, cotangent: torch.Tensor) -> torch.Tensor:
        """``J^T u`` by SimPEG's ``Jtvec`` with the cached fields; ``u`` has the data shape."""
        gradient = self.bridge.Jtvec(self.simpeg_model(model), _to_numpy(cotangent))
        return torch.as_tensor(gradient).to(model).reshape(self.grid.shape)

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
from ..operator import Linearization, PhysicsOperator
from .sensitivity import MAX_SENSITIVITY_MB, StoredSensitivity, sensitivity_mode

__all__ = ["FactorisationGuard", "SimPEGOperator"]

#: Model-dependent caches that SimPEG (0.25) keeps across a model update:
#: ``Simulation2DNodal``'s Robin boundary term times ``sigmaDeriv`` (per
#: wavenumber), which depends on the model through a non-linear map.
_STALE_ON_MODEL_UPDATE = ("_MBC_sigma",)


class FactorisationGuard:
    """A SimPEG simulation seen by the bridge, with a guard on its cached solves.

    SimPEG keeps what the last ``fields`` call built on the simulation (the
    factorisations ``Ainv`` of a PDE simulation), and ``Jvec``/``Jtvec`` use
    it whatever fields are passed in. If someone computed fields for another
    model in between (e.g. by calling ``simulation.fields`` directly), the
    bridge's cached fields no longer match: then they are computed again
    rather than silently mixed. SimPEG also keeps its model-dependent
    matrices when a new model is ``np.allclose`` to the old one (a
    finite-difference step is), so every new solve starts from a cleared model,
    and without the derivative caches SimPEG forgets to drop (the 2.5D nodal
    simulation's boundary term).

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
        for name in _STALE_ON_MODEL_UPDATE:
            if getattr(self.simulation, name, None) is not None:
                setattr(self.simulation, name, None)
        with warnings.catch_warnings():
            # SimPEG hands splu a CSR matrix; the conversion is needed anyway.
            warnings.simplefilter("ignore", SparseEfficiencyWarning)
            self._latest_fields = self.simulation.fields(m)
        return self._latest_fields

    def current_fields(self, m: np.ndarray, f):
        """``f`` if it is the fields of ``m`` and SimPEG's cached solves are still
        ``m``'s, else fields (and factorisations) solved again for ``m``."""
        return self._current(m, f)

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
    sensitivity : {"auto", "stored", "products"}, default "auto"
        How :meth:`jvp`, :meth:`vjp` and :meth:`linearize`'s products are
        taken. ``"stored"``: the dense sensitivity ``J`` (``n_data x
        grid.n_cells`` float64) is assembled at the first product at a model
        (:meth:`_assemble_sensitivity`; SimPEG's ``getJ`` by default), kept
        for that one model only, and every product is a torch matrix product
        on the model's device and dtype. ``"products"``: SimPEG's
        ``Jvec``/``Jtvec`` per product. ``"auto"``: stored when ``J`` takes at
        most ``max_sensitivity_mb``, else products (one INFO line on the
        ``jointinv.simpeg.sensitivity`` logger).
    max_sensitivity_mb : float, default 512
        Largest ``J`` stored under ``sensitivity="auto"`` [MB, 1e6 bytes].

    Attributes
    ----------
    simulation : simpeg.simulation.BaseSimulation
    bridge : jointinv.SimulationBridge
        Fields cached per model; ``bridge.n_fields_computed`` counts the solves.
    stored_sensitivity : jointinv.simpeg.StoredSensitivity or None
        The one stored ``J`` (``None`` when products are used);
        ``stored_sensitivity.n_built`` counts the assemblies.

    Notes
    -----
    :meth:`forward` is ``simulation.dpred``, :meth:`jvp` is ``Jvec`` and
    :meth:`vjp` is ``Jtvec``, all with the fields of one solve per model
    (:class:`FactorisationGuard`), or products with the stored ``J`` at that
    model; torch autograd (both modes) goes through SimPEG's products. SimPEG
    runs in float64 on the CPU: data and gradients come back in the model's
    dtype and on its device.
    """

    def __init__(self, grid: Grid, simulation, *, sensitivity: str = "auto",
                 max_sensitivity_mb: float = MAX_SENSITIVITY_MB):
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
        can_store = (type(self)._assemble_sensitivity is not SimPEGOperator._assemble_sensitivity
                     or callable(getattr(simulation, "getJ", None)))
        stores = sensitivity_mode(sensitivity, self.n_data, grid.n_cells, max_sensitivity_mb,
                                  can_store, owner=type(self).__name__)
        self.sensitivity = sensitivity
        self.stored_sensitivity = (StoredSensitivity(self._sensitivity_at,
                                                     (self.n_data, grid.n_cells))
                                   if stores else None)

    @property
    def n_data(self) -> int:
        """Number of data of the simulation's survey."""
        return int(self.simulation.survey.nD)

    def simpeg_model(self, model: torch.Tensor) -> np.ndarray:
        """SimPEG's model vector for ``model``: float64, C order, unit :attr:`units`."""
        return _to_numpy(model)

    def _forward(self, model: torch.Tensor) -> torch.Tensor:
        return self.bridge(model)

    # -- Jacobian products: SimPEG's, or one stored J per model ----------------------
    def _assemble_sensitivity(self, m: np.ndarray, fields) -> np.ndarray:
        """Dense ``J`` ``(n_data, grid.n_cells)`` at model vector ``m`` (hook).

        ``fields`` are the simulation's fields at ``m``, with its cached
        factorisations current. The default is SimPEG's ``getJ``; plugins may
        assemble ``J`` faster (e.g. all adjoint right-hand sides at once).
        """
        matrix = self.simulation.getJ(m, f=fields)
        if getattr(self.simulation, "_Jmatrix", None) is not None:
            self.simulation._Jmatrix = None  # SimPEG's copy: the operator keeps the only one
        return matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix)

    def _sensitivity_at(self, m: np.ndarray) -> np.ndarray:
        guard = self.bridge.simulation
        return self._assemble_sensitivity(m, guard.current_fields(m, self.bridge.fields(m)))

    def _jvp(self, model: torch.Tensor, tangent: torch.Tensor) -> torch.Tensor:
        """``J v``, ``tangent`` ``(nz, nx)``: SimPEG's ``Jvec`` with the cached fields,
        or the stored ``J`` times ``v``."""
        m = self.simpeg_model(model)
        if self.stored_sensitivity is not None:
            matrix = self.stored_sensitivity.matrix(m, model)
            return (matrix @ tangent.reshape(-1)).reshape(self.data_shape)
        product = self.bridge.Jvec(m, _to_numpy(tangent))
        return torch.as_tensor(product).to(model).reshape(self.data_shape)

    def _vjp(self, model: torch.Tensor, cotangent: torch.Tensor) -> torch.Tensor:
        """``J^T u``, ``u`` of the data shape: SimPEG's ``Jtvec`` with the cached fields,
        or the stored ``J`` transposed times ``u``."""
        m = self.simpeg_model(model)
        if self.stored_sensitivity is not None:
            matrix = self.stored_sensitivity.matrix(m, model)
            return (cotangent.reshape(-1) @ matrix).reshape(self.grid.shape)
        gradient = self.bridge.Jtvec(m, _to_numpy(cotangent))
        return torch.as_tensor(gradient).to(model).reshape(self.grid.shape)

    def _linearize(self, model: torch.Tensor) -> Linearization:
        # a new model: the previous model's J goes now; this one's is built at the
        # first product (a rejected line-search trial never builds one)
        if self.stored_sensitivity is not None:
            self.stored_sensitivity.keep_only(self.simpeg_model(model))
        return super()._linearize(model)

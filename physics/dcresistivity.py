"""2.5D DC resistivity on a jointinv grid, simulated by SimPEG's ``Simulation2DNodal``.

The model is log10 resistivity [log10 ohm m] on the grid's cells. SimPEG
solves the 2.5D nodal problem on its own mesh (by default the grid's cells
plus padding); the whole chain from our model to SimPEG's conductivity is a
SimPEG map, so SimPEG differentiates it and ``operator.simulation.dpred``
gives exactly our predicted data. jointinv's :class:`~jointinv.SimulationBridge`
turns ``dpred``/``Jvec``/``Jtvec`` into torch autograd, computing the fields
(and the factorisations, one per wavenumber) once per model.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from scipy.sparse import SparseEfficiencyWarning
from simpeg import maps
from simpeg.electromagnetics.static import resistivity as dc
from simpeg.utils import PerformanceWarning

from jointinv.bridge import SimulationBridge
from jointinv.grid import Grid
from jointinv.operator import PhysicsOperator
from jointinv.validation import check_positive_int

from .dc_mesh import check_mesh_covers_grid, grid_to_mesh_transfer, padded_mesh
from .dc_solvers import choose_solver, solver_name, solver_options
from .dc_survey import DATA_TYPES, Quadrupoles, surface_line

__all__ = ["DCResistivity2D"]

_LN10 = np.log(10.0)


class _FactorisedSimulation:
    """SimPEG's simulation seen by the bridge, with a guard on its factorisations.

    SimPEG keeps the factorisations of the last ``fields`` call on the
    simulation (``Ainv``), and ``Jvec``/``Jtvec`` use them whatever fields are
    passed in. If someone computed fields for another model in between (e.g.
    by calling ``operator.simulation.fields`` directly), the bridge's cached
    fields no longer match ``Ainv``: then they are computed again rather than
    silently mixed. SimPEG also ignores model changes within ``np.allclose``
    (keeping stale conductivity matrices), so every new model starts clean.
    """

    def __init__(self, simulation):
        self.simulation = simulation
        self._factorised_fields = None

    def fields(self, m):
        # SimPEG keeps its conductivity-dependent matrices when the new model is
        # np.allclose to the old one; a finite-difference step is not, so drop them.
        del self.simulation.model
        with warnings.catch_warnings():
            # SimPEG hands splu a CSR matrix; the conversion is needed anyway.
            warnings.simplefilter("ignore", SparseEfficiencyWarning)
            self._factorised_fields = self.simulation.fields(m)
        return self._factorised_fields

    def _current(self, m, f):
        fresh = (f is not None and f is self._factorised_fields
                 and np.array_equal(self.simulation.model, m))
        return f if fresh else self.fields(m)

    def dpred(self, m, f=None):
        return self.simulation.dpred(m, f=self._current(m, f))

    def Jvec(self, m, v, f=None):  # noqa: N802 - SimPEG's name
        return self.simulation.Jvec(m, v, f=self._current(m, f))

    def Jtvec(self, m, v, f=None):  # noqa: N802 - SimPEG's name
        return self.simulation.Jtvec(m, v, f=self._current(m, f))


class DCResistivity2D(PhysicsOperator, property="log10 resistivity", units="log10 ohm m"):
    r"""2.5D DC resistivity: log10 resistivity on the grid to apparent resistivities or voltages.

    Parameters
    ----------
    grid : jointinv.Grid
        Model grid; its top (depth ``grid.z0``) is the ground surface.
    survey : Quadrupoles
        A-B-M-N positions ``(x, z)`` [m], z depth, of every datum (see
        :func:`physics.dc_survey.surface_line`). Every electrode must be in
        the grid and not above the surface.
    data_type : {"apparent_resistivity", "volt"}, default "apparent_resistivity"
        Apparent resistivity [ohm m] (voltage over the half-space geometric
        factor, image method for buried electrodes) or voltage [V] for a 1 A
        current. Apparent resistivity is the default: it does not span
        orders of magnitude with electrode spacing, a homogeneous ground
        returns its own resistivity, and a relative error with a floor in
        ohm m reads directly; the two differ by a fixed factor per datum, so
        relative noise is the same in both.
    mesh : discretize.TensorMesh or discretize.TreeMesh, optional
        SimPEG mesh in ``(x, elevation)``; must cover the grid with its top
        at the surface. Default: :func:`physics.dc_mesh.padded_mesh` (the
        grid's cells plus ``padding_cells`` geometrically growing cells left,
        right and below).
    padding_cells : int, default 10
        Padding cells per side of the default mesh.
    padding_factor : float, default 1.3
        Growth of the padding cells of the default mesh.
    padding_value : float, optional
        log10 resistivity of the mesh outside the grid. Default: the
        adjacent grid cells' values (so the padding is part of the model).
    solver : {None, "pardiso", "mumps", "superlu"} or type, optional
        Sparse direct solver (:func:`physics.dc_solvers.choose_solver`);
        default the fastest installed.
    nky : int, default 11
        Number of wavenumbers of SimPEG's 2.5D transform (>= 3).

    Attributes
    ----------
    simulation : simpeg.electromagnetics.static.resistivity.Simulation2DNodal
        Its model is ``model.ravel()`` (C order, log10 ohm m); its
        ``sigmaMap`` = ``ExpMap * LinearMap(-ln(10) * transfer, -ln(10) * offset)``.
    mesh : discretize mesh
    survey : simpeg.electromagnetics.static.resistivity.Survey
        In elevation; data in the order of ``quadrupoles``.
    quadrupoles : Quadrupoles
    bridge : jointinv.SimulationBridge
        ``bridge.n_fields_computed`` counts the models solved for.

    Notes
    -----
    With :math:`T` the grid-to-mesh transfer (a sparse volume average,
    :func:`physics.dc_mesh.grid_to_mesh_transfer`) and :math:`c` its offset,
    the mesh conductivity is :math:`\sigma = 10^{-(T m + c)}` and SimPEG solves

    .. math:: \nabla\cdot\sigma\nabla\phi - k_y^2 \sigma \phi = -I\,\delta(r - r_s)

    for each wavenumber :math:`k_y` (one factorisation each), then sums the
    potentials with quadrature weights. The data are :math:`d = P\phi / G`
    (or :math:`P\phi` for voltages). :meth:`jvp` is SimPEG's ``Jvec`` and
    :meth:`vjp` its ``Jtvec`` (adjoint solves with the same factorisations);
    the chain rule through the maps is SimPEG's.

    Examples
    --------
    >>> from jointinv import Grid
    >>> from physics.dc_survey import surface_line
    >>> grid = Grid(nx=40, nz=10, dx=5.0, dz=5.0, x0=-100.0)
    >>> line = surface_line("dipole-dipole", -50.0, 50.0, 10.0, n_max=4)
    >>> operator = DCResistivity2D(grid, line)
    >>> operator(torch.full(grid.shape, 2.0)).shape
    torch.Size([26])
    """

    def __init__(self, grid: Grid, survey: Quadrupoles, *, data_type: str = "apparent_resistivity",
                 mesh=None, padding_cells: int = 10, padding_factor: float = 1.3,
                 padding_value: float | None = None, solver=None, nky: int = 11):
        super().__init__(grid)
        if not isinstance(survey, Quadrupoles):
            raise TypeError(f"survey must be a physics.dc_survey.Quadrupoles (e.g. from "
                            f"surface_line), got {type(survey).__name__}")
        if not isinstance(data_type, str) or data_type not in DATA_TYPES:
            raise ValueError(f"data_type must be one of {list(DATA_TYPES)}, got {data_type!r}")
        if padding_value is not None and not np.isfinite(float(padding_value)):
            raise ValueError(f"padding_value must be a finite log10 resistivity, "
                             f"got {padding_value!r}")
        nky = check_positive_int("nky", nky)
        if nky < 3:
            raise ValueError(f"nky must be an integer >= 3, got {nky}")
        survey.check_inside(grid)
        if mesh is None:
            mesh = padded_mesh(grid, padding_cells, padding_factor)
        else:
            check_mesh_covers_grid(mesh, grid)
        self.quadrupoles = survey
        self.data_type = data_type
        self.mesh = mesh
        self.solver = choose_solver(solver)
        self.survey = survey.to_simpeg(data_type, surface_depth=grid.z0)
        transfer, offset = grid_to_mesh_transfer(grid, mesh, padding_value)
        log_conductivity = maps.LinearMap(-_LN10 * transfer, b=-_LN10 * offset)
        with warnings.catch_warnings():
            # SimPEG warns that SuperLU is slow; choose_solver has said which runs.
            warnings.simplefilter("ignore", PerformanceWarning)
            self.simulation = dc.Simulation2DNodal(
                mesh, survey=self.survey, sigmaMap=maps.ExpMap(mesh) * log_conductivity,
                solver=self.solver, nky=nky,
            )
        self.simulation.solver_opts = solver_options(self.solver, self.simulation.solver_opts)
        self.bridge = SimulationBridge(_FactorisedSimulation(self.simulation))

    # -- contract -----------------------------------------------------------------
    @property
    def n_data(self) -> int:
        return self.quadrupoles.n_data

    def simpeg_model(self, model: torch.Tensor) -> np.ndarray:
        """SimPEG's model vector for ``model``: float64, C order, log10 ohm m."""
        return _as_vector(model)

    def _forward(self, model: torch.Tensor) -> torch.Tensor:
        return self.bridge(model)

    def _jvp(self, model: torch.Tensor, tangent: torch.Tensor) -> torch.Tensor:
        """``J v`` by SimPEG's ``Jvec`` with the cached fields; ``tangent`` is ``(nz, nx)``."""
        product = self.bridge.Jvec(self.simpeg_model(model), _as_vector(tangent))
        return torch.as_tensor(product).to(model)

    def _vjp(self, model: torch.Tensor, cotangent: torch.Tensor) -> torch.Tensor:
        """``J^T u`` by SimPEG's ``Jtvec`` with the cached fields; ``cotangent``: ``(n_data,)``."""
        gradient = self.bridge.Jtvec(self.simpeg_model(model), _as_vector(cotangent))
        return torch.as_tensor(gradient).to(model).reshape(self.grid.shape)

    @classmethod
    def from_surface_line(cls, grid: Grid, array: str, start: float, end: float,
                          electrode_spacing: float, n_max: int, **kwargs):
        """Operator for a line of electrodes on the grid's surface.

        ``array``, ``start``, ``end`` [m], ``electrode_spacing`` [m] and ``n_max``
        are those of :func:`physics.dc_survey.surface_line`; other keywords go
        to the constructor. Lets code that knows the plugin only by its
        registry name (``jointinv.load_physics("dcr")``) build a survey.
        """
        line = surface_line(array, start, end, electrode_spacing, n_max, surface_depth=grid.z0)
        return cls(grid, line, **kwargs)

    @classmethod
    def example_case(cls):
        """A 12 x 4 grid of 10 m cells, a 6-electrode dipole-dipole line, float64."""
        grid = Grid(nx=12, nz=4, dx=10.0, dz=10.0, x0=-60.0)
        line = surface_line("dipole-dipole", -30.0, 30.0, 12.0, n_max=3)
        operator = cls(grid, line, padding_cells=4, padding_factor=1.5, nky=5)
        z, x = np.meshgrid(grid.cell_centers_z, grid.cell_centers_x, indexing="ij")
        model = 2.0 + 0.3 * np.exp(-((x - 5.0) ** 2 + (z - 15.0) ** 2) / 300.0)
        return operator, torch.as_tensor(model, dtype=torch.float64)

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, n_data={self.n_data}, data_type={self.data_type!r}, "
                f"mesh_cells={self.mesh.n_cells}, solver={solver_name(self.solver)!r}")


def _as_vector(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().to("cpu", torch.float64).reshape(-1).numpy().copy()

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
from simpeg import maps
from simpeg.utils import PerformanceWarning

from jointinv.grid import Grid, check_grid
from jointinv.simpeg import (
    MAX_SENSITIVITY_MB,
    SimPEGOperator,
    check_mesh_covers_grid,
    choose_solver,
    electrode_refined_mesh,
    grid_to_mesh_transfer,
    padded_mesh,
    solver_name,
    solver_options,
)
from jointinv.validation import check_positive_int

from .dc_borehole import buried_electrodes
from .dc_layouts import check_dc_memory
from .dc_sensitivity import DataProjection, nodal_sensitivity
from .dc_simulation import Simulation2DNodalCachedSources
from .dc_survey import DATA_TYPES, Quadrupoles, from_electrodes, surface_line

__all__ = ["DCResistivity2D"]

_LN10 = np.log(10.0)
#: Largest |log10 resistivity| accepted: beyond 1e12 ohm m (or below 1e-12)
#: no earth material exists and the system matrices lose all precision.
MAX_ABS_LOG10 = 12.0
#: log10 resistivities of earth materials, from metallic ores to dry ice.
PLAUSIBLE = (-3.0, 8.0)


class DCResistivity2D(SimPEGOperator, property="log10 resistivity", units="log10 ohm m"):
    r"""2.5D DC resistivity: log10 resistivity on the grid to apparent resistivities or voltages.

    Parameters
    ----------
    grid : jointinv.Grid
        Model grid; its top (depth ``grid.z0``) is the ground surface.
    survey : Quadrupoles or (n_electrodes, 2) array_like
        A-B-M-N positions ``(x, z)`` [m], z depth, of every datum (see
        :func:`jointinv.physics.dc_survey.surface_line`), or the positions of the
        electrodes along a line (surface, borehole, uneven spacing), laid out
        as ``array`` up to ``n_max`` (:func:`jointinv.physics.dc_survey.from_electrodes`).
        Every electrode must be in the grid and not above the surface.
    array : str, default "dipole-dipole"
        Array of electrode positions given as ``survey``.
    n_max : int, default 8
        Largest n-spacing of electrode positions given as ``survey``.
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
        at the surface. Default: :func:`jointinv.simpeg.padded_mesh` (the
        grid's cells plus ``padding_cells`` geometrically growing cells left,
        right and below).
    padding_cells : int, default 10
        Padding cells per side of the default mesh.
    padding_factor : float, default 1.3
        Growth of the padding cells of the default mesh.
    refinement : int, default 1
        Split each grid cell of the default mesh in ``refinement`` x
        ``refinement``. The constructor warns when the mesh has fewer than
        :data:`MIN_CELLS_PER_SPACING` cells per smallest electrode spacing
        and says which refinement would do.
    electrode_refinement : int, default 2
        Only for a survey with buried (borehole) electrodes and neither
        ``mesh`` nor ``refinement`` given: the default mesh is then an octree
        (:func:`jointinv.simpeg.electrode_refined_mesh`) with the grid's cells,
        cells ``electrode_refinement`` times smaller within two grid cells of
        every electrode, and the padded mesh's extent. A buried electrode has
        ground all round it, so on the grid's cells its data are much less
        accurate: for the cross-hole + surface survey of
        ``examples/borehole_ert_study.py`` (electrodes 2 and 2.6 cells apart)
        half-space data are off by up to 9.8 % on the grid's cells, 2.3 %
        with 2 and 0.4 % with 4, for about 3.7x and 6x the forward time. A
        power of two; 1 keeps the padded tensor mesh. Surface-only surveys
        always get the padded tensor mesh.
    padding_value : float, optional
        log10 resistivity of the mesh outside the grid. Default: the
        adjacent grid cells' values (so the padding is part of the model).
    solver : {None, "pardiso", "mumps", "superlu"} or type, optional
        Sparse direct solver (:func:`jointinv.simpeg.choose_solver`);
        default the fastest installed.
    nky : int, default 11
        Number of wavenumbers of SimPEG's 2.5D transform (>= 3).
    sensitivity : {"auto", "stored", "products"}, default "auto"
        Jacobian products for :meth:`jvp`, :meth:`vjp` and
        :meth:`linearize` (so Gauss-Newton's). ``"stored"``: at the first
        product at a model the dense sensitivity ``J`` (``n_data x
        grid.n_cells`` float64) is assembled once (adjoint solves with the
        model's factorisations, all right-hand sides of a wavenumber in one
        call: :func:`jointinv.physics.dc_sensitivity.nodal_sensitivity`) and each
        product is a torch matrix product; ``J`` is kept for that one model
        only. ``"products"``: SimPEG's ``Jvec``/``Jtvec`` per product.
        ``"auto"``: stored when ``J`` takes at most ``max_sensitivity_mb``,
        else products. Recovered models agree to rounding either way.
    max_sensitivity_mb : float, default 512
        Largest ``J`` stored under ``sensitivity="auto"`` [MB, 1e6 bytes]
        (an 80 x 40 grid with 212 data needs 5.4 MB).

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
    stored_sensitivity : jointinv.simpeg.StoredSensitivity or None
        The stored ``J`` (None with products); ``n_built`` counts assemblies.

    Notes
    -----
    With :math:`T` the grid-to-mesh transfer (a sparse volume average,
    :func:`jointinv.simpeg.grid_to_mesh_transfer`) and :math:`c` its offset,
    the mesh conductivity is :math:`\sigma = 10^{-(T m + c)}` and SimPEG solves

    .. math:: \nabla\cdot\sigma\nabla\phi - k_y^2 \sigma \phi = -I\,\delta(r - r_s)

    for each wavenumber :math:`k_y` (one factorisation each), then sums the
    potentials with quadrature weights. The data are :math:`d = P\phi / G`
    (or :math:`P\phi` for voltages). :meth:`jvp` is SimPEG's ``Jvec`` and
    :meth:`vjp` its ``Jtvec`` (adjoint solves with the same factorisations),
    or, with a stored sensitivity, products with ``J`` assembled from the
    same factorisations; the chain rule through the maps is SimPEG's.

    A model with any ``|m| > 12`` is refused (``ValueError``); values outside
    ``[-3, 8]`` (1 mohm m to 100 Mohm m) draw one ``UserWarning`` per operator,
    since they usually mean resistivity was passed instead of its log10.

    Examples
    --------
    >>> from jointinv import Grid
    >>> from jointinv.physics.dc_survey import surface_line
    >>> grid = Grid(nx=40, nz=10, dx=5.0, dz=5.0, x0=-100.0)
    >>> line = surface_line("dipole-dipole", -50.0, 50.0, 10.0, n_max=4)
    >>> operator = DCResistivity2D(grid, line)
    >>> operator(torch.full(grid.shape, 2.0)).shape
    torch.Size([26])
    """

    def __init__(self, grid: Grid, survey, *, array: str = "dipole-dipole", n_max: int = 8,
                 data_type: str = "apparent_resistivity", mesh=None, padding_cells: int = 10,
                 padding_factor: float = 1.3, refinement: int = 1,
                 electrode_refinement: int = 2, padding_value: float | None = None,
                 solver=None, nky: int = 11,
                 sensitivity: str = "auto", max_sensitivity_mb: float = MAX_SENSITIVITY_MB):
        check_grid("grid", grid)
        if not isinstance(survey, Quadrupoles):
            if not isinstance(survey, (np.ndarray, list, tuple)):
                raise TypeError(f"survey must be a jointinv.physics.dc_survey.Quadrupoles (e.g. "
                                f"from surface_line) or (n, 2) electrode positions, "
                                f"got {type(survey).__name__}")
            try:
                survey = from_electrodes(survey, array=array, n_max=n_max)
            except (TypeError, ValueError) as error:
                raise type(error)(f"survey (electrode positions): {error}") from error
        if not isinstance(data_type, str) or data_type not in DATA_TYPES:
            raise ValueError(f"data_type must be one of {list(DATA_TYPES)}, got {data_type!r}")
        if padding_value is not None and not np.isfinite(float(padding_value)):
            raise ValueError(f"padding_value must be a finite log10 resistivity, "
                             f"got {padding_value!r}")
        nky = check_positive_int("nky", nky)
        if nky < 3:
            raise ValueError(f"nky must be an integer >= 3, got {nky}")
        survey.check_inside(grid)
        electrode_refinement = check_positive_int("electrode_refinement", electrode_refinement)
        if electrode_refinement & (electrode_refinement - 1):
            raise ValueError(f"electrode_refinement must be a power of two (1, 2, 4, 8, ...), "
                             f"got {electrode_refinement}")
        if mesh is None and refinement == 1 and electrode_refinement > 1 and \
                len(buried_electrodes(survey, grid.z0)):
            mesh = electrode_refined_mesh(grid, survey.electrodes, electrode_refinement,
                                          padding_cells=padding_cells,
                                          padding_factor=padding_factor)
        elif mesh is None:
            mesh = padded_mesh(grid, padding_cells, padding_factor, refinement)
            _warn_coarse_mesh(grid, survey, refinement)
        else:
            check_mesh_covers_grid(mesh, grid)
        solver = choose_solver(solver)
        simpeg_survey = survey.to_simpeg(data_type, surface_depth=grid.z0)
        check_dc_memory(mesh, len(simpeg_survey.source_list), nky)
        transfer, offset = grid_to_mesh_transfer(grid, mesh, padding_value)
        log_conductivity = maps.LinearMap(-_LN10 * transfer, b=-_LN10 * offset)
        with warnings.catch_warnings():
            # SimPEG warns that SuperLU is slow; choose_solver has said which runs.
            warnings.simplefilter("ignore", PerformanceWarning)
            simulation = Simulation2DNodalCachedSources(
                mesh, survey=simpeg_survey, sigmaMap=maps.ExpMap(mesh) * log_conductivity,
                solver=solver, nky=nky,
            )
        simulation.solver_opts = solver_options(solver, simulation.solver_opts)
        super().__init__(grid, simulation, sensitivity=sensitivity,
                         max_sensitivity_mb=max_sensitivity_mb)
        self._projection = None  # how the data read the potentials: built once, at first use
        self.quadrupoles = survey
        self.data_type = data_type
        self.mesh = mesh
        self.solver = solver
        self.survey = simpeg_survey
        self._warned_implausible = False

    # -- contract (forward, jvp, vjp: jointinv.simpeg.SimPEGOperator) ---------------
    def _check_model_values(self, model: torch.Tensor) -> None:
        """Refuse impossible resistivities; warn once about ones that look like ohm m."""
        low, high = float(model.min()), float(model.max())
        if max(abs(low), abs(high)) > MAX_ABS_LOG10:
            raise ValueError(
                f"model is log10 resistivity [log10 ohm m] and must lie in "
                f"[-{MAX_ABS_LOG10:g}, {MAX_ABS_LOG10:g}]; got values in [{low:g}, {high:g}] "
                f"(did you pass resistivity instead of its log10?)"
            )
        if (low < PLAUSIBLE[0] or high > PLAUSIBLE[1]) and not self._warned_implausible:
            # once per operator: an inversion may step outside for a few iterations
            self._warned_implausible = True
            warnings.warn(
                f"model (log10 resistivity [log10 ohm m]) has values in [{low:g}, {high:g}], "
                f"outside the plausible [{PLAUSIBLE[0]:g}, {PLAUSIBLE[1]:g}] "
                f"(1 mohm m to 100 Mohm m): did you pass resistivity instead of its log10?",
                UserWarning, stacklevel=4,
            )

    def _assemble_sensitivity(self, m: np.ndarray, fields) -> np.ndarray:
        """``J`` by batched adjoint solves
        (:func:`jointinv.physics.dc_sensitivity.nodal_sensitivity`)."""
        if self._projection is None:
            self._projection = DataProjection(self.simulation, fields)
        return nodal_sensitivity(self.simulation, fields, self._projection)

    @classmethod
    def from_surface_line(cls, grid: Grid, array: str, start: float, end: float,
                          electrode_spacing: float, n_max: int, **kwargs):
        """Operator for a line of electrodes on the grid's surface.

        ``array``, ``start``, ``end`` [m], ``electrode_spacing`` [m] and ``n_max``
        are those of :func:`jointinv.physics.dc_survey.surface_line`; other keywords go
        to the constructor. Lets code that knows the plugin only by its
        registry name (``jointinv.load_physics("dcr")``) build a survey.
        """
        check_grid("grid", grid)
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


#: Cells of the simulation mesh per smallest electrode spacing below which the
#: potentials (and apparent resistivities) lose accuracy: at 3 a half-space
#: datum is about 5 % off, at 4 within about 1-2 %.
MIN_CELLS_PER_SPACING = 4


def _warn_coarse_mesh(grid: Grid, survey: Quadrupoles, refinement: int) -> None:
    """Warn when the default mesh is too coarse for the closest electrodes."""
    electrodes = survey.electrodes
    if len(electrodes) < 2:
        return
    gaps = np.linalg.norm(electrodes[:, None, :] - electrodes[None, :, :], axis=-1)
    spacing = float(gaps[gaps > 0].min())
    cells = spacing / (max(grid.dx, grid.dz) / refinement)
    if cells < MIN_CELLS_PER_SPACING:
        needed = int(np.ceil(MIN_CELLS_PER_SPACING * max(grid.dx, grid.dz) / spacing))
        warnings.warn(f"the DC simulation mesh has {cells:.3g} cells per smallest electrode "
                      f"spacing ({spacing:g} m); below {MIN_CELLS_PER_SPACING} the predicted "
                      f"data lose accuracy (a few %): pass refinement={needed} (or a finer "
                      f"grid or your own mesh)", UserWarning, stacklevel=3)


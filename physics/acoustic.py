r"""2D constant-density acoustic wave equation: the physics of full-waveform inversion.

.. math:: \partial_t^2 u = v^2 \nabla^2 u + f, \qquad u = \partial_t u = 0 \text{ at } t = 0,

solved by leapfrog in time and centred differences of order 2, 4, 6 or 8 in
space on the model grid, surrounded by a convolutional PML (Pasalic &
McGarry, 2010) ``pml_width`` cells wide, into which the model is extended by
repeating its edge values. With ``free_surface=True`` there is no PML on top
and ``u = 0`` on the top edge of the grid. All shots run as one batch.

The data are the wavefield at the receivers, ``(n_shots, n_receivers, nt)``,
at times ``t = k dt`` (``k = 0 .. nt - 1``). The derivative with respect to
the velocity is the exact adjoint of the discrete forward (C-PML included),
either through plain autograd over the time loop (``gradient="autograd"``)
or by a checkpointed hand-written adjoint (``gradient="checkpoint"``, memory
that does not grow with every time step). Gradients flow to anything
upstream of the model, e.g. a U-Net that produces it (FAD-FWI).

Public entry points: :class:`AcousticWave2D` (the operator) and
:func:`acoustic_wave_2d` (the same as a function call).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch

from jointinv.operator import PhysicsOperator
from jointinv.validation import (
    DEFAULT_MAX_MEMORY_GB,
    check_choice,
    check_positive_float,
    check_positive_int,
    check_real_range,
    warn_implausible_velocity,
)
from jointinv.wavelets import peak_frequency, ricker

from .acoustic_checkpoint import (
    CheckpointedPropagation,
    Kernels,
    PropagationPlan,
    default_checkpoint_interval,
    run_forward,
)
from .acoustic_native import native_library
from .acoustic_setup import (
    DEFAULT_MAX_TIME_STEPS,
    cfl_step_ratio,
    check_accuracy,
    check_pml_width,
    check_propagation_size,
    check_source_amplitudes,
    check_stable,
    downsample,
    shot_geometry,
    stable_step_ratio,
    upsample,
    warn_cells_per_wavelength,
)
from .acoustic_step import StepLayout, pml_bands, pml_profiles

__all__ = ["AcousticWave2D", "acoustic_wave_2d"]

ENGINES = ("torch", "deepwave")
GRADIENTS = ("checkpoint", "autograd")
SOURCE_CONVENTIONS = ("physical", "deepwave")
#: ``compile="auto"`` compiles an operator's step once its propagations add up
#: to this many cell-updates (shots x padded cells x time steps, three per step
#: for a checkpointed gradient), counting the one about to start: eager steps
#: cost about 30 ns per cell-update on one core, so this is about as much
#: eager work as one compilation takes (10-20 s). Never paying more than twice
#: the better choice in hindsight (the ski-rental rule): a single large
#: propagation compiles at once, a small inversion after its first iterations,
#: a few small calls never. The choice, once made, is kept.
AUTO_COMPILE_CELL_STEPS = 4e8
#: Allowed sampling intervals [s]: below a picosecond ``dt**2`` underflows the
#: wave update in float32 (the data would silently be zero).
DT_RANGE = (1e-12, 1e6)


class AcousticWave2D(PhysicsOperator, property="velocity", units="m/s",
                     inversion_map="identity"):
    r"""Seismic shot gathers of the 2D acoustic wave equation (FWI forward model).

    Parameters
    ----------
    grid : jointinv.Grid
        Model grid; the model is the velocity [m/s], shape ``(nz, nx)``.
    sources : array_like, shape (n_shots, 2) or (n_shots, 1, 2)
        One source per shot at ``(x, z)`` [m], inside the grid; snapped to
        the cell that contains it (see :func:`jointinv.physics.acoustic_setup.snap_to_cells`).
    receivers : array_like, shape (n_receivers, 2) or (n_shots, n_receivers, 2)
        ``(x, z)`` [m] inside the grid, snapped likewise: the same receivers
        for every shot (an ocean-bottom or land spread), or each shot's own
        (a towed streamer moving with the source), as Deepwave's
        ``receiver_locations`` ``[shot, receiver, 2]``
        (:func:`jointinv.physics.acoustic_setup.shot_geometry`).
    dt : float
        Sampling interval of the wavelet and the data [s], in ``[1e-12, 1e6]``.
        If it violates the
        CFL condition for ``max_velocity`` the propagator takes ``ratio``
        smaller internal steps and warns; the wavelet is interpolated and the
        receiver data are resampled band-limited (FFT, Nyquist bin dropped),
        as :func:`deepwave.scalar` does, so the data are the same numbers.
    nt : int
        Number of time samples of the wavelet and the data.
    wavelet : torch.Tensor, optional
        Source time function, ``(nt,)`` (all shots) or ``(n_shots, nt)``;
        finite and not zero everywhere.
        Default: a Ricker wavelet of peak frequency ``frequency`` (peak at
        ``1.5 / frequency``), see :func:`jointinv.wavelets.ricker`.
    frequency : float, optional
        Dominant frequency [Hz], at most the Nyquist frequency ``1 / (2 dt)``:
        required without ``wavelet``; otherwise
        read from the wavelet's spectrum. Tunes the PML and the sampling
        warning (below 6 cells per wavelength).
    accuracy : {2, 4, 6, 8}, default 4
        Spatial order of the finite differences.
    pml_width : int, default 20
        Width of the absorbing layer outside the grid [cells]; 0 gives rigid
        (``u = 0``) walls.
    free_surface : bool, default False
        No PML on top; ``u = 0`` on the top edge of the grid (odd mirror
        image), so the surface reflects with reversed polarity.
    max_velocity : float, optional
        Velocity [m/s] for the CFL check and the PML strength. Pin it for
        inversions so the discretisation does not change between
        iterations; default: the model's maximum at each call.
    engine : {"torch", "deepwave"}, default "torch"
        ``"deepwave"`` runs :func:`deepwave.scalar` on the same discretisation
        (optional dependency; no free surface).
    gradient : {"checkpoint", "autograd"}, default "checkpoint"
        How the torch engine differentiates; both give the same numbers.
    source_convention : {"physical", "deepwave"}, default "physical"
        ``"physical"``: :math:`f = s(t)\,\delta(\mathbf{x} - \mathbf{x}_s)`, injected as
        ``dt^2 s / (dx dz)`` at the source cell after each step, so data do
        not depend on the cell size beyond discretisation error.
        ``"deepwave"``: Deepwave's scalar convention, ``-v_s^2 dt^2 s``
        (``v_s`` the velocity at the source cell); same numbers as
        :func:`deepwave.scalar` given ``source_amplitudes = s``.
    checkpoint_interval : int, optional
        Steps between checkpoints for ``gradient="checkpoint"``; default
        ``sqrt(2 * n_steps)``.
    compile : bool or "auto", default "auto"
        ``torch.compile`` the step (falls back to eager with a warning if
        compilation fails). ``"auto"`` compiles once the operator's work adds
        up to ``AUTO_COMPILE_CELL_STEPS`` cell-updates (about one compilation's
        worth of eager time), and from then on. The compiled step is shared
        by all operators with the same geometry: repeated calls (and new
        operators on the same grid) do not compile again.
    native : bool, default True
        Run forward-only propagations on the CPU (no gradient asked, e.g.
        under ``torch.no_grad()``, data simulation, a line search's trial
        steps) in a C time loop compiled at first use with the system's C
        compiler (:mod:`jointinv.physics.acoustic_native`): same numbers to
        rounding, about Deepwave's speed. Without a working compiler or a
        writable cache directory it warns once and uses the torch step.
        ``False``: always the torch step.
    max_time_steps : int, default 1_000_000
        Largest number of internal time steps (``nt`` times the CFL
        sub-steps) of one propagation.
    max_memory_gb : float, default 8
        Largest memory estimate [GiB] of one propagation (records, resampled
        source, wavefields, states kept for the gradient).

    Raises
    ------
    ValueError
        Naming ``nt`` or ``dt`` when the run would exceed ``max_time_steps``
        or ``max_memory_gb``: checked in the constructor (exactly when
        ``max_velocity`` is given, for one step per sample otherwise) and
        again before each propagation, so nothing large is allocated first.

    Notes
    -----
    The adjoint (``vjp``) back-propagates the data residual in reverse time
    through the transpose of every step; the model gradient is
    ``sum_t 2 v dt^2 lambda^{t+1} w^t`` (``w`` the C-PML-modified Laplacian,
    ``lambda`` the adjoint wavefield), summed onto the edge cells for the
    replicated PML part. ``jvp`` propagates the tangent wavefield (the Born
    approximation) alongside the forward one.

    Examples
    --------
    >>> import torch
    >>> from jointinv import Grid
    >>> grid = Grid(nx=40, nz=20, dx=10.0, dz=10.0)
    >>> op = AcousticWave2D(grid, sources=[[100.0, 15.0]], receivers=[[300.0, 15.0]],
    ...                     dt=1e-3, nt=200, frequency=15.0, pml_width=10)
    >>> op(torch.full(grid.shape, 2000.0)).shape
    torch.Size([1, 1, 200])
    """

    def __init__(self, grid, sources, receivers, dt, nt, wavelet=None, frequency=None,
                 accuracy=4, pml_width=20, free_surface=False, max_velocity=None,
                 engine="torch", gradient="checkpoint", source_convention="physical",
                 checkpoint_interval=None, compile="auto", native=True,
                 max_time_steps=DEFAULT_MAX_TIME_STEPS, max_memory_gb=DEFAULT_MAX_MEMORY_GB):
        super().__init__(grid)
        self.dt = check_real_range("dt", dt, *DT_RANGE, "s")
        self.nt = check_positive_int("nt", nt)
        self.max_time_steps = check_positive_int("max_time_steps", max_time_steps)
        self.max_memory_gb = check_positive_float("max_memory_gb", max_memory_gb)
        self.accuracy = check_accuracy(accuracy)
        pml_width = check_pml_width(pml_width)
        if not isinstance(free_surface, bool):
            raise TypeError(f"free_surface must be True or False, got {free_surface!r}")
        self.free_surface = free_surface
        #: Absorbing-layer widths ``(top, bottom, left, right)`` [cells].
        self.pml_widths = (0 if free_surface else pml_width, pml_width, pml_width, pml_width)
        self.max_velocity = (None if max_velocity is None
                             else check_positive_float("max_velocity", max_velocity))
        self.engine = check_choice("engine", engine, ENGINES)
        self.gradient = check_choice("gradient", gradient, GRADIENTS)
        self.source_convention = check_choice("source_convention", source_convention,
                                              SOURCE_CONVENTIONS)
        self.checkpoint_interval = (None if checkpoint_interval is None else
                                    check_positive_int("checkpoint_interval", checkpoint_interval))
        if compile != "auto" and not isinstance(compile, bool):
            raise ValueError(f"compile must be True, False or 'auto', got {compile!r}")
        self.compile = compile
        if not isinstance(native, bool):
            raise TypeError(f"native must be True or False, got {native!r}")
        self.native = native
        if free_surface and grid.nz < self.accuracy:
            raise ValueError(f"free_surface needs nz >= accuracy = {self.accuracy} cells "
                             f"(the mirror image and the bottom PML must not overlap), "
                             f"got nz = {grid.nz}")
        #: ``(n_shots, 2)`` and ``(n_receivers, 2)`` or ``(n_shots, n_receivers, 2)``
        #: cell indices ``(iz, ix)``.
        self.source_cells, self.receiver_cells = shot_geometry(grid, sources, receivers)
        n_shots = len(self.source_cells)
        # before the wavelet is allocated: exact with max_velocity, else a lower bound
        self._check_size(1 if self.max_velocity is None else stable_step_ratio(
            self.dt, self.spacing, self.max_velocity, self.accuracy))
        if frequency is not None:
            frequency = check_real_range("frequency", frequency, 1e-12, 0.5 / self.dt,
                                         "Hz (the Nyquist frequency of dt)")
        if wavelet is None:
            if frequency is None:
                raise ValueError("give either wavelet (a tensor (nt,) or (n_shots, nt)) or "
                                 "frequency [Hz] for the built-in Ricker wavelet, got neither")
            wavelet = ricker(frequency, self.nt, self.dt, dtype=torch.float64)
        amplitudes = check_source_amplitudes(wavelet, n_shots, self.nt).detach()
        if frequency is None:
            self.frequency = peak_frequency(amplitudes, self.dt)
        else:
            self.frequency = frequency
        self.register_buffer("source_amplitudes", amplitudes.to(torch.float64).clone())
        if engine == "deepwave":
            from .acoustic_deepwave import require_deepwave
            require_deepwave(free_surface)
        self.step_ratio = None
        if self.max_velocity is not None:
            self.step_ratio = cfl_step_ratio(self.dt, self.spacing, self.max_velocity,
                                             self.accuracy)
        self._plan_cache = {}
        self._work = 0.0  # cell-updates propagated so far, for compile="auto"
        self._auto_compiled = False
        self._warned_sampling = False
        self._warned_velocity = False

    # -- metadata ----------------------------------------------------------------------
    @property
    def spacing(self) -> tuple:
        """``(dz, dx)`` [m]."""
        return (self.grid.dz, self.grid.dx)

    @property
    def n_shots(self) -> int:
        return len(self.source_cells)

    @property
    def n_receivers(self) -> int:
        """Receivers per shot."""
        return self.receiver_cells.shape[-2]

    def shot_receiver_cells(self) -> np.ndarray:
        """``(n_shots, n_receivers, 2)`` receiver cells ``(iz, ix)`` of every shot."""
        if self.receiver_cells.ndim == 3:
            return self.receiver_cells
        shape = (self.n_shots, *self.receiver_cells.shape)
        return np.broadcast_to(self.receiver_cells, shape).copy()

    def select_shots(self, indices) -> AcousticWave2D:
        """The same operator restricted to the shots ``indices`` (shot mini-batches).

        Parameters
        ----------
        indices : sequence of int
            Distinct shot numbers in ``[0, n_shots)``.

        Returns
        -------
        AcousticWave2D
            Data ``(len(indices), n_receivers, nt)``: the rows ``indices`` of
            this operator's data. Options, wavelet rows and pinned velocity are
            shared; propagation plans are rebuilt for the new shot count.
        """
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        if len(indices) == 0 or len(set(indices.tolist())) != len(indices) or (
                indices.min() < 0 or indices.max() >= self.n_shots):
            raise ValueError(f"indices must be distinct shot numbers in [0, {self.n_shots}), "
                             f"got {indices.tolist()}")
        subset = copy.copy(self)
        # copy.copy shares the module's registries: give the subset its own
        subset._buffers, subset._parameters = dict(self._buffers), dict(self._parameters)
        subset._modules = dict(self._modules)
        subset.source_cells = self.source_cells[indices]
        if self.receiver_cells.ndim == 3:
            subset.receiver_cells = self.receiver_cells[indices]
        subset.source_amplitudes = self.source_amplitudes[torch.as_tensor(indices)]
        subset._plan_cache = {}
        return subset

    @property
    def n_data(self) -> int:
        return self.n_shots * self.n_receivers * self.nt

    @property
    def data_shape(self) -> tuple:
        """``(n_shots, n_receivers, nt)``."""
        return (self.n_shots, self.n_receivers, self.nt)

    def layout(self) -> StepLayout:
        """Geometry of the padded simulation domain."""
        top, bottom, left, right = self.pml_widths
        pad = self.accuracy // 2
        nz, nx = self.grid.nz + top + bottom, self.grid.nx + left + right
        return StepLayout(accuracy=self.accuracy, shape=(nz + 2 * pad, nx + 2 * pad),
                          inverse_spacing=(1.0 / self.grid.dz, 1.0 / self.grid.dx),
                          z_bands=pml_bands(nz, top, bottom, pad),
                          x_bands=pml_bands(nx, left, right, pad),
                          free_surface=self.free_surface)

    # -- checks ------------------------------------------------------------------------
    def _check_size(self, ratio: int) -> None:
        """Refuse a propagation of ``nt * ratio`` steps too long or large (before allocating)."""
        check_propagation_size(n_shots=self.n_shots, n_receivers=self.n_receivers, nt=self.nt,
                               dt=self.dt, ratio=ratio, padded_shape=self.layout().shape,
                               gradient=self.gradient, max_time_steps=self.max_time_steps,
                               max_memory_gb=self.max_memory_gb)

    def _check_model_values(self, model: torch.Tensor) -> None:
        v_min, v_max = float(model.min()), float(model.max())
        if v_min <= 0:
            raise ValueError(f"velocity must be > 0 m/s everywhere, got minimum {v_min:.6g} m/s")
        tiny = torch.finfo(model.dtype).tiny
        if (v_min * self.dt) ** 2 < tiny:  # the update v**2 dt**2 would underflow to zero
            raise ValueError(f"velocity must be >= {math.sqrt(tiny) / self.dt:.3g} m/s for "
                             f"dt = {self.dt:g} s in {model.dtype} (below, v**2 dt**2 "
                             f"underflows and the wave does not move), got minimum "
                             f"{v_min:.3g} m/s; is the model in m/s?")
        if not self._warned_velocity:
            self._warned_velocity = warn_implausible_velocity("velocity", v_min, v_max)
        if self.max_velocity is not None and self.engine == "torch":
            check_stable(v_max, self.dt / self.step_ratio, self.spacing, self.accuracy,
                         self.max_velocity)
        if not self._warned_sampling:
            self._warned_sampling = warn_cells_per_wavelength(v_min, self.frequency, self.spacing)

    # -- propagation ---------------------------------------------------------------------
    def _plan(self, device, dtype, max_velocity: float) -> PropagationPlan:
        key = (str(device), dtype, max_velocity)
        if key in self._plan_cache:
            return self._plan_cache[key]
        ratio = (self.step_ratio if self.step_ratio is not None else
                 cfl_step_ratio(self.dt, self.spacing, max_velocity, self.accuracy))
        layout = self.layout()
        n_steps = self.nt * ratio
        profiles = pml_profiles(layout, self.pml_widths, self.spacing, self.dt / ratio,
                                max_velocity, self.frequency, dtype, device)
        plan = PropagationPlan(
            layout=layout, profiles=profiles,
            source_index=self._flat_index(self.source_cells, layout, device)[:, None],
            receiver_index=self._flat_index(self.shot_receiver_cells().reshape(-1, 2), layout,
                                            device).reshape(self.n_shots, -1),
            n_steps=n_steps, step_ratio=ratio,
            checkpoint_interval=self.checkpoint_interval or default_checkpoint_interval(n_steps),
            kernels=Kernels.get(layout, self.compile is True or self._auto_compiled),
            native=self.native)
        if self.max_velocity is None:
            self._plan_cache.clear()  # the model's maximum changes: keep only the latest
        self._plan_cache[key] = plan
        return plan

    def _decide_compilation(self, plan: PropagationPlan, model: torch.Tensor) -> None:
        """``compile="auto"``: switch to the compiled step once the work adds up."""
        if self.compile != "auto" or self._auto_compiled:
            return
        if (self.native and model.device.type == "cpu"
                and not (torch.is_grad_enabled() and model.requires_grad)
                and native_library(model.dtype, self.accuracy) is not None):
            return  # a forward-only run on the CPU takes the C loop: no step to compile
        sweeps = 3 if self.gradient == "checkpoint" and model.requires_grad else 1
        shape = plan.layout.shape
        self._work += sweeps * plan.n_shots * shape[0] * shape[1] * plan.n_steps
        if self._work >= AUTO_COMPILE_CELL_STEPS:
            self._auto_compiled = True  # decided once: from now on every plan compiles
            for cached in self._plan_cache.values():
                cached.kernels = Kernels.get(cached.layout, True)

    def _flat_index(self, cells: np.ndarray, layout: StepLayout, device) -> torch.Tensor:
        pad = layout.pad
        iz = cells[:, 0] + self.pml_widths[0] + pad
        ix = cells[:, 1] + self.pml_widths[2] + pad
        return torch.as_tensor(iz * layout.shape[1] + ix, dtype=torch.int64, device=device)

    def padded_velocity(self, model: torch.Tensor) -> torch.Tensor:
        """The model extended into the PML by edge replication, ``layout().interior_shape``."""
        top, bottom, left, right = self.pml_widths
        nz, nx, device = self.grid.nz, self.grid.nx, model.device
        iz = torch.arange(-top, nz + bottom, device=device).clamp(0, nz - 1)
        ix = torch.arange(-left, nx + right, device=device).clamp(0, nx - 1)
        return model.index_select(0, iz).index_select(1, ix)

    def _forward(self, model: torch.Tensor) -> torch.Tensor:
        max_velocity = self.max_velocity or float(model.detach().max())
        if self.step_ratio is None:  # before anything the size of the run is allocated
            self._check_size(stable_step_ratio(self.dt, self.spacing, max_velocity,
                                               self.accuracy))
        amplitudes = self.source_amplitudes.to(model)
        if self.engine == "deepwave":
            from .acoustic_deepwave import deepwave_forward
            return deepwave_forward(self, model, amplitudes, max_velocity)
        plan = self._plan(model.device, model.dtype, max_velocity)
        self._decide_compilation(plan, model)
        internal_dt = self.dt / plan.step_ratio
        V = self.padded_velocity(model) ** 2 * internal_dt ** 2
        amplitudes = upsample(amplitudes, plan.step_ratio)
        if self.source_convention == "physical":
            increments = amplitudes * (internal_dt ** 2 / (self.grid.dx * self.grid.dz))
        else:
            top, left = self.pml_widths[0], self.pml_widths[2]
            V_source = V[self.source_cells[:, 0] + top, self.source_cells[:, 1] + left]
            increments = -amplitudes * V_source[:, None]
        increments = increments.transpose(0, 1).contiguous()
        if self.gradient == "checkpoint":
            records = CheckpointedPropagation.apply(V, increments, plan)
        else:
            records = run_forward(plan, V, increments)
        return downsample(records, plan.step_ratio)

    @classmethod
    def example_case(cls):
        """Tiny float64 case: 12 x 14 grid, 2 shots, 3 receivers, 60 steps."""
        from jointinv.grid import Grid

        grid = Grid(nx=14, nz=12, dx=10.0, dz=10.0)
        operator = cls(grid, sources=[[25.0, 15.0], [115.0, 15.0]],
                       receivers=[[45.0, 95.0], [75.0, 95.0], [105.0, 25.0]],
                       dt=1.5e-3, nt=60, frequency=25.0, accuracy=4, pml_width=4,
                       max_velocity=3000.0, compile=False)
        z = torch.linspace(0, 1, grid.nz, dtype=torch.float64)[:, None]
        x = torch.linspace(0, 1, grid.nx, dtype=torch.float64)[None, :]
        model = 2000.0 + 600.0 * z + 200.0 * torch.sin(6.0 * x) * z
        return operator, model

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, shots={self.n_shots}, receivers={self.n_receivers}, "
                f"nt={self.nt}, dt={self.dt}, accuracy={self.accuracy}, "
                f"pml_widths={self.pml_widths}, engine={self.engine!r}, "
                f"gradient={self.gradient!r}")


def acoustic_wave_2d(velocity: torch.Tensor, grid, sources, receivers, dt: float, nt: int,
                     **options) -> torch.Tensor:
    """Shot gathers for ``velocity`` in one call (functional form of :class:`AcousticWave2D`).

    Parameters
    ----------
    velocity : torch.Tensor
        ``(nz, nx)`` [m/s], float32 or float64, any device; differentiable.
    grid, sources, receivers, dt, nt, **options
        As for :class:`AcousticWave2D`.

    Returns
    -------
    torch.Tensor
        ``(n_shots, n_receivers, nt)``, same dtype and device as ``velocity``.
    """
    return AcousticWave2D(grid, sources, receivers, dt, nt, **options)(velocity)


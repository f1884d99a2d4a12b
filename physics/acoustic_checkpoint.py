"""Time loops of the acoustic propagator and its memory-lean gradient.

:func:`run_forward` is the plain loop (autograd records every step when the
inputs require gradients: the "RNN" formulation of FAD-FWI).
:class:`CheckpointedPropagation` is a ``torch.autograd.Function`` whose forward
keeps only the state at the start of every segment of
``checkpoint_interval`` steps. Its backward replays one segment at a time from
its checkpoint, keeping the ``checkpoint_interval`` Laplacians the model
gradient needs, and runs the exact discrete adjoint of
:func:`jointinv.physics.acoustic_step.wave_step` (C-PML memory variables included)
backwards through it. Memory is about ``(n_steps / interval) * 2 + interval``
wavefields instead of several per step; the price is one extra forward pass.
Its ``jvp`` propagates the tangent wavefield alongside the forward one, so
forward-mode AD (used for Jacobian-vector products) works too.

All shots run as one batch through every step; compiled kernels use torch's
intra-op threads.
"""

from __future__ import annotations

import math
import types
import warnings
from dataclasses import dataclass, field

import torch
import torch.autograd.forward_ad as fwAD
import torch.nn.functional as F

from .acoustic_adjoint import adjoint_step, zero_adjoint_state
from .acoustic_native import native_forward
from .acoustic_step import StepLayout, add_sources, wave_step, zero_state

__all__ = ["CheckpointedPropagation", "Kernels", "PropagationPlan", "default_checkpoint_interval",
           "run_forward"]


def default_checkpoint_interval(n_steps: int) -> int:
    """``sqrt(2 n_steps)``: balances two stored wavefields per checkpoint
    against one stored Laplacian per replayed step."""
    return max(1, round(math.sqrt(2 * n_steps)))


class Kernels:
    """The step functions for one layout, compiled with ``torch.compile`` if asked.

    If compilation fails (no compiler, unsupported platform) the eager
    functions are used from then on, after one warning. Use :meth:`get` to
    share one instance (and its compiled code) between operators.
    """

    _shared: dict = {}

    @classmethod
    def get(cls, layout: StepLayout, compile: bool) -> Kernels:
        """The instance for ``(layout, compile)``, created on first use."""
        if (layout, compile) not in cls._shared:
            cls._shared[(layout, compile)] = cls(layout, compile)
        return cls._shared[(layout, compile)]

    #: ``torch.compile`` backend (tests swap in a cheaper one).
    backend = "inductor"

    def __init__(self, layout: StepLayout, compile: bool):
        self.layout = layout
        self.compile = compile
        self.compiled = None
        if compile:
            tag = str(len(Kernels._shared))
            self.compiled = {name: torch.compile(_own_copy(function, tag), dynamic=False,
                                                 backend=self.backend)
                             for name, function in _STEP_FUNCTIONS.items()}

    def __call__(self, name: str, *args, **kwargs):
        if self.compiled is not None and not _has_tangent(args[0]):
            try:
                return self.compiled[name](self.layout, *args, **kwargs)
            except Exception as error:  # compilation problems surface at the first call
                warnings.warn(f"torch.compile of the acoustic step failed ({type(error).__name__}: "
                              f"{error}); using the eager step", RuntimeWarning, stacklevel=2)
                self.compiled = None
        return _STEP_FUNCTIONS[name](self.layout, *args, **kwargs)


# One top-level function per kernel, and a copy of it (own code object) per
# Kernels instance: torch.compile keeps compiled variants per code object and
# recompiles at most ``recompile_limit`` (8) times for each before falling
# back to eager, so layouts, dtypes and grad modes must not share one.
def _step(layout, *args):
    return wave_step(layout, *args)


def _step_with_laplacian(layout, *args):
    return wave_step(layout, *args, return_laplacian=True)


def _adjoint(layout, *args):
    return adjoint_step(layout, *args)


_STEP_FUNCTIONS = {"step": _step, "step_w": _step_with_laplacian, "adjoint": _adjoint}


def _own_copy(function, tag: str):
    code = function.__code__.replace(co_name=f"{function.__name__}_{tag}")
    return types.FunctionType(code, function.__globals__, code.co_name)


def _has_tangent(tensor: torch.Tensor) -> bool:
    # Forward-mode dual tensors are not traced by torch.compile; run them eagerly.
    return fwAD.unpack_dual(tensor).tangent is not None


@dataclass
class PropagationPlan:
    """Everything about a propagation that does not depend on the model.

    Attributes
    ----------
    layout : StepLayout
    profiles : tuple of torch.Tensor
        C-PML coefficients from :func:`jointinv.physics.acoustic_step.pml_profiles`.
    source_index : torch.Tensor
        ``(n_shots, 1)`` int64 flat index of each shot's source in the padded domain.
    receiver_index : torch.Tensor
        ``(n_shots, n_receivers)`` int64 flat indices of the receivers.
    n_steps : int
        Internal time steps (``nt * step_ratio``).
    step_ratio : int
        Internal steps per output sample (CFL sub-stepping).
    checkpoint_interval : int
        Steps per checkpoint segment (gradient path "checkpoint").
    kernels : Kernels
    native : bool
        Run forward-only propagations (no autograd, no checkpoints) on CPU
        in the C loop of :mod:`jointinv.physics.acoustic_native` when it builds.
    cache : dict
        Derived arrays kept with the plan (the C loop's profiles and indices).
    """

    layout: StepLayout
    profiles: tuple
    source_index: torch.Tensor
    receiver_index: torch.Tensor
    n_steps: int
    step_ratio: int
    checkpoint_interval: int
    kernels: Kernels
    native: bool = True
    cache: dict = field(default_factory=dict)

    @property
    def n_shots(self) -> int:
        return self.source_index.shape[0]


def _record(plan: PropagationPlan, u: torch.Tensor) -> torch.Tensor:
    return u.reshape(plan.n_shots, -1).gather(1, plan.receiver_index)


def run_forward(plan: PropagationPlan, V: torch.Tensor, increments: torch.Tensor,
                checkpoints: list | None = None) -> torch.Tensor:
    """Propagate from rest and record the receivers (one thread, all shots of ``plan``).

    Parameters
    ----------
    plan : PropagationPlan
    V : torch.Tensor
        ``v^2 dt^2`` [m^2] on the padded model, ``plan.layout.interior_shape``.
    increments : torch.Tensor
        ``(n_steps, n_shots)``: value added at each source cell after step ``j``.
    checkpoints : list, optional
        If given, the state at the start of every segment is appended to it.

    Returns
    -------
    torch.Tensor
        ``(n_shots, n_receivers, n_steps)``: the wavefield at the receivers
        before each internal step (sample 0 is zero); with CFL sub-steps the
        caller resamples it to ``dt``
        (:func:`jointinv.physics.acoustic_setup.downsample`).
    """
    differentiable = ((torch.is_grad_enabled() and (V.requires_grad or increments.requires_grad))
                      or _has_tangent(V) or _has_tangent(increments))
    if plan.native and checkpoints is None and not differentiable:
        records = native_forward(plan, V, increments)
        if records is not None:
            return records
    state = zero_state(plan.layout, plan.n_shots, V.dtype, V.device)
    # Without autograd, write the records into one preallocated tensor: a small
    # allocation per step between the large ones fragments the heap and makes
    # the resident memory grow with the number of steps.
    records = ([] if differentiable else
               torch.empty((plan.n_steps, plan.n_shots, plan.receiver_index.shape[1]),
                           dtype=V.dtype, device=V.device))
    for j in range(plan.n_steps):
        if checkpoints is not None and j % plan.checkpoint_interval == 0:
            checkpoints.append(state)  # steps are out of place: no copy needed
        if differentiable:
            records.append(_record(plan, state[0]))
        else:
            torch.gather(state[0].reshape(plan.n_shots, -1), 1, plan.receiver_index,
                         out=records[j])
        state = plan.kernels("step", V, plan.profiles, state)
        add_sources(state[0], plan.source_index, increments[j])
    if differentiable:
        return torch.stack(records, dim=-1)
    return records.permute(1, 2, 0).contiguous()


def _adjoint_sweep(plan: PropagationPlan, V, increments, data_bar, checkpoints):
    """Reverse-time sweep for the shots of ``plan``: returns ``(V_bar, increments_bar)``."""
    kernels, interval, n_shots = plan.kernels, plan.checkpoint_interval, plan.n_shots
    adjoint = zero_adjoint_state(plan.layout, n_shots, V.dtype, V.device)
    V_bar = torch.zeros((n_shots, *plan.layout.interior_shape), dtype=V.dtype, device=V.device)
    increments_bar = torch.zeros_like(increments)
    # V at the receivers, to inject the data cotangent into the carried V * u_bar too
    pad = plan.layout.pad
    V_at_receivers = F.pad(V, (pad, pad, pad, pad)).reshape(-1)[plan.receiver_index]
    for segment in reversed(range(len(checkpoints))):
        start = segment * interval
        stop = min(start + interval, plan.n_steps)
        state, laplacians = checkpoints[segment], []
        for j in range(start, stop):
            state, w = kernels("step_w", V, plan.profiles, state)
            add_sources(state[0], plan.source_index, increments[j])
            laplacians.append(w)
        del state
        checkpoints[segment] = None  # free the memory as we go
        for j in reversed(range(start, stop)):
            increments_bar[j] = adjoint[0].reshape(n_shots, -1).gather(
                1, plan.source_index).view(n_shots)
            adjoint, V_bar = kernels("adjoint", V, plan.profiles, adjoint, laplacians.pop(),
                                     V_bar)
            # In place on fresh kernel outputs: a scatter inside the compiled
            # kernel would copy the whole wavefield.
            recorded = data_bar[..., j]
            adjoint[0].view(n_shots, -1).scatter_add_(1, plan.receiver_index, recorded)
            adjoint[-1].view(n_shots, -1).scatter_add_(1, plan.receiver_index,
                                                       recorded * V_at_receivers)
    return V_bar.sum(0), increments_bar


def _tangent_sweep(plan: PropagationPlan, V, increments, V_dot, increments_dot):
    """Forward propagation of the tangent (Born) wavefield; returns its records."""
    pad = plan.layout.pad
    state = zero_state(plan.layout, plan.n_shots, V.dtype, V.device)
    tangent = zero_state(plan.layout, plan.n_shots, V.dtype, V.device)
    records = torch.empty((plan.n_steps, plan.n_shots,
                           plan.receiver_index.shape[1]), dtype=V.dtype, device=V.device)
    for j in range(plan.n_steps):
        torch.gather(tangent[0].reshape(plan.n_shots, -1), 1, plan.receiver_index,
                     out=records[j])
        state, w = plan.kernels("step_w", V, plan.profiles, state)
        add_sources(state[0], plan.source_index, increments[j])
        tangent = plan.kernels("step", V, plan.profiles, tangent)
        add_sources(tangent[0], plan.source_index, increments_dot[j])
        if V_dot is not None:
            # d(V w) = V dw + dV w: the model perturbation acts as a source.
            tangent[0][:, pad:-pad, pad:-pad] += V_dot * w
    return records.permute(1, 2, 0).contiguous()


class CheckpointedPropagation(torch.autograd.Function):
    """``data = propagate(V, increments)`` with a checkpointed exact adjoint.

    ``V`` is ``(nz_pml, nx_pml)`` (shared by all shots), ``increments``
    ``(n_steps, n_shots)``; ``data`` is ``(n_shots, n_receivers, n_steps)``.
    """

    @staticmethod
    def forward(ctx, V, increments, plan):
        checkpoints = [] if (V.requires_grad or increments.requires_grad) else None
        data = run_forward(plan, V.detach(), increments.detach(), checkpoints)
        ctx.plan, ctx.checkpoints = plan, checkpoints
        ctx.save_for_backward(V, increments)
        ctx.save_for_forward(V, increments)
        return data

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, data_bar):
        V, increments = (tensor.detach() for tensor in ctx.saved_tensors)
        # a copy of the list: the sweep drops its segments as it goes, while the
        # checkpoints stay for further backward passes (a solver's linearisation
        # takes many vector-Jacobian products from one forward pass)
        V_bar, increments_bar = _adjoint_sweep(ctx.plan, V, increments,
                                               data_bar.detach().to(V.dtype),
                                               list(ctx.checkpoints))
        return (V_bar if ctx.needs_input_grad[0] else None,
                increments_bar if ctx.needs_input_grad[1] else None, None)

    @staticmethod
    def jvp(ctx, V_dot, increments_dot, _):
        V, increments = (tensor.detach() for tensor in ctx.saved_tensors)
        increments_dot = (torch.zeros_like(increments) if increments_dot is None
                          else increments_dot.detach())
        V_dot = None if V_dot is None else V_dot.detach()
        return _tangent_sweep(ctx.plan, V, increments, V_dot, increments_dot)

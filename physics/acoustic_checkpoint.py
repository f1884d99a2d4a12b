"""Time loops of the acoustic propagator and its memory-lean gradient.

:func:`run_forward` is the plain loop (autograd records every step when the
inputs require gradients: the "RNN" formulation of FAD-FWI).
:class:`CheckpointedPropagation` is a ``torch.autograd.Function`` whose forward
keeps only the state at the start of every segment of
``checkpoint_interval`` steps. Its backward replays one segment at a time from
its checkpoint, keeping the ``checkpoint_interval`` Laplacians the model
gradient needs, and runs the exact discrete adjoint of
:func:`physics.acoustic_step.wave_step` (C-PML memory variables included)
backwards through it. Memory is about ``(n_steps / interval) * 2 + interval``
wavefields instead of several per step; the price is one extra forward pass.
Its ``jvp`` propagates the tangent wavefield alongside the forward one, so
forward-mode AD (used for Jacobian-vector products) works too.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import partial

import torch
import torch.autograd.forward_ad as fwAD

from .acoustic_step import StepLayout, adjoint_step, wave_step, zero_state

__all__ = ["CheckpointedPropagation", "Kernels", "PropagationPlan", "run_forward",
           "default_checkpoint_interval"]


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

    def __init__(self, layout: StepLayout, compile: bool):
        self.eager = {
            "step": partial(wave_step, layout),
            "step_w": partial(wave_step, layout, return_laplacian=True),
            "adjoint": partial(adjoint_step, layout),
        }
        self.compiled = None
        if compile:
            self.compiled = {name: torch.compile(function, dynamic=False)
                             for name, function in self.eager.items()}

    def __call__(self, name: str, *args, **kwargs):
        if self.compiled is not None and not _has_tangent(args[0]):
            try:
                return self.compiled[name](*args, **kwargs)
            except Exception as error:  # compilation problems surface at the first call
                warnings.warn(f"torch.compile of the acoustic step failed ({type(error).__name__}: "
                              f"{error}); using the eager step", RuntimeWarning, stacklevel=2)
                self.compiled = None
        return self.eager[name](*args, **kwargs)


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
        C-PML coefficients from :func:`physics.acoustic_step.pml_profiles`.
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
    """

    layout: StepLayout
    profiles: tuple
    source_index: torch.Tensor
    receiver_index: torch.Tensor
    n_steps: int
    step_ratio: int
    checkpoint_interval: int
    kernels: Kernels

    @property
    def n_shots(self) -> int:
        return self.source_index.shape[0]


def _record(plan: PropagationPlan, u: torch.Tensor) -> torch.Tensor:
    return u.reshape(plan.n_shots, -1).gather(1, plan.receiver_index)


def _inject_receiver_adjoint(plan: PropagationPlan, u_bar: torch.Tensor, values: torch.Tensor):
    flat = u_bar.reshape(plan.n_shots, -1).scatter_add(1, plan.receiver_index, values)
    return flat.view_as(u_bar)


def run_forward(plan: PropagationPlan, V: torch.Tensor, increments: torch.Tensor,
                checkpoints: list | None = None) -> torch.Tensor:
    """Propagate from rest and record the receivers.

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
        ``(n_shots, n_receivers, nt)``: the wavefield at the receivers at
        ``t = k dt`` (recorded before step ``k * step_ratio``; sample 0 is zero).
    """
    state = zero_state(plan.layout, plan.n_shots, V.dtype, V.device)
    records = []
    for j in range(plan.n_steps):
        if checkpoints is not None and j % plan.checkpoint_interval == 0:
            checkpoints.append(state)  # steps are out of place: no copy needed
        if j % plan.step_ratio == 0:
            records.append(_record(plan, state[0]))
        state = plan.kernels("step", V, plan.profiles, state, increments[j], plan.source_index)
    return torch.stack(records, dim=-1)


class CheckpointedPropagation(torch.autograd.Function):
    """``data = propagate(V, increments)`` with a checkpointed exact adjoint."""

    @staticmethod
    def forward(ctx, V, increments, plan):
        checkpoints = [] if (V.requires_grad or increments.requires_grad) else None
        data = run_forward(plan, V, increments, checkpoints)
        ctx.plan, ctx.checkpoints = plan, checkpoints
        ctx.save_for_backward(V, increments)
        ctx.save_for_forward(V, increments)
        return data

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, data_bar):
        V, increments = ctx.saved_tensors
        plan, checkpoints = ctx.plan, ctx.checkpoints
        kernels, interval = plan.kernels, plan.checkpoint_interval
        n_shots = plan.n_shots
        data_bar = data_bar.to(V.dtype)
        adjoint = zero_state(plan.layout, n_shots, V.dtype, V.device)
        V_bar = torch.zeros((n_shots, *plan.layout.interior_shape), dtype=V.dtype, device=V.device)
        increments_bar = torch.zeros_like(increments)
        for segment in reversed(range(len(checkpoints))):
            start = segment * interval
            stop = min(start + interval, plan.n_steps)
            state, laplacians = checkpoints[segment], []
            for j in range(start, stop):
                state, w = kernels("step_w", V, plan.profiles, state, increments[j],
                                   plan.source_index)
                laplacians.append(w)
            del state
            for j in reversed(range(start, stop)):
                increments_bar[j] = adjoint[0].reshape(n_shots, -1).gather(
                    1, plan.source_index).view(n_shots)
                adjoint, V_bar = kernels("adjoint", V, plan.profiles, adjoint,
                                         laplacians.pop(), V_bar)
                if j % plan.step_ratio == 0:
                    adjoint = (_inject_receiver_adjoint(plan, adjoint[0],
                                                        data_bar[..., j // plan.step_ratio]),
                               *adjoint[1:])
            checkpoints[segment] = None  # free the memory as we go
        V_bar = V_bar.sum(0) if V.dim() == 2 else V_bar
        return (V_bar if ctx.needs_input_grad[0] else None,
                increments_bar if ctx.needs_input_grad[1] else None, None)

    @staticmethod
    def jvp(ctx, V_dot, increments_dot, _):
        V, increments = ctx.saved_tensors
        plan = ctx.plan
        pad = plan.layout.pad
        if increments_dot is None:
            increments_dot = torch.zeros_like(increments)
        state = zero_state(plan.layout, plan.n_shots, V.dtype, V.device)
        tangent = zero_state(plan.layout, plan.n_shots, V.dtype, V.device)
        records = []
        for j in range(plan.n_steps):
            if j % plan.step_ratio == 0:
                records.append(_record(plan, tangent[0]))
            state, w = plan.kernels("step_w", V, plan.profiles, state, increments[j],
                                    plan.source_index)
            tangent = plan.kernels("step", V, plan.profiles, tangent, increments_dot[j],
                                   plan.source_index)
            if V_dot is not None:
                # d(V w) = V dw + dV w: the model perturbation acts as a source.
                tangent[0][:, pad:-pad, pad:-pad] += V_dot * w
        return torch.stack(records, dim=-1)

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

On the CPU with compiled kernels the shots are split into
``torch.get_num_threads()`` groups, each propagated through the whole time
loop by its own thread with single-threaded kernels (compiled code releases
the GIL). Threads then meet once per propagation instead of at an OpenMP
barrier after every loop of every step, which also keeps the speed when the
cores are shared with other work.
"""

from __future__ import annotations

import math
import threading
import types
import warnings
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.autograd.forward_ad as fwAD

from .acoustic_step import StepLayout, adjoint_step, wave_step, zero_adjoint_state, zero_state

__all__ = ["CheckpointedPropagation", "Kernels", "PropagationPlan", "default_checkpoint_interval",
           "in_shot_groups", "run_forward"]


def default_checkpoint_interval(n_steps: int) -> int:
    """``sqrt(2 n_steps)``: balances two stored wavefields per checkpoint
    against one stored Laplacian per replayed step."""
    return max(1, round(math.sqrt(2 * n_steps)))


class Kernels:
    """The step functions for one layout, compiled with ``torch.compile`` if asked.

    ``serial=True`` compiles single-threaded kernels, for running shot groups
    in parallel threads (see :func:`in_shot_groups`). If compilation fails
    (no compiler, unsupported platform) the eager functions are used from
    then on, after one warning. Use :meth:`get` to share one instance (and
    its compiled code) between operators.
    """

    _shared: dict = {}

    @classmethod
    def get(cls, layout: StepLayout, compile: bool, serial: bool = False) -> Kernels:
        """The instance for ``(layout, compile, serial)``, created on first use."""
        key = (layout, compile, serial)
        if key not in cls._shared:
            cls._shared[key] = cls(layout, compile, serial)
        return cls._shared[key]

    def __init__(self, layout: StepLayout, compile: bool, serial: bool = False):
        self.layout = layout
        self.compiled = None
        self._serial = serial
        if compile:
            options = {"cpp.threads": 1} if serial else None
            tag = f"{len(Kernels._shared)}{'_serial' if serial else ''}"
            self.compiled = {name: torch.compile(_own_copy(function, tag), dynamic=False,
                                                 options=options)
                             for name, function in _STEP_FUNCTIONS.items()}
        self._lock = threading.Lock()
        self._ready = set()

    @property
    def serial(self) -> bool:
        """True while single-threaded compiled kernels are in use."""
        return self._serial and self.compiled is not None

    def __call__(self, name: str, *args, **kwargs):
        if self.compiled is not None and not _has_tangent(args[0]):
            try:
                if name in self._ready:
                    return self.compiled[name](self.layout, *args, **kwargs)
                with self._lock:  # compile once, not once per thread
                    result = self.compiled[name](self.layout, *args, **kwargs)
                    self._ready.add(name)
                return result
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

    def subset(self, shots: slice) -> PropagationPlan:
        """The same plan for the shots ``shots``."""
        return replace(self, source_index=self.source_index[shots],
                       receiver_index=self.receiver_index[shots])


def in_shot_groups(plan: PropagationPlan, device: torch.device, work) -> list:
    """``[work(index, subplan, shots) for each shot group]``, groups in parallel threads.

    One group (no threads) unless the kernels are serial compiled code on the
    CPU. Every thread runs in the caller's grad mode.
    """
    n_groups = 1
    if device.type == "cpu" and plan.kernels.serial:
        n_groups = max(1, min(torch.get_num_threads(), plan.n_shots))
    bounds = [int(b) for b in np.linspace(0, plan.n_shots, n_groups + 1).round()]
    groups = [slice(bounds[i], bounds[i + 1]) for i in range(n_groups)]
    if n_groups == 1:
        return [work(0, plan, groups[0])]
    results, errors = [None] * n_groups, []
    grad_mode = torch.is_grad_enabled()

    def run(index):
        try:
            with torch.set_grad_enabled(grad_mode):
                results[index] = work(index, plan.subset(groups[index]), groups[index])
        except BaseException as error:  # re-raised in the caller's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(1, n_groups)]
    for thread in threads:
        thread.start()
    run(0)
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


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
        ``(n_shots, n_receivers, nt)``: the wavefield at the receivers at
        ``t = k dt`` (recorded before step ``k * step_ratio``; sample 0 is zero).
    """
    state = zero_state(plan.layout, plan.n_shots, V.dtype, V.device)
    n_records = plan.n_steps // plan.step_ratio
    differentiable = ((torch.is_grad_enabled() and (V.requires_grad or increments.requires_grad))
                      or _has_tangent(V) or _has_tangent(increments))
    # Without autograd, write the records into one preallocated tensor: a small
    # allocation per step between the large ones fragments the heap and makes
    # the resident memory grow with the number of steps.
    records = ([] if differentiable else
               torch.empty((n_records, plan.n_shots, plan.receiver_index.shape[1]),
                           dtype=V.dtype, device=V.device))
    for j in range(plan.n_steps):
        if checkpoints is not None and j % plan.checkpoint_interval == 0:
            checkpoints.append(state)  # steps are out of place: no copy needed
        if j % plan.step_ratio == 0:
            if differentiable:
                records.append(_record(plan, state[0]))
            else:
                torch.gather(state[0].reshape(plan.n_shots, -1), 1, plan.receiver_index,
                             out=records[j // plan.step_ratio])
        state = plan.kernels("step", V, plan.profiles, state, increments[j], plan.source_index)
    if differentiable:
        return torch.stack(records, dim=-1)
    return records.permute(1, 2, 0).contiguous()


def _adjoint_sweep(plan: PropagationPlan, V, increments, data_bar, checkpoints):
    """Reverse-time sweep for the shots of ``plan``: returns ``(V_bar, increments_bar)``."""
    kernels, interval, n_shots = plan.kernels, plan.checkpoint_interval, plan.n_shots
    adjoint = zero_adjoint_state(plan.layout, n_shots, V.dtype, V.device)
    V_bar = torch.zeros((n_shots, *plan.layout.interior_shape), dtype=V.dtype, device=V.device)
    increments_bar = torch.zeros_like(increments)
    no_record = torch.zeros_like(data_bar[..., 0])
    for segment in reversed(range(len(checkpoints))):
        start = segment * interval
        stop = min(start + interval, plan.n_steps)
        state, laplacians = checkpoints[segment], []
        for j in range(start, stop):
            state, w = kernels("step_w", V, plan.profiles, state, increments[j],
                               plan.source_index)
            laplacians.append(w)
        del state
        checkpoints[segment] = None  # free the memory as we go
        for j in reversed(range(start, stop)):
            increments_bar[j] = adjoint[0].reshape(n_shots, -1).gather(
                1, plan.source_index).view(n_shots)
            recorded = (data_bar[..., j // plan.step_ratio] if j % plan.step_ratio == 0
                        else no_record)
            adjoint, V_bar = kernels("adjoint", V, plan.profiles, adjoint, laplacians.pop(),
                                     V_bar, recorded, plan.receiver_index)
    return V_bar.sum(0), increments_bar


def _tangent_sweep(plan: PropagationPlan, V, increments, V_dot, increments_dot):
    """Forward propagation of the tangent (Born) wavefield; returns its records."""
    pad = plan.layout.pad
    state = zero_state(plan.layout, plan.n_shots, V.dtype, V.device)
    tangent = zero_state(plan.layout, plan.n_shots, V.dtype, V.device)
    records = torch.empty((plan.n_steps // plan.step_ratio, plan.n_shots,
                           plan.receiver_index.shape[1]), dtype=V.dtype, device=V.device)
    for j in range(plan.n_steps):
        if j % plan.step_ratio == 0:
            torch.gather(tangent[0].reshape(plan.n_shots, -1), 1, plan.receiver_index,
                         out=records[j // plan.step_ratio])
        state, w = plan.kernels("step_w", V, plan.profiles, state, increments[j],
                                plan.source_index)
        tangent = plan.kernels("step", V, plan.profiles, tangent, increments_dot[j],
                               plan.source_index)
        if V_dot is not None:
            # d(V w) = V dw + dV w: the model perturbation acts as a source.
            tangent[0][:, pad:-pad, pad:-pad] += V_dot * w
    return records.permute(1, 2, 0).contiguous()


class CheckpointedPropagation(torch.autograd.Function):
    """``data = propagate(V, increments)`` with a checkpointed exact adjoint.

    ``V`` is ``(nz_pml, nx_pml)`` (shared by all shots), ``increments``
    ``(n_steps, n_shots)``; ``data`` is ``(n_shots, n_receivers, nt)``.
    """

    @staticmethod
    def forward(ctx, V, increments, plan):
        keep = V.requires_grad or increments.requires_grad
        # Plain tensors for the worker threads: they do not inherit this
        # thread's "no forward-mode AD inside Function.forward" state.
        V_plain, increments_plain = V.detach(), increments.detach()

        def work(index, subplan, shots):
            checkpoints = [] if keep else None
            data = run_forward(subplan, V_plain, increments_plain[:, shots], checkpoints)
            return data, checkpoints

        results = in_shot_groups(plan, V.device, work)
        ctx.plan = plan
        ctx.checkpoints = [checkpoints for _, checkpoints in results]
        ctx.save_for_backward(V, increments)
        ctx.save_for_forward(V, increments)
        return torch.cat([data for data, _ in results])

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, data_bar):
        V, increments = (tensor.detach() for tensor in ctx.saved_tensors)
        data_bar = data_bar.detach().to(V.dtype)

        def work(index, subplan, shots):
            return _adjoint_sweep(subplan, V, increments[:, shots], data_bar[shots],
                                  ctx.checkpoints[index])

        results = in_shot_groups(ctx.plan, V.device, work)
        ctx.checkpoints = None
        V_bar = sum(V_bar for V_bar, _ in results)
        increments_bar = torch.cat([bar for _, bar in results], dim=1)
        return (V_bar if ctx.needs_input_grad[0] else None,
                increments_bar if ctx.needs_input_grad[1] else None, None)

    @staticmethod
    def jvp(ctx, V_dot, increments_dot, _):
        V, increments = (tensor.detach() for tensor in ctx.saved_tensors)
        increments_dot = (torch.zeros_like(increments) if increments_dot is None
                          else increments_dot.detach())
        V_dot = None if V_dot is None else V_dot.detach()

        def work(index, subplan, shots):
            return _tangent_sweep(subplan, V, increments[:, shots], V_dot,
                                  increments_dot[:, shots])

        return torch.cat(in_shot_groups(ctx.plan, V.device, work))

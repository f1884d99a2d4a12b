"""Optional engine: :class:`jointinv.physics.acoustic.AcousticWave2D` on ``deepwave.scalar``.

Deepwave (compiled C/CUDA, https://github.com/ar4/deepwave) solves the same
discrete equations as the torch engine: same stencils, C-PML, edge-replicated
model in the PML and source/receiver timing. The PML strength and frequency
are pinned (``max_vel``, ``pml_freq``) and the internal time step is chosen
with the same Courant limit, so both engines give the same data to rounding,
CFL sub-stepping included (both resample the source and the receivers
band-limited). Under sub-stepping Deepwave accumulates the model gradient at
every ``step_ratio``-th internal step only (scaled by ``step_ratio``), an
approximation: there the torch engine's exact gradient differs from it
slightly (2.9e-5 relative in a two-sub-step test), while without sub-steps
the gradients agree to rounding.
"""

from __future__ import annotations

import torch

from .acoustic_setup import COURANT_SAFETY
from .acoustic_step import critical_courant_number

__all__ = ["deepwave_forward", "require_deepwave"]


def require_deepwave(free_surface: bool = False):
    """Import ``deepwave`` or raise an ``ImportError`` that says how to get it."""
    try:
        import deepwave
    except ImportError as error:
        raise ImportError(
            "engine='deepwave' needs the optional package deepwave; install it with "
            "`pip install deepwave` (or `pip install jointinv[deepwave]`), or use "
            "engine='torch'") from error
    if free_surface:
        raise ValueError("free_surface=True is only available with engine='torch': Deepwave "
                         "puts its free surface on a node one cell above the model, not on "
                         "the top edge of the grid")
    return deepwave


def deepwave_forward(operator, model: torch.Tensor, amplitudes: torch.Tensor,
                     max_velocity: float) -> torch.Tensor:
    """Shot gathers ``(n_shots, n_receivers, nt)`` computed by ``deepwave.scalar``.

    Parameters
    ----------
    operator : AcousticWave2D
        Supplies the geometry, time sampling and options.
    model : torch.Tensor
        Velocity ``(nz, nx)`` [m/s]; gradients flow through Deepwave's adjoint.
    amplitudes : torch.Tensor
        Source time functions ``(n_shots, nt)`` in the operator's convention.
    max_velocity : float
        [m/s], passed as ``max_vel`` (PML strength, CFL).
    """
    deepwave = require_deepwave()
    device = model.device
    source_cells = torch.as_tensor(operator.source_cells, device=device)
    if operator.source_convention == "physical":
        # Deepwave injects -v_s^2 dt^2 s; dividing by -v_s^2 dx dz gives dt^2 s / (dx dz).
        v_source = model[source_cells[:, 0], source_cells[:, 1]]
        amplitudes = -amplitudes / (v_source[:, None] ** 2 * operator.grid.dx * operator.grid.dz)
    receiver_cells = torch.as_tensor(operator.shot_receiver_cells(), device=device)
    out = deepwave.scalar(
        model, [operator.grid.dz, operator.grid.dx], operator.dt,
        source_amplitudes=amplitudes[:, None, :],
        source_locations=source_cells[:, None, :],
        receiver_locations=receiver_cells,
        accuracy=operator.accuracy, pml_width=list(operator.pml_widths),
        pml_freq=operator.frequency, max_vel=max_velocity,
        courant_number=COURANT_SAFETY * critical_courant_number(operator.accuracy))
    return out.receiver_amplitudes

r"""Exact discrete adjoint of :func:`jointinv.physics.acoustic_step.wave_step`.

Transposing the step of :mod:`jointinv.physics.acoustic_step` block by block
gives, with ``q = V lambda'`` (``lambda'`` the adjoint wavefield after the
step) and ``bar`` marking the adjoint memory variables::

    T_d         = (1 + b_d) q + b_d zeta_bar_d
    lambda      = sum_d [D2_d ((1 + b_d) T_d) - D1_d (D1b_d T_d + b_d psi_bar_d)]
                  + 2 lambda' - lambda''
    psi_bar_d  <- a_d (psi_bar_d - D1_d T_d),   zeta_bar_d <- a_d (q + zeta_bar_d)

(``D2`` is symmetric and ``D1`` antisymmetric, so a stencil's transpose is the
same stencil, negated for ``D1``). Away from the PML this is the leapfrog
``lambda = L(V lambda') + 2 lambda' - lambda''``. The model gradient gathers
``lambda' w`` per step, ``w`` the forward Laplacian. With a free surface the
odd mirror of ``q`` above the model is its own transpose.

The blocks, margins and assembly are those of the forward step, so the
adjoint compiles to the same kind of loops.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .acoustic_step import (
    StepLayout,
    assemble,
    band_terms,
    block_terms,
    first_derivative,
    mirror_top,
    pad_along,
    second_derivative,
    zero_state,
)

__all__ = ["adjoint_step", "zero_adjoint_state"]


def zero_adjoint_state(layout: StepLayout, n_shots: int, dtype, device) -> tuple:
    """``(lambda, lambda_next, *memory, q)``, all zero (the state after the last step).

    ``lambda`` is the cotangent of ``u``; the cotangent of ``u_prev`` is
    ``-lambda_next``; ``memory`` is laid out as in
    :func:`jointinv.physics.acoustic_step.zero_state`; ``q = V lambda``
    with a zero ring (carried so that the stencils read a plain array).
    """
    state = zero_state(layout, n_shots, dtype, device)
    return (*state, torch.zeros_like(state[0]))


def _axis_adjoint(q: torch.Tensor, dim: int, accuracy: int, inverse_spacing: float,
                  pml: tuple | None, memory: tuple):
    """One axis's part of ``lambda`` on a block, and its new ``(psi_bar, zeta_bar)``."""
    if pml is None:
        return second_derivative(q, dim, accuracy, inverse_spacing), None, None
    pad = accuracy // 2
    a, b, db = pml
    psi_bar, zeta_bar = memory

    def centre(x):
        return x.narrow(dim, pad, x.shape[dim] - 2 * pad)

    T = (1 + b) * q + b * pad_along(zeta_bar, dim, pad)
    term = (second_derivative((1 + b) * T, dim, accuracy, inverse_spacing)
            - first_derivative(db * T + b * pad_along(psi_bar, dim, pad), dim, accuracy,
                               inverse_spacing))
    a_c = centre(a)
    new_psi = a_c * (psi_bar - first_derivative(T, dim, accuracy, inverse_spacing))
    return term, new_psi, a_c * (centre(q) + zeta_bar)


def adjoint_step(layout: StepLayout, V: torch.Tensor, profiles: tuple, adjoint: tuple,
                 laplacian: torch.Tensor, V_bar: torch.Tensor, blocks: bool | None = None):
    """Transpose of :func:`jointinv.physics.acoustic_step.wave_step` (without sources).

    Parameters
    ----------
    layout : StepLayout
    V : torch.Tensor
        ``v^2 dt^2`` [m^2], ``layout.interior_shape``.
    profiles : tuple
        From :func:`jointinv.physics.acoustic_step.pml_profiles`.
    adjoint : tuple
        ``(lambda, lambda_next, *memory, q)`` after the step (see
        :func:`zero_adjoint_state`).
    laplacian : torch.Tensor
        ``w`` of this step (from ``wave_step(..., return_laplacian=True)``),
        ``(n_shots, *layout.interior_shape)``.
    V_bar : torch.Tensor
        Running sum of ``lambda' * w`` per shot, ``(n_shots, *layout.interior_shape)``.
    blocks : bool, optional
        As for :func:`jointinv.physics.acoustic_step.wave_step`.

    Returns
    -------
    tuple
        The adjoint state before the step (same layout as ``adjoint``) and
        the updated ``V_bar``.
    """
    lam, lam_next, *memory, q = adjoint
    pad = layout.pad
    q_z = mirror_top(q, pad) if layout.free_surface else q
    if blocks is None:
        blocks = torch.compiler.is_compiling()
    if not blocks:
        terms, new_memory = band_terms(layout, (q_z, q), memory, profiles, _axis_adjoint)
        inner = (slice(None), slice(pad, -pad), slice(pad, -pad))
        interior = terms + 2 * lam[inner] - lam_next[inner]
        ring = (pad, pad, pad, pad)
        return ((F.pad(interior, ring), lam, *new_memory, F.pad(V * interior, ring)),
                V_bar + lam[inner] * laplacian)
    new_lam, new_q, new_V_bar, new_memory = [], [], [], []
    for i, block in enumerate(layout.blocks):
        terms, block_memory = block_terms(layout, block, (q_z, q), memory[4 * i:4 * i + 4],
                                          profiles, _axis_adjoint)
        (r0, r1), (c0, c1) = block.rows, block.columns
        centre = (slice(None), slice(r0 + pad, r1 + pad), slice(c0 + pad, c1 + pad))
        inside = (Ellipsis, slice(r0, r1), slice(c0, c1))
        block_lam = terms + 2 * lam[centre] - lam_next[centre]
        new_lam.append(block_lam)
        new_q.append(V[inside] * block_lam)
        new_V_bar.append(V_bar[inside] + lam[centre] * laplacian[inside])
        new_memory += block_memory
    new_adjoint = (assemble(layout, new_lam, ring=True), lam, *new_memory,
                   assemble(layout, new_q, ring=True))
    return new_adjoint, assemble(layout, new_V_bar, ring=False)

r"""One time step of the 2D acoustic wave equation and its exact discrete adjoint.

The scheme (Deepwave's scalar propagator uses the same one, so the two can be
compared sample by sample) is leapfrog in time and centred finite differences
of order ``accuracy`` (2, 4, 6 or 8) in space, with a convolutional PML
(C-PML) of Pasalic & McGarry (2010) in strips around the model::

    w      = sum_d (1 + b_d) tmp_d + a_d zeta_d
    tmp_d  = (1 + b_d) D2_d u + (D1 b_d) D1_d u + D1_d (a_d psi_d)
    u'     = V w + 2 u - u_prev                   V = v^2 dt^2
    psi_d' = b_d D1_d u + a_d psi_d,   zeta_d' = b_d tmp_d + a_d zeta_d

Away from the PML ``a = b = 0`` and ``w`` is the Laplacian, so the memory
variables ``psi``, ``zeta`` are stored and updated only in strips
``pml_width + accuracy / 2`` cells wide along the faces, and their effect is
added to the Laplacian there. This keeps the per-step work close to that of
the bare stencil.

Wavefields have shape ``(n_shots, nz_pad, nx_pad)``: the simulation domain
(model plus PML) with a ring of ``accuracy // 2`` cells held at zero (a rigid
frame behind the PML). With a free surface there is no PML on top and the
ring above the model holds the odd mirror image of the wavefield, so that
``u = 0`` on the top edge of the model grid (half a cell above the first row
of cell centres).

Everything here is a pure function of tensors; the time loops live in
:mod:`jointinv.physics.acoustic_checkpoint`.

Reference
---------
Pasalic, D. and McGarry, R. (2010). Convolutional perfectly matched layer for
isotropic and anisotropic acoustic wave equations. SEG Technical Program
Expanded Abstracts, 2925-2929.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = [
    "FIRST_DERIVATIVE",
    "SECOND_DERIVATIVE",
    "StepLayout",
    "adjoint_step",
    "zero_adjoint_state",
    "critical_courant_number",
    "first_derivative",
    "pml_profiles",
    "second_derivative",
    "wave_step",
    "zero_state",
]

#: Centred first-derivative coefficients ``c_k`` (k = 1 .. accuracy/2):
#: ``f'(x) ~ sum_k c_k (f(x + k h) - f(x - k h)) / h``.
FIRST_DERIVATIVE = {
    2: (1 / 2,),
    4: (2 / 3, -1 / 12),
    6: (3 / 4, -3 / 20, 1 / 60),
    8: (4 / 5, -1 / 5, 4 / 105, -1 / 280),
}

#: Centred second-derivative coefficients ``(c_0, c_1, ...)``:
#: ``f''(x) ~ (c_0 f(x) + sum_k c_k (f(x + k h) + f(x - k h))) / h^2``.
SECOND_DERIVATIVE = {
    2: (-2.0, 1.0),
    4: (-5 / 2, 4 / 3, -1 / 12),
    6: (-49 / 18, 3 / 2, -3 / 20, 1 / 90),
    8: (-205 / 72, 8 / 5, -1 / 5, 8 / 315, -1 / 560),
}

def critical_courant_number(accuracy: int) -> float:
    r"""Largest stable ``dt * v * sqrt(1/dx^2 + 1/dz^2)`` of the leapfrog scheme.

    The second-derivative stencil's symbol is largest at the Nyquist
    wavenumber, ``lambda = -(c_0 + 2 sum_k (-1)^k c_k)``; leapfrog is stable
    while ``dt^2 v^2 lambda (1/dx^2 + 1/dz^2) <= 4``. For accuracy 2 this is
    the familiar limit 1; it is 0.866, 0.813, 0.784 for 4, 6, 8.
    """
    c0, *ck = SECOND_DERIVATIVE[accuracy]
    nyquist = -(c0 + 2 * sum((-1) ** k * c for k, c in enumerate(ck, start=1)))
    return 2.0 / math.sqrt(nyquist)


@dataclass(frozen=True)
class StepLayout:
    """Static geometry of the padded simulation domain (hashable, for compilation).

    Attributes
    ----------
    accuracy : int
        Spatial order (2, 4, 6, 8); ``pad = accuracy // 2`` is the stencil half-width.
    shape : tuple of int
        ``(nz_pad, nx_pad)``: model + PML + the zero ring of width ``pad``.
    inverse_spacing : tuple of float
        ``(1 / dz, 1 / dx)`` [1/m].
    z_sides, x_sides : tuple of int
        Start index (along that axis, in the padded domain) of each PML strip
        of width :attr:`strip_width` + 2 ``pad``; empty when the axis has no PML.
    strip_width : int
        ``pml_width + pad``: where the C-PML modifies the Laplacian.
    free_surface : bool
        Odd mirror of the wavefield above the top edge of the model.
    """

    accuracy: int
    shape: tuple
    inverse_spacing: tuple
    z_sides: tuple
    x_sides: tuple
    strip_width: int
    free_surface: bool

    @property
    def pad(self) -> int:
        return self.accuracy // 2

    @property
    def interior_shape(self) -> tuple:
        """Shape of ``V``: model plus PML, without the zero ring."""
        return (self.shape[0] - 2 * self.pad, self.shape[1] - 2 * self.pad)


# -- finite differences ("valid": the output is 2 * pad shorter along dim) -------
def first_derivative(x: torch.Tensor, dim: int, accuracy: int, inverse_spacing: float):
    """Centred first derivative along ``dim`` where all neighbours exist."""
    pad = accuracy // 2
    n = x.shape[dim] - 2 * pad
    out = None
    for k, c in enumerate(FIRST_DERIVATIVE[accuracy], start=1):
        term = (c * inverse_spacing) * (x.narrow(dim, pad + k, n) - x.narrow(dim, pad - k, n))
        out = term if out is None else out + term
    return out


def second_derivative(x: torch.Tensor, dim: int, accuracy: int, inverse_spacing: float):
    """Centred second derivative along ``dim`` where all neighbours exist."""
    pad = accuracy // 2
    n = x.shape[dim] - 2 * pad
    scale = inverse_spacing ** 2
    c0, *ck = SECOND_DERIVATIVE[accuracy]
    out = (c0 * scale) * x.narrow(dim, pad, n)
    for k, c in enumerate(ck, start=1):
        out = out + (c * scale) * (x.narrow(dim, pad + k, n) + x.narrow(dim, pad - k, n))
    return out


def _laplacian(u: torch.Tensor, layout: StepLayout) -> torch.Tensor:
    """``D2_z u + D2_x u`` on the points that have all neighbours (one fused sum)."""
    pad, accuracy = layout.pad, layout.accuracy
    nz, nx = u.shape[-2] - 2 * pad, u.shape[-1] - 2 * pad
    sz, sx = layout.inverse_spacing[0] ** 2, layout.inverse_spacing[1] ** 2
    c0, *ck = SECOND_DERIVATIVE[accuracy]
    out = (c0 * (sz + sx)) * u[..., pad:pad + nz, pad:pad + nx]
    for k, c in enumerate(ck, start=1):
        out = out + (c * sz) * (u[..., pad + k:pad + k + nz, pad:pad + nx]
                                + u[..., pad - k:pad - k + nz, pad:pad + nx])
        out = out + (c * sx) * (u[..., pad:pad + nz, pad + k:pad + k + nx]
                                + u[..., pad:pad + nz, pad - k:pad - k + nx])
    return out


def _pad_along(x: torch.Tensor, dim: int, width: int) -> torch.Tensor:
    return F.pad(x, (width, width) if dim == -1 else (0, 0, width, width))


def _pad_ring(x: torch.Tensor, width: int) -> torch.Tensor:
    return F.pad(x, (width, width, width, width))


def _embed(x: torch.Tensor, dim: int, start: int, length: int) -> torch.Tensor:
    """``x`` placed at ``start`` along ``dim`` in zeros of size ``length``."""
    before, after = start, length - start - x.shape[dim]
    return F.pad(x, (before, after) if dim == -1 else (0, 0, before, after))


def _add_at(u: torch.Tensor, index: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """``u`` with ``values[i]`` added at flat index ``index[i, 0]`` of shot ``i``."""
    n_shots, nz, nx = u.shape
    if torch.compiler.is_compiling():
        # A row and a column comparison per cell fuse into the update loop; a
        # scatter (or a flat-index comparison, which needs a division per
        # cell) makes the compiled code pass over the whole wavefield again.
        rows = torch.arange(nz, device=u.device)[:, None]
        columns = torch.arange(nx, device=u.device)
        here = (rows == (index // nx).view(n_shots, 1, 1)) & (columns == (index % nx)
                                                               .view(n_shots, 1, 1))
        return u + torch.where(here, values.view(n_shots, 1, 1), 0.0)
    flat = u.reshape(n_shots, -1).scatter_add(1, index, values.reshape(n_shots, 1))
    return flat.view_as(u)


def _mirror_top(u: torch.Tensor, pad: int) -> torch.Tensor:
    """Fill the top ring with the odd image of the first ``pad`` rows."""
    image = -torch.flip(u[..., pad:2 * pad, :], dims=(-2,))
    return torch.cat([image, u[..., pad:, :]], dim=-2)


# -- C-PML --------------------------------------------------------------------------
def pml_profiles(layout: StepLayout, pml_width: tuple, spacing: tuple, dt: float,
                 max_velocity: float, frequency: float, dtype, device,
                 reflection: float = 1e-3, power: int = 2) -> tuple:
    r"""C-PML coefficients ``(a, b, db)`` per axis, cut to the strips.

    Along each axis, with ``f`` the fractional depth into the PML (0 at its
    inner edge, 1 at the outer edge), ``d = d_0 f^2`` with
    ``d_0 = -3 v_max ln(R) / (2 L)`` and ``alpha = pi f_0 (1 - f)``:
    ``a = exp(-(d + alpha) dt)`` and ``b = d / (d + alpha) (a - 1)``, both zero
    outside the PML, and ``db`` is the first derivative of ``b``.

    Parameters
    ----------
    layout : StepLayout
    pml_width : tuple of int
        ``(top, bottom, left, right)`` widths in cells.
    spacing : tuple of float
        ``(dz, dx)`` [m].
    dt : float
        Internal time step [s].
    max_velocity : float
        [m/s]; sets the damping strength ``d_0``.
    frequency : float
        Dominant frequency [Hz] of the source (the frequency shift ``alpha``).
    reflection : float, default 1e-3
        Target normal-incidence reflection coefficient ``R``.

    Returns
    -------
    tuple of torch.Tensor
        ``(a_z, b_z, db_z, a_x, b_x, db_x)``; the z ones have shape
        ``(n_z_strips, 1, strip_width, 1)`` and the x ones
        ``(n_x_strips, 1, 1, strip_width)`` (``None`` for an axis without PML).
    """
    pad, accuracy = layout.pad, layout.accuracy
    out = []
    for axis, sides in enumerate((layout.z_sides, layout.x_sides)):
        if not sides:
            out.extend([None, None, None])
            continue
        n = layout.shape[axis]
        index = torch.arange(n, dtype=torch.float64, device=device)
        low, high = pml_width[2 * axis], pml_width[2 * axis + 1]
        fraction = torch.zeros_like(index)
        damping = torch.zeros_like(index)
        for width, depth in ((low, pad + low - index), (high, index - (n - 1 - pad - high))):
            if width > 0:
                side_fraction = (depth / width).clamp(0, 1)
                d0 = (-(1 + power) * max_velocity * math.log(reflection)
                      / (2 * width * spacing[axis]))
                damping = damping + d0 * side_fraction ** power
                fraction = torch.maximum(fraction, side_fraction)
        alpha = math.pi * frequency * (1 - fraction)
        total = (damping + alpha) * dt
        a = torch.where(fraction > 0, torch.exp(-total), torch.zeros_like(total))
        ratio = torch.where(total > 0, damping * dt / total.clamp_min(1e-300),
                            torch.zeros_like(total))
        b = ratio * torch.expm1(-total)
        db = _pad_along(first_derivative(b, -1, accuracy, 1.0 / spacing[axis]), -1, pad)
        shape = (-1, 1, layout.strip_width, 1) if axis == 0 else (-1, 1, 1, layout.strip_width)
        for profile in (a, b, db):
            strips = torch.stack([profile[s + pad:s + pad + layout.strip_width] for s in sides])
            out.append(strips.reshape(shape).to(dtype))
    return tuple(out)


def _strip_forward(u_strips, psi, zeta, a, b, db, dim, accuracy, inverse_spacing):
    du1 = first_derivative(u_strips, dim, accuracy, inverse_spacing)
    du2 = second_derivative(u_strips, dim, accuracy, inverse_spacing)
    a_psi = a * psi
    pml_flux = first_derivative(_pad_along(a_psi, dim, accuracy // 2), dim, accuracy,
                                inverse_spacing)
    tmp = (1 + b) * du2 + db * du1 + pml_flux
    correction = (1 + b) * tmp + a * zeta - du2
    return correction, b * du1 + a_psi, b * tmp + a * zeta


def _strip_adjoint(correction_bar, psi_bar, zeta_bar, a, b, db, dim, accuracy, inverse_spacing):
    """Transpose of :func:`_strip_forward`: returns (u_strips_bar, psi_bar, zeta_bar)."""
    pad = accuracy // 2
    tmp_bar = (1 + b) * correction_bar + b * zeta_bar
    new_zeta_bar = a * (correction_bar + zeta_bar)
    # D1 is antisymmetric and D2 symmetric: a valid stencil's transpose is the
    # same stencil (negated for D1) applied to the cotangent padded by 2 * pad.
    new_psi_bar = a * (psi_bar - first_derivative(_pad_along(tmp_bar, dim, pad), dim,
                                                  accuracy, inverse_spacing))
    u_bar = (second_derivative(_pad_along((1 + b) * tmp_bar - correction_bar, dim, 2 * pad),
                               dim, accuracy, inverse_spacing)
             - first_derivative(_pad_along(db * tmp_bar + b * psi_bar, dim, 2 * pad),
                                dim, accuracy, inverse_spacing))
    return u_bar, new_psi_bar, new_zeta_bar


def _strip_views(layout: StepLayout):
    """Per axis: ``(dim, sides)``. A strip starting at ``s`` in the padded
    domain modifies the interior (ring-free) Laplacian from index ``s`` on."""
    return ((-2, layout.z_sides), (-1, layout.x_sides))


# -- the step ----------------------------------------------------------------------
def zero_state(layout: StepLayout, n_shots: int, dtype, device) -> tuple:
    """All-zero wavefields and C-PML memory variables (the state before t = 0)."""
    nz, nx = layout.shape
    width = layout.strip_width

    def zeros(*shape):
        return torch.zeros(shape, dtype=dtype, device=device)

    nzs, nxs = len(layout.z_sides), len(layout.x_sides)
    psi_z = zeros(nzs, n_shots, width, nx) if nzs else None
    psi_x = zeros(nxs, n_shots, nz, width) if nxs else None
    return (zeros(n_shots, nz, nx), zeros(n_shots, nz, nx),
            psi_z, None if psi_z is None else psi_z.clone(),
            psi_x, None if psi_x is None else psi_x.clone())


def wave_step(layout: StepLayout, V: torch.Tensor, profiles: tuple, state: tuple,
              source_increment: torch.Tensor, source_index: torch.Tensor,
              return_laplacian: bool = False):
    """Advance the state by one time step and inject the sources.

    Parameters
    ----------
    layout : StepLayout
    V : torch.Tensor
        ``v^2 dt^2`` [m^2], shape ``layout.interior_shape`` or with a leading
        shot dimension.
    profiles : tuple
        From :func:`pml_profiles`.
    state : tuple
        ``(u, u_prev, psi_z, zeta_z, psi_x, zeta_x)`` (see :func:`zero_state`).
    source_increment : torch.Tensor
        ``(n_shots,)``: value added to ``u`` at each shot's source cell after the update.
    source_index : torch.Tensor
        ``(n_shots, 1)`` int64 flat index of each source in the padded domain.
    return_laplacian : bool
        Also return ``w`` (the C-PML-modified Laplacian, interior shape), the
        factor multiplying ``V``, needed for the model gradient.
    """
    u, u_prev, psi_z, zeta_z, psi_x, zeta_x = state
    pad, accuracy = layout.pad, layout.accuracy
    u_full = _mirror_top(u, pad) if layout.free_surface else u
    w = _laplacian(u_full, layout)
    memory = [psi_z, zeta_z, psi_x, zeta_x]
    for axis, (dim, sides) in enumerate(_strip_views(layout)):
        if not sides:
            continue
        other = -1 if dim == -2 else -2
        strips = torch.stack([u_full.narrow(dim, s, layout.strip_width + 2 * pad) for s in sides])
        a, b, db = profiles[3 * axis:3 * axis + 3]
        correction, memory[2 * axis], memory[2 * axis + 1] = _strip_forward(
            strips, memory[2 * axis], memory[2 * axis + 1], a, b, db, dim, accuracy,
            layout.inverse_spacing[axis])
        correction = correction.narrow(other, pad, correction.shape[other] - 2 * pad)
        # Zero-padded embeddings rather than in-place adds: compiled, they
        # fuse into the update loop instead of forcing w into memory.
        for i, start in enumerate(sides):
            w = w + _embed(correction[i], dim, start, w.shape[dim])
    inner = (slice(None), slice(pad, -pad), slice(pad, -pad))
    u_new = _pad_ring(V * w + 2 * u[inner] - u_prev[inner], pad)
    u_new = _add_at(u_new, source_index, source_increment)
    new_state = (u_new, u, *memory)
    return (new_state, w) if return_laplacian else new_state


def zero_adjoint_state(layout: StepLayout, n_shots: int, dtype, device) -> tuple:
    """Zero cotangents of the state, plus ``V * u_bar`` (see :func:`adjoint_step`)."""
    state = zero_state(layout, n_shots, dtype, device)
    return (*state, torch.zeros_like(state[0]))


def adjoint_step(layout: StepLayout, V: torch.Tensor, profiles: tuple, adjoint: tuple,
                 laplacian: torch.Tensor, V_bar: torch.Tensor):
    """Transpose of :func:`wave_step` (without the source injection).

    Parameters
    ----------
    adjoint : tuple
        Cotangents of the state after the step, followed by ``V * u_bar``
        with a zero ring (carried from the previous call so the transposed
        Laplacian reads a plain input buffer; see :func:`zero_adjoint_state`).
    laplacian : torch.Tensor
        ``w`` of this step (from ``wave_step(..., return_laplacian=True)``).
    V_bar : torch.Tensor
        Running sum of ``u'_bar * w`` per shot, interior shape.

    Returns
    -------
    tuple
        Cotangents of the state before the step (same layout as ``adjoint``)
        and the updated ``V_bar``.
    """
    u_bar, u_prev_bar, psi_z_bar, zeta_z_bar, psi_x_bar, zeta_x_bar, w_bar = adjoint
    pad, accuracy = layout.pad, layout.accuracy
    nx = layout.shape[1]
    inner = (slice(None), slice(pad, -pad), slice(pad, -pad))
    u_new_bar = u_bar[inner]
    V_bar = V_bar + u_new_bar * laplacian
    # Transposed Laplacian (symmetric stencil) of V u_bar, on the interior.
    out = _laplacian(w_bar, layout) + 2 * u_new_bar + u_prev_bar[inner]
    memory = [psi_z_bar, zeta_z_bar, psi_x_bar, zeta_x_bar]
    for axis, (dim, sides) in enumerate(_strip_views(layout)):
        if not sides:
            continue
        other = -1 if dim == -2 else -2
        length = layout.shape[axis]
        correction_bar = torch.stack([w_bar.narrow(dim, s + pad, layout.strip_width)
                                      for s in sides])
        a, b, db = profiles[3 * axis:3 * axis + 3]
        strips_bar, memory[2 * axis], memory[2 * axis + 1] = _strip_adjoint(
            correction_bar, memory[2 * axis], memory[2 * axis + 1], a, b, db, dim, accuracy,
            layout.inverse_spacing[axis])
        strips_bar = strips_bar.narrow(other, pad, strips_bar.shape[other] - 2 * pad)
        for i, start in enumerate(sides):
            # only the part off the zero ring: the ring is not a variable
            low, high = max(start, pad), min(start + strips_bar.shape[dim], length - pad)
            out = out + _embed(strips_bar[i].narrow(dim, low - start, high - low), dim,
                               low - pad, out.shape[dim])
    if layout.free_surface:
        # Transpose of the mirror: what the Laplacian put on the ring rows above
        # the model folds back, negated, onto the rows it was mirrored from.
        top = second_derivative(F.pad(w_bar[..., :2 * pad, pad:nx - pad], (0, 0, pad, 0)), -2,
                                accuracy, layout.inverse_spacing[0])
        out = out - _embed(torch.flip(top, dims=(-2,)), -2, 0, out.shape[-2])
    return (_pad_ring(out, pad), -u_bar, *memory, _pad_ring(V * out, pad)), V_bar

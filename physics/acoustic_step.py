r"""One time step of the 2D acoustic wave equation.

The scheme (Deepwave's scalar propagator uses the same one, so the two can be
compared sample by sample) is leapfrog in time and centred finite differences
of order ``accuracy`` (2, 4, 6 or 8) in space, with a convolutional PML
(C-PML) of Pasalic & McGarry (2010) in strips around the model::

    w      = sum_d (1 + b_d) tmp_d + a_d zeta_d
    tmp_d  = (1 + b_d) D2_d u + (D1 b_d) D1_d u + D1_d (a_d psi_d)
    u'     = V w + 2 u - u_prev                   V = v^2 dt^2
    psi_d' = b_d D1_d u + a_d psi_d,   zeta_d' = b_d tmp_d + a_d zeta_d

Away from the PML ``a = b = 0`` and ``w`` is the Laplacian. The domain is cut
into blocks, as Deepwave's C loops are: along each axis a band ``pml_width +
accuracy / 2`` cells wide at each absorbing face and the span between them.
A block computes the C-PML form of the terms of the axes on which it lies in
a band and the plain second derivative otherwise, and keeps its own memory
variables ``psi``, ``zeta``. Each block is one pointwise expression of
neighbouring values and the blocks are joined by concatenation, so that under
``torch.compile`` each becomes one loop that writes its part of the new
wavefield directly: no masks, no pass over the whole domain per correction.

Wavefields have shape ``(n_shots, nz_pad, nx_pad)``: the simulation domain
(model plus PML) with a ring of ``accuracy // 2`` cells held at zero (a rigid
frame behind the PML). With a free surface there is no PML on top and the
ring above the model holds the odd mirror image of the wavefield, so that
``u = 0`` on the top edge of the model grid (half a cell above the first row
of cell centres).

Everything here is a pure function of tensors; the exact discrete adjoint is
in :mod:`jointinv.physics.acoustic_adjoint`, the time loops in
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
    "Block",
    "StepLayout",
    "add_sources",
    "assemble",
    "critical_courant_number",
    "first_derivative",
    "mirror_top",
    "pad_along",
    "pml_bands",
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
class Block:
    """A rectangle of the interior (ring-free) domain with one update rule.

    Attributes
    ----------
    rows, columns : tuple of int
        ``(start, stop)`` along z and x in interior indices.
    z_side, x_side : int or None
        Index of the PML band (into the profiles) the block lies in along
        that axis, or ``None`` where the plain second derivative applies.
    """

    rows: tuple
    columns: tuple
    z_side: int | None
    x_side: int | None


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
    z_bands, x_bands : tuple of (int, int)
        ``(start, stop)`` in interior indices of each band where the C-PML
        applies along that axis (see :func:`pml_bands`); empty without PML.
    free_surface : bool
        Odd mirror of the wavefield above the top edge of the model.
    """

    accuracy: int
    shape: tuple
    inverse_spacing: tuple
    z_bands: tuple
    x_bands: tuple
    free_surface: bool

    @property
    def pad(self) -> int:
        return self.accuracy // 2

    @property
    def interior_shape(self) -> tuple:
        """Shape of ``V``: model plus PML, without the zero ring."""
        return (self.shape[0] - 2 * self.pad, self.shape[1] - 2 * self.pad)

    def bands(self, axis: int) -> tuple:
        """``(start, stop, side)`` along ``axis`` (0: z, 1: x), in interior indices:
        the PML bands (``side`` their index) and the spans between them (``None``)."""
        out, position = [], 0
        for side, (start, stop) in enumerate(self.z_bands if axis == 0 else self.x_bands):
            if start > position:
                out.append((position, start, None))
            out.append((start, stop, side))
            position = stop
        if position < self.interior_shape[axis]:
            out.append((position, self.interior_shape[axis], None))
        return tuple(out)

    @property
    def blocks(self) -> tuple:
        """Every (z band, x band) pair as a :class:`Block`, row by row."""
        return tuple(Block((r0, r1), (c0, c1), z_side, x_side)
                     for r0, r1, z_side in self.bands(0) for c0, c1, x_side in self.bands(1))


def pml_bands(length: int, low: int, high: int, pad: int) -> tuple:
    """Where the C-PML form applies along an axis of ``length`` interior cells.

    ``low``/``high`` cells of PML at the start/end. The damping profile ``b``
    is non-zero in the PML and its derivative ``pad`` cells beyond; the
    adjoint reads ``pad`` cells further, so each band is ``width + 2 pad``
    wide and the plain stencil outside it is exact both ways. Bands that
    would meet are merged.
    """
    bands = []
    if low:
        bands.append([0, min(length, low + 2 * pad)])
    if high:
        start = max(0, length - high - 2 * pad)
        if bands and bands[-1][1] >= start:
            bands[-1][1] = length
        else:
            bands.append([start, length])
    return tuple(tuple(band) for band in bands)


# -- finite differences ("valid": the output is 2 * pad shorter along dim) -------
def first_derivative(x: torch.Tensor, dim: int, accuracy: int, inverse_spacing: float):
    """Centred first derivative along ``dim`` where all neighbours exist."""
    coefficients = FIRST_DERIVATIVE[accuracy]
    weights = (*(-c for c in reversed(coefficients)), 0.0, *coefficients)
    return _stencil(x, dim, tuple(c * inverse_spacing for c in weights))


def second_derivative(x: torch.Tensor, dim: int, accuracy: int, inverse_spacing: float):
    """Centred second derivative along ``dim`` where all neighbours exist."""
    c0, *ck = SECOND_DERIVATIVE[accuracy]
    weights = (*reversed(ck), c0, *ck)
    return _stencil(x, dim, tuple(c * inverse_spacing ** 2 for c in weights))


def _stencil(x: torch.Tensor, dim: int, weights: tuple) -> torch.Tensor:
    """``sum_j weights[j] x[i + j - pad]`` along ``dim`` (``pad = len(weights) // 2``).

    Compiled: a sum of shifted views, which fuses with its neighbours into
    one loop. Eager: one convolution instead of a dozen small operations.
    """
    pad = len(weights) // 2
    n = x.shape[dim] - 2 * pad
    if torch.compiler.is_compiling() or x.dim() > 4:
        out = None
        for j, c in enumerate(weights):
            if c != 0:
                term = c * x.narrow(dim, j, n)
                out = term if out is None else out + term
        return out
    dim = dim % x.dim()
    shape = [1] * (4 - x.dim()) + list(x.shape)
    batch = shape[0] * shape[1]
    kernel = torch.tensor(weights, dtype=x.dtype, device=x.device)
    kernel = kernel.view(1, 1, -1, 1) if dim - x.dim() == -2 else kernel.view(1, 1, 1, -1)
    out = F.conv2d(x.reshape(batch, 1, shape[2], shape[3]), kernel)
    size = list(x.shape)
    size[dim] = n
    return out.reshape(size)


def assemble(layout: StepLayout, pieces: list, ring: bool) -> torch.Tensor:
    """Join one ``(n_shots, rows, columns)`` piece per block of ``layout.blocks``
    into the interior, surrounded by the zero ring if ``ring``."""
    # Two levels of concatenation, each flat: compiled, the blocks write into
    # their row, and each row is copied once into the result.
    n_columns, pad = len(layout.bands(1)), layout.pad
    rows = []
    for start in range(0, len(pieces), n_columns):
        row = list(pieces[start:start + n_columns])
        if ring:
            edge = row[0].new_zeros((*row[0].shape[:-1], pad))
            row = [edge, *row, edge]
        rows.append(torch.cat(row, dim=-1) if len(row) > 1 else row[0])
    if ring:
        edge = rows[0].new_zeros((*rows[0].shape[:-2], pad, rows[0].shape[-1]))
        rows = [edge, *rows, edge]
    return torch.cat(rows, dim=-2) if len(rows) > 1 else rows[0]


def pad_along(x: torch.Tensor, dim: int, width: int) -> torch.Tensor:
    """``x`` with ``width`` zeros before and after along ``dim`` (-2 or -1).

    A pad, not a concatenation, where it is read by a stencil: compiled, the
    reads become masked loads in the loop that needs them.
    """
    return F.pad(x, (width, width) if dim == -1 else (0, 0, width, width))


def mirror_top(u: torch.Tensor, pad: int) -> torch.Tensor:
    """Fill the top ring with the odd image of the first ``pad`` rows."""
    image = -torch.flip(u[..., pad:2 * pad, :], dims=(-2,))
    return torch.cat([image, u[..., pad:, :]], dim=-2)


def add_sources(u: torch.Tensor, index: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Add ``values[i]`` at flat index ``index[i, 0]`` of shot ``i`` of ``u``, in place.

    In place on a wavefield that the step has just created: out of place it
    would copy the whole wavefield to change one cell per shot.
    """
    u.view(u.shape[0], -1).scatter_add_(1, index, values.reshape(-1, 1).to(u.dtype))
    return u


# -- C-PML --------------------------------------------------------------------------
def pml_profiles(layout: StepLayout, pml_width: tuple, spacing: tuple, dt: float,
                 max_velocity: float, frequency: float, dtype, device,
                 reflection: float = 1e-3, power: int = 2) -> tuple:
    r"""C-PML coefficients ``(a, b, db)`` per axis, cut to the bands.

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
    tuple of tuple of torch.Tensor
        ``(a_z, b_z, db_z, a_x, b_x, db_x)``, each a tuple with one tensor
        per band of ``layout``: the band's values with ``pad`` zeros on both
        sides, shape ``(band + 2 pad, 1)`` along z and ``(1, band + 2 pad)``
        along x.
    """
    pad, accuracy = layout.pad, layout.accuracy
    out = []
    for axis, bands in enumerate((layout.z_bands, layout.x_bands)):
        if not bands:
            out.extend([(), (), ()])
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
        db = F.pad(first_derivative(b, -1, accuracy, 1.0 / spacing[axis]), (pad, pad))
        for profile in (a, b, db):
            # a band from interior index start covers padded indices start + pad ...
            out.append(tuple(F.pad(profile[start + pad:stop + pad], (pad, pad))
                             .reshape((-1, 1) if axis == 0 else (1, -1)).to(dtype)
                             for start, stop in bands))
    return tuple(out)


def block_profiles(profiles: tuple, block: Block) -> tuple:
    """``((a, b, db) along z or None, (a, b, db) along x or None)`` for ``block``."""
    z = None if block.z_side is None else tuple(p[block.z_side] for p in profiles[:3])
    x = None if block.x_side is None else tuple(p[block.x_side] for p in profiles[3:])
    return z, x


# -- the step ----------------------------------------------------------------------
def zero_state(layout: StepLayout, n_shots: int, dtype, device) -> tuple:
    """All-zero wavefields and C-PML memory variables (the state before t = 0).

    ``(u, u_prev, *memory)``: ``memory`` holds ``(psi_z, zeta_z, psi_x,
    zeta_x)`` per block of ``layout.blocks`` (``None`` off the PML along that
    axis), each ``(n_shots, *block size)``.
    """

    def zeros(*shape):
        return torch.zeros(shape, dtype=dtype, device=device)

    memory = []
    for block in layout.blocks:
        height, width = block.rows[1] - block.rows[0], block.columns[1] - block.columns[0]
        along_z = None if block.z_side is None else zeros(n_shots, height, width)
        along_x = None if block.x_side is None else zeros(n_shots, height, width)
        memory += [along_z, None if along_z is None else along_z.clone(),
                   along_x, None if along_x is None else along_x.clone()]
    return (zeros(n_shots, *layout.shape), zeros(n_shots, *layout.shape), *memory)


def _axis_term(u: torch.Tensor, dim: int, accuracy: int, inverse_spacing: float,
               pml: tuple | None, memory: tuple):
    """One axis's part of ``w`` on a block, and its new ``(psi, zeta)``.

    ``u`` is the block with ``pad`` neighbours on both sides along ``dim``;
    ``pml`` the band's ``(a, b, db)`` with zero margins along ``dim`` and
    ``memory`` its ``(psi, zeta)``, the block's size.
    """
    du2 = second_derivative(u, dim, accuracy, inverse_spacing)
    if pml is None:
        return du2, None, None
    pad = accuracy // 2
    a, b, db = pml
    psi, zeta = memory

    def centre(x):
        return x.narrow(dim, pad, x.shape[dim] - 2 * pad)

    a_c, b_c = centre(a), centre(b)
    du1 = first_derivative(u, dim, accuracy, inverse_spacing)
    a_psi = a_c * psi
    tmp = ((1 + b_c) * du2 + centre(db) * du1
           + first_derivative(pad_along(a_psi, dim, pad), dim, accuracy, inverse_spacing))
    term = (1 + b_c) * tmp + a_c * zeta
    return term, b_c * du1 + a_psi, b_c * tmp + a_c * zeta


def wave_step(layout: StepLayout, V: torch.Tensor, profiles: tuple, state: tuple,
              return_laplacian: bool = False, blocks: bool | None = None):
    """Advance the state by one time step (sources: see :func:`add_sources`).

    Parameters
    ----------
    layout : StepLayout
    V : torch.Tensor
        ``v^2 dt^2`` [m^2], shape ``layout.interior_shape`` or with a leading
        shot dimension.
    profiles : tuple
        From :func:`pml_profiles`.
    state : tuple
        ``(u, u_prev, *memory)`` (see :func:`zero_state`).
    return_laplacian : bool
        Also return ``w`` (the C-PML-modified Laplacian, interior shape), the
        factor multiplying ``V``, needed for the model gradient.
    blocks : bool, optional
        Compute block by block (what compiles to the fewest passes over
        memory) rather than band by band (fewest operations, for eager
        runs); default: blocks while ``torch.compile`` traces. Same numbers.

    Returns
    -------
    tuple
        The new state ``(u', u, *memory')``, and ``w`` if asked.
    """
    u, u_prev, *memory = state
    pad = layout.pad
    u_z = mirror_top(u, pad) if layout.free_surface else u
    if blocks is None:
        blocks = torch.compiler.is_compiling()
    if not blocks:
        w, new_memory = band_terms(layout, (u_z, u), memory, profiles, _axis_term)
        inner = (slice(None), slice(pad, -pad), slice(pad, -pad))
        new_u = F.pad(V * w + 2 * u[inner] - u_prev[inner], (pad, pad, pad, pad))
        new_state = (new_u, u, *new_memory)
        return (new_state, w) if return_laplacian else new_state
    new_u, laplacian, new_memory = [], [], []
    for i, block in enumerate(layout.blocks):
        w, block_memory = block_terms(layout, block, (u_z, u), memory[4 * i:4 * i + 4],
                                      profiles, _axis_term)
        (r0, r1), (c0, c1) = block.rows, block.columns
        centre = (slice(None), slice(r0 + pad, r1 + pad), slice(c0 + pad, c1 + pad))
        new_u.append(V[..., r0:r1, c0:c1] * w + 2 * u[centre] - u_prev[centre])
        laplacian.append(w)
        new_memory += block_memory
    new_state = (assemble(layout, new_u, ring=True), u, *new_memory)
    if return_laplacian:
        return new_state, assemble(layout, laplacian, ring=False)
    return new_state


def block_terms(layout: StepLayout, block: Block, fields: tuple, memory: list,
                profiles: tuple, term) -> tuple:
    """``term`` along z and x on one block, summed, and the block's new memory.

    ``fields`` is ``(field read along z, field read along x)`` (they differ
    by the free-surface mirror), both with the ring; ``term`` is
    :func:`_axis_term` or its adjoint.
    """
    pad, accuracy = layout.pad, layout.accuracy
    (r0, r1), (c0, c1) = block.rows, block.columns
    z_pml, x_pml = block_profiles(profiles, block)
    z_term, psi_z, zeta_z = term(fields[0][:, r0:r1 + 2 * pad, c0 + pad:c1 + pad], -2,
                                 accuracy, layout.inverse_spacing[0], z_pml, memory[0:2])
    x_term, psi_x, zeta_x = term(fields[1][:, r0 + pad:r1 + pad, c0:c1 + 2 * pad], -1,
                                 accuracy, layout.inverse_spacing[1], x_pml, memory[2:4])
    return z_term + x_term, [psi_z, zeta_z, psi_x, zeta_x]


def band_terms(layout: StepLayout, fields: tuple, memory: list, profiles: tuple,
               term) -> tuple:
    """The sum of :func:`block_terms` over all blocks, computed band by band.

    The same numbers in a fraction of the operations: the eager form, where
    each operation costs a call. Returns the interior sum and the new memory
    in the layout of :func:`zero_state`.
    """
    pad, accuracy = layout.pad, layout.accuracy
    n_columns = len(layout.bands(1))
    new_memory = [None] * len(memory)
    totals = []
    for axis, dim in ((0, -2), (1, -1)):
        other_bands = layout.bands(1 - axis)
        pieces = []
        for band, (start, stop, side) in enumerate(layout.bands(axis)):
            slots = [4 * (band * n_columns + other) if axis == 0 else 4 * (other * n_columns + band)
                     for other in range(len(other_bands))]
            if axis == 0:
                view = fields[0][:, start:stop + 2 * pad, pad:-pad]
            else:
                view = fields[1][:, pad:-pad, start:stop + 2 * pad]
            pml = None if side is None else tuple(p[side] for p in profiles[3 * axis:3 * axis + 3])
            offset = 2 * axis
            band_memory = (None, None) if side is None else tuple(
                torch.cat([memory[slot + offset + k] for slot in slots], dim=-1 - axis)
                for k in range(2))
            value, psi, zeta = term(view, dim, accuracy, layout.inverse_spacing[axis], pml,
                                    band_memory)
            pieces.append(value)
            if side is not None:
                sizes = [b[1] - b[0] for b in other_bands]
                for k, updated in enumerate((psi, zeta)):
                    for slot, part in zip(slots, updated.split(sizes, dim=-1 - axis)):
                        new_memory[slot + offset + k] = part
        totals.append(torch.cat(pieces, dim=dim) if len(pieces) > 1 else pieces[0])
    return totals[0] + totals[1], new_memory

"""Sparse ray kernels on a :class:`jointinv.Grid`, built with vectorised numpy.

Two kernels map the cell slowness ``s`` (C order, index ``iz * nx + ix``) to
one value per ray, ``t = K s``:

- :func:`straight_ray_lengths`: exact length of each straight ray in each cell
  (Siddon-type traversal), so ``t`` are travel times [s].
- :func:`gaussian_ray_weights`: the smooth column-wise kernel of NFs-Inv.

Both work on blocks of rays (no Python loop over rays or cells), so memory
stays bounded for large surveys.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from jointinv.grid import Grid, check_grid

__all__ = [
    "FACE_TOLERANCE",
    "GAUSSIAN_THRESHOLD",
    "gaussian_ray_weights",
    "straight_ray_lengths",
]

#: Distance to a grid line, in cell units, under which a point counts as on it.
FACE_TOLERANCE = 1e-9
#: NFs-Inv drops kernel weights below this value.
GAUSSIAN_THRESHOLD = 0.1
# Segments shorter than this fraction of their ray are round-off between two
# crossings at the same point (a ray through a cell corner), not path length.
_SEGMENT_TOLERANCE = 64 * np.finfo(np.float64).eps
# Number of float64 work values per block of rays (about 32 MB per array).
_BLOCK_VALUES = 2**22


def _ray_blocks(n_rays: int, values_per_ray: int):
    """Slices of at most ``_BLOCK_VALUES // values_per_ray`` rays."""
    block = max(1, _BLOCK_VALUES // values_per_ray)
    return (slice(first, min(first + block, n_rays)) for first in range(0, n_rays, block))


def _cells_along(position: np.ndarray, step: np.ndarray, n_cells: int):
    """Cell index along one axis of the points ``position + a * step`` (cell units).

    Returns a function of ``(ray, a)``. A point on a grid line (within
    :data:`FACE_TOLERANCE` cells) belongs to the cell after the line (right,
    or below in depth), except on the last edge where it belongs to the cell
    inside the grid. Points are inside the grid, so truncation is the floor.
    """
    position = position + FACE_TOLERANCE

    def index(ray: np.ndarray, a: np.ndarray) -> np.ndarray:
        cell = (position[ray] + a * step[ray]).astype(np.int64)
        return np.clip(cell, 0, n_cells - 1, out=cell)

    return index


def _crossings(start: np.ndarray, step: np.ndarray, nodes: np.ndarray, out: np.ndarray) -> None:
    """Write into ``out`` the ray parameters where rays cross the lines at ``nodes``.

    ``start`` and ``step`` are ``(n,)`` and ``out`` is ``(n, len(nodes))``.
    Parameters outside the ray are clipped to ``[0, 1]`` and rays parallel to
    the lines get 0: both make zero-length segments, dropped later.
    """
    inverse_step = 1.0 / np.where(step == 0.0, np.inf, step)
    np.clip((nodes[None, :] - start[:, None]) * inverse_step[:, None], 0.0, 1.0, out=out)


def _csr(ray: np.ndarray, column: np.ndarray, value: np.ndarray, shape: tuple) -> sp.csr_matrix:
    """CSR matrix from entries already grouped by row in increasing row order."""
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(ray, minlength=shape[0]), out=indptr[1:])
    matrix = sp.csr_matrix((value, column, indptr), shape=shape)
    matrix.sum_duplicates()  # also sorts the columns of each row, as torch requires
    return matrix


def _lengths_block(grid: Grid, starts: np.ndarray, ends: np.ndarray):
    """Rows (local), columns and values of the length kernel for a block of rays."""
    step = ends - starts
    n_rays, n_x, n_z = len(starts), grid.nx + 1, grid.nz + 1
    alpha = np.empty((n_rays, n_x + n_z + 2))
    alpha[:, 0], alpha[:, 1] = 0.0, 1.0
    _crossings(starts[:, 0], step[:, 0], grid.nodes_x, alpha[:, 2:2 + n_x])
    _crossings(starts[:, 1], step[:, 1], grid.nodes_z, alpha[:, 2 + n_x:])
    alpha.sort(axis=1)
    fraction = np.diff(alpha, axis=1)
    n_segments = fraction.shape[1]
    length = np.hypot(step[:, 0], step[:, 1])
    keep = fraction > _SEGMENT_TOLERANCE
    keep[length == 0.0] = False  # a zero-length ray has an empty row
    kept = np.flatnonzero(keep)
    ray = kept // n_segments
    fraction = fraction.ravel()[kept]
    middle = alpha.ravel()[kept + ray] + 0.5 * fraction  # alpha has one more column
    ix = _cells_along((starts[:, 0] - grid.x0) / grid.dx, step[:, 0] / grid.dx, grid.nx)
    iz = _cells_along((starts[:, 1] - grid.z0) / grid.dz, step[:, 1] / grid.dz, grid.nz)
    column = iz(ray, middle) * grid.nx + ix(ray, middle)
    return ray, column, fraction * length[ray]


def _gaussian_block(grid: Grid, starts: np.ndarray, ends: np.ndarray):
    """Rows (local), columns and values of the Gaussian kernel for a block of rays."""
    centers_x = grid.cell_centers_x
    slope = (ends[:, 1] - starts[:, 1]) / (ends[:, 0] - starts[:, 0])
    # depth of each ray at each column centre, in cells below z0: (n_rays, nx)
    line = (starts[:, 1:2] - grid.z0 + slope[:, None] * (centers_x - starts[:, 0:1])) / grid.dz
    low = np.minimum(starts[:, 0], ends[:, 0])[:, None] - FACE_TOLERANCE * grid.dx
    high = np.maximum(starts[:, 0], ends[:, 0])[:, None] + FACE_TOLERANCE * grid.dx
    spanned = (centers_x >= low) & (centers_x <= high)
    # exp(-dz**2 / 2) >= 0.1 needs |dz| <= 2.15 cells: five cells around the line
    offsets = np.arange(-2, 3)
    above = np.floor(line)
    iz = above[:, :, None] + offsets  # (n_rays, nx, 5), float
    weight = np.exp(-0.5 * (iz + 0.5 - line[:, :, None]) ** 2)
    keep = (weight >= GAUSSIAN_THRESHOLD) & (iz >= 0) & (iz <= grid.nz - 1)
    keep &= spanned[:, :, None]
    kept = np.flatnonzero(keep)
    ray, ix = np.divmod(kept // len(offsets), grid.nx)
    return ray, iz.ravel()[kept].astype(np.int64) * grid.nx + ix, weight.ravel()[kept]


def _assemble(block_function, grid: Grid, starts: np.ndarray, ends: np.ndarray,
              values_per_ray: int) -> sp.csr_matrix:
    rows, columns, values = [], [], []
    for block in _ray_blocks(len(starts), values_per_ray):
        ray, column, value = block_function(grid, starts[block], ends[block])
        rows.append(ray + block.start)
        columns.append(column)
        values.append(value)
    return _csr(np.concatenate(rows), np.concatenate(columns), np.concatenate(values),
                (len(starts), grid.n_cells))


def straight_ray_lengths(grid: Grid, starts: np.ndarray, ends: np.ndarray) -> sp.csr_matrix:
    """Length of each straight ray in each cell of ``grid``.

    Parameters
    ----------
    grid : jointinv.Grid
        The model grid; cells are numbered ``iz * nx + ix`` (C order of the
        ``(nz, nx)`` model).
    starts, ends : (n_rays, 2) numpy.ndarray of float64
        Ray end points ``(x, z)`` [m], z depth positive down, inside the grid
        (callers check this).

    Returns
    -------
    (n_rays, nz * nx) scipy.sparse.csr_matrix of float64
        ``L[i, c]`` is the length [m] of ray ``i`` in cell ``c``; each row sums
        to the ray's length. A zero-length ray has an empty row.

    Notes
    -----
    Each ray ``p(a) = start + a (end - start)``, ``a`` in ``[0, 1]``, is cut at
    its crossings with the lines ``x = nodes_x`` and ``z = nodes_z`` (Siddon,
    1985, Med. Phys. 12, 252). Between consecutive sorted crossings the ray
    stays in one cell, found from the segment's midpoint. A segment lying on a
    grid line (a ray along a cell face) is counted once, in the cell below
    (larger z) or to the right (larger x) of the line, or, on the grid's last
    edge (``x_max`` or ``z_max``), in the cell inside the grid.
    """
    check_grid("grid", grid)
    return _assemble(_lengths_block, grid, starts, ends, values_per_ray=grid.nx + grid.nz + 4)


def gaussian_ray_weights(grid: Grid, starts: np.ndarray, ends: np.ndarray) -> sp.csr_matrix:
    """NFs-Inv's Gaussian ray kernel: a smooth band of weights along each ray.

    Parameters
    ----------
    grid : jointinv.Grid
        The model grid; cells are numbered ``iz * nx + ix``.
    starts, ends : (n_rays, 2) numpy.ndarray of float64
        Ray end points ``(x, z)`` [m] inside the grid, with different x
        (no vertical rays; callers check this).

    Returns
    -------
    (n_rays, nz * nx) scipy.sparse.csr_matrix of float64
        Dimensionless weights; ``K s`` is in the units of ``s``.

    Notes
    -----
    In every grid column whose centre ``x_c`` lies between the ray's end
    points, each cell of the column gets the weight ``exp(-dz**2 / 2)``, where
    ``dz`` is the depth difference, in cells (``/ dz``), between the cell
    centre and the ray at ``x_c``. Weights below :data:`GAUSSIAN_THRESHOLD`
    (0.1) are dropped and the rest are not normalised by length, so a row does
    not sum to the ray length. This is the tomography kernel of NFs-Inv (Xu
    and Heagy, "Towards understanding the benefits of neural network
    parameterization in geophysical inversions: a study with neural fields";
    their notebooks weight ``exp(-dz**2 / sigma)`` with ``sigma = 2`` in cell
    units and zero the weights below 0.1). There the rays are cross-hole and
    cross every column.
    """
    check_grid("grid", grid)
    return _assemble(_gaussian_block, grid, starts, ends, values_per_ray=6 * grid.nx)

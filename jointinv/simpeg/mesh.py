"""discretize meshes for SimPEG plugins, and the linear transfer from the common grid.

Everything that knows about SimPEG's coordinates lives here. jointinv models
are ``(nz, nx)`` arrays with z the depth (positive down) and row 0 at the
top; discretize orders cells x-fastest with the last coordinate the
elevation (positive up), row 0 at the *bottom*. The ground surface is the top
of the grid (depth ``grid.z0``, elevation ``-grid.z0``). A 3D simulation (e.g.
potential fields) sees the grid as a prism of one cell along y
(:func:`grid_tensor_mesh` with ``strike_length``), whose cells come in the
same order as the 2D mesh's.

The grid-to-mesh transfer is one sparse matrix built with discretize's volume
averaging, so it is exact when the mesh conforms with the grid (the default
padded mesh: each core cell copies its grid cell) and a proper average when it
does not (a user's mesh). Mesh cells outside the grid (padding) take the
value of the adjacent grid cells, or a fixed background when one is given.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from discretize import TensorMesh, TreeMesh
from discretize.utils import volume_average

from jointinv.grid import Grid
from jointinv.validation import check_points, check_positive_float, check_positive_int

__all__ = [
    "depth_to_elevation",
    "grid_to_discretize_order",
    "grid_tensor_mesh",
    "padded_mesh",
    "check_mesh_covers_grid",
    "grid_to_mesh_transfer",
]


def depth_to_elevation(points, surface_depth: float = 0.0) -> np.ndarray:
    """Convert ``(x, depth)`` points to SimPEG's ``(x, elevation)``.

    Parameters
    ----------
    points : (n, 2) array_like of float
        Locations ``(x, z)`` [m] with z the depth, positive down.
    surface_depth : float, default 0
        Depth [m] of the reference level that has elevation 0. Plugins
        use 0: elevation is simply minus the depth (the surface, at depth
        ``grid.z0``, has elevation ``-grid.z0``).

    Returns
    -------
    (n, 2) numpy.ndarray of float64
        ``(x, surface_depth - z)`` [m], elevation positive up.
    """
    points = check_points("points", points)
    # the same sign flip turns elevation back into depth
    return np.column_stack([points[:, 0], surface_depth - points[:, 1]])


def grid_to_discretize_order(grid: Grid) -> np.ndarray:
    """Index that reorders a C-order ``(nz, nx)`` model into discretize order.

    ``model.ravel()[index]`` lists the grid cells x-fastest from the deepest
    row up, the order of :func:`grid_tensor_mesh`'s cells (2D, or 3D with
    one cell along y); ``index`` is a permutation, so
    ``discretize_vector[np.argsort(index)]`` goes back. As a SimPEG map:
    ``simpeg.maps.Projection(grid.n_cells, index)``.

    Returns
    -------
    (nz * nx,) numpy.ndarray of int64
    """
    rows = np.arange(grid.nz)[::-1]  # deepest row (largest depth index) first
    return (rows[:, None] * grid.nx + np.arange(grid.nx)[None, :]).ravel()


def grid_tensor_mesh(grid: Grid, strike_length: float | None = None) -> TensorMesh:
    """The grid as a discretize ``TensorMesh`` in SimPEG's elevation coordinates.

    Parameters
    ----------
    grid : jointinv.Grid
    strike_length : float, optional
        Without it, a 2D mesh in ``(x, elevation)``. With it, a 3D mesh in
        ``(x, y, elevation)`` with one cell of this length [m] along y,
        centred on ``y = 0``: a 2D section of finite strike for 3D
        simulations. Either way the cells are :func:`grid_to_discretize_order`
        of the grid's cells.

    Returns
    -------
    discretize.TensorMesh
    """
    h_x, h_z = np.full(grid.nx, grid.dx), np.full(grid.nz, grid.dz)
    if strike_length is None:
        return TensorMesh([h_x, h_z], origin=(grid.x0, -grid.z_max))
    strike_length = check_positive_float("strike_length", strike_length)
    return TensorMesh([h_x, np.r_[strike_length], h_z],
                      origin=(grid.x0, -strike_length / 2, -grid.z_max))


def padded_mesh(grid: Grid, padding_cells: int = 10, padding_factor: float = 1.3,
                refinement: int = 1) -> TensorMesh:
    """Default simulation mesh: the grid's cells plus padding left, right and below.

    Parameters
    ----------
    grid : jointinv.Grid
        The core cells are the grid's cells (each split in ``refinement`` x
        ``refinement`` when > 1).
    padding_cells : int, default 10
        Number of padding cells on each side (left, right and below).
    padding_factor : float, default 1.3
        Each padding cell is this many times wider than its inner neighbour
        (> 1); the first is ``padding_factor * dx`` (``* dz`` below).
    refinement : int, default 1
        Split each core cell into ``refinement`` x ``refinement`` cells (a
        finer simulation mesh under the same model grid).

    Returns
    -------
    discretize.TensorMesh
        2D mesh in ``(x, elevation)``; its top is the ground surface.
    """
    padding_cells = check_positive_int("padding_cells", padding_cells)
    padding_factor = check_positive_float("padding_factor", padding_factor)
    if padding_factor < 1.0:
        raise ValueError(f"padding_factor must be >= 1, got {padding_factor}")
    refinement = check_positive_int("refinement", refinement)
    growth = padding_factor ** np.arange(1, padding_cells + 1)
    pad_x, pad_z = grid.dx * growth, grid.dz * growth
    core_x = np.full(grid.nx * refinement, grid.dx / refinement)
    core_z = np.full(grid.nz * refinement, grid.dz / refinement)
    hx = np.concatenate([pad_x[::-1], core_x, pad_x])
    hz = np.concatenate([pad_z[::-1], core_z])
    return TensorMesh([hx, hz], origin=(grid.x0 - pad_x.sum(), -grid.z_max - pad_z.sum()))


def _mesh_bounds(mesh) -> tuple[float, float, float, float]:
    nodes = mesh.nodes
    return (float(nodes[:, 0].min()), float(nodes[:, 0].max()),
            float(nodes[:, 1].min()), float(nodes[:, 1].max()))


def check_mesh_covers_grid(mesh, grid: Grid):
    """Require a 2D discretize Tensor/Tree mesh that covers the grid, top at the surface.

    A 2.5D DC simulation puts the insulating ground surface on the mesh's top
    boundary, so the top must be the grid's top (elevation ``-grid.z0``); the
    mesh must reach at least the grid's left, right and bottom edges.

    Raises
    ------
    TypeError
        If ``mesh`` is not a 2D ``TensorMesh`` or ``TreeMesh``.
    ValueError
        If it does not cover the grid or its top is not the surface.
    """
    if not isinstance(mesh, (TensorMesh, TreeMesh)) or mesh.dim != 2:
        raise TypeError(
            f"mesh must be a 2D discretize TensorMesh or TreeMesh, got {type(mesh).__name__}"
            + (f" of dimension {mesh.dim}" if hasattr(mesh, "dim") else "")
        )
    x_min, x_max, bottom, top = _mesh_bounds(mesh)
    tol = 1e-6 * max(grid.dx, grid.dz)
    surface = -grid.z0
    covers = (x_min <= grid.x0 + tol and x_max >= grid.x_max - tol
              and bottom <= -grid.z_max + tol)
    if not covers or abs(top - surface) > tol:
        raise ValueError(
            f"mesh must cover the grid (x in [{grid.x0}, {grid.x_max}] m, elevation in "
            f"[{-grid.z_max}, {surface}] m) with its top at the ground surface "
            f"(elevation {surface} m); got a mesh with x in [{x_min}, {x_max}] m and "
            f"elevation in [{bottom}, {top}] m"
        )
    return mesh


def _extended_grid(grid: Grid, mesh) -> tuple[TensorMesh, np.ndarray, np.ndarray]:
    """The grid plus one padding column/row reaching each mesh edge.

    Returns the extended mesh, the index of the grid cell (C order) whose
    value each extended cell copies, and a mask of the padding cells.
    """
    x_min, x_max, bottom, _ = _mesh_bounds(mesh)
    tol = 1e-9 * max(grid.dx, grid.dz)
    left, right = grid.x0 - x_min, x_max - grid.x_max
    below = -grid.z_max - bottom
    hx = [left] * (left > tol) + [grid.dx] * grid.nx + [right] * (right > tol)
    hz = [below] * (below > tol) + [grid.dz] * grid.nz
    extended = TensorMesh([np.asarray(hx), np.asarray(hz)],
                          origin=(min(x_min, grid.x0), min(bottom, -grid.z_max)))
    # Column/row of each extended cell in the grid, clamped to the nearest edge.
    ix = np.clip(np.arange(len(hx)) - int(left > tol), 0, grid.nx - 1)
    iz_up = np.arange(len(hz)) - int(below > tol)
    iz = np.clip(grid.nz - 1 - iz_up, 0, grid.nz - 1)  # depth row index
    source = (iz[:, None] * grid.nx + ix[None, :]).ravel()
    col = np.arange(len(hx)) - int(left > tol)
    padding = ((iz_up[:, None] < 0) | (col[None, :] < 0) | (col[None, :] >= grid.nx)).ravel()
    return extended, source, padding


def grid_to_mesh_transfer(grid: Grid, mesh, padding_value: float | None = None):
    """Sparse linear map from a C-order grid model to the mesh's cells.

    ``mesh_values = transfer @ model.ravel() + offset``: discretize's volume
    average of the grid extended to the mesh edges. Padding cells copy the
    adjacent grid cells, or hold ``padding_value`` when it is given (then it
    enters through ``offset``).

    Parameters
    ----------
    grid : jointinv.Grid
    mesh : discretize.TensorMesh or discretize.TreeMesh
        In ``(x, elevation)``, covering the grid (:func:`check_mesh_covers_grid`).
    padding_value : float, optional
        Fixed value for the mesh outside the grid, in model units.

    Returns
    -------
    transfer : (mesh.n_cells, grid.n_cells) scipy.sparse.csr_matrix of float64
    offset : (mesh.n_cells,) numpy.ndarray of float64
        Zero unless ``padding_value`` is given.
    """
    check_mesh_covers_grid(mesh, grid)
    extended, source, padding = _extended_grid(grid, mesh)
    keep = ~padding if padding_value is not None else np.ones(len(source), bool)
    rows = np.flatnonzero(keep)
    copy = sp.csr_matrix((np.ones(len(rows)), (rows, source[rows])),
                         shape=(extended.n_cells, grid.n_cells))
    average = volume_average(extended, mesh)
    transfer = (average @ copy).tocsr()
    offset = np.zeros(mesh.n_cells)
    if padding_value is not None:
        offset = average @ (float(padding_value) * padding.astype(np.float64))
    transfer.eliminate_zeros()
    return transfer, offset

"""The common model grid shared by every physics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .validation import check_points, check_positive_int, check_real_range

__all__ = ["Grid", "check_grid", "MAX_CELLS", "CELL_SIZE_RANGE", "MAX_ORIGIN"]

#: Largest number of cells ``nx * nz``: one float64 model is then 8 GB, a
#: third of a 24 GiB machine, and every physics keeps several such arrays.
MAX_CELLS = 10**9
#: Allowed cell sizes ``dx, dz`` [m]: a micrometre (laboratory ultrasonics is
#: coarser) to a thousand kilometres; outside, ``1 / dx**2`` in the wave
#: stencils or the grid's extent stops being a well-scaled float.
CELL_SIZE_RANGE = (1e-6, 1e6)
#: Largest ``|x0|``, ``|z0|`` [m]: projected coordinates (UTM northings are
#: ~1e7 m) fit; beyond, cell centres lose their digits in float64.
MAX_ORIGIN = 1e9


@dataclass(frozen=True)
class Grid:
    """Regular 2D grid of rectangular cells; the mesh on which models live.

    Models are arrays of shape ``(nz, nx)``: row index is depth, z positive
    down. Keyword-only so that axes cannot be swapped by accident.

    Parameters
    ----------
    nx, nz : int
        Number of cells along x (horizontal) and z (depth).
    dx, dz : float
        Cell sizes [m], in :data:`CELL_SIZE_RANGE` ``[1e-6, 1e6]``.
    x0, z0 : float, default 0
        Coordinates [m] of the top-left corner of the grid, ``|x0|, |z0| <= 1e9``.

    Raises
    ------
    TypeError
        If a size is not an integer or a length not a real number.
    ValueError
        If ``nx`` or ``nz`` < 1, ``nx * nz`` exceeds :data:`MAX_CELLS`
        (``1e9``), or a length is not finite or out of its range.

    Examples
    --------
    >>> grid = Grid(nx=4, nz=3, dx=10.0, dz=5.0)
    >>> grid.shape
    (3, 4)
    >>> grid.cell_centers_x
    array([ 5., 15., 25., 35.])
    """

    nx: int
    nz: int
    dx: float
    dz: float
    x0: float = 0.0
    z0: float = 0.0

    def __init__(self, *, nx, nz, dx, dz, x0=0.0, z0=0.0):
        nx, nz = check_positive_int("nx", nx), check_positive_int("nz", nz)
        if nx * nz > MAX_CELLS:
            raise ValueError(f"nx * nz must be at most {MAX_CELLS:.0e} cells (one float64 "
                             f"model is then 8 GB), got nx * nz = {nx} * {nz} = {nx * nz:.3g}")
        object.__setattr__(self, "nx", nx)
        object.__setattr__(self, "nz", nz)
        for name, value in (("dx", dx), ("dz", dz)):
            object.__setattr__(self, name, check_real_range(name, value, *CELL_SIZE_RANGE, "m"))
        for name, value in (("x0", x0), ("z0", z0)):
            object.__setattr__(self, name,
                               check_real_range(name, value, -MAX_ORIGIN, MAX_ORIGIN, "m"))

    @property
    def shape(self) -> tuple[int, int]:
        """Model array shape ``(nz, nx)``."""
        return (self.nz, self.nx)

    @property
    def n_cells(self) -> int:
        """Number of cells ``nz * nx``."""
        return self.nx * self.nz

    @property
    def x_max(self) -> float:
        """Right edge of the grid [m]."""
        return self.x0 + self.nx * self.dx

    @property
    def z_max(self) -> float:
        """Bottom edge of the grid [m] (depth)."""
        return self.z0 + self.nz * self.dz

    @property
    def nodes_x(self) -> np.ndarray:
        """Cell edges along x, shape ``(nx + 1,)`` [m]."""
        return self.x0 + self.dx * np.arange(self.nx + 1)

    @property
    def nodes_z(self) -> np.ndarray:
        """Cell edges along z (depth), shape ``(nz + 1,)`` [m]."""
        return self.z0 + self.dz * np.arange(self.nz + 1)

    @property
    def cell_centers_x(self) -> np.ndarray:
        """Cell centres along x, shape ``(nx,)`` [m]."""
        return self.x0 + self.dx * (np.arange(self.nx) + 0.5)

    @property
    def cell_centers_z(self) -> np.ndarray:
        """Cell centres along z (depth), shape ``(nz,)`` [m]."""
        return self.z0 + self.dz * (np.arange(self.nz) + 0.5)

    @property
    def cell_centers(self) -> np.ndarray:
        """All cell centres as ``(nz * nx, 2)`` rows of ``(x, z)`` in C order."""
        zz, xx = np.meshgrid(self.cell_centers_z, self.cell_centers_x, indexing="ij")
        return np.column_stack([xx.ravel(), zz.ravel()])

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """``(x_min, x_max, z_max, z_min)`` for ``matplotlib.imshow``."""
        return (self.x0, self.x_max, self.z_max, self.z0)

    def contains(self, points, tolerance: float = 1e-9) -> np.ndarray:
        """Boolean mask of the ``(n, 2)`` points inside the grid (edges included)."""
        points = check_points("points", points, allow_empty=True)
        tol_x, tol_z = tolerance * self.dx, tolerance * self.dz
        x, z = points[:, 0], points[:, 1]
        return (
            (x >= self.x0 - tol_x)
            & (x <= self.x_max + tol_x)
            & (z >= self.z0 - tol_z)
            & (z <= self.z_max + tol_z)
        )

    def check_inside(self, name: str, points) -> np.ndarray:
        """Validate ``(n, 2)`` points and require all of them inside the grid.

        Raises ``ValueError`` naming ``name`` and the first offending point.
        """
        points = check_points(name, points)
        inside = self.contains(points)
        if not inside.all():
            bad = points[~inside][0]
            raise ValueError(
                f"{name} must lie inside the grid x in [{self.x0}, {self.x_max}], "
                f"z in [{self.z0}, {self.z_max}] m; got {int((~inside).sum())} point(s) "
                f"outside, e.g. (x={bad[0]}, z={bad[1]})"
            )
        return points

    def to_dict(self) -> dict:
        """Plain dictionary for JSON files and configs."""
        return {"nx": self.nx, "nz": self.nz, "dx": self.dx, "dz": self.dz,
                "x0": self.x0, "z0": self.z0}


def check_grid(name: str, value) -> Grid:
    """Return ``value`` if it is a :class:`Grid`, else raise ``TypeError`` naming ``name``."""
    if not isinstance(value, Grid):
        raise TypeError(f"{name} must be a jointinv.Grid, got {type(value).__name__}")
    return value

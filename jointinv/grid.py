"""The common model grid shared by every physics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .validation import check_points, check_positive_float, check_positive_int

__all__ = ["Grid", "check_grid"]


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
        Cell sizes [m], > 0.
    x0, z0 : float, default 0
        Coordinates [m] of the top-left corner of the grid.

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
        object.__setattr__(self, "nx", check_positive_int("nx", nx))
        object.__setattr__(self, "nz", check_positive_int("nz", nz))
        object.__setattr__(self, "dx", check_positive_float("dx", dx))
        object.__setattr__(self, "dz", check_positive_float("dz", dz))
        for name, value in (("x0", x0), ("z0", z0)):
            if not np.isfinite(float(value)):
                raise ValueError(f"{name} must be finite, got {value}")
        object.__setattr__(self, "x0", float(x0))
        object.__setattr__(self, "z0", float(z0))

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

"""Straight-ray travel-time tomography.

First-arrival travel times along straight rays between sources and receivers,
``t = L s`` with the slowness ``s = 1 / velocity`` of the grid cells and ``L``
the exact ray–cell length matrix (see :mod:`jointinv.physics.ray_paths`). The model is
the velocity [m/s]; cell inversions work in slowness (``inversion_map =
"reciprocal"``), where the problem is linear.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.sparse as sp
import torch

from jointinv.grid import Grid, check_grid
from jointinv.operator import PhysicsOperator
from jointinv.validation import (
    check_choice,
    check_positive_int,
    warn_implausible_velocity,
)

from .ray_paths import FACE_TOLERANCE, gaussian_ray_weights, straight_ray_lengths

__all__ = ["StraightRayTomography", "KERNELS"]

#: Ray kernels by name: exact straight-ray lengths, or NFs-Inv's Gaussian band.
KERNELS = {"exact": straight_ray_lengths, "gaussian": gaussian_ray_weights}


def _check_pairs(pairs, n_sources: int, n_receivers: int) -> np.ndarray:
    """Source–receiver index pairs as an int64 ``(n_rays, 2)`` array.

    ``None`` gives every pair, source-major: for each source, every receiver.
    """
    if pairs is None:
        sources, receivers = np.meshgrid(np.arange(n_sources), np.arange(n_receivers),
                                         indexing="ij")
        return np.column_stack([sources.ravel(), receivers.ravel()])
    if isinstance(pairs, torch.Tensor):
        pairs = pairs.detach().cpu().numpy()
    array = np.asarray(pairs)
    if array.size and not (np.issubdtype(array.dtype, np.integer)
                           and not np.issubdtype(array.dtype, np.bool_)):
        raise TypeError(
            f"pairs must be an integer array of (source index, receiver index), "
            f"got dtype {array.dtype}"
        )
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(
            f"pairs must have shape (n_rays, 2) of (source index, receiver index), "
            f"got {array.shape}"
        )
    if array.shape[0] == 0:
        raise ValueError("pairs must hold at least one ray, got an empty array")
    for column, name, count in ((0, "source", n_sources), (1, "receiver", n_receivers)):
        index = array[:, column]
        if index.min() < 0 or index.max() >= count:
            bad = index[(index < 0) | (index >= count)][0]
            raise ValueError(
                f"pairs[:, {column}] must be {name} indices in [0, {count - 1}], got {bad}"
            )
    return array.astype(np.int64)


def _torch_csr(matrix: sp.csr_matrix, device, dtype) -> torch.Tensor:
    """A torch CSR copy of ``matrix`` on ``device`` with values of ``dtype``."""
    # 32-bit indices make CPU sparse products about twice as fast.
    index_dtype = np.int32 if max(matrix.nnz, max(matrix.shape)) < 2**31 else np.int64
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(
            torch.from_numpy(matrix.indptr.astype(index_dtype)),
            torch.from_numpy(matrix.indices.astype(index_dtype)),
            torch.from_numpy(matrix.data),
            size=matrix.shape, check_invariants=False,
        ).to(device=device, dtype=dtype)


class _SparseProduct(torch.autograd.Function):
    """``matrix @ vector`` for a constant sparse matrix, in both AD modes.

    ``transpose`` is ``matrix.T`` held as its own CSR tensor: a CSR product is
    far faster than one with a transposed view. Backward applies this same
    function with the two swapped, so higher derivatives work too.
    """

    @staticmethod
    def forward(ctx, vector, matrix, transpose):
        ctx.matrix, ctx.transpose = matrix, transpose
        return matrix @ vector

    @staticmethod
    def backward(ctx, grad_output):
        return _SparseProduct.apply(grad_output, ctx.transpose, ctx.matrix), None, None

    @staticmethod
    def jvp(ctx, vector_tangent, matrix_tangent, transpose_tangent):
        return ctx.matrix @ vector_tangent


class StraightRayTomography(PhysicsOperator, property="velocity", units="m/s",
                            inversion_map="reciprocal"):
    """Travel times [s] of straight rays through a velocity model on a grid.

    Parameters
    ----------
    grid : jointinv.Grid
        The model grid; models are ``(nz, nx)`` velocity tensors [m/s].
    sources, receivers : (n, 2) array_like of float
        Locations ``(x, z)`` [m], z depth positive down, inside the grid
        (points on its edges count as inside).
    pairs : (n_rays, 2) array_like of int, optional
        ``(source index, receiver index)`` of each ray. By default every
        source–receiver pair, source-major (for each source, every receiver).
    kernel : {"exact", "gaussian"}, default "exact"
        ``"exact"``: ray lengths in the cells, data in seconds.
        ``"gaussian"``: NFs-Inv's smooth band of dimensionless weights around
        each ray (:func:`jointinv.physics.ray_paths.gaussian_ray_weights`); data are
        weighted slowness sums [s/m], not travel times. Needs rays that are
        not vertical.

    Attributes
    ----------
    matrix : (n_rays, nz * nx) scipy.sparse.csr_matrix of float64
        The kernel ``L``; cells in C order of the model (``iz * nx + ix``).
    sources, receivers : (n, 2) numpy.ndarray of float64
        Point locations [m].
    pairs : (n_rays, 2) numpy.ndarray of int64
        Source and receiver index of each ray.

    Raises
    ------
    ValueError
        If a source or receiver lies outside the grid, ``pairs`` is empty,
        misshapen or indexes a missing point, ``kernel`` is unknown, or the
        Gaussian kernel gets a vertical ray.
    TypeError
        If ``pairs`` is not an integer array.

    Models are checked on each call: a velocity <= 0, or so small that
    ``1 / velocity**2`` overflows in the model's dtype (below ``1e-154`` m/s
    in float64, ``5e-20`` m/s in float32), raises ``ValueError``; one outside
    :data:`jointinv.validation.PLAUSIBLE_VELOCITY` (1 to 1e5 m/s) warns once per operator ("is the
    model in m/s?").

    Notes
    -----
    Forward: ``t = L (1 / v)``, ``v`` the velocity flattened in C order.
    Jacobian: ``J = -L diag(1 / v**2)``; its adjoint maps data residuals back
    along the rays, ``J^T u = -(L^T u) / v**2``. A ray along a cell face is
    counted once (see :func:`jointinv.physics.ray_paths.straight_ray_lengths` for the
    cell that gets it); SimPEG's ``straight_ray_tomography`` counts it in both
    neighbouring cells. ``L`` is kept as a scipy matrix; torch copies are made
    on first use for each device and dtype of the model and then reused.

    Examples
    --------
    >>> import torch
    >>> from jointinv import Grid
    >>> grid = Grid(nx=4, nz=3, dx=10.0, dz=10.0)
    >>> op = StraightRayTomography(grid, [[0.0, 15.0]], [[40.0, 15.0]])
    >>> op(torch.full(grid.shape, 2000.0, dtype=torch.float64))
    tensor([0.0200], dtype=torch.float64)
    """

    def __init__(self, grid: Grid, sources, receivers, pairs=None, kernel: str = "exact"):
        super().__init__(grid)
        self.kernel = check_choice("kernel", kernel, KERNELS)
        self.sources = grid.check_inside("sources", sources)
        self.receivers = grid.check_inside("receivers", receivers)
        self.pairs = _check_pairs(pairs, len(self.sources), len(self.receivers))
        starts = self.sources[self.pairs[:, 0]]
        ends = self.receivers[self.pairs[:, 1]]
        if kernel == "gaussian":
            vertical = np.abs(ends[:, 0] - starts[:, 0]) <= FACE_TOLERANCE * grid.dx
            if vertical.any():
                ray = int(np.flatnonzero(vertical)[0])
                raise ValueError(
                    f"kernel='gaussian' needs rays with different source and receiver x; "
                    f"got {int(vertical.sum())} vertical ray(s), e.g. ray {ray} "
                    f"(source {self.pairs[ray, 0]}, receiver {self.pairs[ray, 1]})"
                )
        self.matrix = KERNELS[kernel](grid, starts, ends)
        self._torch_matrices = {}
        self._warned_velocity = False

    @classmethod
    def crosshole(cls, grid: Grid, n_sources: int, n_receivers: int, kernel: str = "exact"):
        """Cross-hole survey: sources on the left edge, receivers on the right.

        Parameters
        ----------
        grid : jointinv.Grid
            The model grid.
        n_sources, n_receivers : int
            Number of sources (at ``x = x0``) and receivers (at ``x = x_max``),
            each evenly spaced in depth from the first to the last cell-centre
            depth, as in NFs-Inv.
        kernel : {"exact", "gaussian"}, default "exact"
            Ray kernel, as in the constructor.

        Returns
        -------
        StraightRayTomography
            Every source recorded at every receiver (``n_sources * n_receivers`` rays).
        """
        check_grid("grid", grid)
        n_sources = check_positive_int("n_sources", n_sources)
        n_receivers = check_positive_int("n_receivers", n_receivers)
        first, last = grid.cell_centers_z[0], grid.cell_centers_z[-1]
        sources = np.column_stack([np.full(n_sources, grid.x0),
                                   np.linspace(first, last, n_sources)])
        receivers = np.column_stack([np.full(n_receivers, grid.x_max),
                                     np.linspace(first, last, n_receivers)])
        return cls(grid, sources, receivers, kernel=kernel)

    @property
    def n_data(self) -> int:
        """Number of rays."""
        return self.matrix.shape[0]

    def _check_model_values(self, model: torch.Tensor) -> None:
        smallest, largest = float(model.min()), float(model.max())
        if smallest <= 0:
            raise ValueError(f"model (velocity) must be > 0 m/s everywhere, got {smallest}")
        # the data are L / v and the Jacobian -L / v**2: both must be finite numbers
        limit = 1.0 / math.sqrt(torch.finfo(model.dtype).max)
        if smallest < limit:
            raise ValueError(
                f"model (velocity) must be >= {limit:.3g} m/s in {model.dtype} (below, 1 / "
                f"velocity**2 overflows and travel times or gradients become inf), got "
                f"minimum {smallest:.3g} m/s; is the model in m/s?")
        if not self._warned_velocity:
            self._warned_velocity = warn_implausible_velocity("model (velocity)", smallest,
                                                              largest)

    def _matrices(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``L`` and ``L^T`` as torch CSR tensors on ``like``'s device and dtype."""
        key = (like.device, like.dtype)
        if key not in self._torch_matrices:
            self._torch_matrices[key] = (_torch_csr(self.matrix, *key),
                                         _torch_csr(self.matrix.T.tocsr(), *key))
        return self._torch_matrices[key]

    def __getstate__(self) -> dict:
        # torch CSR tensors cannot be pickled or deep-copied; they are rebuilt on use
        state = self.__dict__.copy()
        state["_torch_matrices"] = {}
        return state

    def _forward(self, model: torch.Tensor) -> torch.Tensor:
        return _SparseProduct.apply((1.0 / model).reshape(-1), *self._matrices(model))

    def _jvp(self, model: torch.Tensor, tangent: torch.Tensor) -> torch.Tensor:
        """``J v = -L (v / velocity**2)``: the ``(n_rays,)`` change of the data [s]."""
        return _SparseProduct.apply((-tangent / model**2).reshape(-1), *self._matrices(model))

    def _vjp(self, model: torch.Tensor, cotangent: torch.Tensor) -> torch.Tensor:
        """``J^T u = -(L^T u) / velocity**2``, an ``(nz, nx)`` tensor."""
        matrix, transpose = self._matrices(model)
        back = _SparseProduct.apply(cotangent, transpose, matrix)
        return -back.reshape(self.grid.shape) / model**2

    @classmethod
    def example_case(cls):
        """Tiny float64 operator and a smooth positive velocity model [m/s]."""
        grid = Grid(nx=6, nz=5, dx=10.0, dz=8.0, x0=5.0, z0=2.0)
        sources = [[grid.x0, 7.0], [grid.x0, 23.0], [grid.x0, 37.0], [31.0, grid.z0]]
        receivers = [[grid.x_max, 5.0], [grid.x_max, 19.0], [grid.x_max, 40.0], [48.0, grid.z_max]]
        operator = cls(grid, sources, receivers)
        z = torch.as_tensor(grid.cell_centers_z, dtype=torch.float64)[:, None]
        x = torch.as_tensor(grid.cell_centers_x, dtype=torch.float64)[None, :]
        model = 1800.0 + 300.0 * torch.sin(x / 17.0) * torch.cos(z / 13.0) + 10.0 * z
        return operator, model

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, n_sources={len(self.sources)}, "
                f"n_receivers={len(self.receivers)}, n_rays={self.n_data}, "
                f"kernel={self.kernel!r}")


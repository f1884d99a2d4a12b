"""SVD of a neural field's Jacobian ``dm/dtheta``: what models the network finds easy to make.

NFs-Inv (Xu and Heagy) explains the implicit bias of a neural-field
parameterization through the singular value decomposition of the Jacobian of
the model with respect to the network weights, ``J = dm/dtheta``
(``n_cells x n_parameters``): a gradient step on the weights moves the model
by ``J J^T g``, so the left-singular vectors with large singular values are
the model patterns the network moves most easily (smooth, large-scale ones),
and those with small singular values are suppressed.

:func:`jacobian_svd` computes it with ``torch.func``: the dense Jacobian
(``jacrev``, reverse mode vectorised over the cells) when it fits in memory,
otherwise a randomised SVD (Halko, Martinsson and Tropp, 2011) that needs only
products ``J v`` (forward mode, ``jvp``) and ``J^T u`` (``vjp``), each
vectorised over a block of directions with ``vmap``.

References
----------
Halko, N., Martinsson, P. G., Tropp, J. A. (2011). Finding structure with
randomness: probabilistic algorithms for constructing approximate matrix
decompositions. SIAM Review 53(2), 217-288.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.func import functional_call, jacrev, jvp, vjp, vmap

from .neural_field import NeuralField
from .validation import (
    check_choice,
    check_nonnegative_int,
    check_positive_float,
    check_positive_int,
)

__all__ = ["JacobianSVD", "field_jacobian", "jacobian_svd", "plot_jacobian_svd"]

METHODS = ("auto", "dense", "randomized")


@dataclass
class JacobianSVD:
    """Leading singular triplets of ``J = dm/dtheta`` of one output of a field.

    Attributes
    ----------
    singular_values : (k,) torch.Tensor
        Descending, in the units of the model per unit weight.
    left_vectors : (k, nz, nx) torch.Tensor
        Left-singular vectors as images on the field's grid (unit norm; the
        sign of each is arbitrary).
    key : str
        The field output analysed (its inversion variable, e.g. slowness).
    method : {"dense", "randomized"}
    n_parameters : int
        Number of trainable weights (columns of ``J``).
    wall_time : float
        Seconds spent.
    """

    singular_values: torch.Tensor
    left_vectors: torch.Tensor
    key: str
    method: str
    n_parameters: int
    wall_time: float


class _Variable(nn.Module):
    """``theta -> m``: one output of a field as a flat ``(n_cells,)`` vector."""

    def __init__(self, field: NeuralField, key: str):
        super().__init__()
        self.field, self.key = field, key

    def forward(self) -> torch.Tensor:
        return self.field.field_variables()[self.key].reshape(-1)


def _model_function(field: NeuralField, key: str | None):
    """``(f, theta0, key)``: ``f(theta) -> m`` over the flat vector of trainable weights."""
    if not isinstance(field, NeuralField):
        raise TypeError(f"field must be a jointinv.neural_field.NeuralField, "
                        f"got {type(field).__name__}")
    key = field.keys[0] if key is None else key
    if key not in field.keys:
        raise ValueError(f"key must be one of the field's outputs {list(field.keys)}, "
                         f"got {key!r}")
    wrapper = _Variable(field, key)
    named = [(f"field.{n}", p) for n, p in field.named_parameters() if p.requires_grad]
    names = [n for n, _ in named]
    shapes = [p.shape for _, p in named]
    sizes = [p.numel() for _, p in named]
    theta0 = torch.cat([p.detach().reshape(-1) for _, p in named])

    def model(theta: torch.Tensor) -> torch.Tensor:
        pieces = torch.split(theta, sizes)
        params = {n: piece.reshape(s) for n, piece, s in zip(names, pieces, shapes)}
        return functional_call(wrapper, params, ())

    return model, theta0, key


def field_jacobian(field: NeuralField, key: str | None = None,
                   chunk_size: int = 64) -> torch.Tensor:
    """Dense ``J = dm/dtheta`` ``(n_cells, n_parameters)`` of one field output.

    Reverse mode vectorised over the cells (``torch.func.jacrev``), ``chunk_size``
    cells at a time. Rows follow the model's C order (``iz * nx + ix``),
    columns ``field.parameters()`` flattened in order. Use it for small grids;
    its memory is ``n_cells * n_parameters`` numbers.
    """
    model, theta0, _ = _model_function(field, key)
    chunk_size = check_positive_int("chunk_size", chunk_size)
    return jacrev(model, chunk_size=chunk_size)(theta0).detach()


def _orthonormal(matrix: torch.Tensor) -> torch.Tensor:
    return torch.linalg.qr(matrix, mode="reduced")[0]


def _blocks(function, directions: torch.Tensor, block: int) -> torch.Tensor:
    """``function`` (vmapped) on the columns of ``directions``, ``block`` at a time."""
    columns = [vmap(function)(directions[:, i:i + block].T).T
               for i in range(0, directions.shape[1], block)]
    return torch.cat(columns, dim=1)


def jacobian_svd(field: NeuralField, key: str | None = None, k: int = 20,
                 method: str = "auto", n_oversamples: int = 10, n_power_iterations: int = 2,
                 block: int = 16, seed: int = 0, max_memory_gb: float = 1.0) -> JacobianSVD:
    """Leading ``k`` singular values and left-singular vectors of ``dm/dtheta``.

    Parameters
    ----------
    field : NeuralField
        At its current weights (untrained or trained).
    key : str, optional
        Which output (default the first); ``m`` is its inversion variable (the
        head's output, e.g. slowness [s/m]).
    k : int, default 20
        Singular triplets kept (>= 1; at most ``min(n_cells, n_parameters)``).
    method : {"auto", "dense", "randomized"}
        ``"dense"``: :func:`field_jacobian` then ``torch.linalg.svd`` (exact);
        ``"randomized"``: range finder with ``k + n_oversamples`` Gaussian
        directions and ``n_power_iterations`` power iterations, using only
        ``jvp``/``vjp`` (memory ``(n_cells + n_parameters) * (k +
        n_oversamples)`` numbers); ``"auto"``: dense when the Jacobian takes
        at most ``max_memory_gb``.
    n_oversamples, n_power_iterations : int, >= 0
    block : int, default 16
        Directions per vectorised product (or cells per ``jacrev`` chunk);
        the network's activations are held ``block`` times.
    seed : int, default 0
        Seed of the random directions.
    max_memory_gb : float, default 1
        Largest dense Jacobian ``"auto"`` builds; ``"dense"`` refuses a larger one.

    Returns
    -------
    JacobianSVD
    """
    start = time.perf_counter()
    method = check_choice("method", method, METHODS)
    k = check_positive_int("k", k)
    n_oversamples = check_nonnegative_int("n_oversamples", n_oversamples)
    n_power_iterations = check_nonnegative_int("n_power_iterations", n_power_iterations)
    block = check_positive_int("block", block)
    seed = check_nonnegative_int("seed", seed)
    max_memory_gb = check_positive_float("max_memory_gb", max_memory_gb)
    model, theta0, key = _model_function(field, key)
    n_cells, n_parameters = field.grid.n_cells, theta0.numel()
    if k > min(n_cells, n_parameters):
        raise ValueError(f"k must be <= min(n_cells, n_parameters) = "
                         f"{min(n_cells, n_parameters)}, got {k}")
    dense_gb = n_cells * n_parameters * theta0.element_size() / 1e9
    if method == "auto":
        method = "dense" if dense_gb <= max_memory_gb else "randomized"
    if method == "dense":
        if dense_gb > max_memory_gb:
            raise ValueError(f"the dense Jacobian needs {dense_gb:.2f} GB > max_memory_gb="
                             f"{max_memory_gb}; use method='randomized'")
        jacobian = field_jacobian(field, key, chunk_size=block)
        left, values, _ = torch.linalg.svd(jacobian, full_matrices=False)
    else:
        left, values = _randomized(model, theta0, k, n_oversamples, n_power_iterations, block,
                                   seed, n_cells)
    return JacobianSVD(values[:k].detach(), left[:, :k].T.reshape(k, *field.grid.shape).detach(),
                       key, method, n_parameters, time.perf_counter() - start)


def _randomized(model, theta0, k, n_oversamples, n_power_iterations, block, seed, n_cells):
    """Randomised SVD (Halko et al. 2011, algorithm 4.4 + 5.1) from jvp and vjp only."""
    width = min(k + n_oversamples, n_cells, theta0.numel())
    generator = torch.Generator().manual_seed(seed)
    omega = torch.randn(theta0.numel(), width, generator=generator, dtype=torch.float64)
    omega = omega.to(theta0)
    _, pullback = vjp(model, theta0)

    def forward(v):  # J v, (n_cells,)
        return jvp(model, (theta0,), (v,))[1]

    def backward(u):  # J^T u, (n_parameters,)
        return pullback(u)[0]

    with torch.no_grad():
        q = _orthonormal(_blocks(forward, omega, block))
        for _ in range(n_power_iterations):
            z = _orthonormal(_blocks(backward, q, block))
            q = _orthonormal(_blocks(forward, z, block))
        projected = _blocks(backward, q, block)          # (n_parameters, width) = J^T Q
        # Q^T J = U~ S V^T, so J ~ (Q U~) S V^T
        small_left, values, _ = torch.linalg.svd(projected.T, full_matrices=False)
    return q @ small_left, values


def plot_jacobian_svd(results: dict, grid, path, n_vectors: int = 5) -> Path:
    """Singular values and leading left-singular vectors, one row per result.

    Parameters
    ----------
    results : dict
        ``{label: JacobianSVD}``, e.g. ``{"untrained": ..., "trained": ...}``.
    grid : jointinv.Grid
    path : str or Path
        PNG file to write.
    n_vectors : int, default 5
        Vectors shown per row (at most each result's ``k``).
    """
    from matplotlib.colors import CenteredNorm
    from matplotlib.figure import Figure

    n_vectors = check_positive_int("n_vectors", n_vectors)
    rows = list(results.items())
    figure = Figure(figsize=(2.4 * (n_vectors + 1.5), 3.2 * len(rows)), constrained_layout=True)
    axes = figure.subplots(len(rows), n_vectors + 1, squeeze=False)
    extent = (grid.x0, grid.x_max, grid.z_max, grid.z0)
    for row, (label, svd) in enumerate(rows):
        values = svd.singular_values.double().cpu().numpy()
        axes[row, 0].semilogy(values, ".")
        axes[row, 0].set_title(f"{label}: singular values")
        axes[row, 0].set_xlabel("index i")
        for i in range(n_vectors):
            ax = axes[row, i + 1]
            if i >= len(values):
                ax.axis("off")
                continue
            ax.imshow(svd.left_vectors[i].double().cpu().numpy(), cmap="RdBu", norm=CenteredNorm(),
                      extent=extent, aspect="equal")
            ax.set_title(f"u{i}, s = {values[i]:.3g}")
            ax.set_xticks([])
            ax.set_yticks([])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path

"""SVD of a neural field's Jacobian: dense against a loop of autograd rows, randomised
against dense, images, errors."""

import re

import pytest
import torch

from jointinv import Grid
from jointinv.analysis import field_jacobian, jacobian_svd, plot_jacobian_svd
from jointinv.neural_field import NeuralField, OutputHead


@pytest.fixture(scope="module")
def field():
    grid = Grid(nx=6, nz=5, dx=2.0, dz=1.0)
    heads = {"slowness": OutputHead("softplus"), "other": OutputHead("tanh")}
    return NeuralField(grid, heads, encoding="gaussian", n_features=4, widths=(8, 8),
                       dtype=torch.float64, seed=2)


def test_dense_jacobian_matches_rows_from_autograd(field):
    jacobian = field_jacobian(field, "other", chunk_size=7)
    m = field.field_variables()["other"].reshape(-1)
    rows = [torch.cat([g.reshape(-1) for g in torch.autograd.grad(
        m[i], list(field.parameters()), retain_graph=True)]) for i in range(m.numel())]
    assert jacobian.shape == (30, sum(p.numel() for p in field.parameters()))
    torch.testing.assert_close(jacobian, torch.stack(rows), rtol=1e-12, atol=1e-14)


def test_svd_dense_and_randomized_agree_with_the_dense_jacobian(field):
    exact = torch.linalg.svdvals(field_jacobian(field))
    dense = jacobian_svd(field, k=8, method="dense")
    randomized = jacobian_svd(field, k=8, method="randomized", n_oversamples=22, block=5)
    assert dense.method == "dense" and randomized.method == "randomized"
    torch.testing.assert_close(dense.singular_values, exact[:8], rtol=1e-10, atol=0)
    torch.testing.assert_close(randomized.singular_values, exact[:8], rtol=1e-8, atol=0)
    assert randomized.left_vectors.shape == (8, 5, 6)
    overlap = (dense.left_vectors * randomized.left_vectors).sum(dim=(1, 2)).abs()
    torch.testing.assert_close(overlap, torch.ones(8, dtype=torch.float64), rtol=1e-6, atol=0)


def test_auto_picks_randomized_above_the_memory_limit(field, tmp_path):
    svd = jacobian_svd(field, k=3, max_memory_gb=1e-9, n_power_iterations=1)
    assert svd.method == "randomized" and svd.singular_values.shape == (3,)
    path = plot_jacobian_svd({"untrained": svd}, field.grid, tmp_path / "svd.png", n_vectors=4)
    assert path.stat().st_size > 0


@pytest.mark.parametrize("options, error, message", [
    ({"k": 31}, ValueError, "k must be <= min(n_cells, n_parameters) = 30, got 31"),
    ({"method": "lanczos"}, ValueError, "method must be one of"),
    ({"key": "velocity"}, ValueError,
     "key must be one of the field's outputs ['slowness', 'other'], got 'velocity'"),
    ({"method": "dense", "max_memory_gb": 1e-9}, ValueError, "use method='randomized'"),
    ({"n_power_iterations": -1}, ValueError, "n_power_iterations must be"),
])
def test_errors_name_the_argument(field, options, error, message):
    with pytest.raises(error, match=re.escape(message)):
        jacobian_svd(field, **options)


def test_field_must_be_a_neural_field():
    with pytest.raises(TypeError, match="field must be a jointinv.neural_field.NeuralField"):
        jacobian_svd(torch.nn.Linear(2, 1))

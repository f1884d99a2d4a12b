"""Tests for jointinv.networks.PositionalEncoding and CoordinateMLP: shapes, frequencies,
seeding, dtype, errors."""

import math
import re

import pytest
import torch
from jointinv.networks import CoordinateMLP, PositionalEncoding


def points(n=7, seed=0, dtype=torch.float32):
    generator = torch.Generator().manual_seed(seed)
    return 2 * torch.rand(n, 2, generator=generator, dtype=dtype) - 1


@pytest.mark.parametrize("kind, n_features, width", [
    ("none", None, 2), ("basic", None, 4), ("gaussian", 16, 32), ("frequencies", 3, 12),
])
def test_encoding_shapes(kind, n_features, width):
    encoding = PositionalEncoding(kind, n_features=n_features)
    assert encoding.out_features == width
    assert encoding(points()).shape == (7, width)


def test_basic_encoding_is_the_papers_unit_interval_encoding_up_to_sign():
    # NFs-Inv Case 1 encodes u in [0, 1] as sin(2 pi u), cos(2 pi u); with x = 2u - 1 in
    # [-1, 1], sin(pi x) = -sin(2 pi u) and cos(pi x) = -cos(2 pi u)
    u = torch.rand(11, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    encoding = PositionalEncoding("basic").double()
    expected = torch.cat([torch.sin(2 * math.pi * u), torch.cos(2 * math.pi * u)], dim=1)
    torch.testing.assert_close(encoding(2 * u - 1), -expected)


def test_frequency_levels_are_linear_multiples_of_the_step():
    encoding = PositionalEncoding("frequencies", n_features=3, step=0.5)
    expected = torch.tensor([[0.5, 0], [0, 0.5], [1, 0], [0, 1], [1.5, 0], [0, 1.5]])
    torch.testing.assert_close(encoding.frequencies, expected)
    x = torch.tensor([[0.3, -0.2]])
    features = encoding(x)
    torch.testing.assert_close(features[0, 2], torch.sin(math.pi * 1.0 * x[0, 0]))
    torch.testing.assert_close(features[0, 6 + 5], torch.cos(math.pi * 1.5 * x[0, 1]))


def test_gaussian_features_follow_scale_and_seed():
    wide = PositionalEncoding("gaussian", n_features=4000, scale=0.5, seed=1)
    assert float(wide.frequencies.std()) == pytest.approx(0.5, rel=0.05)
    same = PositionalEncoding("gaussian", n_features=8, scale=0.5, seed=2)
    again = PositionalEncoding("gaussian", n_features=8, scale=0.5, seed=2)
    other = PositionalEncoding("gaussian", n_features=8, scale=0.5, seed=3)
    assert torch.equal(same.frequencies, again.frequencies)
    assert not torch.equal(same.frequencies, other.frequencies)
    assert same.frequencies.requires_grad is False          # a buffer, never trained
    assert "frequencies" in same.state_dict()


def test_mlp_layers_activation_and_float64():
    mlp = CoordinateMLP(out_features=3, widths=(5, 6), encoding="basic")
    linears = [m for m in mlp.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(4, 5), (5, 6), (6, 3)]
    assert isinstance(mlp.hidden[1], torch.nn.LeakyReLU) and mlp.hidden[1].negative_slope == 0.2
    uniform = CoordinateMLP(width=4, depth=3, activation="tanh")
    assert uniform.widths == (4, 4, 4) and isinstance(uniform.hidden[1], torch.nn.Tanh)
    double = CoordinateMLP(widths=(4,), encoding="gaussian").double()
    output = double(points(dtype=torch.float64))
    assert output.dtype == torch.float64 and output.shape == (7, 1)


@pytest.mark.parametrize("make, error, message", [
    (lambda: PositionalEncoding("fourier"), ValueError,
     "kind must be one of ['basic', 'frequencies', 'gaussian', 'none'], got 'fourier'"),
    (lambda: PositionalEncoding("basic", n_features=4), ValueError,
     "n_features is set by encoding 'basic'"),
    (lambda: PositionalEncoding("gaussian", scale=0.0), ValueError,
     "scale must be a finite number > 0, got 0.0"),
    (lambda: PositionalEncoding("gaussian", n_features=2.5), TypeError,
     "n_features must be an integer, got float"),
    (lambda: CoordinateMLP(widths=()), ValueError, "widths must hold at least one"),
    (lambda: CoordinateMLP(depth=0), ValueError, "depth must be an integer >= 1, got 0"),
    (lambda: CoordinateMLP(activation="sine"), ValueError, "activation must be one of"),
    (lambda: CoordinateMLP(in_features=3, encoding=PositionalEncoding("basic")), ValueError,
     "encoding.in_features must equal in_features=3, got 2"),
])
def test_errors_name_the_argument(make, error, message):
    with pytest.raises(error, match=re.escape(message)):
        make()


def test_coordinates_shape_is_checked():
    with pytest.raises(ValueError, match=re.escape("coordinates must have shape (n_points, 2), "
                                                   "got (4, 3)")):
        PositionalEncoding("basic")(torch.zeros(4, 3))

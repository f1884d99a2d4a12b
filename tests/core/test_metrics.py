"""Tests for jointinv.metrics: analytic cases, an independent SSIM reference, errors."""

import math
import re

import numpy as np
import pytest
import torch

from jointinv.metrics import (
    gaussian_window,
    model_metrics,
    mse,
    psnr,
    relative_error,
    rmse,
    ssim,
)


def velocity_like(shape=(15, 18), seed=0):
    """A smooth-ish velocity model [m/s] with a block, plus seeded noise."""
    rng = np.random.default_rng(seed)
    nz, nx = shape
    model = 1500.0 + 40.0 * np.arange(nz)[:, None] + np.zeros((nz, nx))
    model[nz // 3: 2 * nz // 3, nx // 4: nx // 2] += 400.0
    return model + 25.0 * rng.standard_normal(shape)


def reference_ssim(recovered, true, window_size=11, sigma=1.5, k1=0.01, k2=0.03,
                   data_range=None):
    """Direct Wang et al. (2004) SSIM: loop over every full window, weighted statistics."""
    x, y = np.asarray(true, dtype=float), np.asarray(recovered, dtype=float)
    peak = x.max() - x.min() if data_range is None else data_range
    c1, c2 = (k1 * peak) ** 2, (k2 * peak) ** 2
    half = window_size // 2
    offsets = np.arange(window_size) - half
    weights = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * sigma**2))
    weights /= weights.sum()
    values = []
    for i in range(x.shape[0] - window_size + 1):
        for j in range(x.shape[1] - window_size + 1):
            wx = x[i:i + window_size, j:j + window_size]
            wy = y[i:i + window_size, j:j + window_size]
            mu_x, mu_y = np.sum(weights * wx), np.sum(weights * wy)
            var_x = np.sum(weights * (wx - mu_x) ** 2)
            var_y = np.sum(weights * (wy - mu_y) ** 2)
            cov = np.sum(weights * (wx - mu_x) * (wy - mu_y))
            values.append((2 * mu_x * mu_y + c1) * (2 * cov + c2)
                          / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)))
    return float(np.mean(values))


def test_identical_models():
    true = velocity_like()
    metrics = model_metrics(true.copy(), true)
    assert metrics["mse"] == 0.0
    assert metrics["rmse"] == 0.0
    assert metrics["relative_error"] == 0.0
    assert metrics["psnr"] == math.inf
    assert metrics["ssim"] == pytest.approx(1.0, abs=1e-12)


def test_constant_offset_has_known_mse_psnr_and_relative_error():
    true = np.zeros((4, 5))
    true[0, 0], true[-1, -1] = 1000.0, 3000.0  # range L = 3000 m/s
    offset = 30.0
    recovered = true + offset
    assert mse(recovered, true) == pytest.approx(offset**2)
    assert rmse(recovered, true) == pytest.approx(offset)
    assert psnr(recovered, true) == pytest.approx(10 * math.log10(3000.0**2 / 30.0**2))
    assert psnr(recovered, true) == pytest.approx(40.0)  # (3000 / 30)**2 = 1e4
    norm_true = math.sqrt(1000.0**2 + 3000.0**2)
    assert relative_error(recovered, true) == pytest.approx(offset * math.sqrt(20) / norm_true)


def test_psnr_uses_range_of_true_model_not_of_recovered():
    true = np.array([[0.0, 10.0], [5.0, 5.0]])
    recovered = np.array([[-100.0, 110.0], [5.0, 5.0]])  # larger range, MSE = 5000
    assert psnr(recovered, true) == pytest.approx(10 * math.log10(100.0 / 5000.0))
    assert psnr(true, recovered) == pytest.approx(10 * math.log10(210.0**2 / 5000.0))


def test_ssim_matches_direct_loop_reference():
    true = velocity_like(seed=0)
    recovered = true + 60.0 * np.random.default_rng(1).standard_normal(true.shape)
    expected = reference_ssim(recovered, true)
    assert 0.0 < expected < 0.99  # a non-trivial case
    assert ssim(recovered, true) == pytest.approx(expected, abs=1e-9)


def test_ssim_reference_with_other_window_and_data_range():
    true = velocity_like(shape=(9, 12), seed=2)
    recovered = velocity_like(shape=(9, 12), seed=3)[:, ::-1]
    expected = reference_ssim(recovered, true, window_size=5, sigma=0.8, data_range=2500.0)
    assert ssim(recovered, true, window_size=5, sigma=0.8, data_range=2500.0) == pytest.approx(
        expected, abs=1e-9)


def test_ssim_decreases_with_noise():
    true = velocity_like(shape=(20, 20))
    noise = np.random.default_rng(4).standard_normal(true.shape)
    values = [ssim(true + level * noise, true) for level in (10.0, 100.0, 400.0)]
    assert values[0] > values[1] > values[2]


def test_gaussian_window_is_normalised_and_symmetric():
    weights = gaussian_window()
    assert weights.shape == (11,)
    assert float(weights.sum()) == pytest.approx(1.0)
    assert torch.equal(weights, weights.flip(0))
    assert float(weights[5] / weights[6]) == pytest.approx(math.exp(1 / (2 * 1.5**2)))


def test_accepts_tensors_with_grad_and_numpy_alike():
    true = velocity_like()
    recovered = velocity_like(seed=5)
    from_numpy = model_metrics(recovered, true)
    from_torch = model_metrics(torch.tensor(recovered, dtype=torch.float32, requires_grad=True),
                               torch.tensor(true))
    assert set(from_numpy) == {"mse", "rmse", "relative_error", "psnr", "ssim"}
    for key, value in from_numpy.items():
        assert isinstance(from_torch[key], float)
        assert from_torch[key] == pytest.approx(value, rel=1e-5)


def test_model_metrics_agree_with_the_functions():
    true, recovered = velocity_like(), velocity_like(seed=6)
    metrics = model_metrics(recovered, true)
    assert metrics["mse"] == mse(recovered, true)
    assert metrics["rmse"] == pytest.approx(rmse(recovered, true))
    assert metrics["relative_error"] == relative_error(recovered, true)
    assert metrics["psnr"] == psnr(recovered, true)
    assert metrics["ssim"] == ssim(recovered, true)


def test_constant_true_model_needs_data_range():
    true = np.full((12, 12), 2000.0)
    recovered = true + 1.0
    message = "true must vary (max > min) to define the data range, got a constant model"
    with pytest.raises(ValueError, match=re.escape(message)):
        psnr(recovered, true)
    with pytest.raises(ValueError, match=re.escape(message)):
        ssim(recovered, true)
    assert psnr(recovered, true, data_range=100.0) == pytest.approx(40.0)


def test_model_metrics_reports_undefined_metrics_as_nan():
    true = np.zeros((12, 12))  # e.g. a homogeneous 1 ohm m half-space in log10 resistivity
    metrics = model_metrics(true + 0.5, true)
    assert metrics["mse"] == pytest.approx(0.25) and metrics["rmse"] == pytest.approx(0.5)
    assert all(math.isnan(metrics[key]) for key in ("relative_error", "psnr", "ssim"))
    with_range = model_metrics(true + 0.5, true, data_range=5.0)
    assert with_range["psnr"] == pytest.approx(20.0)
    # Constant images: no variance, so SSIM = (C1 + 0) / (mu_y**2 + C1), C1 = (0.01 * 5)**2.
    assert with_range["ssim"] == pytest.approx(0.0025 / (0.25 + 0.0025))


@pytest.mark.parametrize(
    "recovered, true, error, message",
    [
        (np.zeros((3, 4)), np.zeros((4, 3)), ValueError,
         "recovered must have the shape of true (4, 3), got (3, 4)"),
        (np.zeros(12), np.zeros(12), ValueError,
         "recovered must have shape (nz, nx), got shape (12,)"),
        (np.zeros((3, 4)), np.zeros((1, 3, 4)), ValueError,
         "true must have shape (nz, nx), got shape (1, 3, 4)"),
        (np.full((2, 2), np.nan), np.ones((2, 2)), ValueError,
         "recovered must be finite everywhere, got NaN or inf"),
        (np.array([["a", "b"]]), np.ones((1, 2)), TypeError,
         "recovered must be a torch.Tensor or numpy array of numbers, got dtype <U1"),
        (np.ones((0, 3)), np.ones((0, 3)), ValueError, "recovered must not be empty"),
    ],
)
def test_bad_models_raise(recovered, true, error, message):
    with pytest.raises(error, match=re.escape(message)):
        mse(recovered, true)


def test_relative_error_of_zero_true_model_raises():
    with pytest.raises(ValueError, match=re.escape("true must not be zero everywhere")):
        relative_error(np.ones((2, 2)), np.zeros((2, 2)))


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"window_size": 4}, ValueError, "window_size must be an odd integer, got 4"),
        ({"window_size": 0}, ValueError, "window_size must be an integer >= 1, got 0"),
        ({"window_size": 13}, ValueError,
         "window_size must not exceed the model size (12, 12), got 13"),
        ({"sigma": -1.0}, ValueError, "sigma must be a finite number > 0, got -1.0"),
        ({"data_range": 0.0}, ValueError, "data_range must be a finite number > 0, got 0.0"),
    ],
)
def test_bad_ssim_options_raise(kwargs, error, message):
    true = velocity_like(shape=(12, 12))
    with pytest.raises(error, match=re.escape(message)):
        ssim(true, true, **kwargs)


def test_model_smaller_than_default_window_raises_in_model_metrics():
    true = velocity_like(shape=(8, 30))
    with pytest.raises(ValueError, match=re.escape(
            "window_size must not exceed the model size (8, 30), got 11")):
        model_metrics(true, true)
    assert model_metrics(true, true, window_size=7)["ssim"] == pytest.approx(1.0)

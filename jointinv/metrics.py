"""Quality metrics of a recovered model against the true model.

MSE, PSNR and SSIM follow the definitions of the FAD-FWI paper (Sun et al.,
2025, eqs. V-VII): PSNR uses the range of the *true* model as the peak value,
and SSIM is the mean of the local SSIM values over all windows. The paper does
not state the window or the constants ``C1``, ``C2``; they follow the standard
definition of Wang et al. (2004): an 11 x 11 Gaussian window with standard
deviation 1.5 cells, ``C1 = (0.01 L)**2`` and ``C2 = (0.03 L)**2`` with ``L``
the data range (max - min of the true model), and only windows that lie fully
inside the image.

All functions take ``(recovered, true)`` as torch tensors or numpy arrays of
shape ``(nz, nx)``, compute in float64 on the CPU (metrics are reported
numbers, not part of a computational graph) and return Python floats.

References
----------
Sun, P., Zheng, J., Zhao, J., Yang, Y., Wang, Y. (2025). Fully automatic
differentiation with coupling deep neural networks for full-waveform
inversion. Journal of Seismic Exploration, doi:10.36922/JSE025410085.

Wang, Z., Bovik, A. C., Sheikh, H. R., Simoncelli, E. P. (2004). Image quality
assessment: from error visibility to structural similarity. IEEE Transactions
on Image Processing, 13(4), 600-612.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional

from .validation import check_positive_float, check_positive_int

__all__ = [
    "mse",
    "rmse",
    "relative_error",
    "psnr",
    "ssim",
    "ssim_map",
    "model_metrics",
    "gaussian_window",
]

SSIM_WINDOW_SIZE = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def _as_model(name: str, value) -> torch.Tensor:
    """Return a model as a detached float64 CPU tensor of shape ``(nz, nx)``."""
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
    else:
        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{name} must be a torch.Tensor or numpy array") from error
        if array.dtype == object or not (np.issubdtype(array.dtype, np.number)):
            raise TypeError(
                f"{name} must be a torch.Tensor or numpy array of numbers, got dtype {array.dtype}"
            )
        tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tensor.dtype == torch.bool or tensor.is_complex():
        raise TypeError(f"{name} must hold real numbers, got dtype {tensor.dtype}")
    if tensor.ndim != 2:
        raise ValueError(f"{name} must have shape (nz, nx), got shape {tuple(tensor.shape)}")
    if tensor.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(tensor.shape)}")
    tensor = tensor.to(torch.float64)
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{name} must be finite everywhere, got NaN or inf")
    return tensor


def _as_pair(recovered, true) -> tuple[torch.Tensor, torch.Tensor]:
    recovered = _as_model("recovered", recovered)
    true = _as_model("true", true)
    if recovered.shape != true.shape:
        raise ValueError(
            f"recovered must have the shape of true {tuple(true.shape)}, "
            f"got {tuple(recovered.shape)}"
        )
    return recovered, true


def _data_range(true: torch.Tensor, data_range) -> float:
    """Peak value ``L``: ``max(true) - min(true)`` unless given."""
    if data_range is not None:
        return check_positive_float("data_range", data_range)
    value = float(true.max() - true.min())
    if value <= 0:
        raise ValueError(
            f"true must vary (max > min) to define the data range, got a constant model "
            f"of value {float(true.max())}; pass data_range explicitly"
        )
    return value


def mse(recovered, true) -> float:
    """Mean squared error ``sum((true - recovered)**2) / N`` (FAD-FWI eq. V).

    Parameters
    ----------
    recovered, true : torch.Tensor or numpy.ndarray, shape (nz, nx)
        Recovered and true models, in the same units.

    Returns
    -------
    float
        In squared model units (e.g. (m/s)**2).
    """
    recovered, true = _as_pair(recovered, true)
    return float(((true - recovered) ** 2).mean())


def rmse(recovered, true) -> float:
    """Root-mean-square error ``sqrt(mse)``, in model units."""
    return math.sqrt(mse(recovered, true))


def relative_error(recovered, true) -> float:
    """Relative error ``||recovered - true|| / ||true||`` (Frobenius norms).

    Raises
    ------
    ValueError
        If ``true`` is zero everywhere (the ratio is undefined).
    """
    recovered, true = _as_pair(recovered, true)
    norm_true = float(torch.linalg.norm(true))
    if norm_true == 0:
        raise ValueError("true must not be zero everywhere for a relative error, got all zeros")
    return float(torch.linalg.norm(recovered - true)) / norm_true


def psnr(recovered, true, data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB (FAD-FWI eq. VI).

    ``PSNR = 10 log10(L**2 / MSE)`` with ``L = max(true) - min(true)``.

    Parameters
    ----------
    recovered, true : torch.Tensor or numpy.ndarray, shape (nz, nx)
        Recovered and true models.
    data_range : float, optional
        Peak value ``L`` (> 0) to use instead of the range of ``true``, e.g.
        for a constant true model.

    Returns
    -------
    float
        PSNR [dB]; ``inf`` when the models are identical (MSE = 0).

    Raises
    ------
    ValueError
        If ``true`` is constant and ``data_range`` is not given.
    """
    recovered, true = _as_pair(recovered, true)
    peak = _data_range(true, data_range)
    error = float(((true - recovered) ** 2).mean())
    if error == 0:
        return math.inf
    return 10.0 * math.log10(peak**2 / error)


def gaussian_window(window_size: int = SSIM_WINDOW_SIZE,
                    sigma: float = SSIM_SIGMA) -> torch.Tensor:
    """Normalised 1D Gaussian weights, shape ``(window_size,)``, float64, summing to 1.

    The 2D SSIM window is the outer product of this vector with itself.
    """
    window_size = check_positive_int("window_size", window_size)
    sigma = check_positive_float("sigma", sigma)
    offsets = torch.arange(window_size, dtype=torch.float64) - (window_size - 1) / 2
    weights = torch.exp(-(offsets**2) / (2 * sigma**2))
    return weights / weights.sum()


def _local_mean(image: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Gaussian-weighted mean over every full window ('valid' correlation)."""
    size = weights.numel()
    rows = functional.conv2d(image[None, None], weights.view(1, 1, size, 1))
    return functional.conv2d(rows, weights.view(1, 1, 1, size))[0, 0]


def ssim_map(recovered, true, window_size: int = SSIM_WINDOW_SIZE, sigma: float = SSIM_SIGMA,
             data_range: float | None = None) -> torch.Tensor:
    """Local SSIM of every full window, shape ``(nz - w + 1, nx - w + 1)``, float64.

    See :func:`ssim` for the definition and parameters.
    """
    recovered, true = _as_pair(recovered, true)
    window_size = check_positive_int("window_size", window_size)
    if window_size % 2 == 0:
        raise ValueError(f"window_size must be an odd integer, got {window_size}")
    if min(true.shape) < window_size:
        raise ValueError(
            f"window_size must not exceed the model size {tuple(true.shape)}, got "
            f"{window_size}; pass a smaller odd window_size"
        )
    peak = _data_range(true, data_range)
    weights = gaussian_window(window_size, sigma)
    c1 = (SSIM_K1 * peak) ** 2
    c2 = (SSIM_K2 * peak) ** 2
    mu_x, mu_y = _local_mean(true, weights), _local_mean(recovered, weights)
    var_x = _local_mean(true * true, weights) - mu_x**2
    var_y = _local_mean(recovered * recovered, weights) - mu_y**2
    cov_xy = _local_mean(true * recovered, weights) - mu_x * mu_y
    numerator = (2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)
    denominator = (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    return numerator / denominator


def ssim(recovered, true, window_size: int = SSIM_WINDOW_SIZE, sigma: float = SSIM_SIGMA,
         data_range: float | None = None) -> float:
    """Structural similarity index (FAD-FWI eq. VII), mean over all windows.

    In each window, with ``x`` the true and ``y`` the recovered model::

        SSIM = (2 mu_x mu_y + C1) (2 sigma_xy + C2)
               / ((mu_x**2 + mu_y**2 + C1) (sigma_x**2 + sigma_y**2 + C2))

    where means, variances and the covariance are Gaussian-weighted over the
    window. The paper leaves the window and constants unspecified; the defaults
    are Wang et al. (2004): ``window_size=11``, ``sigma=1.5``,
    ``C1 = (0.01 L)**2``, ``C2 = (0.03 L)**2``, ``L = max(true) - min(true)``.
    Only windows fully inside the model are used (no padding).

    Parameters
    ----------
    recovered, true : torch.Tensor or numpy.ndarray, shape (nz, nx)
        Recovered and true models; ``nz, nx >= window_size``.
    window_size : int, default 11
        Odd side length of the square window [cells].
    sigma : float, default 1.5
        Standard deviation of the Gaussian window [cells].
    data_range : float, optional
        ``L`` (> 0) to use instead of the range of ``true``.

    Returns
    -------
    float
        In [-1, 1]; 1 for identical models.

    Raises
    ------
    ValueError
        If the model is smaller than the window, ``window_size`` is even, or
        ``true`` is constant and ``data_range`` is not given.
    """
    return float(ssim_map(recovered, true, window_size, sigma, data_range).mean())


def model_metrics(recovered, true, window_size: int = SSIM_WINDOW_SIZE,
                  sigma: float = SSIM_SIGMA, data_range: float | None = None) -> dict:
    """All metrics of ``recovered`` against ``true``.

    Parameters
    ----------
    recovered, true : torch.Tensor or numpy.ndarray, shape (nz, nx)
        Recovered and true models.
    window_size, sigma, data_range
        Passed to :func:`ssim` (and ``data_range`` to :func:`psnr`).

    Returns
    -------
    dict
        ``{"mse", "rmse", "relative_error", "psnr", "ssim"}`` as floats.
        Metrics that the true model leaves undefined are NaN rather than an
        error, so that a homogeneous true model still gets a metrics table:
        ``relative_error`` when ``true`` is zero everywhere, ``psnr`` and
        ``ssim`` when ``true`` is constant and ``data_range`` is not given.
    """
    recovered, true = _as_pair(recovered, true)
    error = mse(recovered, true)
    has_range = data_range is not None or float(true.max() - true.min()) > 0
    has_norm = bool(true.abs().max() > 0)
    return {
        "mse": error,
        "rmse": math.sqrt(error),
        "relative_error": relative_error(recovered, true) if has_norm else math.nan,
        "psnr": psnr(recovered, true, data_range) if has_range else math.nan,
        "ssim": ssim(recovered, true, window_size, sigma, data_range) if has_range else math.nan,
    }

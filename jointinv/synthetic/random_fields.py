"""Seeded Gaussian random fields with a Matérn covariance.

Used for the texture of synthetic models and as the fixed latent input of a
deep-image-prior U-Net (FAD-FWI uses smoothness 3).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft
import torch

from ..validation import check_positive_float, check_positive_int, check_seed

__all__ = ["gaussian_random_field", "matern_correlation"]


def _per_axis(name: str, value, n_axes: int) -> np.ndarray:
    """A positive float, or one per axis, as an array of length ``n_axes``."""
    values = np.atleast_1d(np.asarray(value, dtype=object))
    if values.ndim != 1 or values.size not in (1, n_axes):
        raise ValueError(f"{name} must be a number or a sequence of {n_axes} numbers "
                         f"(one per axis), got {value!r}")
    values = [check_positive_float(name, v) for v in values]
    return np.array(values * n_axes if len(values) == 1 else values)


def matern_correlation(distance, correlation_length: float, smoothness: float) -> np.ndarray:
    r"""Matérn correlation :math:`C(d)/\sigma^2` at ``distance`` (same unit as the length).

    .. math::
        C(d) = \frac{2^{1-\alpha}}{\Gamma(\alpha)}
               \left(\sqrt{2\alpha}\,\frac{d}{\beta}\right)^{\alpha}
               K_\alpha\left(\sqrt{2\alpha}\,\frac{d}{\beta}\right),
        \qquad C(0) = 1,

    with smoothness :math:`\alpha`, correlation length :math:`\beta` and
    :math:`K_\alpha` the modified Bessel function of the second kind — the
    kernel written in the FAD-FWI paper (Eq. IV).
    """
    from scipy.special import gamma, kv

    correlation_length = check_positive_float("correlation_length", correlation_length)
    smoothness = check_positive_float("smoothness", smoothness)
    scaled = math.sqrt(2 * smoothness) * np.abs(np.asarray(distance, dtype=float))
    scaled = scaled / correlation_length
    with np.errstate(invalid="ignore"):
        value = 2 ** (1 - smoothness) / gamma(smoothness) * scaled**smoothness * kv(
            smoothness, scaled)
    return np.where(scaled == 0, 1.0, value)


def gaussian_random_field(shape, correlation_length, smoothness: float = 3.0, seed: int = 0,
                          spacing=1.0, dtype: torch.dtype | None = None) -> torch.Tensor:
    r"""A stationary Gaussian random field with Matérn covariance, mean 0, variance 1.

    Parameters
    ----------
    shape : tuple of int
        Shape of the field, e.g. ``(nz, nx)`` for a model or a U-Net latent.
    correlation_length : float or sequence of float
        Matérn length :math:`\beta` in the unit of ``spacing`` (metres if
        ``spacing`` is the cell size, cells by default); one value per axis
        gives an anisotropic field (e.g. longer along x than z, like layers).
    smoothness : float, default 3
        Matérn smoothness :math:`\alpha` > 0: 0.5 is exponential (rough),
        large values approach a Gaussian kernel (very smooth). FAD-FWI uses 3.
    seed : int, default 0
        Seed in ``[0, 2**63)``; the same seed gives the same field.
    spacing : float or sequence of float, default 1
        Sample interval along each axis (e.g. ``(dz, dx)`` in metres).
    dtype : torch.dtype, optional
        Floating dtype of the result; the default dtype of torch if omitted.

    Returns
    -------
    torch.Tensor
        Field of shape ``shape`` on the CPU. Its expected mean is 0 and
        expected variance 1 at every point; a single sample deviates from
        that, the more so the longer the correlation length relative to
        the field.

    Notes
    -----
    Spectral synthesis: white noise is filtered in the Fourier domain by the
    square root of the Matérn spectral density in ``n`` dimensions,
    :math:`S(k) \propto (2\alpha + 4\pi^2 \sum_j \beta_j^2 k_j^2)^{-(\alpha + n/2)}`
    (``k`` in cycles per unit), normalised so that the variance is 1. The
    field is synthesised on a grid padded by three correlation lengths per
    axis (the padding capped at twice the field's length) and cropped, so
    that the periodicity of the FFT does not correlate opposite edges.
    """
    if isinstance(shape, int | np.integer):
        shape = (shape,)
    shape = tuple(check_positive_int("shape", n) for n in shape)
    if not shape:
        raise ValueError("shape must have at least one axis, got ()")
    lengths = _per_axis("correlation_length", correlation_length, len(shape))
    spacing = _per_axis("spacing", spacing, len(shape))
    smoothness = check_positive_float("smoothness", smoothness)
    seed = check_seed("seed", seed)
    dtype = torch.get_default_dtype() if dtype is None else dtype
    if not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch dtype, got {dtype}")

    pad = [min(int(math.ceil(3 * length / step)), 2 * n)
           for n, length, step in zip(shape, lengths, spacing, strict=True)]
    padded = tuple(scipy.fft.next_fast_len(n + p) for n, p in zip(shape, pad, strict=True))
    axes_k = np.meshgrid(*[np.fft.fftfreq(n, d=step) for n, step in zip(padded, spacing,
                                                                         strict=True)],
                         indexing="ij", sparse=True)
    scaled_k_squared = sum((2 * np.pi * length * k) ** 2 for length, k in zip(lengths, axes_k,
                                                                              strict=True))
    density = (2 * smoothness + scaled_k_squared) ** (-(smoothness + len(shape) / 2))
    amplitude = np.sqrt(density / density.mean())

    rng = np.random.default_rng(seed)
    white = rng.standard_normal(padded)
    field = scipy.fft.ifftn(scipy.fft.fftn(white) * amplitude).real
    field = field[tuple(slice(0, n) for n in shape)]
    return torch.from_numpy(np.ascontiguousarray(field)).to(dtype)

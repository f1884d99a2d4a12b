"""Observed data with their uncertainties, and reproducible noise."""

from __future__ import annotations

import torch

from .validation import as_data_tensor, check_nonnegative_float, check_seed

__all__ = ["Data", "gaussian_noise"]


def _same_shape(name: str, value: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    if value.shape != observed.shape:
        raise ValueError(f"{name} must have the shape of observed {tuple(observed.shape)}, "
                         f"got {tuple(value.shape)}")
    return value.to(observed)


def gaussian_noise(like: torch.Tensor, standard_deviation, seed: int) -> torch.Tensor:
    """Seeded Gaussian noise shaped like ``like``.

    Drawn on the CPU with its own generator (so the same seed gives the same
    noise on every device), then moved to ``like``'s device and dtype.
    """
    generator = torch.Generator(device="cpu").manual_seed(check_seed("seed", seed))
    noise = torch.randn(like.shape, generator=generator, dtype=torch.float64)
    noise = noise.to(device=like.device, dtype=like.dtype)
    return noise * standard_deviation


class Data:
    """Observed values and their standard deviations.

    Parameters
    ----------
    observed : torch.Tensor or numpy.ndarray
        Observed values in the operator's natural data shape (a vector for
        travel times and DC, ``(shot, receiver, time)`` for waveforms), at
        least one value, all finite. A tensor keeps its dtype (float32 or
        float64) and device; a NumPy array or list becomes a CPU tensor,
        float64 unless the array is float32 (integers become float64).
    standard_deviation : torch.Tensor, numpy.ndarray or float, optional
        Uncertainty of each datum, in data units: a scalar or the shape of
        ``observed``; finite and > 0 (and not subnormal) everywhere. Cast to
        ``observed``'s dtype and device. If omitted it is
        ``relative_error * |clean or observed| + noise_floor``.
    relative_error : float, default 0
        Relative part of the uncertainty (0.05 means 5 %), >= 0.
    noise_floor : float, default 0
        Absolute part of the uncertainty, in data units, >= 0.
    clean : torch.Tensor or numpy.ndarray, optional
        Noise-free values when known (synthetic studies): the shape of
        ``observed``, finite; cast to ``observed``'s dtype and device.

    Raises
    ------
    TypeError
        If an array is not numeric (or is float16/complex) or a number is not real.
    ValueError
        If ``observed`` is empty, a value is NaN or inf, a shape differs from
        ``observed``'s, or a standard deviation is not finite and > 0.

    Notes
    -----
    The chi-squared misfit is ``sum(((d_pred - d_obs) / standard_deviation)**2)``
    and its expected value for correct uncertainties is ``n_data``.
    """

    def __init__(self, observed, standard_deviation=None, relative_error=0.0,
                 noise_floor=0.0, clean=None):
        observed = as_data_tensor("observed", observed)
        relative_error = check_nonnegative_float("relative_error", relative_error)
        noise_floor = check_nonnegative_float("noise_floor", noise_floor)
        if clean is not None:
            clean = _same_shape("clean", as_data_tensor("clean", clean), observed)
        if standard_deviation is None:
            reference = observed if clean is None else clean
            standard_deviation = relative_error * reference.abs() + noise_floor
            if not bool(torch.isfinite(standard_deviation).all()):
                raise ValueError(
                    f"standard_deviation = relative_error * |data| + noise_floor overflows "
                    f"(relative_error={relative_error}, noise_floor={noise_floor}); "
                    f"got inf for some data")
        else:
            standard_deviation = as_data_tensor("standard_deviation", standard_deviation)
        standard_deviation = standard_deviation.to(observed)
        if standard_deviation.ndim == 0:
            standard_deviation = standard_deviation.expand_as(observed).clone()
        standard_deviation = _same_shape("standard_deviation", standard_deviation, observed)
        tiny = torch.finfo(observed.dtype).tiny
        if not bool((standard_deviation >= tiny).all()):
            smallest = float(standard_deviation.min())
            raise ValueError(
                f"standard_deviation must be > 0 for every datum (at least {tiny:.3g}, the "
                f"smallest normal {observed.dtype} number), got minimum {smallest:.3g}; give "
                f"a noise_floor > 0 or a relative_error > 0 with non-zero data"
            )
        self.observed = observed
        self.standard_deviation = standard_deviation.detach()
        self.clean = clean
        self.relative_error = relative_error
        self.noise_floor = noise_floor

    @classmethod
    def from_clean(cls, clean, relative_error=0.0, noise_floor=0.0, seed=0, add_noise=True):
        """Make synthetic data: noise with the data's own uncertainties added.

        ``standard_deviation = relative_error * |clean| + noise_floor`` and the
        observed data are ``clean + N(0, standard_deviation**2)`` drawn with
        ``seed`` (unless ``add_noise`` is false). ``clean`` is converted as
        ``observed`` is in :class:`Data`.
        """
        clean = as_data_tensor("clean", clean)
        relative_error = check_nonnegative_float("relative_error", relative_error)
        noise_floor = check_nonnegative_float("noise_floor", noise_floor)
        std = relative_error * clean.abs() + noise_floor
        observed = clean + gaussian_noise(clean, std, seed) if add_noise else clean.clone()
        return cls(observed, standard_deviation=std if bool((std > 0).all()) else None,
                   relative_error=relative_error, noise_floor=noise_floor, clean=clean)

    @property
    def n_data(self) -> int:
        """Number of data values."""
        return self.observed.numel()

    @property
    def shape(self) -> tuple:
        """Natural shape of the data."""
        return tuple(self.observed.shape)

    def to(self, *args, **kwargs) -> Data:
        """Copy on another device or dtype (same arguments as ``Tensor.to``)."""
        return Data(self.observed.to(*args, **kwargs),
                    standard_deviation=self.standard_deviation.to(*args, **kwargs),
                    relative_error=self.relative_error, noise_floor=self.noise_floor,
                    clean=None if self.clean is None else self.clean.to(*args, **kwargs))

    def chi_squared(self, predicted: torch.Tensor) -> torch.Tensor:
        """``sum(((predicted - observed) / standard_deviation)**2)``."""
        if not isinstance(predicted, torch.Tensor):
            raise TypeError(f"predicted must be a torch.Tensor, got {type(predicted).__name__}")
        if tuple(predicted.shape) != self.shape:
            raise ValueError(
                f"predicted must have the data shape {self.shape}, got {tuple(predicted.shape)}"
            )
        residual = (predicted - self.observed.to(predicted)) / self.standard_deviation.to(predicted)
        return (residual**2).sum()

    def __repr__(self) -> str:
        return (f"Data(n_data={self.n_data}, shape={self.shape}, "
                f"relative_error={self.relative_error}, noise_floor={self.noise_floor})")

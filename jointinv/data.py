"""Observed data with their uncertainties, and reproducible noise."""

from __future__ import annotations

import torch

from .validation import check_finite_tensor, check_nonnegative_float

__all__ = ["Data", "gaussian_noise"]


def gaussian_noise(like: torch.Tensor, standard_deviation, seed: int) -> torch.Tensor:
    """Seeded Gaussian noise shaped like ``like``.

    Drawn on the CPU with its own generator (so the same seed gives the same
    noise on every device), then moved to ``like``'s device and dtype.
    """
    generator = torch.Generator(device="cpu").manual_seed(int(seed))
    noise = torch.randn(like.shape, generator=generator, dtype=torch.float64)
    noise = noise.to(device=like.device, dtype=like.dtype)
    return noise * standard_deviation


class Data:
    """Observed values and their standard deviations.

    Parameters
    ----------
    observed : torch.Tensor
        Observed values in the operator's natural data shape (a vector for
        travel times and DC, ``(shot, receiver, time)`` for waveforms).
    standard_deviation : torch.Tensor, optional
        Uncertainty of each datum, same shape as ``observed``. If omitted it is
        ``relative_error * |observed| + noise_floor``.
    relative_error : float, default 0
        Relative part of the uncertainty (0.05 means 5 %).
    noise_floor : float, default 0
        Absolute part of the uncertainty, in data units.
    clean : torch.Tensor, optional
        Noise-free values when known (synthetic studies).

    Notes
    -----
    The chi-squared misfit is ``sum(((d_pred - d_obs) / standard_deviation)**2)``
    and its expected value for correct uncertainties is ``n_data``.
    """

    def __init__(self, observed, standard_deviation=None, relative_error=0.0,
                 noise_floor=0.0, clean=None):
        observed = check_finite_tensor("observed", torch.as_tensor(observed)).detach()
        relative_error = check_nonnegative_float("relative_error", relative_error)
        noise_floor = check_nonnegative_float("noise_floor", noise_floor)
        if standard_deviation is None:
            reference = observed if clean is None else torch.as_tensor(clean).to(observed)
            standard_deviation = relative_error * reference.abs() + noise_floor
        standard_deviation = torch.as_tensor(standard_deviation).to(observed)
        if standard_deviation.ndim == 0:
            standard_deviation = standard_deviation.expand_as(observed).clone()
        if standard_deviation.shape != observed.shape:
            raise ValueError(
                f"standard_deviation must have the shape of observed {tuple(observed.shape)}, "
                f"got {tuple(standard_deviation.shape)}"
            )
        if not bool((standard_deviation > 0).all()):
            raise ValueError(
                "standard_deviation must be > 0 for every datum; give a noise_floor > 0 "
                "or a relative_error > 0 with non-zero data"
            )
        self.observed = observed
        self.standard_deviation = standard_deviation.detach()
        self.clean = None if clean is None else torch.as_tensor(clean).to(observed).detach()
        self.relative_error = relative_error
        self.noise_floor = noise_floor

    @classmethod
    def from_clean(cls, clean, relative_error=0.0, noise_floor=0.0, seed=0, add_noise=True):
        """Make synthetic data: noise with the data's own uncertainties added.

        ``standard_deviation = relative_error * |clean| + noise_floor`` and the
        observed data are ``clean + N(0, standard_deviation**2)`` drawn with
        ``seed`` (unless ``add_noise`` is false).
        """
        clean = check_finite_tensor("clean", torch.as_tensor(clean)).detach()
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
        if tuple(predicted.shape) != self.shape:
            raise ValueError(
                f"predicted must have the data shape {self.shape}, got {tuple(predicted.shape)}"
            )
        residual = (predicted - self.observed.to(predicted)) / self.standard_deviation.to(predicted)
        return (residual**2).sum()

    def __repr__(self) -> str:
        return (f"Data(n_data={self.n_data}, shape={self.shape}, "
                f"relative_error={self.relative_error}, noise_floor={self.noise_floor})")

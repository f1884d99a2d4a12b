"""Misfit functions between predicted and observed waveforms.

Each takes ``predicted`` and ``observed`` of the same shape ``(..., nt)``
(time on the last axis, e.g. ``(shot, receiver, time)``) and returns a scalar
tensor differentiable by torch autograd. ``observed`` may be a tensor or a
:class:`~jointinv.data.Data`.

- :func:`l2_misfit` — the classical sample-by-sample least squares. It
  suffers from cycle skipping: when the predicted arrival is off by more than
  about half a period, it has local minima at the wrong shift.
- :func:`envelope_misfit` — compares the instantaneous amplitudes (Hilbert
  envelopes), which are smooth one-signed bumps, so the misfit grows with the
  time shift over a much wider range (Wu, Luo & Wu, 2014, Geophysics 79(3)).
- :func:`correlation_misfit` — normalised zero-lag cross-correlation per
  trace, blind to amplitude errors such as an unknown source scaling or
  geometric spreading (Choi & Alkhalifah, 2012, Geophysics 77(4)).
"""

from __future__ import annotations

import torch

from .data import Data
from .validation import check_choice, check_finite_tensor, check_positive_float

__all__ = [
    "WAVEFORM_MISFITS",
    "correlation_misfit",
    "envelope_misfit",
    "get_waveform_misfit",
    "l2_misfit",
    "squared_envelope",
]


def _observed_tensor(predicted, observed) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Split ``observed`` into values and standard deviations; check shapes."""
    check_finite_tensor("predicted", predicted)
    std = None
    if isinstance(observed, Data):
        observed, std = observed.observed, observed.standard_deviation
    check_finite_tensor("observed", observed)
    if observed.shape != predicted.shape:
        raise ValueError(
            f"observed must have the shape of predicted {tuple(predicted.shape)}, "
            f"got {tuple(observed.shape)}"
        )
    if predicted.ndim < 1 or predicted.shape[-1] < 2:
        raise ValueError(f"predicted must have shape (..., nt) with nt >= 2, "
                         f"got {tuple(predicted.shape)}")
    observed = observed.to(predicted)
    return observed, None if std is None else std.to(predicted)


def l2_misfit(predicted: torch.Tensor, observed) -> torch.Tensor:
    r"""Least-squares misfit :math:`\tfrac12 \sum_i (r_i / \sigma_i)^2`.

    With ``observed`` a tensor, :math:`\sigma_i = 1` and the misfit is
    :math:`\tfrac12 \sum_i (p_i - o_i)^2`; with a :class:`Data` its standard
    deviations are used, so the value is half of ``data.chi_squared(predicted)``.

    Parameters
    ----------
    predicted : torch.Tensor
        Predicted traces ``(..., nt)``.
    observed : torch.Tensor or Data
        Observed traces of the same shape.

    Returns
    -------
    torch.Tensor
        Scalar, in (data units)**2 (dimensionless with a ``Data``).
    """
    values, std = _observed_tensor(predicted, observed)
    residual = predicted - values
    if std is not None:
        residual = residual / std
    return 0.5 * (residual**2).sum()


def squared_envelope(traces: torch.Tensor) -> torch.Tensor:
    r"""Squared Hilbert envelope :math:`e^2 = d^2 + \mathcal{H}\{d\}^2` along the last axis.

    The analytic signal ``d + i H{d}`` is formed in the frequency domain
    (positive frequencies doubled, negative ones removed) after zero-padding
    to ``2 nt`` samples so that the circular transform does not wrap the end
    of a trace onto its start. The square is returned because it is smooth
    everywhere (the envelope itself has a kink where it touches zero).
    """
    nt = traces.shape[-1]
    n_fft = 2 * nt
    spectrum = torch.fft.fft(traces, n=n_fft, dim=-1)
    weights = torch.zeros(n_fft, dtype=traces.dtype, device=traces.device)
    weights[0] = 1.0
    weights[1:nt] = 2.0
    weights[nt] = 1.0  # Nyquist bin of the even-length transform
    analytic = torch.fft.ifft(spectrum * weights, dim=-1)[..., :nt]
    return analytic.real**2 + analytic.imag**2


def envelope_misfit(predicted: torch.Tensor, observed, power: float = 1.0) -> torch.Tensor:
    r"""Envelope misfit :math:`\tfrac12 \sum_i (e_{p,i}^{q} - e_{o,i}^{q})^2`.

    :math:`e` is the Hilbert envelope of each trace (see :func:`squared_envelope`),
    and :math:`q` is ``power``. Envelopes are non-negative unimodal bumps
    around each arrival, so a time shift of the prediction raises the misfit
    monotonically until the bumps stop overlapping — the wavelet's phase
    (the source of cycle skipping in :func:`l2_misfit`) no longer matters.
    The price is resolution: envelopes carry mainly the low-wavenumber
    part of the model, so they are used to build a starting model before L2.

    Parameters
    ----------
    predicted : torch.Tensor
        Predicted traces ``(..., nt)``.
    observed : torch.Tensor or Data
        Observed traces of the same shape (a ``Data``'s standard deviations
        are not used: noise does not add to an envelope linearly).
    power : float, default 1
        Exponent ``q`` applied to the envelope, > 0; ``q = 2`` compares
        instantaneous energies. For ``q < 2`` the envelope is stabilised as
        :math:`(e^2 + \epsilon^2)^{q/2}` with :math:`\epsilon = 10^{-6}`
        times the largest observed envelope, so the gradient stays finite
        where a trace is zero.

    Returns
    -------
    torch.Tensor
        Scalar, in (data units)**(2 q).
    """
    values, _ = _observed_tensor(predicted, observed)
    power = check_positive_float("power", power)
    energy_predicted = squared_envelope(predicted)
    energy_observed = squared_envelope(values)
    if power < 2.0:
        epsilon_squared = (1e-6) ** 2 * float(energy_observed.max())
        if epsilon_squared == 0.0:
            epsilon_squared = torch.finfo(predicted.dtype).tiny
        energy_predicted = energy_predicted + epsilon_squared
        energy_observed = energy_observed + epsilon_squared
    difference = energy_predicted ** (power / 2) - energy_observed ** (power / 2)
    return 0.5 * (difference**2).sum()


def correlation_misfit(predicted: torch.Tensor, observed) -> torch.Tensor:
    r"""Global-correlation misfit :math:`-\sum_{traces} \hat p \cdot \hat o`.

    Each trace is normalised to unit length, :math:`\hat p = p / \|p\|`, and
    the zero-lag correlations of all traces are summed with a minus sign, so
    the misfit is ``-n_traces`` for a perfect match up to a positive scale per
    trace and is insensitive to amplitude errors. The norms are stabilised
    with :math:`\epsilon = 10^{-12}` times the largest trace norm of the
    observations, so an all-zero trace contributes 0 instead of NaN.

    Parameters
    ----------
    predicted : torch.Tensor
        Predicted traces ``(..., nt)``.
    observed : torch.Tensor or Data
        Observed traces of the same shape.

    Returns
    -------
    torch.Tensor
        Scalar, dimensionless, in ``[-n_traces, n_traces]``.
    """
    values, _ = _observed_tensor(predicted, observed)
    norm_observed = values.norm(dim=-1, keepdim=True)
    epsilon = 1e-12 * float(norm_observed.max()) or torch.finfo(predicted.dtype).tiny
    unit_observed = values / (norm_observed + epsilon)
    unit_predicted = predicted / (predicted.norm(dim=-1, keepdim=True) + epsilon)
    return -(unit_predicted * unit_observed).sum()


#: Misfit functions by name (for configuration files and command lines).
WAVEFORM_MISFITS = {
    "l2": l2_misfit,
    "envelope": envelope_misfit,
    "correlation": correlation_misfit,
}


def get_waveform_misfit(name: str):
    """The misfit function registered under ``name`` in :data:`WAVEFORM_MISFITS`."""
    return WAVEFORM_MISFITS[check_choice("misfit", name, WAVEFORM_MISFITS)]

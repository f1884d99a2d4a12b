"""Sensitivity weights for cell regularization (SimPEG's ``UpdateSensitivityWeights``).

``w_j = sqrt(sum_i (J_ij / sigma_i)**2)``, normalised by its maximum and
floored at ``threshold``. The diagonal of ``J_w^T J_w`` is estimated without
forming ``J`` (Hutchinson's estimator with Rademacher probes ``z``:
``E[(J_w^T z)**2] = diag(J_w^T J_w)``), so any operator with a ``vjp`` works.
"""

from __future__ import annotations

import torch

from .validation import check_positive_float, check_positive_int

__all__ = ["sensitivity_weights"]


def sensitivity_weights(misfit, prop: torch.Tensor, slope: torch.Tensor | None = None,
                        n_probes: int = 32, threshold: float = 1e-3,
                        seed: int = 0) -> torch.Tensor:
    """Normalised sensitivity ``(nz, nx)`` of ``misfit``'s data to the cells.

    Parameters
    ----------
    misfit : DataMisfit
        Supplies the sigma-weighted Jacobian products at ``prop``.
    prop : torch.Tensor
        Model ``(nz, nx)`` of the property the operator sees.
    slope : torch.Tensor, optional
        ``d property / d m`` per cell when the regularized variable ``m`` is
        mapped (chain rule); 1 if omitted.
    n_probes : int
        Random probes (each costs one ``vjp``); the estimate's relative
        error falls like ``1 / sqrt(n_probes)``.
    threshold : float
        Floor of the normalised weights, in (0, 1].
    """
    n_probes = check_positive_int("n_probes", n_probes)
    threshold = check_positive_float("threshold", threshold)
    vjp = misfit.linearize(prop).vjp
    generator = torch.Generator(device="cpu").manual_seed(seed)
    diagonal = torch.zeros_like(prop)
    shape = tuple(misfit.data.shape)
    for _ in range(n_probes):
        z = torch.randint(0, 2, shape, generator=generator).to(prop) * 2 - 1
        diagonal = diagonal + vjp(z) ** 2
    if slope is not None:
        diagonal = diagonal * slope**2
    weights = (diagonal / n_probes).sqrt()
    weights = weights / weights.max()
    return weights.clamp_min(threshold)

"""Shared set-up of the FWI examples: surface acquisition and observed data.

Used by ``fwi_conventional.py`` and ``fad_fwi.py`` (imported as a sibling
module: run the examples from the repository root, ``python examples/...``).
"""

from __future__ import annotations

import numpy as np
import torch

from jointinv import Data, Grid
from jointinv.waveforms import lowcut, noisy_data


def acquisition(grid: Grid, n_shots: int):
    """Sources ``(n_shots, 2)`` and receivers ``(nx, 2)`` (x, z) [m], 1.5 cells deep.

    Sources are spread evenly from one cell inside the left edge to one cell
    inside the right edge; a receiver sits in every column.
    """
    depth = grid.z0 + 1.5 * grid.dz
    source_x = np.linspace(grid.x0 + grid.dx, grid.x_max - grid.dx, n_shots)
    sources = np.column_stack([source_x, np.full(n_shots, depth)])
    receivers = np.column_stack([grid.cell_centers_x, np.full(grid.nx, depth)])
    return sources, receivers


def observed_data(operator, true_model: torch.Tensor, dt: float, *, noise: bool = False,
                  low_cut: bool = False, noise_fraction: float = 0.5, cutoff: float = 2.5,
                  noise_seed: int = 1) -> Data:
    """Synthetic shot gathers of ``true_model`` with FAD-FWI's data uncertainties.

    ``noise`` adds seeded Gaussian noise ``sigma = noise_fraction * sigma_0``
    (``sigma_0``: standard deviation of the clean data); ``low_cut`` removes
    the frequencies below ``cutoff`` [Hz] (zero-phase, after the noise).
    Clean data keep the same nominal standard deviation, so a trade-off
    parameter means the same thing in every case.
    """
    with torch.no_grad():
        clean = operator(true_model)
    sigma_0 = float(clean.std(correction=0))
    if noise:
        data = noisy_data(clean, fraction=noise_fraction, seed=noise_seed)
    else:
        data = Data(clean, standard_deviation=noise_fraction * sigma_0, clean=clean)
    if low_cut:
        data = Data(lowcut(data.observed, dt, cutoff),
                    standard_deviation=data.standard_deviation,
                    clean=lowcut(clean, dt, cutoff))
    return data

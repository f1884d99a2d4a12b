"""A tiny shared-structure family that needs nothing but numpy: a dike over a layer.

For smoke runs, tests and throughput measurements without
:func:`jointinv.synthetic.draw_sample`; in a config::

    family: {name: "jointinv.dataset.toy:dike", options: {delay: 0.0}}
"""

from __future__ import annotations

import time

import numpy as np
import torch

__all__ = ["dike"]


def dike(grid, index: int, seed: int, properties: dict, delay: float = 0.0) -> dict:
    """Sample ``index``: a vertical dike and a deep layer shared by every property.

    Parameters
    ----------
    grid : jointinv.Grid
    index, seed : int
        The draw is a function of ``(seed, index)`` only.
    properties : dict
        ``{key: {"range": [low, high], ...}}``: each property is 0.4 of its
        range in the background, 0.2 in the deep layer, 0.85 in the dike.
    delay : float
        Seconds to sleep (to test interrupted builds with cheap physics).

    Returns
    -------
    dict
        ``{key: (nz, nx) float64 tensor}``.
    """
    if delay:
        time.sleep(delay)
    rng = np.random.default_rng([seed, index, 12345])
    z, x = np.meshgrid(grid.cell_centers_z, grid.cell_centers_x, indexing="ij")
    width = grid.x_max - grid.x0
    centre = grid.x0 + rng.uniform(0.25, 0.75) * width
    half = 0.5 * rng.uniform(0.1, 0.3) * width
    top = grid.z0 + rng.uniform(0.1, 0.5) * (grid.z_max - grid.z0)
    dike_mask = (np.abs(x - centre) < half) & (z > top)
    layer = z > grid.z0 + rng.uniform(0.6, 0.9) * (grid.z_max - grid.z0)
    models = {}
    for key, entry in properties.items():
        low, high = entry["range"]
        value = np.full(dike_mask.shape, low + 0.4 * (high - low))
        value[layer] = low + 0.2 * (high - low)
        value[dike_mask] = low + 0.85 * (high - low)
        models[key] = torch.as_tensor(value, dtype=torch.float64)
    return models

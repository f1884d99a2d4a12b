"""A joint gravity + travel-time case for ``jointinv compare`` (see compare.yaml).

A dense, fast block under a 200 m x 100 m section: gravity stations on the
surface (the third-party ``gravity`` plugin of ../jointinv-gravity) and
cross-hole travel times between boreholes at both edges. ``build(seed)``
returns ``{key: Case}`` (:func:`jointinv.user_cases.synthetic_cases`); the config
names it as ``case: case.py:build``.
"""

import numpy as np
import torch

from jointinv import Grid
from jointinv.user_cases import synthetic_cases

GRID = Grid(nx=40, nz=20, dx=5.0, dz=5.0)


def build(seed: int = 0) -> dict:
    z = torch.as_tensor(GRID.cell_centers_z)[:, None].expand(GRID.shape)
    x = torch.as_tensor(GRID.cell_centers_x)[None, :].expand(GRID.shape)
    block = (x > 70.0) & (x < 120.0) & (z > 30.0) & (z < 65.0)
    truth = {"gravity": torch.where(block, 0.4, 0.0).double(),
             "traveltime": torch.where(block, 2600.0, 2000.0).double()}
    specs = {
        "gravity": {"physics": "gravity", "stations_x": np.linspace(2.5, 197.5, 40).tolist()},
        "traveltime": {"physics": "traveltime", "constructor": "crosshole",
                       "n_sources": 17, "n_receivers": 17},
    }
    noise = {"gravity": {"noise_floor": 0.002},
             "traveltime": {"relative_error": 0.01, "noise_floor": 1e-5}}
    start = {"gravity": 0.0, "traveltime": 2000.0}
    return synthetic_cases(GRID, specs, truth, noise, start, seed=seed, where="block")

"""Built-in synthetic cases, generated in code (no downloads)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .data import Data
from .grid import Grid
from .operator import PhysicsOperator
from .registry import create_physics

__all__ = ["Case", "crosshole_traveltime_case"]


@dataclass
class Case:
    """One synthetic study: physics, true and starting models, noisy data."""

    name: str
    operator: PhysicsOperator
    true_model: torch.Tensor
    initial_model: torch.Tensor
    data: Data
    description: str = ""


def crosshole_traveltime_case(n_sources: int = 65, n_receivers: int = 65,
                              relative_error: float = 0.01, noise_floor: float = 1e-5,
                              seed: int = 0, dtype=torch.float64) -> Case:
    """Cross-hole travel-time tomography between two boreholes.

    A 100 m × 160 m section on 2 m cells (50 × 80); sources in the left
    borehole (x = 0), receivers in the right one (x = 100 m), depths 0–160 m;
    every source–receiver pair (65 × 65 = 4225 rays by default). The true
    model is a 2000 m/s background with a slow elliptical anomaly (1600 m/s)
    and a thin fast layer (2400 m/s). Noise: ``relative_error`` times the travel
    time plus ``noise_floor`` [s], seeded. The initial model is homogeneous at
    the background velocity.
    """
    grid = Grid(nx=50, nz=80, dx=2.0, dz=2.0)
    x = torch.as_tensor(grid.cell_centers_x, dtype=dtype)
    z = torch.as_tensor(grid.cell_centers_z, dtype=dtype)
    zz, xx = torch.meshgrid(z, x, indexing="ij")
    true = torch.full(grid.shape, 2000.0, dtype=dtype)
    true[((xx - 45.0) / 22.0) ** 2 + ((zz - 95.0) / 30.0) ** 2 <= 1.0] = 1600.0
    true[(zz >= 36.0) & (zz < 46.0)] = 2400.0
    depths = np.linspace(0.0, grid.z_max, n_sources)
    sources = np.column_stack([np.zeros(n_sources), depths])
    receivers = np.column_stack([np.full(n_receivers, grid.x_max),
                                 np.linspace(0.0, grid.z_max, n_receivers)])
    operator = create_physics("traveltime", grid, sources, receivers)
    data = operator.simulate(true, relative_error=relative_error, noise_floor=noise_floor,
                             seed=seed)
    return Case(
        name="crosshole-traveltime", operator=operator, true_model=true,
        initial_model=torch.full_like(true, 2000.0), data=data,
        description=(f"cross-hole travel times, {n_sources} x {n_receivers} rays, "
                     f"{relative_error:.0%} noise"),
    )

"""Gravity of a 2D density-contrast section: a third-party jointinv plugin on SimPEG.

The common grid becomes a 3D mesh of one cell of ``strike_length`` along y
(see README.md); SimPEG's integral simulation gives gz at stations above it.
"""

import numpy as np
import torch
from simpeg import maps
from simpeg.potential_fields import gravity

from jointinv.grid import Grid, check_grid
from jointinv.simpeg import SimPEGOperator, grid_tensor_mesh, grid_to_discretize_order
from jointinv.validation import check_positive_float

__all__ = ["Gravity2D"]


class Gravity2D(SimPEGOperator, property="density contrast", units="g/cc"):
    """Gravity gz [mGal] (SimPEG's upward component) of a density contrast on a grid.

    Parameters
    ----------
    grid : jointinv.Grid
        Its top (depth ``grid.z0``) is the ground surface.
    stations_x : (n_data,) array_like of float
        x [m] of the stations, on the line y = 0.
    height : float, default 1
        Height [m] of the stations above the surface (> 0).
    strike_length : float, default 1e4
        Length [m] of every cell along y, centred on the line (> 0).
    """

    def __init__(self, grid, stations_x, height=1.0, strike_length=1e4):
        x = np.asarray(stations_x, dtype=float).reshape(-1)
        if x.size == 0 or not np.isfinite(x).all():
            raise ValueError(f"stations_x must be a non-empty array of finite x [m], got {x}")
        up = check_positive_float("height", height) - check_grid("grid", grid).z0
        stations = gravity.receivers.Point(np.column_stack([x, 0 * x, 0 * x + up]),
                                           components="gz")
        simulation = gravity.simulation.Simulation3DIntegral(
            grid_tensor_mesh(grid, strike_length), store_sensitivities="ram",
            survey=gravity.survey.Survey(gravity.sources.SourceField([stations])),
            rhoMap=maps.Projection(grid.n_cells, grid_to_discretize_order(grid)),
            sensitivity_dtype=np.float64)  # float32 (SimPEG's default) fails the dot test
        super().__init__(grid, simulation)

    @classmethod
    def example_case(cls):
        """A 10 x 5 grid of 10 m cells, 8 stations, a dense block; float64."""
        grid = Grid(nx=10, nz=5, dx=10.0, dz=10.0)
        model = torch.zeros(grid.shape, dtype=torch.float64)
        model[1:3, 4:7] = 0.3
        return cls(grid, np.linspace(5.0, 95.0, 8)), model

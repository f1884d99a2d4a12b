"""Default bounds of reciprocal-mapped models: no velocity spikes where slowness undershoots.

A thin fast layer that meets the grid's edge at the sources' corner (as in
fusion samples #1993 and #1994) makes the slowness-space Tikhonov solution
undershoot slowness toward 0 in the corner cells, i.e. velocities of
1e4-1e5 m/s; the default property bounds keep them within a factor of the start.
"""

import pytest
import torch
from jointinv.physics.traveltime import StraightRayTomography

import jointinv
from jointinv import Grid, PhysicsSetup
from jointinv.physics_setup import DEFAULT_RECIPROCAL_RANGE


@pytest.fixture(scope="module")
def corner_layer():
    """Cross-hole rays over a fast layer (4100 in 2000 m/s) dipping from the top-left corner."""
    grid = Grid(nx=80, nz=40, dx=2.5, dz=2.5)
    z = torch.as_tensor(grid.cell_centers_z, dtype=torch.float64)[:, None]
    x = torch.as_tensor(grid.cell_centers_x, dtype=torch.float64)[None, :]
    layer = (z < 2.5 + 0.4 * x) & (z > 0.4 * (x - 130.0))
    true = torch.where(layer, 4100.0, 2000.0)
    operator = StraightRayTomography.crosshole(grid, 33, 33)
    data = operator.simulate(true, relative_error=0.02, seed=0)
    return operator, data, true


def test_a_fast_layer_at_a_source_corner_leaves_no_velocity_spike(corner_layer):
    operator, data, true = corner_layer
    start = torch.full_like(true, 2800.0)
    result = jointinv.invert(operator, data, start, true_model=true, max_iterations=20,
                             progress=False)
    (velocity,) = result.models.values()
    assert result.metrics[next(iter(result.models))]["chi_squared"] <= data.n_data
    # the previous default (velocities up to 100x the start) gave 2.8e5 m/s and RMSE 4976 m/s
    assert float(velocity.max()) <= DEFAULT_RECIPROCAL_RANGE * 2800.0 * (1 + 1e-9)
    assert float(velocity.min()) >= 2800.0 / DEFAULT_RECIPROCAL_RANGE * (1 - 1e-9)
    rmse = float((velocity - true).square().mean().sqrt())
    assert rmse < 0.5 * float(true.max() - true.min())


def test_default_bounds_of_the_reciprocal_map_follow_the_start(corner_layer):
    operator, data, _ = corner_layer
    start = torch.full(operator.grid.shape, 2000.0, dtype=torch.float64)
    start[0, 0] = 4000.0
    factor = DEFAULT_RECIPROCAL_RANGE
    built = PhysicsSetup(operator, data, start).build("velocity")
    # slowness bounds: 1 / (fastest start * factor) to factor / slowest start
    assert built.lower == pytest.approx(1.0 / (4000.0 * factor), rel=1e-12)
    assert built.upper == pytest.approx(factor / 2000.0, rel=1e-12)
    given = PhysicsSetup(operator, data, start, bounds=(1000.0, None)).build("velocity")
    assert given.lower is None and given.upper == pytest.approx(1e-3, rel=1e-12)
    free = PhysicsSetup(operator, data, start, map="identity").build("velocity")
    assert free.lower is None and free.upper is None

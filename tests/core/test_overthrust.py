"""Tests of the Overthrust-like generator: thrusts stack layers twice, seeded, checked."""

import re

import numpy as np
import pytest
import torch

from jointinv import Grid
from jointinv.synthetic import Thrust, overthrust_model, overthrust_units

GRID = Grid(nx=80, nz=30, dx=20.0, dz=20.0)


def test_shape_range_dtype_and_determinism():
    model = overthrust_model(GRID, seed=3, dtype=torch.float64)
    assert model.shape == GRID.shape and model.dtype == torch.float64
    assert 2000.0 <= float(model.min()) and float(model.max()) <= 6000.0
    assert torch.equal(model, overthrust_model(GRID, seed=3, dtype=torch.float64))
    assert not torch.equal(model, overthrust_model(GRID, seed=4, dtype=torch.float64))
    # velocity increases with depth on average: the bottom rows are faster than the top
    assert float(model[-3:].mean()) > float(model[:3].mean()) + 1000.0


def test_water_layer_on_top():
    model = overthrust_model(GRID, seed=0, water_depth=70.0, water_velocity=1480.0)
    assert torch.all(model[:3] == 1480.0) and torch.all(model[3:] >= 2000.0)


def test_a_ramp_flat_thrust_repeats_the_layers_between_its_flats():
    # flat layers 50 m thick; thrust from 300 m up to 100 m, hanging wall moved 600 m left
    grid = Grid(nx=100, nz=25, dx=10.0, dz=20.0)
    thrust = Thrust(ramp_x=400.0, upper_depth=100.0, lower_depth=300.0, ramp_dip=45.0,
                    slip=600.0)
    units = overthrust_units(grid, np.arange(50.0, 500.0, 50.0), [thrust])
    column = units[:, 30]  # x = 305 m: on the upper flat, the hanging wall came from x = 905 m
    above, below = column[grid.cell_centers_z < 100.0], column[grid.cell_centers_z > 100.0]
    # the hanging wall was lifted by 200 m: units 4-5 lie above the fault, 2-9 below it
    assert set(above) == {4, 5} and {2, 3, 4, 5} <= set(below)
    assert np.all(np.diff(above) >= 0) and np.all(np.diff(below) >= 0)
    # far in the hinterland (x > ramp + slip), nothing moved
    undisturbed = overthrust_units(grid, np.arange(50.0, 500.0, 50.0))
    np.testing.assert_array_equal(units[:, 95], undisturbed[:, 95])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generated_thrusts_put_fast_rock_over_slow(seed):
    model = overthrust_model(GRID, seed=seed, texture=0.0).numpy()
    # a velocity inversion of at least 10 % of the range somewhere down a column
    assert (np.diff(model, axis=0) < -400.0).any()


def test_bad_input_is_named():
    with pytest.raises(TypeError, match="grid must be a jointinv.Grid"):
        overthrust_model((30, 80))
    with pytest.raises(ValueError, match=re.escape("v_min must be less than v_max")):
        overthrust_model(GRID, v_min=5000.0, v_max=3000.0)
    with pytest.raises(ValueError, match=re.escape("n_thrusts must be an integer in [1, 4]")):
        overthrust_model(GRID, n_thrusts=0)
    with pytest.raises(ValueError, match=re.escape("water_depth must be less than the grid")):
        overthrust_model(GRID, water_depth=600.0)
    with pytest.raises(ValueError, match=re.escape("texture must be a finite number in [0, 0.2]")):
        overthrust_model(GRID, texture=0.5)
    with pytest.raises(ValueError, match=re.escape("lower_depth must be greater than")):
        Thrust(ramp_x=0.0, upper_depth=200.0, lower_depth=100.0, ramp_dip=30.0, slip=100.0)
    with pytest.raises(ValueError, match=re.escape("ramp_dip must be strictly between")):
        Thrust(ramp_x=0.0, upper_depth=0.0, lower_depth=100.0, ramp_dip=90.0, slip=100.0)
    with pytest.raises(ValueError, match=re.escape("slip must be")):
        Thrust(ramp_x=0.0, upper_depth=0.0, lower_depth=100.0, ramp_dip=30.0, slip=-1.0)

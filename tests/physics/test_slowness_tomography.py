"""The linear slowness form of straight-ray tomography."""

import pytest
import torch
from jointinv.physics import SlownessTomography, StraightRayTomography

import jointinv


@pytest.fixture
def pair():
    velocity_operator, velocity = StraightRayTomography.example_case()
    operator, slowness = SlownessTomography.example_case()
    return velocity_operator, velocity, operator, slowness


def test_data_equal_the_velocity_operator_on_the_reciprocal_model(pair):
    velocity_operator, velocity, operator, slowness = pair
    torch.testing.assert_close(operator(slowness), velocity_operator(velocity), rtol=1e-13,
                               atol=0.0)
    assert (operator.property, operator.units, operator.inversion_map) == (
        "slowness", "s/m", "identity")


def test_negative_slowness_is_refused_unless_allowed(pair):
    _, _, operator, slowness = pair
    negative = slowness.clone()
    negative[0, 0] = -1e-4
    with pytest.raises(ValueError, match="allow_negative=True"):
        operator(negative)
    allowed = SlownessTomography(operator.grid, operator.sources, operator.receivers,
                                 allow_negative=True)
    # linear: the data of a sum are the sum of the data, negative parts included
    torch.testing.assert_close(allowed(negative - slowness),
                               allowed(negative) - allowed(slowness))


def test_allow_negative_must_be_a_bool(pair):
    _, _, operator, _ = pair
    with pytest.raises(TypeError, match="allow_negative must be True or False"):
        SlownessTomography(operator.grid, operator.sources, operator.receivers,
                           allow_negative="yes")


def test_created_by_name_with_the_gaussian_kernel():
    grid = jointinv.Grid(nx=8, nz=6, dx=1.0, dz=1.0, x0=-0.5, z0=-0.5)
    operator = jointinv.create_physics("traveltime_slowness", grid, [[-0.5, 1.0]],
                                       [[7.5, 4.0]], kernel="gaussian", allow_negative=True)
    assert operator.kernel == "gaussian" and operator.allow_negative
    assert torch.all(operator(torch.ones(grid.shape, dtype=torch.float64)) > 0)

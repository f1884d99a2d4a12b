"""Deep-image-prior parameterization: a U-Net on a fixed GRF latent drives any physics."""

import re

import numpy as np
import pytest
import torch
from jointinv.networks import UNet

import jointinv
from jointinv import Grid
from jointinv.deep_image_prior import DeepImagePrior


@pytest.fixture
def grid():
    return Grid(nx=12, nz=10, dx=5.0, dz=5.0)


def _small_unet(out_channels=1, seed=0):
    with torch.random.fork_rng():  # seeded weights, the global generator left alone
        torch.manual_seed(seed)
        return UNet(in_channels=1, out_channels=out_channels, depth=2, base_channels=4,
                    norm=None)


def test_outputs_are_properties_in_their_units_and_seeded(grid):
    start = {"velocity": torch.full(grid.shape, 2000.0, dtype=torch.float64),
             "dcr": torch.full(grid.shape, 2.0, dtype=torch.float64)}
    prior = DeepImagePrior(grid, start, seed=3)
    with torch.no_grad():
        out = prior()
    assert set(out) == {"velocity", "dcr"} and out["velocity"].shape == grid.shape
    assert out["velocity"].dtype == torch.float64
    # the linear head starts near the starting model (offset = its mean, scale = 5 % of it)
    assert abs(float(out["velocity"].mean()) - 2000.0) < 500.0
    with torch.no_grad():
        again = DeepImagePrior(grid, start, seed=3)()
        other = DeepImagePrior(grid, start, seed=4)()
        bounded = DeepImagePrior(grid, start, head="tanh",
                                 scale={"velocity": 100.0, "dcr": 0.5})()
    torch.testing.assert_close(again["dcr"], out["dcr"])
    assert not torch.equal(other["dcr"], out["dcr"])
    assert float((bounded["velocity"] - 2000.0).abs().max()) <= 100.0


def test_pretraining_reproduces_the_starting_model(grid):
    z = torch.as_tensor(grid.cell_centers_z)[:, None].expand(grid.shape)
    start = {"velocity": (1800.0 + 8.0 * z).double()}
    prior = DeepImagePrior(grid, start, network=_small_unet())
    with torch.no_grad():
        before = float((prior()["velocity"] - start["velocity"]).norm()
                       / start["velocity"].norm())
    after = prior.pretrain(start, steps=300, lr=3e-3)
    assert after < 0.01 < before


def test_a_prior_drives_travel_times_through_invert(grid):
    depths = np.linspace(2.5, 47.5, 8)
    tomo = jointinv.create_physics("traveltime", grid, np.column_stack([0 * depths, depths]),
                                   np.column_stack([0 * depths + 60.0, depths]))
    true = torch.full(grid.shape, 2000.0, dtype=torch.float64)
    true[3:7, 4:8] = 1700.0
    data = tomo.simulate(true, relative_error=0.005, noise_floor=1e-6, seed=0)
    start = torch.full_like(true, 2000.0)
    prior = DeepImagePrior(grid, {"velocity": start}, network=_small_unet())
    result = jointinv.invert(tomo, data, start, solver="adam", lr=1e-3, beta=1e-6,
                             parameterization=prior, max_iterations=150, progress=False)
    history = result.history
    assert history[-1]["phi_d[velocity]"] < 0.1 * history[0]["phi_d[velocity]"]


def test_bad_input_is_named(grid):
    start = {"velocity": torch.full(grid.shape, 2000.0, dtype=torch.float64)}
    with pytest.raises(ValueError, match=re.escape("head must be one of")):
        DeepImagePrior(grid, start, head="sigmoid")
    with pytest.raises(ValueError, match=re.escape("network must map 1 channel to 1")):
        DeepImagePrior(grid, start, network=_small_unet(out_channels=2))
    with pytest.raises(ValueError, match=re.escape("initial['velocity'] must have the grid shape")):
        DeepImagePrior(grid, {"velocity": torch.zeros(3, 3, dtype=torch.float64)})
    with pytest.raises(ValueError, match="cannot honour model bounds"):
        DeepImagePrior(grid, start).check_bounds(1500.0, 2500.0)


def test_one_two_channel_prior_drives_two_physics_in_a_joint_strategy(grid):
    """A U-Net with P = 2 output channels fits two physics at once through run_strategy."""
    from jointinv import PhysicsSetup
    from jointinv.strategies import run_strategy

    depths = np.linspace(2.5, 47.5, 8)
    left, right = np.column_stack([0 * depths, depths]), np.column_stack([0 * depths + 60.0,
                                                                          depths])
    tomo = jointinv.create_physics("traveltime", grid, left, right)
    slowness = jointinv.create_physics("traveltime_slowness", grid, right, left)
    velocity = torch.full(grid.shape, 2000.0, dtype=torch.float64)
    velocity[3:7, 4:8] = 1700.0
    setups = {"tt": PhysicsSetup(tomo, tomo.simulate(velocity, relative_error=0.005,
                                                     noise_floor=1e-6, seed=0),
                                 torch.full_like(velocity, 2000.0)),
              "slow": PhysicsSetup(slowness, slowness.simulate(1.0 / velocity,
                                                               relative_error=0.005,
                                                               noise_floor=1e-6, seed=1),
                                   torch.full_like(velocity, 1 / 2000.0))}
    prior = DeepImagePrior(grid, {k: s.initial_model for k, s in setups.items()},
                           network=_small_unet(out_channels=2))
    result = run_strategy("joint", setups, coupling=None, parameterization=prior,
                          solver="adam", lr=1e-3, max_iterations=150,
                          progress=False)
    first, last = result.history[0], result.history[-1]
    for key in setups:
        assert last[f"phi_d[{key}]"] < 0.1 * first[f"phi_d[{key}]"]
        assert result.models[key].shape == grid.shape
    # both properties come from the one network: its two channels, at the same weights
    with torch.no_grad():
        out = prior()
    torch.testing.assert_close(result.models["slow"].to(out["slow"]), out["slow"])

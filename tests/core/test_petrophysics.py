"""Petrophysical coupling: the Gaussian mixture and the term it drives."""

import re

import pytest
import torch

from jointinv import Grid
from jointinv.coupling import Coupling
from jointinv.petrophysics import (
    GaussianMixtureCoupling,
    confidence_from_sensitivity,
    fit_gaussian_mixture,
)
from jointinv.testing import gradient_check, random_like


def test_em_recovers_two_separated_units():
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(300, 2, generator=generator, dtype=torch.float64) * 0.05 + torch.tensor(
        [1.0, 2.0], dtype=torch.float64)
    b = torch.randn(100, 2, generator=generator, dtype=torch.float64) * 0.05 + torch.tensor(
        [1.5, 0.5], dtype=torch.float64)
    fit = fit_gaussian_mixture(torch.cat([a, b]), n_clusters=2, iterations=30)
    order = torch.argsort(fit["means"][:, 0])
    torch.testing.assert_close(fit["means"][order], torch.tensor([[1.0, 2.0], [1.5, 0.5]],
                                                                 dtype=torch.float64),
                               atol=0.02, rtol=0)
    torch.testing.assert_close(fit["weights"][order], torch.tensor([0.75, 0.25],
                                                                   dtype=torch.float64),
                               atol=0.01, rtol=0)
    assert fit["responsibilities"].shape == (400, 2)


def test_the_term_pulls_a_flat_property_toward_its_units_mean():
    grid = Grid(nx=8, nz=6, dx=1.0, dz=1.0)
    unit = torch.zeros(grid.shape, dtype=torch.float64)
    unit[2:5, 3:7] = 1.0
    velocity = 2000.0 + 500.0 * unit          # resolved: two units
    resistivity = 2.0 - 1.0 * unit            # the same units
    term = GaussianMixtureCoupling(("v", "r"), grid, {"v": 2000.0, "r": 2.0}, n_clusters=2)
    assert float(term({"v": velocity, "r": resistivity})) == 0.0   # not fitted yet
    term.update({"v": velocity, "r": resistivity})
    flat = torch.full(grid.shape, 1.8, dtype=torch.float64)        # unresolved resistivity
    leaf = flat.clone().requires_grad_(True)
    value = term({"v": velocity, "r": leaf})
    (gradient,) = torch.autograd.grad(value, leaf)
    # descent raises resistivity outside the unit and lowers it inside (toward 2 and 1)
    assert float(gradient[unit == 0].max()) < 0 < float(gradient[unit == 1].min())
    gradient_check(lambda m: term({"v": velocity, "r": m}), flat + 0.1 * random_like(flat, 1))
    with pytest.raises(ValueError, match="keys must name one or more different models"):
        GaussianMixtureCoupling(("v", "v"), grid, {"v": 1.0})


def test_one_model_mixture_sharpens_it_toward_its_units():
    """With one model the term is a clustering smallness: values move to their unit's mean."""
    grid = Grid(nx=8, nz=6, dx=1.0, dz=1.0)
    unit = torch.zeros(grid.shape, dtype=torch.float64)
    unit[2:5, 3:7] = 1.0
    blurred = 2.0 - unit + 0.05 * random_like(unit, 2)     # two units, noisy values
    term = GaussianMixtureCoupling(("r",), grid, {"r": 2.0}, n_clusters=2)
    term.update({"r": blurred})
    leaf = blurred.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(term({"r": leaf}), leaf)
    means = {u: float(blurred[unit == u].mean()) for u in (0, 1)}
    for u in (0, 1):
        inside = unit == u
        # descent (-gradient) points from each value toward its unit's mean
        toward = (means[u] - blurred[inside]) * -gradient[inside]
        assert float((toward >= 0).double().mean()) > 0.9
    with pytest.raises(ValueError, match="'cross_gradient' coupling needs at least 2 models"):
        Coupling("cross_gradient").terms({"r": blurred}, grid, 10)
    (_, _, one), = Coupling("petrophysical").terms({"r": blurred}, grid, 10)
    assert one.keys == ("r",)


def _layered_earth():
    """Two units (a top layer and the rest); resistivity sensed only in the top rows."""
    grid = Grid(nx=10, nz=12, dx=1.0, dz=1.0)
    unit = torch.zeros(grid.shape, dtype=torch.float64)
    unit[:, 6:] = 1.0                        # a vertical contact: both units reach the top
    velocity = 2000.0 + 800.0 * unit                       # resolved everywhere
    resistivity = torch.full(grid.shape, 1.5, dtype=torch.float64)   # unsensed: the start
    resistivity[:3] = 2.4 - 1.2 * unit[:3]                 # sensed rows: the true values
    confidence = {"v": torch.ones(grid.shape, dtype=torch.float64),
                  "r": torch.full(grid.shape, 0.01, dtype=torch.float64)}
    confidence["r"][:3] = 1.0
    return grid, unit, {"v": velocity, "r": resistivity}, confidence


def test_resolution_aware_mixture_learns_each_value_where_it_is_sensed():
    grid, unit, models, confidence = _layered_earth()
    scales = {"v": 2000.0, "r": 2.0}
    aware = GaussianMixtureCoupling(("v", "r"), grid, scales, n_clusters=2,
                                    confidence=confidence)
    plain = GaussianMixtureCoupling(("v", "r"), grid, scales, n_clusters=2)
    for term in (aware, plain):
        term.update(models)
    truth = torch.tensor([2.4, 1.2], dtype=torch.float64) / scales["r"]   # units 0, 1

    def resistivity_means(term):
        order = torch.argsort(term.state["means"][:, 0])              # by velocity: unit 0, 1
        return term.state["means"][order, 1]

    torch.testing.assert_close(resistivity_means(aware), truth, atol=0.02, rtol=0)
    # fitted to every cell alike, the unsensed start values dominate the means
    assert float((resistivity_means(plain) - truth).abs().max()) > 0.1
    # so only the aware term pulls the unsensed rows toward their unit's value
    leaf = models["r"].clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(aware({"v": models["v"], "r": leaf}), leaf)
    deep = torch.zeros(grid.shape, dtype=torch.bool)
    deep[3:] = True
    assert float(gradient[deep & (unit == 0)].max()) < 0 < float(gradient[deep & (unit == 1)].min())
    gradient_check(lambda m: aware({"v": models["v"], "r": m}),
                   models["r"] + 0.1 * random_like(models["r"], 3))


def test_confidence_from_sensitivity_caps_the_best_sensed_tenth():
    weights = torch.logspace(-4, 0, 1000, dtype=torch.float64).reshape(40, 25)
    confidence = confidence_from_sensitivity(weights)
    assert float(confidence.max()) == 1.0 and float(confidence.min()) > 0
    assert abs(float((confidence == 1.0).double().mean()) - 0.1) < 0.01
    assert torch.all(torch.diff(confidence.reshape(-1)) >= 0)     # order kept


def test_resolution_aware_bad_input():
    grid, _, models, confidence = _layered_earth()
    with pytest.raises(ValueError, match=re.escape(
            "resolution_aware applies to the 'petrophysical' coupling, not 'cross_gradient'")):
        Coupling("cross_gradient", resolution_aware=True)
    with pytest.raises(TypeError, match=re.escape("resolution_aware must be True or False, "
                                                  "got 'yes'")):
        Coupling("petrophysical", resolution_aware="yes")
    with pytest.raises(ValueError, match="needs each model's confidence map"):
        Coupling("petrophysical", resolution_aware=True).terms(models, grid, 10)
    with pytest.raises(ValueError, match=re.escape("missing ['r']")):
        GaussianMixtureCoupling(("v", "r"), grid, {"v": 1.0, "r": 1.0},
                                confidence={"v": confidence["v"]})
    with pytest.raises(ValueError, match=re.escape("confidence['r'] must have the grid's shape "
                                                   "(12, 10), got (3, 10)")):
        GaussianMixtureCoupling(("v", "r"), grid, {"v": 1.0, "r": 1.0},
                                confidence={**confidence, "r": confidence["r"][:3]})
    with pytest.raises(ValueError, match=re.escape("confidence['v'] must lie in [0, 1]")):
        GaussianMixtureCoupling(("v", "r"), grid, {"v": 1.0, "r": 1.0},
                                confidence={**confidence, "v": 2 * confidence["v"]})
    coupling = Coupling.coerce({"kind": "petrophysical", "resolution_aware": True})
    assert coupling.resolution_aware and "resolution_aware=True" in repr(coupling)


def test_resolution_aware_units_follow_the_resolved_property_when_the_physics_sense_apart():
    """Cross-hole rays sense the deep rows, a surface line the top ones (few cells both
    sense), and the resistivity varies by a few per cent laterally within the top unit: the
    units must still be the three velocity layers, not splits of that small variation."""
    nz, nx = 12, 10
    depth = torch.arange(nz, dtype=torch.float64)[:, None].expand(nz, nx)
    x = torch.arange(nx, dtype=torch.float64)[None, :].expand(nz, nx)
    layer = (depth >= 4).double() + (depth >= 8).double()
    velocity = 2000.0 + 600.0 * layer
    resistivity = torch.full((nz, nx), 1.9, dtype=torch.float64)     # unsensed: the start
    resistivity[:5] = torch.where(x[:5] < 5, 2.1, 1.95)              # sensed rows
    resistivity[4] = 2.4
    sensed_by_rays = torch.ones(nz, nx, dtype=torch.float64)
    sensed_by_rays[:3] = 0.2
    sensed_by_line = torch.full((nz, nx), 0.01, dtype=torch.float64)
    sensed_by_line[:5] = 1.0
    points = torch.stack([velocity.reshape(-1) / 2600.0, resistivity.reshape(-1) / 2.0], 1)
    confidence = torch.stack([sensed_by_rays.reshape(-1), sensed_by_line.reshape(-1)], 1)
    for seed in range(3):
        fit = fit_gaussian_mixture(points, 3, seed=seed, confidence=confidence)
        torch.testing.assert_close(fit["means"][:, 0].sort().values * 2600.0,
                                   torch.tensor([2000.0, 2600.0, 3200.0], dtype=torch.float64),
                                   atol=20.0, rtol=0)


def test_resolution_aware_values_carry_over_only_where_a_unit_is_linked():
    """Resistivity sensed only in the top rows, where no ray passes; velocity below (a slow
    layer in a background). The background's resistivity, learned where nothing tells its
    unit in velocity terms, must not pull the deep background cells as if it were linked;
    when the rays also cross the top rows it must."""
    nz, nx = 12, 10
    depth = torch.arange(nz, dtype=torch.float64)[:, None].expand(nz, nx)
    layer = (depth >= 6) & (depth < 9)
    velocity = torch.where(layer, 1500.0, 2000.0).double()
    resistivity = torch.where(layer, 1.9, 2.0).double()
    line = torch.where(depth < 3, 1.0, 1e-3).double()
    points = torch.stack([velocity.reshape(-1) / 2000.0, resistivity.reshape(-1) / 2.0], 1)
    deep_background = ((depth >= 3) & ~layer).reshape(-1)

    def resistivity_precision(rays):
        confidence = torch.stack([rays.reshape(-1), line.reshape(-1)], 1)
        fit = fit_gaussian_mixture(points, 2, confidence=confidence)
        return float(fit["cell_precisions"][deep_background, 1].mean())

    rays_below_the_top = torch.where(depth >= 3, 1.0, 0.0).double()
    rays_everywhere = torch.ones(nz, nx, dtype=torch.float64)
    assert resistivity_precision(rays_below_the_top) < 0.1 * resistivity_precision(rays_everywhere)

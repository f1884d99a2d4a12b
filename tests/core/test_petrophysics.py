"""Petrophysical coupling: the Gaussian mixture and the term it drives."""

import pytest
import torch

from jointinv import Grid
from jointinv.coupling import Coupling
from jointinv.petrophysics import GaussianMixtureCoupling, fit_gaussian_mixture
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

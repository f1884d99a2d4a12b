"""One step of the acoustic propagator: block and band forms, and the exact adjoint."""

import pytest
import torch
from jointinv.physics.acoustic import AcousticWave2D
from jointinv.physics.acoustic_adjoint import adjoint_step
from jointinv.physics.acoustic_step import wave_step, zero_state

from jointinv import Grid

# a model thinner than two PML bands along z (merged band) is one of the cases
CASES = [dict(accuracy=4, nz=11), dict(accuracy=8, nz=9, free_surface=True),
         dict(accuracy=2, nz=5), dict(accuracy=6, nz=20, pml_width=0)]


def _layout(accuracy, nz, free_surface=False, pml_width=3):
    grid = Grid(nx=13, nz=nz, dx=10.0, dz=8.0)
    operator = AcousticWave2D(grid, [[15.0, 12.0]], [[45.0, 12.0]], dt=1e-3, nt=5,
                              frequency=20.0, accuracy=accuracy, pml_width=pml_width,
                              free_surface=free_surface, max_velocity=3000.0, compile=False)
    plan = operator._plan(torch.device("cpu"), torch.float64, 3000.0)
    generator = torch.Generator().manual_seed(accuracy + nz)
    V = 0.05 * torch.rand(plan.layout.interior_shape, generator=generator, dtype=torch.float64)
    return plan.layout, plan.profiles, V, generator


def _random_state(layout, generator, extra=False):
    """A state (or adjoint state, ``extra``) with random values where they are variables."""
    pad = layout.pad
    state = list(zero_state(layout, 2, torch.float64, "cpu"))
    if extra:
        state.append(torch.zeros_like(state[0]))
    out = []
    for i, zeros in enumerate(state):
        if zeros is None:
            out.append(None)
            continue
        values = torch.randn(zeros.shape, generator=generator, dtype=torch.float64)
        if i < 2 or i == len(state) - 1 and extra:  # wavefields: the ring stays zero
            values = torch.nn.functional.pad(values[:, pad:-pad, pad:-pad], (pad,) * 4)
        out.append(values)
    return out


def _compiled_form(monkeypatch):
    # what torch.compile traces (blocks, shifted-view stencils), run eagerly
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)


@pytest.mark.parametrize("case", CASES)
def test_blocks_and_bands_give_the_same_step(case, monkeypatch):
    layout, profiles, V, generator = _layout(**case)
    state = _random_state(layout, generator)
    adjoint = _random_state(layout, generator, extra=True)
    laplacian = torch.randn((2, *layout.interior_shape), generator=generator,
                            dtype=torch.float64)
    V_bar = torch.randn_like(laplacian)
    bands = (wave_step(layout, V, profiles, state, return_laplacian=True),
             adjoint_step(layout, V, profiles, adjoint, laplacian, V_bar))
    _compiled_form(monkeypatch)
    blocks = (wave_step(layout, V, profiles, state, return_laplacian=True),
              adjoint_step(layout, V, profiles, adjoint, laplacian, V_bar))
    flat_bands = [t for part in bands for t in (*part[0], part[1]) if t is not None]
    flat_blocks = [t for part in blocks for t in (*part[0], part[1]) if t is not None]
    assert len(flat_bands) == len(flat_blocks)
    for expected, actual in zip(flat_bands, flat_blocks):
        torch.testing.assert_close(actual, expected, rtol=1e-12, atol=1e-12 * float(
            expected.abs().max()))


@pytest.mark.parametrize("compiled_form", [False, True])
@pytest.mark.parametrize("case", CASES)
def test_adjoint_step_is_the_transpose_of_the_step(case, compiled_form, monkeypatch):
    """<step(x), y> = <x, adjoint(y)> for random states x and cotangents y, model term too."""
    layout, profiles, V, generator = _layout(**case)
    if compiled_form:
        _compiled_form(monkeypatch)
    pad = layout.pad
    state = [None if t is None else t.requires_grad_() for t in _random_state(layout, generator)]
    V = V.clone().requires_grad_()
    new_state, laplacian = wave_step(layout, V, profiles, state, return_laplacian=True)
    cotangent = _random_state(layout, generator)
    product = sum((new * bar).sum() for new, bar in zip(new_state, cotangent) if bar is not None)
    variables = [t for t in state if t is not None] + [V]
    reference = torch.autograd.grad(product, variables)
    # the adjoint state: the cotangent of u_prev is -lambda_next; q = V lambda
    lam = cotangent[0]
    q = torch.nn.functional.pad(V.detach() * lam[:, pad:-pad, pad:-pad], (pad,) * 4)
    adjoint = (lam, -cotangent[1], *cotangent[2:], q)
    V_bar = torch.zeros((2, *layout.interior_shape), dtype=torch.float64)
    before, V_bar = adjoint_step(layout, V.detach(), profiles, adjoint, laplacian.detach(), V_bar)
    ours = [before[0], -before[1], *before[2:-1]]
    ours = [t for t in ours if t is not None] + [V_bar.sum(0)]
    inner = (slice(None), slice(pad, -pad), slice(pad, -pad))
    for index, (expected, actual) in enumerate(zip(reference, ours)):
        if index < 2:  # the ring is not a variable (it is read, never written)
            expected, actual = expected[inner], actual[inner]
        assert float((actual - expected).norm()) <= 1e-12 * float(expected.norm()) + 1e-300

"""The sequential strategy's coupling step keeps models physical (issue 14).

Two models on one grid with the scales of the real pair: slowness [s/m]
(~4e-4, stiff closeness) and log10 resistivity (~2, soft closeness); their
layer boundaries sit at different depths, so the coupling wants to move them.
"""

import pytest
import torch

from jointinv import Grid
from jointinv.coupling import Coupling, NormalizedCrossGradient
from jointinv.strategies.sequential import closeness_scale, coupling_step

GRID = Grid(nx=16, nz=12, dx=2.5, dz=2.5)


def layered(top, above, below):
    depth = torch.as_tensor(GRID.cell_centers_z, dtype=torch.float64)[:, None]
    return torch.where(depth < top, above, below).double().expand(GRID.shape).clone()


@pytest.fixture
def models():
    slowness = layered(12.0, 1 / 2400, 1 / 1700)
    log_rho = layered(20.0, 2.0, 0.8)
    log_rho[:, 10:] += 0.4  # a lateral edge the slowness does not have
    return {"v": slowness, "r": log_rho}


def diagonal_hessian(curvature):
    """``v -> c v`` with ``c`` per cell: a physics' Gauss-Newton Hessian of the closeness."""
    return lambda v: curvature * v


def test_a_single_cell_spike_no_longer_lowers_the_frozen_coupling(models):
    term = NormalizedCrossGradient(("v", "r"), GRID)
    spiked = dict(models, v=models["v"].clone())
    spiked["v"][0, 0] *= 20.0  # one slow corner cell
    # the free floor follows the largest gradient: the spike pays off everywhere
    assert float(term(spiked)) < 0.5 * float(term(models))
    frozen = term.frozen(models)
    assert float(frozen(models)) == pytest.approx(float(term(models)), rel=1e-12)
    assert float(frozen(spiked)) >= float(frozen(models))


@pytest.mark.parametrize("weight", [0.01, 1.0, 10.0])
def test_coupling_step_moves_both_models_without_spikes(models, weight):
    # closeness as stiff as travel times make it for slowness, soft in a few
    # cells a physics barely sees (the corners, where the old step spiked)
    soft = torch.ones(GRID.shape, dtype=torch.float64)
    soft[0, 0] = soft[-1, -1] = 1e-3
    hessians = {"v": diagonal_hessian(1e9 * soft), "r": diagonal_hessian(30.0 * soft)}
    couplings = Coupling("cross_gradient", weight=weight).terms(models, GRID, n_data_total=300)
    out = coupling_step(models, hessians, couplings, iterations=20)
    velocity, start_velocity = 1 / out["v"], 1 / models["v"]
    assert torch.isfinite(velocity).all()
    # no cell leaves the range of the models it started from by more than 10 %
    assert float(velocity.max()) < 1.1 * float(start_velocity.max())
    assert float(velocity.min()) > 0.9 * float(start_velocity.min())
    assert float(out["r"].max()) < float(models["r"].max()) + 0.2
    term = couplings[0][2]
    assert float(term(out)) < float(term(models))
    if weight >= 1.0:  # both physics take part: the soft one moves too
        assert float((out["r"] - models["r"]).abs().max()) > 1e-3


def test_closeness_scale_is_one_over_root_mean_curvature(models):
    curvature = torch.full(GRID.shape, 4e8, dtype=torch.float64)
    assert closeness_scale(diagonal_hessian(curvature), models["v"]) == pytest.approx(5e-5)
    flat = closeness_scale(diagonal_hessian(torch.zeros(GRID.shape, dtype=torch.float64)),
                           models["r"])
    assert flat == pytest.approx(float(models["r"].abs().mean()))

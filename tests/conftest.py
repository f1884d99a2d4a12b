"""Shared fixtures: small seeded problems built in code (no downloads)."""

import numpy as np
import pytest
import torch

from jointinv import Grid, PhysicsOperator


class DenseLinearOperator(PhysicsOperator, property="density", units="kg/m^3"):
    """``d = G m`` with a seeded dense matrix (or a given one): a linear physics for tests."""

    def __init__(self, grid, n_data=None, seed=1, matrix=None):
        super().__init__(grid)
        if matrix is None:
            generator = torch.Generator().manual_seed(seed)
            matrix = torch.rand(n_data, grid.n_cells, generator=generator, dtype=torch.float64)
        self.register_buffer("matrix", matrix)

    @property
    def n_data(self):
        return self.matrix.shape[0]

    def _forward(self, model):
        return self.matrix.to(model) @ model.reshape(-1)


class NumpyLinearSimulation:
    """A user's numpy simulator with SimPEG's interface, counting field solves."""

    def __init__(self, n_data, n_model, seed=2):
        rng = np.random.default_rng(seed)
        self.G = rng.standard_normal((n_data, n_model))
        self.n_fields = 0

    def fields(self, m):
        self.n_fields += 1
        return {"Gm": self.G @ m}

    def dpred(self, m, f=None):
        f = self.fields(m) if f is None else f
        return np.tanh(f["Gm"])

    def Jvec(self, m, v, f=None):  # noqa: N802
        f = self.fields(m) if f is None else f
        return (1 - np.tanh(f["Gm"]) ** 2) * (self.G @ v)

    def Jtvec(self, m, u, f=None):  # noqa: N802
        f = self.fields(m) if f is None else f
        return self.G.T @ ((1 - np.tanh(f["Gm"]) ** 2) * u)


@pytest.fixture
def small_grid():
    return Grid(nx=12, nz=9, dx=2.0, dz=1.0, x0=-3.0, z0=0.5)


@pytest.fixture
def linear_operator(small_grid):
    return DenseLinearOperator(small_grid, n_data=150)


@pytest.fixture
def block_model(small_grid):
    model = torch.zeros(small_grid.shape, dtype=torch.float64)
    model[3:6, 4:9] = 1.0
    return model


@pytest.fixture
def velocity_scale_case():
    """A linear physics on velocity-sized values (about 2000): data, start at 2000."""
    grid = Grid(nx=6, nz=5, dx=1.0, dz=2.0)
    operator = DenseLinearOperator(grid, n_data=40, seed=5)
    true = torch.full(grid.shape, 2000.0, dtype=torch.float64)
    true[2:4, 1:5] = 2300.0
    data = operator.simulate(true, noise_floor=1.0, seed=1)
    return operator, data, torch.full_like(true, 2000.0)


@pytest.fixture(scope="module")
def acoustic_example():
    """The acoustic operator's example case with seeded data: (operator, data, true)."""
    from jointinv.physics.acoustic import AcousticWave2D

    operator, true = AcousticWave2D.example_case()
    data = operator.simulate(true, noise_floor=1e-3 * float(operator(true).abs().max()),
                             seed=0)
    return operator, data, true

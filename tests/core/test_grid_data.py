import re

import numpy as np
import pytest
import torch

from jointinv import Data, Grid


def test_grid_geometry():
    grid = Grid(nx=4, nz=3, dx=10.0, dz=5.0, x0=-20.0, z0=2.0)
    assert grid.shape == (3, 4)
    np.testing.assert_allclose(grid.cell_centers_x, [-15, -5, 5, 15])
    np.testing.assert_allclose(grid.cell_centers_z, [4.5, 9.5, 14.5])
    assert grid.extent == (-20.0, 20.0, 17.0, 2.0)
    centers = grid.cell_centers
    assert centers.shape == (12, 2)
    np.testing.assert_allclose(centers[1], [-5.0, 4.5])  # C order: x fastest within a row
    np.testing.assert_array_equal(grid.contains([[-20, 2], [20, 17], [20.1, 5], [0, 1.9]]),
                                  [True, True, False, False])


@pytest.mark.parametrize("name,value,message", [
    ("dx", 0.0, "dx must be a finite number > 0, got 0.0"),
    ("dz", -1.0, "dz must be a finite number > 0, got -1.0"),
    ("nx", 0, "nx must be an integer >= 1, got 0"),
])
def test_grid_rejects_bad_sizes(name, value, message):
    kwargs = dict(nx=4, nz=3, dx=1.0, dz=1.0)
    kwargs[name] = value
    with pytest.raises(ValueError, match=re.escape(message)):
        Grid(**kwargs)


def test_grid_is_keyword_only_and_typed():
    with pytest.raises(TypeError):
        Grid(4, 3, 1.0, 1.0)
    with pytest.raises(TypeError, match="nx must be an integer"):
        Grid(nx=4.5, nz=3, dx=1.0, dz=1.0)


def test_check_inside_names_argument():
    grid = Grid(nx=4, nz=3, dx=1.0, dz=1.0)
    with pytest.raises(ValueError, match=r"sources must lie inside the grid .* e\.g\. \(x=5\.0"):
        grid.check_inside("sources", [[1.0, 1.0], [5.0, 1.0]])
    with pytest.raises(ValueError, match=re.escape("receivers must have shape (n, 2)")):
        grid.check_inside("receivers", np.zeros((3, 3)))
    with pytest.raises(ValueError, match="receivers must hold at least one point"):
        grid.check_inside("receivers", np.zeros((0, 2)))


def test_data_uncertainty_and_seeded_noise():
    clean = torch.linspace(1.0, 2.0, 1000, dtype=torch.float64)
    a = Data.from_clean(clean, relative_error=0.05, noise_floor=0.01, seed=7)
    b = Data.from_clean(clean, relative_error=0.05, noise_floor=0.01, seed=7)
    c = Data.from_clean(clean, relative_error=0.05, noise_floor=0.01, seed=8)
    torch.testing.assert_close(a.standard_deviation, 0.05 * clean + 0.01)
    torch.testing.assert_close(a.observed, b.observed)
    assert not torch.equal(a.observed, c.observed)
    normalised = (a.observed - clean) / a.standard_deviation
    assert abs(float(normalised.std()) - 1.0) < 0.1
    assert abs(float(a.chi_squared(clean)) / a.n_data - 1.0) < 0.15


def test_data_rejects_zero_uncertainty_and_bad_shapes():
    with pytest.raises(ValueError, match="standard_deviation must be > 0"):
        Data(torch.zeros(3))
    with pytest.raises(ValueError, match="observed must be finite"):
        Data(torch.tensor([1.0, float("nan")]), noise_floor=1.0)
    data = Data(torch.ones(3), noise_floor=1.0)
    with pytest.raises(ValueError, match=re.escape("predicted must have the data shape (3,)")):
        data.chi_squared(torch.ones(4))

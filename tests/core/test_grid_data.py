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
    ("dx", 0.0, "dx must be a finite number in [1e-06, 1e+06] m, got 0.0"),
    ("dz", -1.0, "dz must be a finite number in [1e-06, 1e+06] m, got -1.0"),
    ("dx", 5e-324, "dx must be a finite number in [1e-06, 1e+06] m, got 5e-324"),
    ("dz", float("inf"), "dz must be a finite number in [1e-06, 1e+06] m, got inf"),
    ("x0", float("nan"), "x0 must be a finite number in [-1e+09, 1e+09] m, got nan"),
    ("z0", -1e12, "z0 must be a finite number in [-1e+09, 1e+09] m, got -1000000000000.0"),
    ("nx", 10**10, "nx * nz must be at most 1e+09 cells (one float64 model is then 8 GB), "
                   "got nx * nz = 10000000000 * 3 = 3e+10"),
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


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(observed=np.ones(3), standard_deviation=np.inf), ValueError,
     "standard_deviation must be finite everywhere, got 1 NaN or inf value(s)"),
    (dict(observed=np.ones(3), standard_deviation=float("nan")), ValueError,
     "standard_deviation must be finite everywhere, got 1 NaN or inf value(s)"),
    (dict(observed=np.ones(3), standard_deviation=-1.0), ValueError,
     "standard_deviation must be > 0 for every datum (at least 2.23e-308, the smallest "
     "normal torch.float64 number), got minimum -1"),
    (dict(observed=np.ones(3, dtype=np.float32), standard_deviation=1e-300), ValueError,
     "standard_deviation must be > 0 for every datum (at least 1.18e-38"),
    (dict(observed=np.ones(0), noise_floor=1.0), ValueError,
     "observed must hold at least one value, got an empty array of shape (0,)"),
    (dict(observed=np.ones(3), noise_floor=1.0, clean=[1.0, np.nan, 2.0]), ValueError,
     "clean must be finite everywhere, got 1 NaN or inf value(s)"),
    (dict(observed=np.ones(3), noise_floor=1.0, clean=np.ones(4)), ValueError,
     "clean must have the shape of observed (3,), got (4,)"),
    (dict(observed=np.ones(3), relative_error=1e308, noise_floor=1e308), ValueError,
     "standard_deviation = relative_error * |data| + noise_floor overflows"),
    (dict(observed="1 2 3", noise_floor=1.0), TypeError,
     "observed must be a torch.Tensor or a NumPy array, got str"),
    (dict(observed=[[1.0, 2.0], [3.0]], noise_floor=1.0), TypeError,
     "observed must be a rectangular array of numbers, got a ragged list"),
])
def test_data_rejects_bad_values(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        Data(**kwargs)


def test_data_converts_numpy_arrays():
    data = Data(np.arange(1, 4), standard_deviation=np.full(3, 0.5), clean=[1.0, 2.0, 3.0])
    assert data.observed.dtype == torch.float64 and data.observed.device.type == "cpu"
    assert data.clean.dtype == torch.float64
    torch.testing.assert_close(data.standard_deviation, torch.full((3,), 0.5, dtype=torch.float64))
    single = Data(np.ones(2, dtype=np.float32), standard_deviation=0.1)
    assert single.observed.dtype == single.standard_deviation.dtype == torch.float32
    with pytest.raises(TypeError, match=re.escape("predicted must be a torch.Tensor, got list")):
        data.chi_squared([1.0, 2.0, 3.0])


def test_grid_arguments_refuse_other_types():
    from jointinv.grid_operators import face_gradients
    from jointinv.regularization import Smallness

    message = "grid must be a jointinv.Grid, got str"
    with pytest.raises(TypeError, match=re.escape(message)):
        face_gradients(torch.ones(4, 5), "5x4")
    with pytest.raises(TypeError, match=re.escape(message)):
        Smallness("m", "5x4")


def test_a_single_point_is_not_reshaped_silently():
    from jointinv.validation import check_points

    with pytest.raises(ValueError, match=re.escape("got (2,); for one point pass [[x, z]]")):
        check_points("sources", [10.0, 5.0])
    assert check_points("sources", [[10.0, 5.0]]).shape == (1, 2)

"""Tests for jointinv.plotting: valid image files of non-trivial content, clear errors."""

import re
import warnings

import matplotlib
import matplotlib.image
import numpy as np
import pytest
import torch

from jointinv import Grid
from jointinv.plotting import (
    convergence_figure,
    model_grid_figure,
    models_figure,
    plot_convergence,
    plot_model_grid,
    plot_models,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def grid():
    return Grid(nx=16, nz=8, dx=10.0, dz=5.0, x0=-20.0)


@pytest.fixture
def models(grid):
    depth = np.broadcast_to(grid.cell_centers_z[:, None], grid.shape)
    true = 1500.0 + 20.0 * depth
    true[3:6, 5:10] += 500.0
    initial = 1500.0 + 20.0 * depth
    recovered = torch.tensor(true + 30.0 * np.random.default_rng(0).standard_normal(grid.shape))
    return {"true": true, "initial": initial, "recovered": recovered}


def assert_valid_png(path, min_bytes=5_000):
    """A real PNG with a drawing in it: signature, size, several distinct colours."""
    with open(path, "rb") as file:
        assert file.read(8) == PNG_SIGNATURE
    assert path.stat().st_size > min_bytes
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[0] > 200 and pixels.shape[1] > 200
    rgb = np.round(pixels[..., :3] * 255).reshape(-1, 3) @ np.array([1.0, 256.0, 65536.0])
    assert len(np.unique(rgb)) > 50


def test_plot_models_writes_png_without_pyplot_figures(tmp_path, grid, models):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    path = plot_models(models, grid, tmp_path / "sub" / "models.png", title="block",
                       units="m/s", property_name="velocity")
    assert path == tmp_path / "sub" / "models.png"
    assert_valid_png(path)
    assert plt.get_fignums() == before


def test_plot_models_accepts_pairs_and_other_formats(tmp_path, grid, models):
    path = plot_models(list(models.items())[:2], grid, str(tmp_path / "models.pdf"))
    assert path.read_bytes().startswith(b"%PDF")


def lowest_colour_mask(path, cmap="viridis"):
    """Pixels drawn in the colour map's lowest colour."""
    lowest = np.round(np.array(matplotlib.colormaps[cmap](0.0)[:3]) * 255)
    pixels = np.round(matplotlib.image.imread(path)[..., :3] * 255)
    return np.all(np.abs(pixels - lowest) <= 1, axis=-1)


def test_shared_colour_scale_spans_all_panels(tmp_path, grid):
    # Nearly constant panels 0 and 10: on a shared scale only the first is drawn in the
    # lowest colour; on separate scales both are, so about twice as many such pixels.
    low = np.zeros(grid.shape)
    low[0, 0] = 1.0
    panels = {"low": low, "high": low + 10.0}
    shared = plot_models(panels, grid, tmp_path / "shared.png")
    separate = plot_models(panels, grid, tmp_path / "separate.png", shared_colour_scale=False)
    assert_valid_png(shared, min_bytes=3_000)
    assert lowest_colour_mask(separate).sum() > 1.5 * lowest_colour_mask(shared).sum()


def test_models_figure_axes_in_metres_depth_down_and_colour_limits(grid, models):
    figure = models_figure(models, grid, units="m/s", property_name="velocity")
    panels = [axes for axes in figure.axes if axes.images]
    assert [axes.get_title() for axes in panels] == ["true", "initial", "recovered"]
    low = min(float(np.min(np.asarray(model))) for model in models.values())
    high = max(float(np.max(np.asarray(model))) for model in models.values())
    for axes in panels:
        assert axes.get_xlim() == pytest.approx((-20.0, 140.0))
        assert axes.get_ylim() == pytest.approx((40.0, 0.0))  # depth increases downwards
        assert axes.get_xlabel() == "x [m]" and axes.get_ylabel() == "depth z [m]"
        assert axes.images[0].get_clim() == pytest.approx((low, high))
    colour_bars = [axes for axes in figure.axes if not axes.images]
    assert [axes.get_ylabel() for axes in colour_bars] == ["velocity [m/s]"]
    separate = models_figure(models, grid, units="m/s", shared_colour_scale=False)
    initial_axes = [axes for axes in separate.axes if axes.images][1]
    assert initial_axes.images[0].get_clim() == pytest.approx(
        (models["initial"].min(), models["initial"].max()))


def test_first_row_is_drawn_at_the_top_and_first_column_at_the_left(grid):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    model = np.zeros(grid.shape)
    model[0, :] = 2.0  # shallowest row
    model[:, 0] = 1.0  # leftmost column (below the first row)
    figure = models_figure({"m": model}, grid)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[..., :3].astype(float)
    axes = figure.axes[0]

    def colour_at(x, z):
        column, row_from_bottom = axes.transData.transform((x, z))
        return pixels[int(round(pixels.shape[0] - row_from_bottom)), int(round(column))]

    viridis = matplotlib.colormaps["viridis"]
    for (x, z), value in [((60.0, 2.5), 2.0), ((-15.0, 22.5), 1.0), ((60.0, 37.5), 0.0)]:
        expected = np.array(viridis(value / 2.0)[:3]) * 255
        np.testing.assert_allclose(colour_at(x, z), expected, atol=2)


def test_convergence_figure_draws_every_numeric_key_on_log_axes():
    history = [{"iteration": 2 * i, "phi_d": 100.0 / (i + 1), "phi_m": 0.0 if i == 0 else 1.0 * i,
                "phi_d[dcr]": 50.0 / (i + 1), "beta": 8.0 / 2**i, "time": 0.5 * i,
                "strategy": "independent"} for i in range(4)]
    drawn = [axes for axes in convergence_figure(history).axes if axes.lines]
    assert [axes.get_title() for axes in drawn] == [
        "data misfit", "data misfit: dcr", "regularization", "trade-off parameter"]
    assert all(axes.get_yscale() == "log" for axes in drawn)
    assert [line.get_label() for axes in drawn for line in axes.lines] == [
        "phi_d", "phi_d[dcr]", "phi_m", "beta"]
    np.testing.assert_array_equal(drawn[0].lines[0].get_xdata(), [0, 2, 4, 6])
    np.testing.assert_array_equal(drawn[3].lines[0].get_ydata(), [8.0, 4.0, 2.0, 1.0])


def test_convergence_figure_one_axis_per_term_with_targets_and_readable_names():
    history = [{"iteration": i, "phi": 300.0 / (i + 1), "phi_d[traveltime]": 200.0 / (i + 1),
                "phi_d[dcr]": 90.0 / (i + 1), "phi_m[traveltime]": 1e-7 * (i + 1),
                "phi_m[dcr]": 3.0 * (i + 1), "coupling[CrossGradient0]": 0.5 / (i + 1),
                "beta[traveltime]": 1e9, "beta[dcr]": 2.0, "time": 0.1} for i in range(5)]
    figure = convergence_figure(history, targets={"traveltime": 40.0, "dcr": 26.0})
    drawn = {axes.get_title(): axes for axes in figure.axes if axes.lines}
    assert sorted(drawn) == sorted([
        "data misfit: traveltime", "data misfit: dcr", "regularization: traveltime",
        "regularization: dcr", "coupling: cross gradient #0", "trade-off parameter: traveltime",
        "trade-off parameter: dcr", "total objective"])
    misfit = drawn["data misfit: traveltime"]
    assert misfit.get_ylabel() == "chi-squared misfit"
    target = [line for line in misfit.lines if line.get_label().startswith("target")]
    assert len(target) == 1 and target[0].get_ydata()[0] == 40.0
    assert drawn["data misfit: dcr"].lines[-1].get_ydata()[0] == 26.0
    # slowness-sized regularization values never share an axis with the misfits
    assert len(drawn["regularization: traveltime"].lines) == 1
    assert drawn["coupling: cross gradient #0"].get_ylabel() == "coupling value"
    with pytest.raises(ValueError, match=re.escape(
            "targets['dcr'] must be a finite number > 0 (chi_factor * n_data), got -1.0")):
        convergence_figure(history, targets={"dcr": -1.0})


def test_model_grid_colour_bars_name_the_property_not_the_data_set(grid, models):
    table = {"true": {"traveltime": models["true"], "dcr": models["true"] / 1000.0}}
    figure = model_grid_figure(["true"], ["traveltime", "dcr"], table, grid,
                               units=["m/s", "log10 ohm m"],
                               properties=["velocity", "log10 resistivity"])
    labels = [axes.get_xlabel() for axes in figure.axes if not axes.images and
              axes.get_label() == "<colorbar>"]
    assert labels == ["velocity [m/s]", "log10 resistivity [log10 ohm m]"]
    titles = [axes.get_title() for axes in figure.axes if axes.images]
    assert titles == ["true: traveltime", "true: dcr"]


def test_model_grid_figure_titles_and_column_scales(grid, models):
    table = [[models["true"], models["true"] / 1000.0], [models["initial"], None]]
    figure = model_grid_figure(["true", "initial"], ["velocity", "velocity [km/s]"], table, grid)
    drawn = [axes for axes in figure.axes if axes.images]
    assert [axes.get_title() for axes in drawn] == [
        "true: velocity", "true: velocity [km/s]", "initial: velocity"]
    first_column = (min(models["true"].min(), models["initial"].min()),
                    max(models["true"].max(), models["initial"].max()))
    assert drawn[0].images[0].get_clim() == pytest.approx(first_column)
    assert drawn[2].images[0].get_clim() == pytest.approx(first_column)
    assert drawn[1].images[0].get_clim() == pytest.approx(
        (models["true"].min() / 1000.0, models["true"].max() / 1000.0))


def test_plot_convergence_writes_png(tmp_path):
    history = [
        {"iteration": i, "phi_d": 1e3 * 0.7**i, "phi_m": float(i), "beta": 10.0 * 0.5**(i // 2),
         "phi_d[traveltime]": torch.tensor(500.0 * 0.7**i), "time": 0.1 * i, "solver": "adam"}
        for i in range(10)
    ]
    history[4].pop("phi_m")  # a term missing at one iteration is left out, not an error
    assert_valid_png(plot_convergence(history, tmp_path / "convergence.png", title="run"))


def test_plot_convergence_without_iteration_or_beta(tmp_path):
    history = [{"phi_d": 10.0 / (i + 1)} for i in range(5)]
    assert_valid_png(plot_convergence(history, tmp_path / "convergence.png"), min_bytes=3_000)


def test_convergence_figure_keeps_a_zero_series_linear():
    # data-only annealing (NFs-Inv's tomography) leaves beta at 0: a log axis would
    # hide the panel and warn
    history = [{"iteration": i, "phi_d": 10.0 / (i + 1), "beta": 0.0} for i in range(5)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figure = convergence_figure(history)
    scales = {axes.get_title(): axes.get_yscale() for axes in figure.axes}
    assert sorted(scales.values()) == ["linear", "log"], scales


def test_plot_model_grid_writes_png(tmp_path, grid, models):
    log_resistivity = 2.0 + (models["true"] > 1800.0)
    table = {
        "true": {"velocity": models["true"], "log10 resistivity": log_resistivity},
        "independent": {"velocity": models["recovered"], "log10 resistivity": None},
    }
    path = plot_model_grid(["true", "independent"], ["velocity", "log10 resistivity"], table,
                           grid, tmp_path / "grid.png", units=["m/s", "log10 ohm m"])
    assert_valid_png(path)
    nested = [[models["true"], log_resistivity], [models["recovered"], log_resistivity]]
    assert_valid_png(plot_model_grid(["a", "b"], ["v", "r"], nested, grid,
                                     tmp_path / "nested.png"))


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"grid": (8, 16)}, TypeError, "grid must be a jointinv.Grid, got tuple"),
        ({"path": "models.txt"}, ValueError, "path must end with an image suffix, one of ["),
        ({"path": 3}, TypeError, "path must be a str or pathlib.Path, got int"),
        ({"panels": {}}, ValueError, "panels must hold at least one model, got none"),
        ({"panels": np.zeros((8, 16))}, TypeError, "panels must be a mapping {title: model}"),
        ({"panels": {"bad": np.zeros((16, 8))}}, ValueError,
         "panels['bad'] must have the grid shape (nz, nx) = (8, 16), got (16, 8)"),
        ({"panels": {"nan": np.full((8, 16), np.nan)}}, ValueError,
         "panels['nan'] must be finite everywhere, got NaN or inf"),
    ],
)
def test_plot_models_bad_input_raises(tmp_path, grid, models, kwargs, error, message):
    arguments = {"panels": models, "grid": grid, "path": tmp_path / "models.png", **kwargs}
    with pytest.raises(error, match=re.escape(message)):
        plot_models(**arguments)
    assert not (tmp_path / "models.png").exists()


@pytest.mark.parametrize(
    "history, error, message",
    [
        ([], ValueError, "history must hold at least one iteration, got an empty list"),
        ({"phi_d": [1.0]}, TypeError, "history must be a list of dicts, got dict"),
        ([{"phi_d": 1.0}, 2.0], TypeError, "history[1] must be a dict, got float"),
        ([{"iteration": 0, "time": 1.0, "note": "x"}], ValueError,
         "history must hold at least one numeric key besides 'iteration' and 'time', "
         "got keys ['iteration', 'note', 'time']"),
    ],
)
def test_plot_convergence_bad_input_raises(tmp_path, history, error, message):
    with pytest.raises(error, match=re.escape(message)):
        plot_convergence(history, tmp_path / "convergence.png")


def test_plot_model_grid_colour_scale_is_shared_within_each_column(tmp_path, grid):
    # Column "v" holds panels near 0 and near 10, column "r" two panels near 10: only the
    # bottom-left panel (10 on the 0..11 scale of its column) avoids the lowest colour.
    low = np.zeros(grid.shape)
    low[0, 0] = 1.0
    path = plot_model_grid(["a", "b"], ["v", "r"], [[low, low + 10.0], [low + 10.0, low + 10.0]],
                           grid, tmp_path / "grid.png")
    is_lowest = lowest_colour_mask(path)
    half_z, half_x = is_lowest.shape[0] // 2, is_lowest.shape[1] // 2
    top_left = is_lowest[:half_z, :half_x].sum()
    assert top_left > 1000
    assert is_lowest[:half_z, half_x:].sum() > 0.5 * top_left
    assert is_lowest[half_z:, half_x:].sum() > 0.5 * top_left
    assert is_lowest[half_z:, :half_x].sum() < 0.1 * top_left


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"rows": "true"}, TypeError, "rows must be a sequence of strings, got str"),
        ({"columns": []}, ValueError, "columns must hold at least one name, got none"),
        ({"units": ["m/s"]}, ValueError, "units must have one entry per column (2), got 1"),
        ({"models": {"true": {"v": None, "r": None}}}, ValueError,
         "models must have an entry for row 'b', got keys ['true']"),
        ({"models": {"true": {"v": None}, "b": {}}}, ValueError,
         "models['true'] must have an entry for column 'r' (None for an empty panel), "
         "got keys ['v']"),
        ({"models": [[None, None]]}, ValueError, "models must have one entry per row (2), got 1"),
        ({"models": [[None, None], [None]]}, ValueError,
         "models[1] must have one entry per column (2), got 1"),
        ({"models": [[None, None], [None, None]]}, ValueError,
         "models must hold at least one model, got only None"),
        ({"models": [[np.zeros((8, 16)), np.zeros((3, 3))], [None, None]]}, ValueError,
         "models['true']['r'] must have the grid shape (nz, nx) = (8, 16), got (3, 3)"),
    ],
)
def test_plot_model_grid_bad_input_raises(tmp_path, grid, kwargs, error, message):
    arguments = {"rows": ["true", "b"], "columns": ["v", "r"],
                 "models": [[np.zeros((8, 16)), None], [None, np.ones((8, 16))]],
                 "grid": grid, "path": tmp_path / "grid.png", **kwargs}
    with pytest.raises(error, match=re.escape(message)):
        plot_model_grid(**arguments)


# -- observed versus predicted, per physics (duck-typed on the operator) ----------------
def _fit_case(name):
    from jointinv import load_physics

    operator, model = load_physics(name).example_case()
    data = operator.simulate(model, relative_error=0.05, noise_floor=1e-6, seed=1)
    with torch.no_grad():
        predicted = operator(model * 1.02)
    return operator, data, predicted


def _colour_bar_labels(figure):
    return [axes.get_xlabel() or axes.get_ylabel() for axes in figure.axes
            if axes.get_label() == "<colorbar>"]


def test_dc_data_fit_is_a_pseudosection_with_normalised_residuals(tmp_path):
    from jointinv.plotting import data_fit_figure, plot_data_fit

    operator, data, predicted = _fit_case("dcr")
    figure = data_fit_figure(operator, data, predicted)
    panels = [axes for axes in figure.axes if axes.get_label() != "<colorbar>"]
    assert [axes.get_title() for axes in panels] == ["observed", "predicted",
                                                     "normalised residual"]
    assert panels[0].get_ylabel() == "pseudo-depth [m]" and panels[0].yaxis_inverted()
    assert all(axes.get_xlabel() == "x [m]" for axes in panels)
    assert _colour_bar_labels(figure) == [
        "apparent resistivity [ohm m]", "apparent resistivity [ohm m]",
        "normalised residual (predicted - observed) / sigma"]
    assert len(panels[0].collections[0].get_offsets()) == operator.n_data
    expected = (predicted.numpy() - data.observed.numpy()) / data.standard_deviation.numpy()
    np.testing.assert_allclose(panels[2].collections[0].get_array(), expected)
    assert_valid_png(plot_data_fit(operator, data, predicted, tmp_path / "dc.png"), 3_000)


def test_traveltime_data_fit_shows_rays_and_residual_by_source_and_receiver_depth():
    from jointinv.plotting import data_fit_figure

    operator, data, predicted = _fit_case("traveltime")
    fit, residual = [axes for axes in data_fit_figure(operator, data, predicted).axes
                     if axes.get_label() != "<colorbar>"]
    assert fit.get_xlabel() == "ray index" and fit.get_ylabel() == "travel time [s]"
    assert [line.get_label() for line in fit.lines] == ["observed", "predicted"]
    assert (residual.get_xlabel(), residual.get_ylabel()) == ("source depth z [m]",
                                                              "receiver depth z [m]")
    assert len(residual.collections[0].get_offsets()) == operator.n_data


def test_waveform_data_fit_draws_shot_gathers():
    from jointinv.plotting import data_fit_figure

    operator, data, predicted = _fit_case("acoustic")
    figure = data_fit_figure(operator, data, predicted, shot=1)
    panels = [axes for axes in figure.axes if axes.get_label() != "<colorbar>"]
    assert [axes.get_title() for axes in panels] == [
        "shot 1: observed", "shot 1: predicted", "shot 1: residual (predicted - observed)"]
    assert panels[0].get_ylabel() == "time [s]" and panels[0].get_xlabel() == "receiver index"
    assert panels[0].images[0].get_array().shape == (operator.nt, operator.n_receivers)
    with pytest.raises(ValueError, match=re.escape("shot must be an integer in [0, 1], got 2")):
        data_fit_figure(operator, data, predicted, shot=2)


def test_data_fit_errors_and_generic_fallback():
    from jointinv.plotting import data_fit_figure

    class Operator(torch.nn.Module):
        pass

    figure = data_fit_figure(Operator(), np.arange(1.0, 5.0), np.arange(1.0, 5.0) + 0.1)
    assert [axes.get_xlabel() for axes in figure.axes] == ["datum index", "datum index"]
    with pytest.raises(ValueError, match=re.escape("predicted must have the shape of the data "
                                                   "(4,), got (3,)")):
        data_fit_figure(Operator(), np.ones(4), np.ones(3))
    with pytest.raises(TypeError, match=re.escape("operator must be a jointinv.PhysicsOperator, "
                                                  "got str")):
        data_fit_figure("dcr", np.ones(4), np.ones(4))

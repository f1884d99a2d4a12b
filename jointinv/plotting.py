"""Figures of models, convergence histories and data fits.

``plot_*`` functions write a figure to a file and return its path; the
``*_figure`` functions build the same figure and return it (for notebooks or
further editing). Figures are built with :class:`matplotlib.figure.Figure`
rather than ``pyplot``: no window is opened, no global figure state is kept,
and the code runs on headless machines whatever the configured backend.

Models are ``(nz, nx)`` arrays on a :class:`~jointinv.grid.Grid`; they are
drawn with x [m] to the right and depth z [m] downwards, using
``grid.extent``. Observed-versus-predicted figures per physics
(:func:`plot_data_fit`) live in :mod:`jointinv.plotting_data`.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.figure import Figure

from .grid import Grid
from .plotting_data import data_fit_figure, plot_data_fit

__all__ = [
    "plot_models",
    "plot_convergence",
    "plot_model_grid",
    "models_figure",
    "convergence_figure",
    "model_grid_figure",
    "plot_data_fit",
    "data_fit_figure",
]

_PANEL_WIDTH = 4.0  # inches per model panel at the grid's aspect ratio limits
# solver diagnostics are not objective terms
_SKIPPED_HISTORY_KEYS = ("iteration", "time", "step", "cg_iterations")


def _check_grid(grid) -> Grid:
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a jointinv.Grid, got {type(grid).__name__}")
    return grid


def _check_path(path) -> Path:
    """Output file path; its suffix picks the format, parents are created."""
    if not isinstance(path, (str, Path)):
        raise TypeError(f"path must be a str or pathlib.Path, got {type(path).__name__}")
    path = Path(path)
    supported = FigureCanvasBase.get_supported_filetypes()
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in supported:
        raise ValueError(
            f"path must end with an image suffix, one of {sorted(supported)}, got {str(path)!r}"
        )
    return path


def _model_array(name: str, model, grid: Grid) -> np.ndarray:
    """A model as a float64 numpy array of shape ``grid.shape`` with finite values."""
    if isinstance(model, torch.Tensor):
        model = model.detach().cpu().numpy()
    try:
        array = np.asarray(model, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a tensor or array of numbers") from error
    if array.shape != grid.shape:
        raise ValueError(f"{name} must have the grid shape (nz, nx) = {grid.shape}, "
                         f"got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite everywhere, got NaN or inf")
    return array


def _colour_label(property_name: str, units: str) -> str:
    if units:
        return f"{property_name} [{units}]".strip()
    return property_name


def _draw_model(axes, array: np.ndarray, grid: Grid, vmin: float, vmax: float, cmap: str):
    image = axes.imshow(array, extent=grid.extent, origin="upper", vmin=vmin, vmax=vmax,
                        cmap=cmap, interpolation="nearest", aspect="equal")
    axes.set_xlabel("x [m]")
    axes.set_ylabel("depth z [m]")
    return image


def _save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return path


def _panel_size(grid: Grid) -> tuple[float, float]:
    """Width and height [inch] of one model panel with its colour bar."""
    aspect = (grid.z_max - grid.z0) / (grid.x_max - grid.x0)
    height = float(np.clip(_PANEL_WIDTH * aspect, 1.5, 2 * _PANEL_WIDTH)) + 0.9
    return _PANEL_WIDTH + 0.8, height


def models_figure(panels, grid: Grid, title: str | None = None, units: str = "",
                  property_name: str = "", shared_colour_scale: bool = True,
                  cmap: str = "viridis") -> Figure:
    """Figure of models side by side (e.g. true, initial, recovered).

    Parameters
    ----------
    panels : mapping of str to model, or sequence of (str, model) pairs
        Panel titles and models (torch tensors or arrays of shape ``grid.shape``).
    grid : jointinv.Grid
        The grid of the models; sets the axes in metres.
    title : str, optional
        Figure title.
    units, property_name : str
        Colour-bar label, e.g. ``property_name="velocity", units="m/s"``.
    shared_colour_scale : bool, default True
        One colour scale (min to max over all panels) and one colour bar;
        otherwise each panel has its own scale and colour bar.
    cmap : str, default "viridis"
        Matplotlib colour map.

    Returns
    -------
    matplotlib.figure.Figure
        Not attached to ``pyplot``; save it with ``figure.savefig``.
    """
    grid = _check_grid(grid)
    if isinstance(panels, Mapping):
        items = list(panels.items())
    elif isinstance(panels, Sequence) and all(
        isinstance(item, Sequence) and len(item) == 2 for item in panels
    ):
        items = list(panels)
    else:
        raise TypeError("panels must be a mapping {title: model} or a sequence of "
                        f"(title, model) pairs, got {type(panels).__name__}")
    if not items:
        raise ValueError("panels must hold at least one model, got none")
    arrays = [_model_array(f"panels[{label!r}]", model, grid) for label, model in items]
    label = _colour_label(property_name, units)

    width, height = _panel_size(grid)
    figure = Figure(figsize=(width * len(items), height + (0.4 if title else 0)),
                    layout="constrained")
    axes_list = figure.subplots(1, len(items), squeeze=False)[0]
    low = min(float(array.min()) for array in arrays)
    high = max(float(array.max()) for array in arrays)
    for axes, (panel_title, _), array in zip(axes_list, items, arrays, strict=True):
        vmin, vmax = (low, high) if shared_colour_scale else (array.min(), array.max())
        image = _draw_model(axes, array, grid, vmin, vmax, cmap)
        axes.set_title(str(panel_title))
        if not shared_colour_scale:
            figure.colorbar(image, ax=axes, label=label, shrink=0.9)
    if shared_colour_scale:
        figure.colorbar(image, ax=list(axes_list), label=label, shrink=0.9)
    if title:
        figure.suptitle(title)
    return figure


def plot_models(panels, grid: Grid, path, title: str | None = None, units: str = "",
                property_name: str = "", shared_colour_scale: bool = True,
                cmap: str = "viridis") -> Path:
    """Save :func:`models_figure` of ``panels`` to ``path``; return the path.

    ``path`` (str or pathlib.Path) is the output file: its suffix (``.png``,
    ``.pdf``, ...) sets the format and missing parent directories are created.
    The other parameters are those of :func:`models_figure`.
    """
    path = _check_path(path)
    figure = models_figure(panels, grid, title=title, units=units, property_name=property_name,
                           shared_colour_scale=shared_colour_scale, cmap=cmap)
    return _save(figure, path)


def _is_number(value) -> bool:
    if isinstance(value, torch.Tensor):
        return value.numel() == 1 and not value.dtype.is_complex and value.dtype != torch.bool
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _history_series(history) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Iteration numbers and one float array per numeric key (NaN where missing)."""
    if isinstance(history, (str, bytes, Mapping)) or not isinstance(history, Sequence):
        raise TypeError(f"history must be a list of dicts, got {type(history).__name__}")
    if not history:
        raise ValueError("history must hold at least one iteration, got an empty list")
    for index, entry in enumerate(history):
        if not isinstance(entry, Mapping):
            raise TypeError(f"history[{index}] must be a dict, got {type(entry).__name__}")
    keys = []
    for entry in history:
        keys += [key for key, value in entry.items()
                 if key not in keys and key not in _SKIPPED_HISTORY_KEYS and _is_number(value)]
    if not keys:
        raise ValueError(
            "history must hold at least one numeric key besides 'iteration' and 'time', got "
            f"keys {sorted({str(key) for entry in history for key in entry})}"
        )
    series = {
        key: np.array([float(entry[key]) if _is_number(entry.get(key)) else np.nan
                       for entry in history])
        for key in keys
    }
    if all(_is_number(entry.get("iteration")) for entry in history):
        iterations = np.array([float(entry["iteration"]) for entry in history])
    else:
        iterations = np.arange(len(history), dtype=np.float64)
    return iterations, series


_TERM_KINDS = (  # history key prefix -> (panel title prefix, y label)
    ("phi_d", "data misfit", "chi-squared misfit"),
    ("phi_m", "regularization", "regularization value"),
    ("coupling", "coupling", "coupling value"),
    ("beta", "trade-off parameter", "beta"),
    ("phi", "total objective", "objective value"),
)


def _readable(key: str) -> tuple[str, str, str]:
    """``(kind, panel title, y label)`` of a history key such as ``"phi_d[dcr]"``."""
    name, _, inner = str(key).partition("[")
    inner = inner.rstrip("]")
    for prefix, title, label in _TERM_KINDS:
        if name == prefix:
            if prefix == "coupling" and inner:
                # "CrossGradient0" -> "cross gradient #0"
                words = re.sub(r"(?<!^)(?=[A-Z])", " ", inner.rstrip("0123456789")).lower()
                number = inner[len(inner.rstrip("0123456789")):]
                inner = f"{words} #{number}" if number else words
            return prefix, f"{title}: {inner}" if inner else title, label
    return "other", str(key), "value"


def convergence_figure(history, title: str | None = None, targets=None) -> Figure:
    """Figure of every objective term against iteration, each on its own axes.

    Terms of different kinds have different units (a chi-squared misfit is
    dimensionless, a regularization is in the model's units squared), so
    each history key gets its own panel with a readable title: data misfits
    (``phi_d[key]``) with their target line, regularizations
    (``phi_m[key]``), couplings (``coupling[CrossGradient0]`` -> "coupling:
    cross gradient #0"), trade-off parameters (``beta[key]``) and the total
    (``phi``); all on logarithmic y axes (values <= 0 or missing are left
    out).

    Parameters
    ----------
    history : list of dict
        One dict per iteration, e.g. ``{"iteration": 3, "phi": 40.0,
        "phi_d[traveltime]": 12.0, "phi_m[traveltime]": 0.5,
        "beta[traveltime]": 10.0, "time": 1.2}``. Every numeric key except
        ``"iteration"``, ``"time"``, ``"step"`` and ``"cg_iterations"`` is
        drawn. The x axis is ``"iteration"`` when every entry has it,
        otherwise the list index.
    title : str, optional
        Figure title.
    targets : dict of str to float, optional
        Target misfit per data set, ``{key: chi_factor * n_data}`` (e.g.
        ``problem.targets()``): drawn as a dashed line on the panel of
        ``phi_d[key]`` (or of ``phi_d`` for the key ``"phi_d"``).

    Returns
    -------
    matplotlib.figure.Figure
        Not attached to ``pyplot``; save it with ``figure.savefig``.
    """
    iterations, series = _history_series(history)
    targets = _check_targets(targets)
    order = [prefix for prefix, _, _ in _TERM_KINDS] + ["other"]
    keys = sorted(series, key=lambda key: order.index(_readable(key)[0]))
    columns = min(3, len(keys))
    rows = -(-len(keys) // columns)
    figure = Figure(figsize=(4.2 * columns, 3.2 * rows + (0.4 if title else 0)),
                    layout="constrained")
    axes_table = figure.subplots(rows, columns, squeeze=False)
    for index, key in enumerate(keys):
        axes = axes_table.flat[index]
        kind, panel_title, label = _readable(key)
        values = series[key]
        axes.plot(iterations, values, marker="." if len(values) < 50 else None, label=str(key))
        inner = str(key).partition("[")[2].rstrip("]") or str(key)
        if kind == "phi_d" and inner in targets:
            axes.axhline(targets[inner], color="black", linestyle="--", linewidth=1.0,
                         label=f"target {targets[inner]:.4g}")
            axes.legend(fontsize="small")
        if any(value > 0 for value in values):  # e.g. beta stays 0 under data-only annealing
            axes.set_yscale("log", nonpositive="mask")
        axes.set_title(panel_title)
        axes.set_xlabel("iteration")
        axes.set_ylabel(label)
        axes.grid(True, alpha=0.3)
    for axes in list(axes_table.flat)[len(keys):]:
        axes.set_axis_off()
    if title:
        figure.suptitle(title)
    return figure


def _check_targets(targets) -> dict:
    if targets is None:
        return {}
    if not isinstance(targets, Mapping):
        raise TypeError(f"targets must be a dict {{data key: target misfit}}, "
                        f"got {type(targets).__name__}")
    checked = {}
    for key, value in targets.items():
        if not _is_number(value) or not np.isfinite(float(value)) or float(value) <= 0:
            raise ValueError(f"targets[{key!r}] must be a finite number > 0 (chi_factor * "
                             f"n_data), got {value!r}")
        checked[str(key)] = float(value)
    return checked


def plot_convergence(history, path, title: str | None = None, targets=None) -> Path:
    """Save :func:`convergence_figure` of ``history`` to ``path``; return the path.

    ``path`` (str or pathlib.Path) is the output file: its suffix sets the
    format and missing parent directories are created; ``targets`` is that
    of :func:`convergence_figure`.
    """
    path = _check_path(path)
    return _save(convergence_figure(history, title, targets=targets), path)


def model_grid_figure(rows, columns, models, grid: Grid, units=None, title: str | None = None,
                      cmap: str = "viridis", properties=None) -> Figure:
    """Figure comparing methods (rows) and properties (columns).

    Each property column has one colour scale (min to max over its models) and
    one colour bar, so methods can be compared by eye.

    Parameters
    ----------
    rows : sequence of str
        Method names, e.g. ``["true", "independent", "cross-gradient"]``.
    columns : sequence of str
        Property names, e.g. ``["velocity", "log10 resistivity"]``.
    models : mapping or nested sequence
        ``models[row][column]`` (a dict of dicts keyed by the names) or
        ``models[i][j]`` (a list of lists in the order of ``rows`` and
        ``columns``); each a model of shape ``grid.shape`` or ``None`` to leave
        the panel empty.
    grid : jointinv.Grid
        The grid of every model.
    units : sequence of str, optional
        Units per column for the colour-bar labels, e.g. ``["m/s", "log10 ohm m"]``.
    title : str, optional
        Figure title.
    cmap : str, default "viridis"
        Matplotlib colour map.
    properties : sequence of str, optional
        Property per column for the colour-bar labels (``operator.property``,
        e.g. ``["velocity", "log10 resistivity"]``), when the column names
        are data-set keys such as ``"traveltime"``: the bar then reads
        "velocity [m/s]", not "traveltime [m/s]". Default: the column names.

    Returns
    -------
    matplotlib.figure.Figure
        Not attached to ``pyplot``; save it with ``figure.savefig``.
    """
    grid = _check_grid(grid)
    rows, columns = _check_names("rows", rows), _check_names("columns", columns)
    units = [""] * len(columns) if units is None else _check_names("units", units, allow_empty=True)
    properties = columns if properties is None else _check_names("properties", properties)
    for name, values in (("units", units), ("properties", properties)):
        if len(values) != len(columns):
            raise ValueError(f"{name} must have one entry per column ({len(columns)}), "
                             f"got {len(values)}")
    arrays = _model_table(rows, columns, models, grid)
    if all(array is None for row in arrays for array in row):
        raise ValueError("models must hold at least one model, got only None")

    width, height = _panel_size(grid)
    figure = Figure(figsize=(width * len(columns), height * len(rows) + (0.4 if title else 0)),
                    layout="constrained")
    axes_table = figure.subplots(len(rows), len(columns), squeeze=False)
    for j, (column, unit, prop) in enumerate(zip(columns, units, properties, strict=True)):
        present = [row[j] for row in arrays if row[j] is not None]
        low = min((float(array.min()) for array in present), default=0.0)
        high = max((float(array.max()) for array in present), default=1.0)
        image = None
        for i, row in enumerate(rows):
            axes = axes_table[i, j]
            if arrays[i][j] is None:
                axes.set_axis_off()
                continue
            image = _draw_model(axes, arrays[i][j], grid, low, high, cmap)
            axes.set_title(f"{row}: {column}")
        if image is not None:
            figure.colorbar(image, ax=list(axes_table[:, j]), label=_colour_label(prop, unit),
                            location="bottom", shrink=0.8)
    if title:
        figure.suptitle(title)
    return figure


def plot_model_grid(rows, columns, models, grid: Grid, path, units=None,
                    title: str | None = None, cmap: str = "viridis", properties=None) -> Path:
    """Save :func:`model_grid_figure` to ``path``; return the path.

    ``path`` (str or pathlib.Path) is the output file: its suffix sets the
    format and missing parent directories are created. The other parameters
    are those of :func:`model_grid_figure`.
    """
    path = _check_path(path)
    figure = model_grid_figure(rows, columns, models, grid, units=units, title=title, cmap=cmap,
                               properties=properties)
    return _save(figure, path)


def _check_names(name: str, values, allow_empty: bool = False) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a sequence of strings, got {type(values).__name__}")
    if not values and not allow_empty:
        raise ValueError(f"{name} must hold at least one name, got none")
    for value in values:
        if not isinstance(value, str):
            raise TypeError(f"{name} must hold strings, got {type(value).__name__}")
    return list(values)


def _model_table(rows, columns, models, grid: Grid) -> list[list[np.ndarray | None]]:
    """``models`` as a ``len(rows) x len(columns)`` table of arrays (or ``None``)."""
    table = []
    for i, row in enumerate(rows):
        if isinstance(models, Mapping):
            if row not in models:
                raise ValueError(f"models must have an entry for row {row!r}, "
                                 f"got keys {list(models)}")
            row_models = models[row]
        elif isinstance(models, Sequence) and not isinstance(models, str):
            if len(models) != len(rows):
                raise ValueError(f"models must have one entry per row ({len(rows)}), "
                                 f"got {len(models)}")
            row_models = models[i]
        else:
            raise TypeError("models must be a dict {row: {column: model}} or a list of "
                            f"{len(rows)} lists, got {type(models).__name__}")
        table.append([_table_entry(row_models, row, i, column, j, len(columns), grid)
                      for j, column in enumerate(columns)])
    return table


def _table_entry(row_models, row, i, column, j, n_columns, grid):
    if isinstance(row_models, Mapping):
        if column not in row_models:
            raise ValueError(f"models[{row!r}] must have an entry for column {column!r} "
                             f"(None for an empty panel), got keys {list(row_models)}")
        model = row_models[column]
    elif isinstance(row_models, Sequence) and not isinstance(row_models, str):
        if len(row_models) != n_columns:
            raise ValueError(f"models[{i}] must have one entry per column ({n_columns}), "
                             f"got {len(row_models)}")
        model = row_models[j]
    else:
        raise TypeError(f"models[{row!r}] must be a dict {{column: model}} or a list of "
                        f"{n_columns} models, got {type(row_models).__name__}")
    if model is None:
        return None
    return _model_array(f"models[{row!r}][{column!r}]", model, grid)

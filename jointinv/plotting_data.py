"""Observed-versus-predicted figures, one kind per physics, chosen by duck typing.

:func:`data_fit_figure` looks at the operator and the data, never at the
physics package (the core does not import it):

- an operator with ``quadrupoles`` (DC resistivity): pseudosections of the
  observed and predicted data on one colour scale and of the normalised
  residuals ``(predicted - observed) / standard_deviation``;
- an operator with ``pairs``, ``sources`` and ``receivers`` (travel times):
  observed and predicted data by ray, and the normalised residual of every
  ray as a dot at (source depth, receiver depth);
- data of shape ``(shot, receiver, time)`` (waveforms): shot gathers of the
  observed and predicted traces on one colour scale and of the residual;
- anything else: observed and predicted by datum index and the normalised
  residuals.

Like :mod:`jointinv.plotting`, figures are :class:`matplotlib.figure.Figure`
objects, never ``pyplot`` ones.
"""

from __future__ import annotations

import numbers
from pathlib import Path

import numpy as np
import torch
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure

from .data import Data

__all__ = ["data_fit_figure", "plot_data_fit", "pseudosection_positions"]


def _array(name: str, value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a tensor or array of numbers, "
                        f"got {type(value).__name__}") from error
    if array.size == 0 or not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be a non-empty array of finite values, "
                         f"got shape {array.shape} with NaN, inf or no values")
    return array


def _inputs(operator, data, predicted):
    """Observed, predicted and standard deviations as float64 arrays of one shape."""
    if operator is None or not hasattr(operator, "forward"):
        raise TypeError(f"operator must be a jointinv.PhysicsOperator, "
                        f"got {type(operator).__name__}")
    if isinstance(data, Data):
        observed, sigma = _array("data", data.observed), _array("data", data.standard_deviation)
    else:
        observed = _array("data", data)
        sigma = np.ones_like(observed)
    predicted = _array("predicted", predicted)
    if predicted.shape != observed.shape:
        raise ValueError(f"predicted must have the shape of the data {observed.shape}, "
                         f"got {predicted.shape}")
    return observed, predicted, sigma


def _units(operator) -> str:
    kind = getattr(operator, "data_type", None)
    if kind == "apparent_resistivity":
        return "apparent resistivity [ohm m]"
    if kind == "volt":
        return "voltage [V]"
    if getattr(operator, "pairs", None) is not None:
        kernel = getattr(operator, "kernel", "exact")
        return "travel time [s]" if kernel == "exact" else "weighted slowness sum [s/m]"
    if getattr(operator, "dt", None) is not None:
        return "amplitude"
    return "data"


RESIDUAL_LABEL = "normalised residual (predicted - observed) / sigma"


def pseudosection_positions(quadrupoles) -> tuple[np.ndarray, np.ndarray]:
    """Pseudosection x [m] and pseudo-depth [m] of every quadrupole.

    x is the mean position of the electrodes used (remote ones left out);
    the pseudo-depth is half the distance between the centre of the
    current electrodes and that of the potential electrodes, measured from
    the shallowest electrode depth of the survey.
    """
    tables = [np.asarray(getattr(quadrupoles, role), dtype=np.float64) for role in "abmn"]
    source = np.nanmean(np.stack(tables[:2]), axis=0)
    receiver = np.nanmean(np.stack(tables[2:]), axis=0)
    x = np.nanmean(np.stack(tables), axis=0)[:, 0]
    depth = 0.5 * np.linalg.norm(source - receiver, axis=1)
    top = np.nanmin(np.concatenate([table[:, 1] for table in tables]))
    return x, top + depth


def _pseudosections(figure, operator, observed, predicted, sigma):
    x, depth = pseudosection_positions(operator.quadrupoles)
    axes = figure.subplots(1, 3, sharey=True)
    log = bool(np.all(observed > 0) and np.all(predicted > 0))
    both = np.concatenate([observed, predicted])
    low, high = both.min(), both.max()
    residual = (predicted - observed) / sigma
    limit = max(float(np.abs(residual).max()), 1e-12)
    panels = ((observed, "observed", "viridis", (low, high), _units(operator)),
              (predicted, "predicted", "viridis", (low, high), _units(operator)),
              (residual, "normalised residual", "RdBu_r", (-limit, limit), RESIDUAL_LABEL))
    for ax, (values, title, cmap, (vmin, vmax), label) in zip(axes, panels, strict=True):
        norm = (LogNorm(vmin, vmax) if log and title != "normalised residual" and vmin > 0
                else Normalize(vmin, vmax))
        points = ax.scatter(x, depth, c=values, cmap=cmap, norm=norm, s=30, edgecolors="none")
        ax.set_title(title)
        ax.set_xlabel("x [m]")
        figure.colorbar(points, ax=ax, label=label, location="bottom")
    axes[0].set_ylabel("pseudo-depth [m]")
    axes[0].invert_yaxis()


def _rays(figure, operator, observed, predicted, sigma):
    pairs = np.asarray(operator.pairs)
    sources, receivers = np.asarray(operator.sources), np.asarray(operator.receivers)
    fit, residual_axes = figure.subplots(1, 2)
    ray = np.arange(observed.size)
    fit.plot(ray, observed, ".", label="observed")
    fit.plot(ray, predicted, "-", label="predicted")
    fit.set_xlabel("ray index")
    fit.set_ylabel(_units(operator))
    fit.set_title("observed and predicted")
    fit.legend(fontsize="small")
    residual = (predicted - observed) / sigma
    limit = max(float(np.abs(residual).max()), 1e-12)
    points = residual_axes.scatter(sources[pairs[:, 0], 1], receivers[pairs[:, 1], 1], c=residual,
                                   cmap="RdBu_r", vmin=-limit, vmax=limit, s=25)
    residual_axes.set_xlabel("source depth z [m]")
    residual_axes.set_ylabel("receiver depth z [m]")
    residual_axes.set_title("normalised residual by ray")
    residual_axes.invert_xaxis()
    residual_axes.invert_yaxis()
    figure.colorbar(points, ax=residual_axes, label=RESIDUAL_LABEL)


def _gathers(figure, operator, observed, predicted, shot: int):
    n_shots, n_receivers, nt = observed.shape
    if isinstance(shot, bool) or not isinstance(shot, numbers.Integral) or not \
            0 <= shot < n_shots:
        raise ValueError(f"shot must be an integer in [0, {n_shots - 1}], got {shot!r}")
    dt = float(getattr(operator, "dt", 1.0) or 1.0)
    extent = (-0.5, n_receivers - 0.5, nt * dt, 0.0)
    axes = figure.subplots(1, 3, sharey=True)
    scale = max(float(np.abs(observed[shot]).max()), float(np.abs(predicted[shot]).max()), 1e-30)
    residual = predicted[shot] - observed[shot]
    panels = (("observed", observed[shot], scale), ("predicted", predicted[shot], scale),
              ("residual (predicted - observed)", residual, scale))
    for ax, (title, gather, limit) in zip(axes, panels, strict=True):
        image = ax.imshow(gather.T, aspect="auto", cmap="seismic", vmin=-limit, vmax=limit,
                          extent=extent, interpolation="nearest")
        ax.set_title(f"shot {shot}: {title}")
        ax.set_xlabel("receiver index")
        figure.colorbar(image, ax=ax, label=_units(operator), location="bottom")
    axes[0].set_ylabel("time [s]" if getattr(operator, "dt", None) else "time sample")


def _by_index(figure, operator, observed, predicted, sigma):
    fit, residual_axes = figure.subplots(1, 2)
    index = np.arange(observed.size)
    fit.plot(index, observed.ravel(), ".", label="observed")
    fit.plot(index, predicted.ravel(), "-", label="predicted")
    fit.set_xlabel("datum index")
    fit.set_ylabel(_units(operator))
    fit.legend(fontsize="small")
    residual_axes.plot(index, ((predicted - observed) / sigma).ravel(), ".")
    residual_axes.axhline(0.0, color="black", linewidth=0.8)
    residual_axes.set_xlabel("datum index")
    residual_axes.set_ylabel(RESIDUAL_LABEL)


def data_fit_figure(operator, data, predicted, shot: int = 0, title: str | None = None) -> Figure:
    """Observed against predicted data, in the form that suits the operator.

    Parameters
    ----------
    operator : jointinv.PhysicsOperator
        The operator that predicted the data; its attributes pick the figure
        (see the module docstring): ``quadrupoles`` (DC), ``pairs`` with
        ``sources``/``receivers`` (rays), ``dt`` and 3D data (waveforms).
    data : jointinv.Data or array_like
        Observed data (with standard deviations) in the operator's data shape.
    predicted : torch.Tensor or array_like
        Predicted data, same shape.
    shot : int, default 0
        Shot whose gathers are drawn (waveforms only).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    observed, predicted, sigma = _inputs(operator, data, predicted)
    figure = Figure(figsize=(13.0, 4.4 + (0.4 if title else 0)), layout="constrained")
    n = observed.size
    if getattr(operator, "quadrupoles", None) is not None and observed.ndim == 1 and \
            n == len(operator.quadrupoles.a):
        _pseudosections(figure, operator, observed, predicted, sigma)
    elif getattr(operator, "pairs", None) is not None and observed.ndim == 1 and \
            n == len(operator.pairs):
        _rays(figure, operator, observed, predicted, sigma)
    elif observed.ndim == 3:
        _gathers(figure, operator, observed, predicted, shot)
    else:
        _by_index(figure, operator, observed, predicted, sigma)
    if title:
        figure.suptitle(title)
    return figure


def plot_data_fit(operator, data, predicted, path, shot: int = 0, title: str | None = None):
    """Save :func:`data_fit_figure` to ``path`` (suffix sets the format); return the path."""
    from .plotting import _check_path, _save

    path: Path = _check_path(path)
    return _save(data_fit_figure(operator, data, predicted, shot=shot, title=title), path)

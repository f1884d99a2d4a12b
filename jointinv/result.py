"""Result of an inversion: models, history, metrics; saved to disk and plotted."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import torch

__all__ = ["InversionResult"]


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


class InversionResult:
    """Recovered models with everything needed to judge and reproduce them.

    Attributes
    ----------
    models, initial_models, true_models : dict
        ``{key: (nz, nx) tensor}`` of the physical property (e.g. velocity [m/s]).
    operators, data, predicted : dict
        Per key: the operator, the observed :class:`Data` and the final
        predicted data.
    history : list of dict
        One row per iteration: every objective term (``phi_d[key]``,
        ``phi_m[key]``, couplings), ``beta[key]``, ``phi`` and ``time`` [s].
    wall_time : float
        Seconds for the whole inversion.
    method : str
        Strategy and solver that produced it.
    """

    def __init__(self, models, initial_models, true_models, operators, data, predicted,
                 history, wall_time, method):
        self.models = {k: v.detach() for k, v in models.items()}
        self.initial_models = initial_models
        self.true_models = true_models
        self.operators = operators
        self.data = data
        self.predicted = predicted
        self.history = history
        self.wall_time = float(wall_time)
        self.method = method

    @property
    def model(self) -> torch.Tensor:
        """The recovered model when there is exactly one."""
        if len(self.models) != 1:
            raise ValueError(f"result holds {len(self.models)} models {sorted(self.models)}; "
                             "use result.models[key]")
        return next(iter(self.models.values()))

    @property
    def n_iterations(self) -> int:
        return int(self.history[-1]["iteration"]) if self.history else 0

    def misfit(self, key: str) -> float:
        """Final chi-squared misfit of data set ``key``."""
        return float(self.data[key].chi_squared(self.predicted[key]))

    @property
    def metrics(self) -> dict:
        """``{key: {metric: value}}``: data misfit and, with a true model, model errors.

        Model metrics (RMSE, relative error, MSE, PSNR, SSIM) are those of
        :func:`jointinv.metrics.model_metrics`, in the property's units.
        Structural similarity uses the mean normalised cross-gradient
        (:class:`jointinv.coupling.NormalizedCrossGradient`, 0 = same structure):
        ``ncg_to_true`` against the true model of the same property, and
        ``ncg_between_models`` against the other recovered models on the grid.
        """
        from .coupling import NormalizedCrossGradient
        from .metrics import model_metrics

        def ncg(grid, a, b):
            return NormalizedCrossGradient(("a", "b"), grid).mean({"a": a, "b": b})

        table = {}
        for key, model in self.models.items():
            operator = self.operators[key]
            row = {
                "property": operator.property, "units": operator.units,
                "chi_squared": self.misfit(key), "n_data": self.data[key].n_data,
            }
            row["chi_squared_per_datum"] = row["chi_squared"] / row["n_data"]
            if key in self.true_models and self.true_models[key] is not None:
                # the standard 11-cell SSIM window, shrunk to fit very small grids
                window = min(11, min(model.shape) - (1 - min(model.shape) % 2))
                row.update(model_metrics(model, self.true_models[key], window_size=window))
                row["ncg_to_true"] = ncg(operator.grid, model, self.true_models[key])
            others = [other for k, other in self.models.items()
                      if k != key and self.operators[k].grid == operator.grid]
            if others:
                row["ncg_between_models"] = sum(ncg(operator.grid, model, o)
                                                for o in others) / len(others)
            row["iterations"] = self.n_iterations
            row["wall_time_s"] = self.wall_time
            table[key] = row
        return table

    def summary(self) -> str:
        """Markdown table of :attr:`metrics`."""
        metrics = self.metrics
        columns = list(dict.fromkeys(c for row in metrics.values() for c in row))
        lines = ["| model | " + " | ".join(columns) + " |",
                 "|---" * (len(columns) + 1) + "|"]
        for key, row in metrics.items():
            cells = [f"{row[c]:.4g}" if isinstance(row.get(c), float) else str(row.get(c, ""))
                     for c in columns]
            lines.append(f"| {key} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def save(self, folder, plot: bool = True) -> Path:
        """Write models (``models.npz``), ``history.json``, ``metrics.json``,
        ``metrics.md``, ``metrics.csv`` and, with ``plot``, PNG figures to ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for label, group in (("recovered", self.models), ("initial", self.initial_models),
                             ("true", self.true_models)):
            for key, model in group.items():
                if model is not None:
                    arrays[f"{key}_{label}"] = model.detach().cpu().numpy()
        np.savez(folder / "models.npz", **arrays)
        (folder / "history.json").write_text(json.dumps(_json_safe(self.history), indent=1))
        metrics = self.metrics
        (folder / "metrics.json").write_text(json.dumps(
            _json_safe({"method": self.method, "metrics": metrics}), indent=1))
        (folder / "metrics.md").write_text(f"# {self.method}\n\n{self.summary()}\n")
        with open(folder / "metrics.csv", "w", newline="") as handle:
            columns = list(dict.fromkeys(c for row in metrics.values() for c in row))
            writer = csv.DictWriter(handle, fieldnames=["model", *columns])
            writer.writeheader()
            for key, row in metrics.items():
                writer.writerow({"model": key, **row})
        if plot:
            self.plot(folder)
        return folder

    def plot(self, folder) -> list:
        """PNG figures: true / initial / recovered per model, and convergence curves."""
        from .plotting import plot_convergence, plot_models

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for key, model in self.models.items():
            operator = self.operators[key]
            panels = {}
            if self.true_models.get(key) is not None:
                panels["true"] = self.true_models[key]
            panels["initial"] = self.initial_models[key]
            panels["recovered"] = model
            paths.append(plot_models(panels, operator.grid, folder / f"models_{key}.png",
                                     title=f"{key}: {self.method}",
                                     units=operator.units, property_name=operator.property))
        paths.append(plot_convergence(self.history, folder / "convergence.png"))
        return paths

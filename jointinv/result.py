"""Result of an inversion: models, history, metrics; saved to disk, reloaded and plotted."""

from __future__ import annotations

import csv
import json
import math
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from .data import Data
from .grid import Grid
from .outputs import atomic_path, write_json, write_text

__all__ = ["InversionResult", "package_versions"]

#: Version of the folder layout written by :meth:`InversionResult.save`.
FORMAT = 1
#: Operator attributes saved as survey geometry when an operator has them:
#: ``(n, 2)`` point tables (``pairs``: source and receiver index of each datum),
#: or an object holding such tables (``Quadrupoles``).
GEOMETRY_ATTRIBUTES = ("sources", "receivers", "pairs", "quadrupoles")
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _from_json(value):
    """Undo :func:`_json_safe` on history rows ("nan", "inf" back to floats)."""
    if isinstance(value, str) and value in _NON_FINITE:
        return _NON_FINITE[value]
    if isinstance(value, dict):
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def package_versions() -> dict:
    """Installed versions of jointinv, torch, numpy and simpeg (``None`` if absent)."""
    versions = {}
    for name in ("jointinv", "torch", "numpy", "simpeg"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _geometry(operator) -> dict:
    """Survey geometry an operator exposes (duck-typed), as ``{name: array}``."""
    tables = {}
    for name in GEOMETRY_ATTRIBUTES:
        value = getattr(operator, name, None)
        if isinstance(value, (np.ndarray, torch.Tensor, list, tuple)):
            tables[name] = torch.as_tensor(value).detach().cpu().numpy()
        elif value is not None:  # an object of tables, e.g. Quadrupoles(a, b, m, n)
            tables.update({f"{name}.{part}": table for part, table in vars(value).items()
                           if isinstance(table, np.ndarray)})
    return tables


def _operator_info(operator) -> dict:
    return {"property": operator.property, "units": operator.units,
            "n_data": int(operator.n_data), "grid": operator.grid,
            "geometry": _geometry(operator)}


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
    config : dict, optional
        Settings that produced it (strategy, options, physics), saved as is.
    info : dict, optional
        Per key ``{"property", "units", "n_data", "grid", "geometry"}``; read
        from the operators when omitted. A result reloaded by :meth:`load`
        has ``info`` and no operators (``operators`` is empty).
    versions : dict, optional
        Package versions that produced it (default: the installed ones).
    """

    def __init__(self, models, initial_models, true_models, operators, data, predicted,
                 history, wall_time, method, *, config=None, info=None, versions=None):
        self.models = {k: v.detach() for k, v in models.items()}
        self.initial_models = initial_models
        self.true_models = true_models
        self.operators = operators or {}
        self.data = data
        self.predicted = predicted
        self.history = history
        self.wall_time = float(wall_time)
        self.method = method
        self.config = config
        self.info = info if info is not None else {
            key: _operator_info(operator) for key, operator in self.operators.items()}
        missing = sorted(set(self.models) - set(self.info))
        if missing:
            raise ValueError(f"operators or info must describe every model; missing {missing}")
        self.versions = versions if versions is not None else package_versions()

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

    def iterations(self, key: str) -> int:
        """Iterations of the inversion of model ``key`` (its own count when the
        physics were inverted one after the other)."""
        rows = [row["iteration"] for row in self.history if f"phi_d[{key}]" in row]
        return int(max(rows)) if rows else 0

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
            info = self.info[key]
            row = {
                "property": info["property"], "units": info["units"],
                "chi_squared": self.misfit(key), "n_data": self.data[key].n_data,
            }
            row["chi_squared_per_datum"] = row["chi_squared"] / row["n_data"]
            if key in self.true_models and self.true_models[key] is not None:
                # the standard 11-cell SSIM window, shrunk to fit very small grids
                window = min(11, min(model.shape) - (1 - min(model.shape) % 2))
                row.update(model_metrics(model, self.true_models[key], window_size=window))
                row["ncg_to_true"] = ncg(info["grid"], model, self.true_models[key])
            others = [other for k, other in self.models.items()
                      if k != key and self.info[k]["grid"] == info["grid"]]
            if others:
                row["ncg_between_models"] = sum(ncg(info["grid"], model, o)
                                                for o in others) / len(others)
            row["iterations"] = self.iterations(key)
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
        """Write everything :meth:`load` needs, plus tables and figures, to ``folder``.

        Files (each written atomically): ``models.npz`` (``{key}_recovered``,
        ``{key}_initial``, ``{key}_true``), ``data.npz`` (``{key}_observed``,
        ``{key}_standard_deviation``, ``{key}_predicted``, ``{key}_clean``
        and survey geometry ``{key}_geometry_{name}``), ``history.json``,
        ``metrics.json``, ``metrics.md``, ``metrics.csv``, PNG figures with
        ``plot``, and last ``result.json`` (method, config, grid, property,
        units and ``n_data`` per key, package versions): a folder without it
        holds no complete result.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        models, data, keys = {}, {}, {}
        for label, group in (("recovered", self.models), ("initial", self.initial_models),
                             ("true", self.true_models)):
            for key, model in group.items():
                if model is not None:
                    models[f"{key}_{label}"] = model.detach().cpu().numpy()
        for key, observed in self.data.items():
            arrays = {"observed": observed.observed, "predicted": self.predicted[key],
                      "standard_deviation": observed.standard_deviation, "clean": observed.clean}
            data.update({f"{key}_{name}": torch.as_tensor(a).detach().cpu().numpy()
                         for name, a in arrays.items() if a is not None})
            data.update({f"{key}_geometry_{name}": table
                         for name, table in self.info[key]["geometry"].items()})
            keys[key] = {**{k: v for k, v in self.info[key].items() if k != "geometry"},
                         "grid": self.info[key]["grid"].to_dict(),
                         "relative_error": observed.relative_error,
                         "noise_floor": observed.noise_floor}
        for name, arrays in (("models.npz", models), ("data.npz", data)):
            with atomic_path(folder / name) as temporary:
                np.savez(temporary, **arrays)
        write_json(folder / "history.json", _json_safe(self.history))
        metrics = self.metrics
        write_json(folder / "metrics.json", _json_safe({"method": self.method,
                                                       "metrics": metrics}))
        write_text(folder / "metrics.md", f"# {self.method}\n\n{self.summary()}\n")
        with atomic_path(folder / "metrics.csv") as temporary:
            with open(temporary, "w", newline="") as handle:
                columns = list(dict.fromkeys(c for row in metrics.values() for c in row))
                writer = csv.DictWriter(handle, fieldnames=["model", *columns])
                writer.writeheader()
                for key, row in metrics.items():
                    writer.writerow({"model": key, **row})
        if plot:
            self.plot(folder)
        write_json(folder / "result.json", _json_safe({
            "format": FORMAT, "method": self.method, "wall_time": self.wall_time,
            "config": self.config, "versions": self.versions, "keys": keys}))
        return folder

    @classmethod
    def load(cls, folder) -> InversionResult:
        """Read a result written by :meth:`save`; it needs no operators.

        Raises
        ------
        ValueError
            If ``folder`` holds no complete saved result or a newer format.
        """
        folder = Path(folder)
        if not (folder / "result.json").is_file():
            raise ValueError(f"folder {str(folder)!r} holds no saved InversionResult "
                             f"(no result.json: missing, or the save did not finish)")
        meta = _from_json(json.loads((folder / "result.json").read_text()))
        if meta.get("format") != FORMAT:
            raise ValueError(f"{folder / 'result.json'} has format {meta.get('format')!r}; "
                             f"this jointinv reads format {FORMAT}")
        with np.load(folder / "models.npz") as npz:
            models = {name: torch.from_numpy(npz[name]) for name in npz.files}
        with np.load(folder / "data.npz") as npz:
            arrays = {name: npz[name] for name in npz.files}
        info, data, predicted, groups = {}, {}, {}, ({}, {}, {})
        for key, entry in meta["keys"].items():
            prefix = f"{key}_geometry_"
            info[key] = {**entry, "grid": Grid(**entry["grid"]),
                         "geometry": {name[len(prefix):]: a for name, a in arrays.items()
                                      if name.startswith(prefix)}}
            for k in ("relative_error", "noise_floor"):
                info[key].pop(k)
            clean = arrays.get(f"{key}_clean")
            data[key] = Data(torch.from_numpy(arrays[f"{key}_observed"]),
                             standard_deviation=torch.from_numpy(
                                 arrays[f"{key}_standard_deviation"]),
                             relative_error=entry["relative_error"],
                             noise_floor=entry["noise_floor"],
                             clean=None if clean is None else torch.from_numpy(clean))
            predicted[key] = torch.from_numpy(arrays[f"{key}_predicted"])
            for group, label in zip(groups, ("recovered", "initial", "true")):
                if f"{key}_{label}" in models:
                    group[key] = models[f"{key}_{label}"]
        history = _from_json(json.loads((folder / "history.json").read_text()))
        return cls(*groups, operators={}, data=data, predicted=predicted, history=history,
                   wall_time=meta["wall_time"], method=meta["method"], config=meta["config"],
                   info=info, versions=meta["versions"])

    def plot(self, folder) -> list:
        """PNG figures: true / initial / recovered per model, convergence curves and, while
        the operators are at hand (not after :meth:`load`), observed vs predicted data."""
        from .plotting import plot_convergence, plot_data_fit, plot_models

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for key, model in self.models.items():
            info = self.info[key]
            panels = {}
            if self.true_models.get(key) is not None:
                panels["true"] = self.true_models[key]
            panels["initial"] = self.initial_models[key]
            panels["recovered"] = model
            with atomic_path(folder / f"models_{key}.png") as temporary:
                plot_models(panels, info["grid"], temporary, title=f"{key}: {self.method}",
                            units=info["units"], property_name=info["property"])
            paths.append(folder / f"models_{key}.png")
            if key in self.operators:
                with atomic_path(folder / f"data_{key}.png") as temporary:
                    plot_data_fit(self.operators[key], self.data[key], self.predicted[key],
                                  temporary, title=f"{key}: observed vs predicted")
                paths.append(folder / f"data_{key}.png")
        with atomic_path(folder / "convergence.png") as temporary:
            targets = {k: info["target"] for k, info in self.info.items() if "target" in info}
            plot_convergence(self.history, temporary, targets=targets or None)
        paths.append(folder / "convergence.png")
        return paths

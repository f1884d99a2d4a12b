"""Comparison studies: several strategies on one joint case, one table and one figure."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import torch

from .config import validate_config
from .joint_cases import joint_case
from .physics_setup import PhysicsSetup
from .strategies import run_strategy

__all__ = ["run_comparison", "COLUMNS"]

COLUMNS = ("method", "model", "rmse", "ssim", "psnr", "chi_squared_per_datum",
           "ncg_to_true", "ncg_between_models", "iterations", "wall_time_s")


def _setups(config) -> tuple[dict, dict]:
    cases = joint_case(config["case"], seed=config["seed"],
                       velocity_units=config["velocity_units"])
    if config["true_models_file"] is not None:
        arrays = np.load(config["true_models_file"])
        for key, case in cases.items():
            if key not in arrays:
                raise ValueError(f"true_models_file must hold an array {key!r}; "
                                 f"it holds {sorted(arrays)}")
            true = torch.as_tensor(arrays[key]).to(case.true_model)
            case.true_model = case.operator.check_model(true)
            case.data = case.operator.simulate(true, relative_error=case.data.relative_error,
                                               noise_floor=case.data.noise_floor,
                                               seed=config["seed"])
    setups = {key: PhysicsSetup(case.operator, case.data, case.initial_model,
                                true_model=case.true_model, **config["physics"].get(key, {}))
              for key, case in cases.items()}
    return cases, setups


def _markdown(rows) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        cells = [f"{row[c]:.4g}" if isinstance(row.get(c), float) else str(row.get(c, ""))
                 for c in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_comparison(config: dict, progress: bool = True, log=print) -> dict:
    """Run every strategy of ``config`` (validated here) and write the study.

    Writes ``metrics.md``, ``metrics.csv``, ``models.png`` (methods x
    properties, one colour scale per property) and each strategy's own
    result folder under ``config["output"]``. Returns ``{"rows", "results",
    "output"}``.
    """
    from .plotting import plot_model_grid

    config = validate_config(config)
    output = Path(config["output"])
    output.mkdir(parents=True, exist_ok=True)
    cases, setups = _setups(config)
    grid = next(iter(cases.values())).operator.grid
    rows, results = [], {}
    for strategy in config["strategies"]:
        label = strategy["label"]
        log(f"[{label}] running {strategy['name']} ...")
        start = time.perf_counter()
        options = {**config["options"], **strategy["options"]}
        result = run_strategy(strategy["name"], setups, progress=progress, **options)
        result.save(output / label.replace(" ", "_"))
        results[label] = result
        for key, metrics in result.metrics.items():
            rows.append({"method": label, "model": key, **metrics,
                         "wall_time_s": time.perf_counter() - start})
        log(f"[{label}] done in {time.perf_counter() - start:.1f} s")
    table = _markdown(rows)
    (output / "metrics.md").write_text(f"# Comparison on the {config['case']} case\n\n{table}\n")
    with open(output / "metrics.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    keys = list(cases)
    models = {"true": {k: cases[k].true_model for k in keys}}
    models.update({label: {k: r.models[k] for k in keys} for label, r in results.items()})
    plot_model_grid(list(models), keys, models, grid, output / "models.png",
                    units=[cases[k].operator.units for k in keys],
                    title=f"{config['case']} case: methods x properties")
    np.savez(output / "models.npz", **{f"{label}_{k}": torch.as_tensor(m).numpy()
                                       for label, ms in models.items() for k, m in ms.items()})
    return {"rows": rows, "results": results, "output": output, "table": table}

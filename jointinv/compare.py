"""Comparison studies: several strategies on one joint case, one table and one figure."""

from __future__ import annotations

import csv
import time

import numpy as np
import torch

from .config import strategy_settings, validate_config
from .outputs import RunFolder, atomic_path, check_output_folder, write_text
from .physics_setup import PhysicsSetup
from .strategies import run_strategy
from .user_cases import case_label, load_case

__all__ = ["run_comparison", "COLUMNS"]

COLUMNS = ("method", "model", "rmse", "ssim", "psnr", "chi_squared_per_datum",
           "ncg_to_true", "ncg_between_models", "iterations", "wall_time_s")


def _setups(config) -> tuple[dict, dict]:
    cases = load_case(config["case"], seed=config["seed"],
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


def _strategy_options(config, strategy) -> dict:
    """Shared options the strategy takes, overridden by the strategy's own."""
    accepted = strategy_settings(strategy["name"])
    options = {k: v for k, v in config["options"].items() if k in accepted}
    options.update({k: v for k, v in strategy.items() if k not in ("name", "label")})
    return options


def run_comparison(config: dict, progress: bool = True, log=print,
                   overwrite: bool = False, command: str | None = None) -> dict:
    """Run every strategy of ``config`` (validated here) and write the study.

    Writes, atomically, each strategy's own result folder (its label),
    ``metrics.md``, ``metrics.csv``, ``models.png`` (methods x properties,
    one colour scale per property) and ``models.npz`` under
    ``config["output"]``, which is checked before anything runs (see
    :func:`jointinv.outputs.check_output_folder`; ``overwrite`` accepts a
    non-empty folder). While the study runs, the folder holds an
    ``INCOMPLETE`` marker listing what is finished (:class:`RunFolder`).
    ``command`` names the run in that marker. Returns ``{"rows", "results",
    "output", "table"}``.
    """
    from .plotting import plot_model_grid

    config = validate_config(config)
    output = check_output_folder(config["output"], overwrite)
    labels = [s["label"] for s in config["strategies"]]
    with RunFolder(output, command or f"compare on the {case_label(config['case'])} case",
                   [*labels, "metrics", "models.png"]) as run:
        cases, setups = _setups(config)
        grid = next(iter(cases.values())).operator.grid
        rows, results = [], {}
        for strategy in config["strategies"]:
            label = strategy["label"]
            run.start(label)
            log(f"[{label}] running {strategy['name']} ...")
            start = time.perf_counter()
            options = _strategy_options(config, strategy)
            result = run_strategy(strategy["name"], setups, progress=progress, **options)
            result.config = {"case": config["case"], "seed": config["seed"],
                             "strategy": strategy["name"], "options": options,
                             "physics": config["physics"]}
            result.save(output / label.replace(" ", "_"))
            results[label] = result
            for key, metrics in result.metrics.items():
                rows.append({"method": label, "model": key, **metrics,
                             "wall_time_s": time.perf_counter() - start})
            run.done(label)
            log(f"[{label}] done in {time.perf_counter() - start:.1f} s")
        table = _markdown(rows)
        title = f"# Comparison on the {case_label(config['case'])} case"
        write_text(output / "metrics.md", f"{title}\n\n{table}\n")
        with atomic_path(output / "metrics.csv") as temporary:
            with open(temporary, "w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(COLUMNS), extrasaction="ignore")
                writer.writeheader()
                writer.writerows(rows)
        run.done("metrics")
        keys = list(cases)
        models = {"true": {k: cases[k].true_model for k in keys}}
        models.update({label: {k: r.models[k] for k in keys} for label, r in results.items()})
        run.start("models.png")
        with atomic_path(output / "models.png") as temporary:
            plot_model_grid(list(models), keys, models, grid, temporary,
                            units=[cases[k].operator.units for k in keys],
                            properties=[cases[k].operator.property for k in keys],
                            title=f"{case_label(config['case'])} case: methods x properties")
        with atomic_path(output / "models.npz") as temporary:
            np.savez(temporary, **{f"{label}_{k}": torch.as_tensor(m).numpy()
                                   for label, ms in models.items() for k, m in ms.items()})
        run.done("models.png")
    return {"rows": rows, "results": results, "output": output, "table": table}

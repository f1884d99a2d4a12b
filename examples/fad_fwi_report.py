"""Tables and figures of the FAD-FWI study (``fad_fwi.py``) from its JSONL log.

``write_table`` gives, per model, the seed's Table 1 (MSE, SSIM, PSNR per
method and condition, with runtime and peak memory) and the DIP /
conventional ratios; ``write_figures`` draws one methods x conditions grid
per model from the saved ``.npy`` models.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

METHOD_ORDER = ("dip", "gnn", "conventional", "deepwave")
START_ORDER = ("smoothed", "smoothed-1d", "homogeneous")
DATA_ORDER = ("clean", "lowcut", "noisy", "lowcut+noisy")
METHOD_LABELS = {"dip": "DIP U-Net (FAD-FWI)", "gnn": "bounded tanh U-Net (GNN)",
                 "conventional": "conventional", "deepwave": "conventional (Deepwave)"}


def _condition(row: dict) -> tuple:
    return (row["start"], row["percent"], row["data"])


def _condition_label(condition: tuple) -> str:
    start, percent, data = condition
    shift = f" {percent:+g} %" if percent else ""
    return f"{start}{shift}, {data}"


def _latest(rows: list) -> dict:
    """The last finished row of each run key (failed runs are listed apart)."""
    return {row["key"]: row for row in rows if "error" not in row}


def _groups(rows: list) -> dict:
    """``{(size, model, iterations, engine, stop_at_target): [rows]}`` in log order."""
    groups = {}
    for row in _latest(rows).values():
        key = (row["size"], row["model"], row["iterations"], row["engine"],
               bool(row.get("stop_at_target")))
        groups.setdefault(key, []).append(row)
    return groups


def _sort(rows: list) -> list:
    """Starts, then percents, then data conditions, then methods, in the study's order."""
    return sorted(rows, key=lambda r: (START_ORDER.index(r["start"]), r["percent"],
                                       DATA_ORDER.index(r["data"]),
                                       METHOD_ORDER.index(r["method"])))


def write_table(rows: list, path: Path) -> str:
    """Markdown tables of every logged run, and the DIP / conventional ratios."""
    lines = ["# FAD-FWI study: results", "",
             "Written by `examples/fad_fwi.py` from `runs.jsonl`. MSE [(m/s)^2], PSNR [dB] "
             "and SSIM as `jointinv.metrics` (the seed's definitions); wall and CPU "
             "time [s] include the networks' pre-training (wall time depends on the "
             "machine's load; CPU time is that of the run's process, '-' where not "
             "logged); peak memory is the run's process peak resident set size [MB] "
             "(interpreter and libraries included).", ""]
    for (size, model, iterations, engine, stop), group in _groups(rows).items():
        budget = (f"at most {iterations} Adam iterations, stopped at chi^2 = N" if stop
                  else f"{iterations} Adam iterations")
        lines += [f"## {model} ({size} sizes, {budget}, engine {engine})", "",
                  "| method | start | data | MSE | SSIM | PSNR | wall [s] | CPU [s] | peak [MB] |",
                  "|---|---|---|---:|---:|---:|---:|---:|---:|"]
        starts_done = set()
        for row in _sort(group):
            condition = _condition(row)
            if condition[:2] not in starts_done:  # the start model's own scores, once
                starts_done.add(condition[:2])
                start = row["start_metrics"]
                lines.append(f"| (start) | {_condition_label(condition).split(',')[0]} | - "
                             f"| {start['mse']:.1f} | {start['ssim']:.4f} | "
                             f"{start['psnr']:.2f} | - | - | - |")
            shift = f" {row['percent']:+g} %" if row["percent"] else ""
            cpu = f"{row['cpu_s']:.0f}" if "cpu_s" in row else "-"
            label = METHOD_LABELS[row["method"]] + _variant(row)
            lines.append(f"| {label} | {row['start']}{shift} | "
                         f"{row['data']} | {row['mse']:.1f} | {row['ssim']:.4f} | "
                         f"{row['psnr']:.2f} | {row['runtime_s']:.0f} | {cpu} | "
                         f"{row['peak_rss_mb']:.0f} |")
        lines += [""] + _ratio_table(group)
    failed = [row for row in rows if "error" in row]
    if failed:
        lines += ["## Failed runs", ""] + [f"- `{r['key']}`: {r['error']}" for r in failed]
    text = "\n".join(lines) + "\n"
    Path(path).write_text(text)
    return text


def _variant(row: dict) -> str:
    """What sets a network run apart from the study's defaults ('' for none)."""
    if row["method"] not in ("dip", "gnn"):
        return ""
    parts = []
    if row.get("dip_scale"):
        parts.append(f"head scale {row['dip_scale']:g} m/s")
    if row.get("dip_schedule", "constant") != "constant":
        parts.append(f"{row['dip_schedule']} rate")
    return "".join(f", {part}" for part in parts)


def _ratio_table(group: list) -> list:
    """Each DIP run against conventional per condition: the Must-show of issue 12."""
    conventional = {_condition(r): r for r in group if r["method"] == "conventional"}
    lines = ["| condition | DIP | MSE DIP / conventional | SSIM DIP | SSIM conventional | "
             "target (<= 0.6, SSIM not lower) |", "|---|---|---:|---:|---:|---|"]
    found = False
    for dip in _sort([r for r in group if r["method"] == "dip"]):
        reference = conventional.get(_condition(dip))
        if reference is None:
            continue
        found = True
        ratio = dip["mse"] / reference["mse"]
        met = ratio <= 0.6 and dip["ssim"] >= reference["ssim"]
        variant = _variant(dip).removeprefix(", ") or "as the study's defaults"
        lines.append(f"| {_condition_label(_condition(dip))} | {variant} | {ratio:.3f} | "
                     f"{dip['ssim']:.4f} | {reference['ssim']:.4f} | "
                     f"{'met' if met else 'missed'} |")
    return lines + [""] if found else []


def _saved(folder: Path, row: dict, suffix: str = ""):
    """The model array a run saved (``suffix`` "_start": its start), or None if absent."""
    path = folder / "models" / f"{row['key'].replace('/', '_')}{suffix}.npy"
    return np.load(path) if path.exists() else None


def write_figures(rows: list, folder: Path) -> list:
    """One PNG per model: true model, then the start and each method per condition."""
    folder = Path(folder)
    paths = []
    first_group = {}  # the first group of each model keeps the plain file name
    for (size, model, iterations, engine, stop), group in _groups(rows).items():
        first_iterations, first_engine = first_group.setdefault((size, model),
                                                                (iterations, engine))
        group = _sort(group)
        conditions = list(dict.fromkeys(_condition(r) for r in group))
        methods = [m for m in METHOD_ORDER if any(r["method"] == m for r in group)]
        first = group[0]
        true = np.load(folder / "models" / f"{size}_{model}_{first['model_seed']}_true.npy")
        limits = dict(vmin=float(true.min()), vmax=float(true.max()), cmap="jet",
                      aspect="auto")
        n_rows, n_cols = len(methods) + 1, len(conditions) + 1
        figure = Figure(figsize=(2.4 * n_cols + 0.6, 1.25 * n_rows + 0.4), layout="constrained")
        axes = np.asarray(figure.subplots(n_rows, n_cols, squeeze=False))
        for ax in axes.flat:
            ax.set_xticks([])
            ax.set_yticks([])
        image = axes[0, 0].imshow(true, **limits)
        axes[0, 0].set_title("true", fontsize=8)
        for ax in axes[1:, 0]:
            ax.set_axis_off()
        by = {(_condition(r), r["method"]): r for r in group}
        for column, condition in enumerate(conditions, 1):
            starts = (_saved(folder, r, "_start") for r in group if _condition(r) == condition)
            start = next((array for array in starts if array is not None), None)
            if start is not None:
                axes[0, column].imshow(start, **limits)
            axes[0, column].set_title(f"start; {_condition_label(condition)}", fontsize=7)
            for line, method in enumerate(methods, 1):
                row = by.get((condition, method))
                ax = axes[line, column]
                recovered = None if row is None else _saved(folder, row)
                if recovered is None:  # not run, or run in another clone (arrays not in git)
                    ax.set_axis_off()
                    continue
                ax.imshow(recovered, **limits)
                ax.set_title(f"{method}: MSE {row['mse']:.0f}, SSIM {row['ssim']:.3f}",
                             fontsize=7)
                if column == 1:
                    ax.set_ylabel(METHOD_LABELS[method], fontsize=7)
        figure.colorbar(image, ax=axes[:, -1], label="velocity [m/s]", shrink=0.8)
        suffix = ((f"_{iterations}it" if iterations != first_iterations else "")
                  + (f"_{engine}" if engine != first_engine else "") + ("_stop" if stop else ""))
        path = folder / f"models_{model}_{size}{suffix}.png"
        figure.savefig(path, dpi=80)
        paths.append(path)
    return paths

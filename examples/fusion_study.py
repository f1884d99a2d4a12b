"""Fusion study: does the learned coupling beat independent and cross-gradient inversion?

Cases use the survey, noise and starting models of the default dataset
config (``examples/dataset/joint_tt_dc.yaml``: 80 x 40 cells of 2.5 m,
33 x 33 cross-hole rays with 2 % noise, a 33-electrode dipole-dipole DC line
with 3 % noise, homogeneous starts fitted to the data):

- in-family: samples of the config's ``mixed`` family with indices the
  training store does not hold (held out: ``--held-out 1990 1991``);
- out-of-family: three hand-made geologies that no family draws
  (``faulted_three_layers``, ``dipping_dike_under_cover``,
  ``channel_and_block``, as in ``examples/coupling_study.py``).

Scenarios (``--scenario``): ``baseline`` (the config's survey);
``surface-to-hole``, travel times from 33 sources on the surface to 33
receivers in the right-hand hole (a layout the network never saw; the DC
line unchanged); ``dc-refined``, the DC data simulated and inverted on a
DC mesh twice as fine as the grid (``refinement: 2``: the DC mesh is not
the grid; the network still sees the models on the grid).

``--relation reversed`` mirrors each hand-made geology's log10 resistivity
within its range, so that its fast units are the conductive ones, as in the
training family's ``anticorrelated`` relation (as drawn, fast = resistive).

Methods: independent, cross_gradient, the network alone applied to the
independent models ("network only": no data fit), and the ``fusion``
strategy with the blend as start, reference and both (2 rounds); the
"oracle" methods run ``fusion both`` (re-inverting separately or jointly)
with a stand-in network that returns the true models, or the true unit
geometry painted with the recovered models' mean per unit: upper bounds of
the loop with a perfect network, and with perfect structure but no values;
``--ablation LABEL=NETWORK`` adds "METHOD (LABEL)" rows: the network-only
and fusion methods asked for, with another network (e.g. one trained
without coverage channels, with the cross-gradient loss, or on another
store). Per case and property the table gives RMSE (and its ratio to
independent), SSIM, the mean normalised cross-gradient to the true model
(0: same structure), chi^2/N and wall time; it is written row by row to
``--output``, beside one figure per case (methods x properties, ``CASE.png``),
and a summary (geometric-mean RMSE ratios to independent and
to cross_gradient, the median ratio to independent, worst chi^2/N) per
group of cases ends it.

Run::

    python examples/fusion_study.py [--network PATH] [--cases ...] [--methods ...]
    python examples/fusion_study.py --scenario surface-to-hole --methods independent \
        cross_gradient "fusion both"
    python examples/fusion_study.py --ablation "no coverage=RUN/network.pt" \
        --methods independent "fusion both"
    python examples/fusion_study.py --summarise RUN1/fusion_study.md RUN2/fusion_study.md
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np
import torch

from jointinv import PhysicsSetup
from jointinv.coupling import NormalizedCrossGradient
from jointinv.dataset.config import load_dataset_config
from jointinv.dataset.sample import coverage_map, derived_seed, draw_true_models, homogeneous_fit
from jointinv.fusion import FusionNetwork, shipped_network_path
from jointinv.metrics import model_metrics
from jointinv.physics_spec import build_grid, build_operator
from jointinv.plotting import plot_model_grid
from jointinv.strategies import run_strategy

CONFIG = Path(__file__).parent / "dataset" / "joint_tt_dc.yaml"
KEYS = ("traveltime", "dcr")
PROPERTY_NAMES = ("velocity", "log10 resistivity")  # what each key's model is
FUSION = {"fusion start": {"use_as": "start"},
          "fusion reference": {"use_as": "reference", "alpha_s": 0.05},
          "fusion both": {"use_as": "both", "alpha_s": 0.05},
          # re-inverting jointly with the default joint method instead of separately
          "fusion both, joint": {"use_as": "both", "alpha_s": 0.05, "reinversion": "joint"}}
#: Upper bounds of the loop ("fusion both" settings, separate or joint re-inversion) with a
#: stand-in for the network that knows the answer: the true models, or the true unit
#: geometry painted with the recovered models' mean over each unit (structure without values).
ORACLES = {"oracle true models": ("true", "fusion both"),
           "oracle true models, joint": ("true", "fusion both, joint"),
           "oracle true units": ("units", "fusion both"),
           "oracle true units, joint": ("units", "fusion both, joint")}
METHODS = ("independent", "network only", "cross_gradient") + tuple(FUSION) + tuple(ORACLES)
SCENARIOS = ("baseline", "surface-to-hole", "dc-refined")


def _coordinates(grid):
    z = torch.as_tensor(grid.cell_centers_z)[:, None].expand(grid.shape)
    x = torch.as_tensor(grid.cell_centers_x)[None, :].expand(grid.shape)
    return z, x


def faulted_three_layers(grid):
    """A conductive, slow middle layer offset 12 m by a normal fault dipping 70 degrees."""
    z, x = _coordinates(grid)
    throw = torch.where(x - (z / np.tan(np.radians(70))) > 110.0, 12.0, 0.0)
    middle = (z >= 14.0 + throw) & (z < 30.0 + throw)
    deep = z >= 30.0 + throw
    velocity = torch.where(middle, 1700.0, torch.where(deep, 3200.0, 2400.0))
    resistivity = torch.where(middle, 0.8, torch.where(deep, 2.6, 2.0))
    return {"traveltime": velocity.double(), "dcr": resistivity.double()}


def dipping_dike_under_cover(grid):
    """A resistive, fast dike dipping 60 degrees below an 8 m conductive cover."""
    z, x = _coordinates(grid)
    cover = z < 8.0
    dike = (~cover) & ((x - 70.0 - (z - 8.0) / np.tan(np.radians(60))).abs() < 7.0)
    velocity = torch.where(cover, 1600.0, torch.where(dike, 3800.0, 2600.0))
    resistivity = torch.where(cover, 1.2, torch.where(dike, 3.2, 2.2))
    return {"traveltime": velocity.double(), "dcr": resistivity.double()}


def channel_and_block(grid):
    """A slow conductive channel at 6-16 m and a fast resistive block at depth."""
    z, x = _coordinates(grid)
    channel = (((x - 120.0) / 45.0) ** 2 + ((z - 6.0) / 10.0) ** 2 < 1.0) & (z >= 6.0)
    block = (x > 40.0) & (x < 80.0) & (z > 55.0) & (z < 85.0)
    velocity = torch.where(channel, 1800.0, torch.where(block, 3500.0, 2500.0))
    resistivity = torch.where(channel, 1.0, torch.where(block, 3.0, 2.1))
    return {"traveltime": velocity.double(), "dcr": resistivity.double()}


GEOLOGIES = {f.__name__: f for f in (faulted_three_layers, dipping_dike_under_cover,
                                     channel_and_block)}


def _with_relation(true_models: dict, relation: str) -> dict:
    """``reversed``: log10 resistivity mirrored within its range, so that the fast units are
    the conductive ones (the default dataset's ``anticorrelated`` relation)."""
    if relation == "as-drawn":
        return true_models
    rho = true_models["dcr"]
    return {**true_models, "dcr": rho.min() + rho.max() - rho}


def scenario_specs(config, grid, scenario) -> dict:
    """``{key: operator spec}`` of a scenario (see the module docstring)."""
    specs = {key: dict(config["physics"][key]["spec"]) for key in KEYS}
    if scenario == "surface-to-hole":
        top = float(grid.cell_centers_z[0])
        depths = np.linspace(top, float(grid.cell_centers_z[-1]), 33)
        xs = np.linspace(float(grid.x0) + 5.0, float(grid.x_max) - 5.0, 33)
        specs["traveltime"] = {"physics": "traveltime",
                               "sources": [[x, top] for x in xs.tolist()],
                               "receivers": [[float(grid.x_max), z] for z in depths.tolist()]}
    elif scenario == "dc-refined":
        specs["dcr"]["refinement"] = 2
    return specs


def setups_for(config, grid, true_models, index, scenario="baseline") -> dict:
    """Noisy data and data-fitted homogeneous starts, as the dataset builder makes them."""
    setups = {}
    specs = scenario_specs(config, grid, scenario)
    for key in KEYS:
        entry = config["physics"][key]
        operator = build_operator(grid, specs[key], f"physics.{key}.spec")
        data = operator.simulate(true_models[key], **entry["noise"],
                                 seed=derived_seed(config["seed"], index, key, "noise"))
        initial = homogeneous_fit(operator, data, config["properties"][key]["range"])
        setups[key] = PhysicsSetup(operator, data, initial, true_model=true_models[key])
    return setups


def oracle_network(network, true_models: dict, kind: str):
    """A copy of ``network`` whose ``fuse`` returns the true models (``kind="true"``) or the
    true units (distinct value pairs of the true models) painted with the given models' mean
    over each unit (``"units"``)."""
    keys = list(true_models)
    pairs = torch.stack([true_models[k] for k in keys], -1).reshape(-1, len(keys))
    units = torch.unique(pairs, dim=0, return_inverse=True)[1].reshape(true_models[keys[0]].shape)

    def fuse(models, grid, coverage=None):
        if kind == "true":
            return {k: true_models[k].clone() for k in keys}
        painted = {}
        for k in keys:
            model = torch.as_tensor(models[k]).to(true_models[k]).clone()
            for unit in units.unique():
                model[units == unit] = model[units == unit].mean()
            painted[k] = model
        return painted

    oracle = copy.copy(network)
    oracle.fuse = fuse
    return oracle


RECORDS = []  # (case, method, key, rmse, chi2/N) of every row, for the summary


def rows_for(case, method, models, setups, chi2, seconds, independent) -> list:
    lines = []
    for key in KEYS:
        true = setups[key].true_model
        metrics = model_metrics(models[key], true, window_size=11)
        grid = setups[key].operator.grid
        ncg = NormalizedCrossGradient(("a", "b"), grid).mean(
            {"a": torch.as_tensor(models[key]).to(true), "b": true})
        ratio = metrics["rmse"] / independent[key] if independent.get(key) else 1.0
        RECORDS.append((case, method, key, metrics["rmse"], chi2.get(key, float("nan"))))
        lines.append(f"| {case} | {method} | {key} | {metrics['rmse']:.4g} | {ratio:.3f} | "
                     f"{metrics['ssim']:.3f} | {float(ncg):.3f} | "
                     f"{chi2.get(key, float('nan')):.2f} | {seconds:.0f} |")
    return lines


def run_case(case, setups, network, methods, options, emit, rounds=2, weight=0.5,
             ablations=None) -> dict:
    """Emit the rows of every method; "METHOD (LABEL)" runs METHOD with network ablations[LABEL].

    Returns ``{"true" or method: {key: (nz, nx) model}}`` for the figure.
    """
    independent_rmse, separate = {}, None
    panels = {"true": {k: setups[k].true_model for k in KEYS}}
    for method in methods:
        tick = time.perf_counter()
        base, _, label = method.partition(" (")
        net = ablations[label.rstrip(")")] if label else network
        if method in ("independent", "network only") and separate is None:
            separate = run_strategy("independent", setups, **options)
        if method == "independent":
            result = separate
        elif base == "network only":
            models = {k: separate.models[k] for k in KEYS}
            cover = {k: coverage_map(setups[k].operator, models[k], setups[k].data,
                                     net.coverage_probes.get(k, 8), 0)
                     for k in KEYS} if net.coverage else None
            fused = net.fuse(models, setups[KEYS[0]].operator.grid, cover)
            chi2 = {k: float(setups[k].data.chi_squared(setups[k].operator(fused[k])))
                    / setups[k].data.n_data for k in KEYS}
            for line in rows_for(case, method, fused, setups, chi2,
                                 time.perf_counter() - tick, independent_rmse):
                emit(line)
            panels[method] = {k: fused[k] for k in KEYS}
            continue
        elif method == "cross_gradient":
            result = run_strategy("cross_gradient", setups, **options)
        elif method in ORACLES:
            kind, settings = ORACLES[method]
            oracle = oracle_network(network, {k: setups[k].true_model for k in KEYS}, kind)
            result = run_strategy("fusion", setups, network=oracle, rounds=rounds,
                                  weight=weight, separate=separate, **FUSION[settings],
                                  **options)
        else:
            result = run_strategy("fusion", setups, network=net, rounds=rounds,
                                  weight=weight, separate=separate, **FUSION[base], **options)
        chi2 = {k: result.metrics[k]["chi_squared_per_datum"] for k in KEYS}
        looped = method.startswith(("fusion", "oracle"))
        seconds = result.wall_time + (separate.wall_time if looped and separate else 0.0)
        for line in rows_for(case, method, result.models, setups, chi2, seconds,
                             independent_rmse):
            emit(line)
        panels[method] = {k: result.models[k] for k in KEYS}
        if method == "independent":
            independent_rmse = {k: model_metrics(result.models[k], setups[k].true_model)["rmse"]
                                for k in KEYS}
    return panels


def plot_case(path, case, panels, grid, ranges) -> None:
    """Methods x properties grid of one case; each column shares one colour scale, clipped
    to the property's range (widened to the true model's) so that a stray spike of one
    inversion does not flatten the others."""
    clipped = {}
    for method, models in panels.items():
        clipped[method] = {}
        for key, name in zip(KEYS, PROPERTY_NAMES):
            true = panels["true"][key]
            low = min(ranges[key][0], float(true.min()))
            high = max(ranges[key][1], float(true.max()))
            clipped[method][name] = torch.as_tensor(models[key]).to(true).clamp(low, high)
    plot_model_grid(list(clipped), list(PROPERTY_NAMES), clipped, grid, path,
                    units=["m/s", "log10 ohm m"], title=case)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--network", default=None,
                        help="fusion network file (default: the shipped one)")
    parser.add_argument("--held-out", nargs="*", type=int, default=[1990, 1991],
                        help="in-family sample indices (not in the training store)")
    parser.add_argument("--cases", nargs="*", default=list(GEOLOGIES), choices=list(GEOLOGIES))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--scenario", default="baseline", choices=SCENARIOS,
                        help="survey and mesh of the cases (see the module docstring)")
    parser.add_argument("--ablation", action="append", default=[], metavar="LABEL=NETWORK",
                        help="also run the network-only and fusion methods with this "
                             "network file, labelled 'METHOD (LABEL)'")
    parser.add_argument("--relation", default="as-drawn", choices=("as-drawn", "reversed"),
                        help="reversed: each hand-made geology's log10 resistivity mirrored "
                             "within its range (fast = conductive, as the default dataset's "
                             "anticorrelated relation; as drawn, fast = resistive)")
    parser.add_argument("--max-iterations", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2, help="fusion rounds")
    parser.add_argument("--weight", type=float, default=0.5,
                        help="fusion blend weight of the network output")
    parser.add_argument("--output", default="examples/output/fusion_study")
    parser.add_argument("--summarise", nargs="+", default=None, metavar="TABLE",
                        help="only print the summary of the rows of earlier tables "
                             "(fusion_study.md files of runs on other cases)")
    args = parser.parse_args(argv)
    if args.summarise:
        print(summarise(read_records(args.summarise)))
        return
    network = FusionNetwork.load(args.network or shipped_network_path())
    ablations = {}
    for entry in args.ablation:
        label, _, path = entry.partition("=")
        if not label or not path:
            parser.error(f"--ablation must be LABEL=NETWORK, got {entry!r}")
        ablations[label] = FusionNetwork.load(path)
    config = load_dataset_config(CONFIG)
    grid = build_grid(config["grid"])
    options = {"max_iterations": args.max_iterations, "cg_max_iterations": 20,
               "progress": False}
    methods = ["independent"] + [m for m in args.methods if m != "independent"]
    # each ablation network runs the network-only and fusion methods asked for
    methods += [f"{m} ({label})" for label in ablations for m in methods
                if m == "network only" or m in FUSION]
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    table = output / "fusion_study.md"
    header = ["| case | method | property | RMSE | RMSE / indep. | SSIM | NCG to true | chi2/N "
              "| time [s] |", "|---|---|---|---|---|---|---|---|---|"]
    table.write_text("\n".join(header) + "\n")

    def emit(line):
        print(line, flush=True)
        with open(table, "a") as stream:
            stream.write(line + "\n")

    print("\n".join(header))
    start = time.perf_counter()
    suffix = "" if args.scenario == "baseline" else f" [{args.scenario}]"
    cases = [(f"mixed #{i} (in-family){suffix}", draw_true_models(config, grid, i), i)
             for i in args.held_out]
    relation = "" if args.relation == "as-drawn" else " [reversed relation]"
    cases += [(f"{name}{suffix}{relation}", _with_relation(GEOLOGIES[name](grid), args.relation),
               10_000 + n) for n, name in enumerate(args.cases)]
    ranges = {k: config["properties"][k]["range"] for k in KEYS}
    for case, true_models, index in cases:
        panels = run_case(case, setups_for(config, grid, true_models, index, args.scenario),
                          network, methods, options, emit, args.rounds, args.weight, ablations)
        slug = "".join(c if c.isalnum() else "_" for c in case).strip("_")
        plot_case(output / f"{slug}.png", case, panels, grid, ranges)
    summary = summarise(RECORDS)
    with open(table, "a") as stream:
        stream.write("\n" + summary + "\n")
    print("\n" + summary)
    print(f"\ndone in {time.perf_counter() - start:.0f} s; table in {table}")


def read_records(tables) -> list:
    """The (case, method, key, rmse, chi2/N) rows of fusion_study.md tables."""
    records = []
    for table in tables:
        for line in Path(table).read_text().splitlines():
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if len(cells) in (8, 9) and cells[2] in KEYS:  # 8: tables without NCG to true
                records.append((cells[0], cells[1], cells[2], float(cells[3]),
                                float(cells[len(cells) - 2])))
    return records


def summarise(records) -> str:
    """Geometric-mean RMSE ratios to independent and cross_gradient, worst chi2/N, per group."""
    rmse = {(c, m, k): r for c, m, k, r, _ in records}
    lines = ["| cases | method | property | RMSE / indep. | RMSE / cross_gradient | "
             "median RMSE / indep. | max chi2/N |", "|---|---|---|---|---|---|---|"]
    def group_of(case):
        family = "in-family" if "in-family" in case else "out-of-family"
        return family + (case[case.index(" ["):] if " [" in case else "")

    for group in sorted({group_of(c) for c, *_ in records}, key=lambda g: (" [" in g, g)):
        cases = sorted({c for c, *_ in records if group_of(c) == group})
        methods = list(dict.fromkeys(m for _, m, *_ in records))
        for method in methods:
            for key in KEYS:
                ratios, median = {}, float("nan")
                for base in ("independent", "cross_gradient"):
                    pairs = [(rmse[(c, method, key)], rmse[(c, base, key)]) for c in cases
                             if (c, method, key) in rmse and (c, base, key) in rmse]
                    ratios[base] = (float(np.exp(np.mean([np.log(a / b) for a, b in pairs])))
                                    if pairs else float("nan"))
                    if base == "independent" and pairs:
                        median = float(np.median([a / b for a, b in pairs]))
                worst = max((x for c, m, k, _, x in records
                             if c in cases and m == method and k == key), default=float("nan"))
                if cases:
                    lines.append(f"| {group} ({len(cases)}) | {method} | {key} | "
                                 f"{ratios['independent']:.3f} | "
                                 f"{ratios['cross_gradient']:.3f} | {median:.3f} | "
                                 f"{worst:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

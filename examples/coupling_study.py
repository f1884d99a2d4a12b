"""Coupling study: which joint strategy improves both models, and at what weight?

Out-of-family validation geologies (drawn by hand here, used to tune nothing)
on an 80 x 40 grid of 2.5 m cells, the layout of the couplings issue:

- cross-hole travel times: 33 sources in a borehole at the left edge, 33
  receivers at the right edge (1,089 rays), 2 % noise;
- a surface DC line: 33 electrodes, dipole-dipole n <= 8, 3 % noise (it
  resolves the top ~20 m);
- homogeneous starting models from the data (median apparent velocity and
  median apparent resistivity).

For each geology the script runs the methods below and prints per property
the RMSE ratio to the independent inversion, chi^2/N and the mean normalised
cross-gradient between the two recovered models; ``--sweep`` adds a weight
sweep over three decades for each coupling. Tables go to ``--output``.

Run::

    python examples/coupling_study.py [--geologies ...] [--methods ...] [--sweep]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from jointinv import Grid, PhysicsSetup
from jointinv.coupling import NormalizedCrossGradient
from jointinv.strategies import run_strategy
from jointinv.user_cases import synthetic_cases

GRID = Grid(nx=80, nz=40, dx=2.5, dz=2.5)

METHODS = {
    "independent": ("independent", {}),
    "cross_gradient (lambda=0)": ("cross_gradient", {"coupling": {"kind": "cross_gradient",
                                                                  "weight": 0.0}}),
    "cross_gradient": ("cross_gradient", {}),
    "cross_gradient + hold": ("cross_gradient", {"hold_iterations": 5}),
    "joint_total_variation": ("joint", {"coupling": None,
                                        "regularization": "joint_total_variation",
                                        "hold_iterations": 5}),
    "structure_guided": ("joint", {"coupling": None, "edge_contrast": 0.05,
                                   "hold_iterations": 5}),
    "petrophysical": ("joint", {"coupling": {"kind": "petrophysical", "weight": 0.3},
                                "hold_iterations": 5}),
    "sequential": ("sequential", {}),
}


def _coordinates():
    z = torch.as_tensor(GRID.cell_centers_z)[:, None].expand(GRID.shape)
    x = torch.as_tensor(GRID.cell_centers_x)[None, :].expand(GRID.shape)
    return z, x


def faulted_three_layers():
    """A conductive, slow middle layer offset 12 m by a normal fault dipping 70 degrees."""
    z, x = _coordinates()
    throw = torch.where(x - (z / np.tan(np.radians(70))) > 110.0, 12.0, 0.0)
    middle = (z >= 14.0 + throw) & (z < 30.0 + throw)
    deep = z >= 30.0 + throw
    velocity = torch.where(middle, 1700.0, torch.where(deep, 3200.0, 2400.0))
    resistivity = torch.where(middle, 0.8, torch.where(deep, 2.6, 2.0))
    return velocity.double(), resistivity.double()


def dipping_dike_under_cover():
    """A resistive, fast dike dipping 60 degrees below an 8 m conductive cover."""
    z, x = _coordinates()
    cover = z < 8.0
    dike = (~cover) & ((x - 70.0 - (z - 8.0) / np.tan(np.radians(60))).abs() < 7.0)
    velocity = torch.where(cover, 1600.0, torch.where(dike, 3800.0, 2600.0))
    resistivity = torch.where(cover, 1.2, torch.where(dike, 3.2, 2.2))
    return velocity.double(), resistivity.double()


def channel_and_block():
    """A slow conductive channel at 6-16 m and a fast resistive block at depth."""
    z, x = _coordinates()
    channel = ((x - 120.0) / 45.0) ** 2 + ((z - 6.0) / 10.0) ** 2 < 1.0
    channel &= z >= 6.0
    block = (x > 40.0) & (x < 80.0) & (z > 55.0) & (z < 85.0)
    velocity = torch.where(channel, 1800.0, torch.where(block, 3500.0, 2500.0))
    resistivity = torch.where(channel, 1.0, torch.where(block, 3.0, 2.1))
    return velocity.double(), resistivity.double()


GEOLOGIES = {"faulted_three_layers": faulted_three_layers,
             "dipping_dike_under_cover": dipping_dike_under_cover,
             "channel_and_block": channel_and_block}

SPECS = {
    "traveltime": {"physics": "traveltime", "constructor": "crosshole",
                   "n_sources": 33, "n_receivers": 33},
    "dcr": {"physics": "dcr", "constructor": "from_surface_line", "array": "dipole-dipole",
            "start": 20.0, "end": 180.0, "electrode_spacing": 5.0, "n_max": 8},
}
NOISE = {"traveltime": {"relative_error": 0.02, "noise_floor": 1e-6},
         "dcr": {"relative_error": 0.03}}


def velocity_from_data(operator, data) -> float:
    """The homogeneous velocity whose travel times match the observed median ratio."""
    unit = operator(torch.full(GRID.shape, 1000.0, dtype=torch.float64))
    return 1000.0 / float(torch.median(data.observed / unit))


def log_resistivity_from_data(operator, data) -> float:
    """log10 of the median apparent resistivity."""
    return float(torch.log10(torch.median(data.observed)))


def setups_for(geology: str, seed: int = 0) -> dict:
    velocity, resistivity = GEOLOGIES[geology]()
    cases = synthetic_cases(GRID, SPECS, {"traveltime": velocity, "dcr": resistivity}, NOISE,
                            {"traveltime": velocity_from_data, "dcr": log_resistivity_from_data},
                            seed=seed, where=geology)
    return {key: PhysicsSetup(c.operator, c.data, c.initial_model, true_model=c.true_model)
            for key, c in cases.items()}


def evaluate(result, setups) -> dict:
    row = {}
    for key, setup in setups.items():
        model = result.models[key]
        row[f"rmse[{key}]"] = float((model - setup.true_model).pow(2).mean().sqrt())
        row[f"chi2/N[{key}]"] = result.misfit(key) / setup.data.n_data
    row["ncg"] = NormalizedCrossGradient(tuple(setups), GRID).mean(result.models)
    row["wall_time_s"] = result.wall_time
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--geologies", nargs="+", default=list(GEOLOGIES), choices=GEOLOGIES)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--sweep", nargs="*", type=float, default=None,
                        help="coupling weights to sweep for every coupling (e.g. 0.03 0.1 "
                             "0.3 1 3 10)")
    parser.add_argument("--edge-contrasts", nargs="*", type=float, default=None,
                        help="structure-guided smoothness: edge contrasts to sweep")
    parser.add_argument("--petrophysical-weights", nargs="*", type=float, default=None,
                        help="petrophysical coupling: weights to sweep")
    parser.add_argument("--max-iterations", type=int, default=30)
    parser.add_argument("--output", default="examples/output/coupling_study")
    args = parser.parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    # every ratio is to the independent inversion, which always runs first
    runs = {"independent": METHODS["independent"]}
    runs.update({name: METHODS[name] for name in args.methods})
    for weight in args.sweep or []:
        runs[f"cross_gradient lambda={weight:g}"] = (
            "cross_gradient", {"coupling": {"kind": "cross_gradient", "weight": weight},
                               "hold_iterations": 5})
        runs[f"joint_total_variation coupling lambda={weight:g}"] = (
            "joint", {"coupling": {"kind": "joint_total_variation", "weight": weight},
                      "hold_iterations": 5})
    for contrast in args.edge_contrasts or []:
        runs[f"structure_guided edge_contrast={contrast:g}"] = (
            "joint", {"coupling": None, "edge_contrast": contrast, "hold_iterations": 5})
    for weight in args.petrophysical_weights or []:
        runs[f"petrophysical lambda={weight:g}"] = (
            "joint", {"coupling": {"kind": "petrophysical", "weight": weight},
                      "hold_iterations": 5})
    lines = ["| geology | method | RMSE v / indep. | RMSE log rho / indep. | chi2/N TT | "
             "chi2/N DC | NCG | time [s] |", "|---|---|---|---|---|---|---|---|"]
    start = time.perf_counter()
    for geology in args.geologies:
        setups = setups_for(geology)
        reference = None
        for label, (strategy, options) in runs.items():
            result = run_strategy(strategy, setups, progress=False,
                                  max_iterations=args.max_iterations, **options)
            row = evaluate(result, setups)
            reference = reference or row
            lines.append(
                f"| {geology} | {label} | "
                f"{row['rmse[traveltime]'] / reference['rmse[traveltime]']:.3f} | "
                f"{row['rmse[dcr]'] / reference['rmse[dcr]']:.3f} | "
                f"{row['chi2/N[traveltime]']:.2f} | {row['chi2/N[dcr]']:.2f} | "
                f"{row['ncg']:.3f} | {row['wall_time_s']:.1f} |")
            print(lines[-1], flush=True)
    table = "\n".join(lines)
    (output / "coupling_study.md").write_text(table + "\n")
    print(f"\ndone in {time.perf_counter() - start:.0f} s; table in {output}")


if __name__ == "__main__":
    main()

"""One independent DC inversion: stored sensitivity against SimPEG's Jacobian products.

The case of the issue "Training data for learned coupling" (item 5): an
80 x 40 grid of 2.5 m cells, 33 surface electrodes 5 m apart, dipole-dipole
with n <= 8 (212 data), 3 % Gaussian noise (seeded), a conductive and a
resistive block in a 100 ohm m half-space, and a homogeneous starting model
at the median apparent resistivity of the data. Each side inverts the same
data with ``jointinv.invert``'s default settings (Gauss-Newton-CG, beta
estimated, cooled to the target misfit) on a fresh operator:

- ``products``: ``DCResistivity2D(..., sensitivity="products")``, SimPEG's
  ``Jvec``/``Jtvec`` for every CG product;
- ``stored``: ``sensitivity="stored"``, one dense ``J`` per model.

Prints one row per side (mean time of a Gauss-Newton iteration, time of the
whole inversion, iterations, final misfit), their ratio and the largest
relative difference between the recovered models::

    python benchmarks/dc_inversion.py [--repeats 1]

Target: whole inversion >= 4 x faster, models equal to 1e-6 relative.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from jointinv.physics.dc_survey import surface_line
from jointinv.physics.dcresistivity import DCResistivity2D

from jointinv import Grid, invert

GRID = Grid(nx=80, nz=40, dx=2.5, dz=2.5, x0=-100.0)
MODES = ("products", "stored")


def true_model() -> torch.Tensor:
    """log10 resistivity: 100 ohm m with a 10 ohm m and a 500 ohm m block."""
    model = torch.full(GRID.shape, 2.0, dtype=torch.float64)
    model[4:12, 20:36] = 1.0  # 10-30 m deep, x in [-50, -10] m
    model[6:16, 48:62] = 2.7  # 15-40 m deep, x in [20, 55] m
    return model


def make_operator(sensitivity: str) -> DCResistivity2D:
    line = surface_line("dipole-dipole", -80.0, 80.0, 5.0, n_max=8)
    return DCResistivity2D(GRID, line, sensitivity=sensitivity)


def run(sensitivity: str, data) -> dict:
    operator = make_operator(sensitivity)
    start = torch.full(GRID.shape, float(np.log10(np.median(data.observed.numpy()))),
                       dtype=torch.float64)
    tic = time.perf_counter()
    result = invert(operator, data, start, progress=False)
    total = time.perf_counter() - tic
    history = result.history
    iterations = len(history) - 1
    return {"model": result.models["log10_resistivity"], "total": total,
            "iteration": history[-1]["time"] / max(iterations, 1), "iterations": iterations,
            "misfit": history[-1]["phi_d[log10_resistivity]"],
            "built": (operator.stored_sensitivity.n_built
                      if operator.stored_sensitivity is not None else 0)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1,
                        help="inversions per side; the fastest counts (shared machine)")
    args = parser.parse_args()
    data = make_operator("products").simulate(true_model(), relative_error=0.03, seed=0)
    best = {}
    for _ in range(args.repeats):
        for mode in MODES:  # alternate, so that both see the same machine load
            outcome = run(mode, data)
            if mode not in best or outcome["total"] < best[mode]["total"]:
                best[mode] = outcome
    print(f"DC inversion: {GRID.nx} x {GRID.nz} cells of {GRID.dx} m, {data.n_data} data, "
          f"3 % noise, jointinv.invert defaults (best of {args.repeats})")
    print(f"{'sensitivity':<12} {'GN iteration [s]':>17} {'inversion [s]':>14} "
          f"{'iterations':>11} {'phi_d':>9} {'J built':>8}")
    for mode in MODES:
        row = best[mode]
        print(f"{mode:<12} {row['iteration']:>17.2f} {row['total']:>14.1f} "
              f"{row['iterations']:>11d} {row['misfit']:>9.1f} {row['built']:>8d}")
    old, new = best["products"], best["stored"]
    difference = ((new["model"] - old["model"]).abs() / old["model"].abs()).max()
    print(f"speed-up (products / stored): GN iteration {old['iteration'] / new['iteration']:.1f}"
          f" x, inversion {old['total'] / new['total']:.1f} x")
    print(f"max relative difference of the recovered models: {float(difference):.2e}")


if __name__ == "__main__":
    main()

"""DC resistivity: our forward + backward against SimPEG's own fields + Jtvec.

For each case (32 and 64 surface electrodes, dipole-dipole with n up to 8,
2.5 m cells) both sides use the same mesh, survey and solver class:

- ours: ``d = operator(model)`` then ``d.backward(v)`` through the bridge
  (fields once, ``dpred``, ``Jtvec`` with the cached fields, maps included);
- SimPEG: ``simulation.fields(m)`` then ``simulation.Jtvec(m, v, f=f)`` on a
  plain ``Simulation2DNodal`` with ``sigmaMap=ExpMap(mesh)`` over the mesh's
  cells, what a SimPEG user would write.

After one untimed warm-up round, each side runs ``--repeats`` times,
alternating, and the best time counts (the machine is shared). One JSON line per case::

    python benchmarks/dcresistivity.py [--repeats 3] [--solver superlu]

Target: ratio = ours / simpeg <= 1.1.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import torch
from jointinv.physics.dc_survey import surface_line
from jointinv.physics.dcresistivity import DCResistivity2D
from simpeg import maps
from simpeg.electromagnetics.static import resistivity as dc

from jointinv import Grid
from jointinv.simpeg import solver_name, solver_options

CELL = 2.5  # m
SPACING = 10.0  # m between electrodes (4 cells)
N_MAX = 8


def build_case(n_electrodes: int, solver):
    line_length = (n_electrodes - 1) * SPACING
    nx = int(round((line_length + 2 * 40.0) / CELL))
    grid = Grid(nx=nx, nz=32, dx=CELL, dz=CELL, x0=-nx * CELL / 2)
    line = surface_line("dipole-dipole", -line_length / 2, line_length / 2, SPACING, n_max=N_MAX)
    operator = DCResistivity2D(grid, line, solver=solver)
    z, x = np.meshgrid(grid.cell_centers_z, grid.cell_centers_x, indexing="ij")
    model = 2.0 + 0.5 * np.exp(-((x - 10.0) ** 2 + (z - 20.0) ** 2) / 200.0)
    return operator, torch.as_tensor(model, dtype=torch.float64)


def reference_simulation(operator):
    """SimPEG alone: same mesh, survey and solver, ExpMap over the mesh cells."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        simulation = dc.Simulation2DNodal(operator.mesh, survey=operator.survey,
                                          sigmaMap=maps.ExpMap(operator.mesh),
                                          solver=operator.solver)
    simulation.solver_opts = solver_options(operator.solver, simulation.solver_opts)
    return simulation


def time_ours(operator, model, cotangent):
    operator.bridge.clear()
    leaf = model.clone().requires_grad_(True)
    start = time.perf_counter()
    predicted = operator(leaf)
    predicted.backward(cotangent)
    return time.perf_counter() - start, leaf.grad


def time_simpeg(simulation, mesh_model, cotangent):
    start = time.perf_counter()
    fields = simulation.fields(mesh_model)
    gradient = simulation.Jtvec(mesh_model, cotangent, f=fields)
    return time.perf_counter() - start, gradient


def run_case(n_electrodes: int, repeats: int, solver) -> dict:
    operator, model = build_case(n_electrodes, solver)
    simulation = reference_simulation(operator)
    # The same conductivity on the mesh: ln(sigma) = -ln(10) * (T m + c), our LinearMap.
    log_conductivity = operator.simulation.sigmaMap.maps[-1]
    mesh_model = log_conductivity * model.numpy().ravel()
    generator = torch.Generator().manual_seed(0)
    cotangent = torch.randn(operator.n_data, generator=generator, dtype=torch.float64)
    ours, reference = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(repeats + 1):  # the first round warms SimPEG's caches on both sides
            seconds, gradient = time_ours(operator, model, cotangent)
            ours.append(seconds)
            seconds, reference_gradient = time_simpeg(simulation, mesh_model, cotangent.numpy())
            reference.append(seconds)
        ours, reference = ours[1:], reference[1:]
    # Both must agree through the chain rule: ours = A^T (SimPEG's), A = -ln(10) T.
    expected = log_conductivity.A.T @ reference_gradient
    difference = np.linalg.norm(gradient.numpy().ravel() - expected) / np.linalg.norm(expected)
    return {
        "benchmark": "dcresistivity_forward_backward",
        "electrodes": n_electrodes,
        "array": "dipole-dipole",
        "n_max": N_MAX,
        "cell_m": CELL,
        "grid": list(operator.grid.shape),
        "mesh_cells": int(operator.mesh.n_cells),
        "n_data": operator.n_data,
        "solver": solver_name(operator.solver),
        "repeats": repeats,
        "ours_s": round(min(ours), 4),
        "simpeg_s": round(min(reference), 4),
        "ratio": round(min(ours) / min(reference), 4),
        "target_ratio": 1.1,
        "gradient_relative_difference": float(f"{difference:.3e}"),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--solver", default=None, help="pardiso, mumps or superlu")
    parser.add_argument("--electrodes", type=int, nargs="+", default=[32, 64])
    args = parser.parse_args()
    torch.set_num_threads(1)
    for n_electrodes in args.electrodes:
        print(json.dumps(run_case(n_electrodes, args.repeats, args.solver)), flush=True)


if __name__ == "__main__":
    main()

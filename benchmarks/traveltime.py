"""Build time of the ray–cell length matrix: ours against SimPEG's, same run.

Cross-hole surveys (sources on the left edge, receivers on the right edge,
evenly spaced from the first to the last cell-centre depth, every pair):

- 100 x 100 cells, 50 x 50 rays (target: whole matrix in under 0.05 s);
- 200 x 200 cells, 100 x 100 rays.

Our time is the best of ``--repeats`` builds of
:func:`jointinv.physics.ray_paths.straight_ray_lengths` (the matrix ``L``), and, for
information, of the whole ``StraightRayTomography`` constructor (argument
checks included). SimPEG's ``straight_ray_tomography`` builds ``L`` with a
Python loop over every cell for every ray (about 0.2 s per ray on 100 x 100),
so only ``--simpeg-rays`` rays, evenly spread over the survey, are timed and
the time is scaled to all rays. The benchmark also checks that both matrices
agree on those rays (after mapping our depth to SimPEG's elevation and our C
cell order to its x-fastest order from the bottom) and reports the largest
difference relative to the largest entry.

Prints one JSON line per case. Run from the repository root::

    .venv/bin/python benchmarks/traveltime.py [--repeats 5] [--simpeg-rays 20]
"""

from __future__ import annotations

import argparse
import json
import time

import discretize
import numpy as np
from jointinv.physics.ray_paths import straight_ray_lengths
from jointinv.physics.traveltime import StraightRayTomography
from simpeg.seismic import straight_ray_tomography as simpeg_tomography

from jointinv import Grid

CASES = ((100, 50, 0.05), (200, 100, None))  # cells per side, points per borehole, target [s]
CELL_SIZE = 2.0  # m


def best_time(function, repeats: int) -> float:
    """Smallest wall-clock time [s] of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def simpeg_matrix(grid: Grid, starts: np.ndarray, ends: np.ndarray):
    """SimPEG's length matrix for rays ``starts[i] -> ends[i]``, columns in our C order."""
    mesh = discretize.TensorMesh([np.full(grid.nx, grid.dx), np.full(grid.nz, grid.dz)],
                                 origin=[grid.x0, -grid.z_max])
    source_list = [
        simpeg_tomography.Src(location=np.array([start[0], -start[1]]),
                              receiver_list=[simpeg_tomography.Rx(np.array([[end[0], -end[1]]]))])
        for start, end in zip(starts, ends)
    ]
    simulation = simpeg_tomography.Simulation(mesh, survey=simpeg_tomography.Survey(source_list))
    matrix = simulation.A.tocsr()
    # SimPEG cell (ix, iy) is at ix + iy * nx with iy counted up from the bottom
    simpeg_column = np.flipud(np.arange(grid.n_cells).reshape(grid.shape)).ravel()
    return matrix[:, simpeg_column]


def run_case(n_cells: int, n_points: int, target, repeats: int, simpeg_rays: int) -> dict:
    grid = Grid(nx=n_cells, nz=n_cells, dx=CELL_SIZE, dz=CELL_SIZE)
    operator = StraightRayTomography.crosshole(grid, n_points, n_points)
    starts = operator.sources[operator.pairs[:, 0]]
    ends = operator.receivers[operator.pairs[:, 1]]
    ours = best_time(lambda: straight_ray_lengths(grid, starts, ends), repeats)
    ours_operator = best_time(lambda: StraightRayTomography.crosshole(grid, n_points, n_points),
                              repeats)

    subset = np.unique(np.linspace(0, operator.n_data - 1, simpeg_rays).round().astype(int))
    start = time.perf_counter()
    reference = simpeg_matrix(grid, starts[subset], ends[subset])
    simpeg_subset = time.perf_counter() - start
    simpeg = simpeg_subset * operator.n_data / len(subset)
    difference = abs(operator.matrix[subset] - reference).max() / abs(reference).max()

    line = {
        "benchmark": "traveltime_length_matrix",
        "grid": f"{n_cells}x{n_cells}",
        "cell_size_m": CELL_SIZE,
        "n_rays": operator.n_data,
        "nnz": operator.matrix.nnz,
        "ours_s": round(ours, 5),
        "ours_operator_s": round(ours_operator, 5),
        "simpeg_rays_timed": len(subset),
        "simpeg_subset_s": round(simpeg_subset, 3),
        "simpeg_extrapolated_s": round(simpeg, 2),
        "ratio_simpeg_over_ours": round(simpeg / ours, 1),
        "subset_max_relative_difference": float(f"{difference:.3e}"),
    }
    if target is not None:
        line.update(target_s=target, meets_target=bool(ours < target))
    return line


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="builds per timing (best kept)")
    parser.add_argument("--simpeg-rays", type=int, default=20,
                        help="rays timed with SimPEG (its time is scaled to all rays)")
    args = parser.parse_args()
    for n_cells, n_points, target in CASES:
        print(json.dumps(run_case(n_cells, n_points, target, args.repeats, args.simpeg_rays)),
              flush=True)


if __name__ == "__main__":
    main()

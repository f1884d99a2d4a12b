"""Conventional full-waveform inversion of a Marmousi-like model with Adam.

The baseline of the FAD-FWI paper (seed document ``003``, "DW-FWI"): the
velocity of every cell is a free parameter, updated by Adam with gradients of
the waveform misfit through the acoustic wave equation. The set-up follows
the paper at a CPU-friendly size:

- a seeded Marmousi-like model (``jointinv.synthetic.velocity_model``:
  folded, faulted thin layers under a water layer, random-field texture),
  60 x 150 cells of 12.5 m (750 m x 1875 m);
- 20 shots and a receiver in every column, 1.5 cells below the surface
  (in the water), a 7 Hz Ricker wavelet, 0.9 s of data;
- a smoothed 1D initial model (lateral mean, Gaussian of 150 m along depth)
  with the water layer kept at 1500 m/s, optionally off by ``--percent``;
- optional noise ``sigma = 0.5 sigma_0`` (``--noise``) and removal of the
  frequencies below 2.5 Hz (``--lowcut``), the paper's "uncertain
  observations" cases.

The inversion is the library's ``jointinv.invert`` with ``solver="adam"``:
the chi-squared misfit plus ``beta`` times a first-difference smoothness
(``beta`` small and fixed: conventional FWI is nearly unregularised). The
water layer is a fixed-cell mask (``--free-water`` lets it move); the FWI
workflow options are exposed: ``--step`` (Adam's step in m/s instead of the
relative ``--lr``), ``--preconditioner depth|illumination``, ``--frequencies``
(multiscale low-pass bands), ``--misfit envelope|correlation`` and
``--shots-per-iteration`` (shot mini-batches). With the low-cut,
the observed data are filtered and the inversion's source wavelet is the
filtered Ricker: filtering commutes with the (linear, time-invariant) wave
equation, so predicted and observed data share the same band. The same
propagator makes the data and inverts them (an "inverse crime", as is usual
for such comparisons).

It prints MSE [(m/s)^2], SSIM and PSNR [dB] (``jointinv.metrics``, as defined
in FAD-FWI) of the initial and the recovered model and writes models,
metrics, convergence curves and a shot-gather figure to ``--output``.

It also prints the mean error of the deepest tenth of the rows [m/s] (where
Adam's equal-sized steps drift in poorly illuminated cells).

Run::

    python examples/fwi_conventional.py [--iterations 30] [--lr 0.01 | --step 30]
        [--preconditioner illumination] [--frequencies 3 5 7] [--noise] [--lowcut]
"""

import argparse
import sys
import time
from pathlib import Path

import torch
from matplotlib.figure import Figure

import jointinv
from jointinv import Data, Grid
from jointinv.metrics import model_metrics
from jointinv.synthetic import perturbed_model, smoothed_1d_model, velocity_model
from jointinv.waveforms import lowcut
from jointinv.wavelets import ricker

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fwi_survey import acquisition, observed_data  # noqa: E402 - the sibling example

WATER_VELOCITY = 1500.0  # m/s
V_MIN, V_MAX = 1500.0, 4500.0  # m/s


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=30, help="Adam iterations")
    parser.add_argument("--lr", type=float, default=0.01,
                        help="Adam learning rate, relative: cells move by about lr x the "
                             "RMS starting velocity per step (0.01: about 30 m/s)")
    parser.add_argument("--beta", type=float, default=1e-4,
                        help="weight of the smoothness term (small: conventional FWI)")
    parser.add_argument("--noise", action="store_true", help="add noise sigma = f * sigma_0")
    parser.add_argument("--noise-fraction", type=float, default=0.5, help="f in sigma = f sigma_0")
    parser.add_argument("--lowcut", action="store_true", help="remove frequencies below cutoff")
    parser.add_argument("--cutoff", type=float, default=2.5, help="low-cut frequency [Hz]")
    parser.add_argument("--model-seed", type=int, default=0, help="seed of the true model")
    parser.add_argument("--noise-seed", type=int, default=1, help="seed of the noise")
    parser.add_argument("--nx", type=int, default=150)
    parser.add_argument("--nz", type=int, default=60)
    parser.add_argument("--spacing", type=float, default=12.5, help="cell size [m]")
    parser.add_argument("--shots", type=int, default=20)
    parser.add_argument("--frequency", type=float, default=7.0, help="Ricker peak [Hz]")
    parser.add_argument("--dt", type=float, default=1.3e-3, help="time step [s]")
    parser.add_argument("--nt", type=int, default=700, help="time samples")
    parser.add_argument("--smoothing", type=float, default=150.0,
                        help="depth smoothing of the 1D initial model [m]")
    parser.add_argument("--percent", type=float, default=0.0,
                        help="perturb the initial model by this many percent (FAD-FWI: -30..30)")
    parser.add_argument("--step", type=float, default=None,
                        help="Adam's step per iteration in m/s (replaces --lr)")
    parser.add_argument("--preconditioner", choices=["none", "depth", "illumination"],
                        default="none", help="per-cell step weights")
    parser.add_argument("--depth-power", type=float, default=1.0, help="p of (z/z_max)^p")
    parser.add_argument("--frequencies", type=float, nargs="+", default=None,
                        help="multiscale: low-pass corners [Hz], iterations per band")
    parser.add_argument("--misfit", choices=["l2", "envelope", "correlation"], default="l2")
    parser.add_argument("--shots-per-iteration", type=int, default=None,
                        help="shot mini-batch size (default: every shot)")
    parser.add_argument("--free-water", action="store_true",
                        help="let the inversion change the water layer")
    parser.add_argument("--engine", choices=["torch", "deepwave"], default="torch")
    parser.add_argument("--output", type=Path, default=Path("examples/output/fwi_conventional"))
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser.parse_args(argv)


def plot_gathers(data: Data, predicted: torch.Tensor, dt: float, path: Path, shot: int):
    """Observed and predicted gathers of one shot and their difference."""
    panels = {"observed": data.observed[shot], "predicted": predicted[shot],
              "observed - predicted": data.observed[shot] - predicted[shot]}
    clip = 0.1 * float(data.observed[shot].abs().max())  # show reflections, not just direct wave
    figure = Figure(figsize=(12, 4), layout="constrained")
    for axes, (title, gather) in zip(figure.subplots(1, 3), panels.items(), strict=True):
        axes.imshow(gather.detach().cpu().T.numpy(), aspect="auto", cmap="gray",
                    vmin=-clip, vmax=clip, extent=(0, gather.shape[0], gather.shape[1] * dt, 0))
        axes.set_xlabel("receiver")
        axes.set_ylabel("time [s]")
        axes.set_title(f"shot {shot}: {title}")
    figure.savefig(path, dpi=100)


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    grid = Grid(nx=args.nx, nz=args.nz, dx=args.spacing, dz=args.spacing)
    water_depth = 0.1 * args.nz * args.spacing
    true_model = velocity_model("marmousi", grid, seed=args.model_seed, v_min=V_MIN, v_max=V_MAX,
                                water_depth=water_depth, water_velocity=WATER_VELOCITY)
    initial_model = smoothed_1d_model(true_model, grid, args.smoothing, water_depth=water_depth,
                                      water_velocity=WATER_VELOCITY)
    if args.percent:
        initial_model = perturbed_model(initial_model, grid, args.percent,
                                        water_depth=water_depth, water_velocity=WATER_VELOCITY)

    sources, receivers = acquisition(grid, args.shots)
    wavelet = ricker(args.frequency, args.nt, args.dt, dtype=torch.float64)
    # max_velocity pinned above V_MAX: Adam may overshoot, and the discretisation
    # (PML, CFL) must stay the same for all iterations.
    common = dict(dt=args.dt, nt=args.nt, frequency=args.frequency, max_velocity=5000.0,
                  pml_width=10, engine=args.engine)
    recording = jointinv.create_physics("acoustic", grid, sources, receivers,
                                        wavelet=wavelet, **common)
    data = observed_data(recording, true_model, args.dt, noise=args.noise, low_cut=args.lowcut,
                         noise_fraction=args.noise_fraction, cutoff=args.cutoff,
                         noise_seed=args.noise_seed)
    inversion_wavelet = lowcut(wavelet, args.dt, args.cutoff) if args.lowcut else wavelet
    operator = jointinv.create_physics("acoustic", grid, sources, receivers,
                                       wavelet=inversion_wavelet, **common)
    setup_time = time.perf_counter() - start
    noise = f"sigma = {args.noise_fraction} sigma_0" if args.noise else "off"
    low_cut = f"{args.cutoff} Hz" if args.lowcut else "off"
    print(f"{args.shots} shots x {len(receivers)} receivers x {args.nt} samples on a "
          f"{args.nz} x {args.nx} grid; noise {noise}, low-cut {low_cut} "
          f"(set-up {setup_time:.1f} s)")

    water = None
    if not args.free_water:
        depths = torch.as_tensor(grid.cell_centers_z)[:, None].expand(grid.shape)
        water = (depths < water_depth).numpy()
    steps = dict(lr=args.lr) if args.step is None else dict(step=args.step)
    result = jointinv.invert(operator, data, initial_model, solver="adam", **steps,
                             beta=args.beta, cooling_factor=1.0, alpha_s=0.0,
                             max_iterations=args.iterations, chi_factor=1e-6, mask=water,
                             preconditioner=None if args.preconditioner == "none"
                             else args.preconditioner, depth_power=args.depth_power,
                             frequencies=args.frequencies, misfit=args.misfit,
                             shots_per_iteration=args.shots_per_iteration,
                             true_model=true_model, name="velocity",
                             progress=not args.no_progress)
    runtime = time.perf_counter() - start

    result.save(args.output)
    plot_gathers(data, result.predicted["velocity"], args.dt, args.output / "gathers.png",
                 shot=args.shots // 2)
    first = result.history[0]
    print(f"{result.n_iterations} Adam iterations in {result.wall_time:.1f} s "
          f"(total {runtime:.1f} s); chi-squared / n_data "
          f"{first.get('chi2[velocity]', first['phi_d[velocity]']) / data.n_data:.4g} -> "
          f"{result.misfit('velocity') / data.n_data:.4g}")
    deep = slice(grid.nz - max(1, grid.nz // 10), grid.nz)
    for label, model in (("initial", initial_model), ("recovered", result.model)):
        bias = float((model[deep] - true_model[deep]).mean())
        print(f"{label}: mean error of the deepest {deep.stop - deep.start} rows "
              f"{bias:+.1f} m/s")
    print(f"{'model':<10} {'MSE [(m/s)^2]':>14} {'SSIM':>7} {'PSNR [dB]':>10}")
    for label, model in (("initial", initial_model), ("recovered", result.model)):
        metrics = model_metrics(model, true_model)
        print(f"{label:<10} {metrics['mse']:>14.1f} {metrics['ssim']:>7.4f} "
              f"{metrics['psnr']:>10.2f}")
    print(f"results written to {args.output}")


if __name__ == "__main__":
    main()

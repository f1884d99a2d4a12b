"""FAD-FWI study: a deep-image-prior U-Net against conventional FWI (seed ``003``).

Methods (``--methods``), all Adam on the same objective (chi-squared misfit
plus ``--beta`` times a first-difference smoothness, beta fixed):

- ``dip`` — FAD-FWI: the velocity is a U-Net's output fed a fixed Matérn
  latent (smoothness 3), linear last layer (``jointinv.deep_image_prior``);
  Adam moves the network's weights through the wave solver.
- ``gnn`` — the seed's bounded variant: the same network with a ``tanh``
  head, ``start mean + --gnn-scale * tanh(u)`` (the seed's scaling factor;
  not Zhu et al.'s generator architecture).
- ``conventional`` — every cell a free parameter (the seed's DW-FWI).
- ``deepwave`` — ``conventional`` computed by the Deepwave engine.

``dip``, ``gnn`` and ``conventional`` use ``--engine`` (``torch``: the
project's own propagator; ``deepwave``: the same discretisation in Deepwave).

Fairness: every method gets the same number of Adam iterations (each one
simulation of all shots and its gradient), the same data, start, objective
and water mask. The networks are first pre-trained to the start model
(``--pretrain-steps`` Adam steps on the model misfit alone, no wave
simulation), as deep-image-prior practice does; that time is in the runtime.

Cases: models ``marmousi`` (``jointinv.synthetic.velocity_model``, with water)
and ``overthrust`` (``jointinv.synthetic.overthrust_model``, a land model);
starts ``smoothed`` (2D Gaussian), ``smoothed-1d`` (lateral mean, then
Gaussian along depth), ``homogeneous`` (the mean rock velocity of the true
model), each optionally off by ``--percent`` (perturbed_model); data
``clean``, ``lowcut`` (below 2.5 Hz removed), ``noisy`` (sigma = 0.5 sigma_0),
``lowcut+noisy``. The same propagator makes and inverts the data.

Every run appends one line to ``OUTPUT/runs.jsonl`` (MSE [(m/s)^2], SSIM,
PSNR [dB] of ``jointinv.metrics``, runtime [s], peak memory [MB], the misfit
history) and saves its model to ``OUTPUT/models/``; a rerun skips the runs
already logged and tries the failed ones again (Ctrl-C loses at most the
current run). Each run is its own
process, so the peak memory is that process's peak resident set size
(``resource.getrusage``; it includes about 300-400 MB of Python, torch and
NumPy; on a GPU, torch's peak allocation is logged as well). Then
``OUTPUT/results.md`` (the tables, as the seed's Table 1, and DIP /
conventional ratios) and ``OUTPUT/models_<model>.png`` (methods x conditions)
are written from the whole log.

CPU sizes by default (a 30 x 80 grid of 20 m cells, 10 shots, 0.96 s, a
small U-Net, 200 iterations: 3-4 CPU minutes a run); ``--full``
takes sizes near the seed's (a 128 x 256 grid of 10 m cells, 20 shots, 256
receivers, 2 s, the seed's U-Net width with batch norm, 2000 iterations), which
need a GPU (``--device cuda``; not tried on a GPU here).

Run (the measured study of the README)::

    python examples/fad_fwi.py --models overthrust --methods dip conventional \
        --starts smoothed --data clean lowcut noisy lowcut+noisy
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch
from jointinv.networks import UNet

import jointinv
from jointinv import Grid
from jointinv.deep_image_prior import DeepImagePrior
from jointinv.metrics import model_metrics
from jointinv.synthetic import (
    homogeneous_model,
    overthrust_model,
    perturbed_model,
    smoothed_1d_model,
    smoothed_model,
    velocity_model,
    water_mask,
)
from jointinv.waveforms import lowcut
from jointinv.wavelets import ricker

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fad_fwi_report import write_figures, write_table  # noqa: E402 - sibling examples
from fwi_survey import acquisition, observed_data  # noqa: E402

MODELS = ("marmousi", "overthrust")
METHODS = ("dip", "gnn", "conventional", "deepwave")
STARTS = ("smoothed", "smoothed-1d", "homogeneous")
DATA = ("clean", "lowcut", "noisy", "lowcut+noisy")
WATER_VELOCITY = 1500.0  # m/s
VELOCITY_RANGE = {"marmousi": (1500.0, 4500.0), "overthrust": (2000.0, 6000.0)}  # m/s
MAX_VELOCITY = 6500.0  # m/s, pinned above any iterate: a fixed discretisation

# nz, nx, spacing [m], shots, nt, dt [s], Ricker peak [Hz], iterations, U-Net
SIZES = {"cpu": dict(nz=30, nx=80, spacing=20.0, shots=10, nt=600, dt=1.6e-3,
                     frequency=7.0, iterations=200, base_channels=16, depth=3, norm=None),
         "full": dict(nz=128, nx=256, spacing=10.0, shots=20, nt=2500, dt=0.8e-3,
                      frequency=7.0, iterations=2000, base_channels=64, depth=4,
                      norm="batch")}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=["overthrust"])
    parser.add_argument("--methods", nargs="+", choices=METHODS,
                        default=["dip", "conventional"])
    parser.add_argument("--starts", nargs="+", choices=STARTS, default=["smoothed"])
    parser.add_argument("--percent", nargs="+", type=float, default=[0.0],
                        help="perturb the start by these percents (the seed: -30..30)")
    parser.add_argument("--data", nargs="+", choices=DATA, default=list(DATA))
    parser.add_argument("--full", action="store_true",
                        help="the seed's sizes (needs a GPU: hours on a CPU)")
    parser.add_argument("--iterations", type=int, default=None,
                        help="Adam iterations of every method (default 200, --full 2000)")
    parser.add_argument("--engine", choices=["torch", "deepwave"], default="torch",
                        help="propagator of dip, gnn and conventional")
    parser.add_argument("--lr", type=float, default=0.01,
                        help="conventional: relative Adam step (0.01: ~1 %% of the RMS "
                             "start per iteration)")
    parser.add_argument("--dip-lr", type=float, default=2e-4,
                        help="Adam rate of the weights (2e-4: of 1e-4, 2e-4, 3e-4 the lowest "
                             "data misfit after 200 iterations on the Marmousi-like validation "
                             "case, clean data; 2e-5 fitted less than 1e-4 and 5e-4 went "
                             "unstable there on low-cut noisy data)")
    parser.add_argument("--dip-schedule", choices=["constant", "cosine"], default="constant",
                        help="dip and gnn: Adam's rate over the run; cosine decays it to 0 "
                             "at --iterations")
    parser.add_argument("--pretrain-steps", type=int, default=300)
    parser.add_argument("--dip-scale", type=float, default=None,
                        help="dip: the linear head's scale [m/s] (default: the start's "
                             "spread; 5 %% of its mean for a homogeneous start)")
    parser.add_argument("--gnn-scale", type=float, default=1000.0,
                        help="gnn: the tanh head's scale [m/s]")
    parser.add_argument("--beta", type=float, default=1e-4, help="smoothness weight (all)")
    parser.add_argument("--stop-at-target", action="store_true",
                        help="every method stops once chi^2 <= N (the discrepancy principle, "
                             "the project's default) instead of running all --iterations")
    parser.add_argument("--smoothing", type=float, default=None,
                        help="start models' Gaussian smoothing [m] (default 8 cells)")
    parser.add_argument("--model-seed", type=int, default=0)
    parser.add_argument("--noise-seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    parser.add_argument("--in-process", action="store_true",
                        help="run in this process (no per-run peak memory)")
    parser.add_argument("--output", type=Path, default=Path("examples/fad_fwi"))
    parser.add_argument("--report-only", action="store_true",
                        help="only rewrite the table and figures from the log")
    args = parser.parse_args(argv)
    args.size = "full" if args.full else "cpu"
    if args.iterations is None:
        args.iterations = SIZES[args.size]["iterations"]
    if args.iterations < 1 or args.pretrain_steps < 0 or args.threads < 1:
        parser.error("--iterations and --threads must be >= 1, --pretrain-steps >= 0")
    return args


#: Methods whose result depends on the networks' settings (``--dip-lr``).
NETWORK_METHODS = ("dip", "gnn")


def run_key(spec: dict, legacy: bool = False) -> str:
    """Identifies a run in the log: everything that changes its result.

    The DIP rate is part of the key of the network methods only; ``legacy``
    gives the key runs of every method were logged under before (it named
    the rate for conventional FWI too), so that those rows still count.
    """
    case = "/".join(str(spec[k]) for k in ("size", "model", "method", "start", "percent",
                                           "data", "iterations", "engine"))
    rate = (f"-dlr{spec['dip_lr']:g}" if legacy or spec["method"] in NETWORK_METHODS
            else "")
    tuning = (f"lr{spec['lr']:g}{rate}-pre{spec['pretrain_steps']}"
              f"-g{spec['gnn_scale']:g}-b{spec['beta']:g}-sm{spec['smoothing'] or 0:g}"
              f"-s{spec['model_seed']}-{spec['noise_seed']}")
    if spec.get("dip_scale"):  # only when given, so older keys stay valid
        tuning += f"-hs{spec['dip_scale']:g}"
    if spec.get("stop_at_target"):
        tuning += "-stop"
    if spec["method"] in NETWORK_METHODS and spec.get("dip_schedule", "constant") != "constant":
        tuning += f"-{spec['dip_schedule']}"
    return f"{case}/{tuning}"


def build_case(spec: dict, device: str = "cpu") -> dict:
    """True model, start, water mask, operator and observed data of one run (seeded)."""
    size = SIZES[spec["size"]]
    grid = Grid(nx=size["nx"], nz=size["nz"], dx=size["spacing"], dz=size["spacing"])
    v_min, v_max = VELOCITY_RANGE[spec["model"]]
    if spec["model"] == "marmousi":
        water_depth = 0.1 * grid.nz * grid.dz
        true = velocity_model("marmousi", grid, seed=spec["model_seed"], v_min=v_min,
                              v_max=v_max, water_depth=water_depth,
                              water_velocity=WATER_VELOCITY, dtype=torch.float64)
    else:
        water_depth = None  # a land model
        true = overthrust_model(grid, seed=spec["model_seed"], v_min=v_min, v_max=v_max,
                                dtype=torch.float64)
    water = dict(water_depth=water_depth, water_velocity=WATER_VELOCITY)
    smoothing = spec["smoothing"] or 8 * grid.dz
    if spec["start"] == "smoothed":
        start = smoothed_model(true, grid, smoothing, **water)
    elif spec["start"] == "smoothed-1d":
        start = smoothed_1d_model(true, grid, smoothing, **water)
    else:
        rock = true if water_depth is None else true[~torch.from_numpy(
            water_mask(grid, water_depth))]
        start = homogeneous_model(grid, float(rock.mean()), **water).to(true)
    if spec["percent"]:
        start = perturbed_model(start, grid, spec["percent"], **water)
    sources, receivers = acquisition(grid, size["shots"])
    wavelet = ricker(size["frequency"], size["nt"], size["dt"], dtype=torch.float64)
    low_cut = "lowcut" in spec["data"]
    engine = "deepwave" if spec["method"] == "deepwave" else spec["engine"]
    # a start raised by +p % raises the pinned maximum alike (it must stay above every iterate)
    max_velocity = MAX_VELOCITY * (1.0 + max(spec["percent"], 0.0) / 100.0)
    common = dict(dt=size["dt"], nt=size["nt"], frequency=size["frequency"],
                  max_velocity=max_velocity, pml_width=10, engine=engine)
    recording = jointinv.create_physics("acoustic", grid, sources, receivers,
                                        wavelet=wavelet, **common).to(device)
    data = observed_data(recording, true.to(device), size["dt"], low_cut=low_cut,
                         noise="noisy" in spec["data"], noise_seed=spec["noise_seed"])
    inversion_wavelet = lowcut(wavelet, size["dt"], 2.5) if low_cut else wavelet
    operator = jointinv.create_physics("acoustic", grid, sources, receivers,
                                       wavelet=inversion_wavelet, **common).to(device)
    mask = None if water_depth is None else water_mask(grid, water_depth)
    return dict(grid=grid, true=true, start=start, mask=mask, operator=operator, data=data)


def deep_prior(spec: dict, grid: Grid, start: torch.Tensor) -> DeepImagePrior:
    """The U-Net prior of ``dip`` (linear head) or ``gnn`` (tanh head), pre-trained."""
    size = SIZES[spec["size"]]
    with torch.random.fork_rng():  # seeded weights, the global generator left alone
        torch.manual_seed(spec["model_seed"])
        network = UNet.fad_fwi(base_channels=size["base_channels"], depth=size["depth"],
                               norm=size["norm"])
    bounded = spec["method"] == "gnn"
    prior = DeepImagePrior(grid, {"velocity": start}, network=network,
                           head="tanh" if bounded else "linear",
                           scale={"velocity": spec["gnn_scale"] if bounded
                                  else spec["dip_scale"]}
                           if bounded or spec.get("dip_scale") else None,
                           seed=spec["model_seed"])
    if spec["pretrain_steps"]:
        prior.pretrain({"velocity": start}, steps=spec["pretrain_steps"], lr=1e-3)
    return prior


def run_one(spec: dict) -> dict:
    """One inversion; returns the log row (metrics, runtime, peak memory, history)."""
    torch.set_num_threads(spec["threads"])
    device = spec["device"]
    case = build_case(spec, device)
    true, start = case["true"], case["start"].to(device)
    began, cpu_began = time.perf_counter(), time.process_time()
    options = dict(solver="adam", beta=spec["beta"], cooling_factor=1.0, alpha_s=0.0,
                   max_iterations=spec["iterations"],
                   chi_factor=1.0 if spec.get("stop_at_target") else 1e-6, mask=case["mask"],
                   true_model=true.to(device), name="velocity", progress=False)
    if spec["method"] in ("dip", "gnn"):
        prior = deep_prior(spec, case["grid"], start).to(device)
        result = jointinv.invert(case["operator"], case["data"], start, lr=spec["dip_lr"],
                                 lr_schedule=spec.get("dip_schedule", "constant"),
                                 parameterization=prior, **options)
    else:
        result = jointinv.invert(case["operator"], case["data"], start, lr=spec["lr"],
                                 **options)
    runtime, cpu_time = time.perf_counter() - began, time.process_time() - cpu_began
    model = result.model.detach().cpu()
    row = dict(spec, key=run_key(spec), runtime_s=runtime, cpu_s=cpu_time,
               peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
               start_metrics=model_metrics(case["start"], true),
               **model_metrics(model, true),
               misfit=[r["phi_d[velocity]"] for r in result.history])
    if torch.cuda.is_available() and device.startswith("cuda"):
        row["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    models = Path(spec["output"]) / "models"
    models.mkdir(parents=True, exist_ok=True)
    stem = row["key"].replace("/", "_")
    np.save(models / f"{stem}.npy", model.numpy())
    np.save(models / f"{stem}_start.npy", case["start"].numpy())
    np.save(models / f"{spec['size']}_{spec['model']}_{spec['model_seed']}_true.npy",
            true.numpy())
    return row


def read_log(path: Path) -> list:
    """Rows of the JSONL log (a torn last line from a killed run is ignored)."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def specs(args) -> list:
    """Every run the arguments ask for, in a stable order."""
    fixed = dict(size=args.size, iterations=args.iterations, engine=args.engine, lr=args.lr,
                 dip_lr=args.dip_lr, dip_schedule=args.dip_schedule,
                 pretrain_steps=args.pretrain_steps,
                 gnn_scale=args.gnn_scale, dip_scale=args.dip_scale, beta=args.beta,
                 smoothing=args.smoothing, stop_at_target=args.stop_at_target,
                 model_seed=args.model_seed, noise_seed=args.noise_seed,
                 threads=args.threads, device=args.device, output=str(args.output))
    return [dict(fixed, model=model, start=start, percent=percent, data=data, method=method)
            for model in args.models for start in args.starts for percent in args.percent
            for data in args.data for method in args.methods]


def in_own_process(spec: dict) -> dict:
    """``run_one`` in a fresh process, so its peak memory is its own."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(run_one, spec).result()


def main(argv=None):
    args = parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    log = args.output / "runs.jsonl"
    if not args.report_only:
        done = {row["key"] for row in read_log(log) if "error" not in row}
        todo = [s for s in specs(args)
                if run_key(s) not in done and run_key(s, legacy=True) not in done]
        print(f"{len(todo)} runs to do ({len(done)} in {log})", flush=True)
        for number, spec in enumerate(todo, 1):
            try:
                row = run_one(spec) if args.in_process else in_own_process(spec)
            except ValueError as error:  # e.g. a diverged run: logged, the study goes on
                row = dict(spec, key=run_key(spec), error=str(error))
            with log.open("a") as stream:
                stream.write(json.dumps(row) + "\n")
            outcome = (f"failed: {row['error']}" if "error" in row else
                       f"MSE {row['mse']:.1f} SSIM {row['ssim']:.4f} PSNR {row['psnr']:.2f} "
                       f"dB, {row['runtime_s']:.0f} s, {row['peak_rss_mb']:.0f} MB")
            print(f"[{number}/{len(todo)}] {row['key']}: {outcome}", flush=True)
    rows = read_log(log)
    table = write_table(rows, args.output / "results.md")
    figures = write_figures(rows, args.output)
    print(table)
    print("written:", args.output / "results.md", *figures)


if __name__ == "__main__":
    main()

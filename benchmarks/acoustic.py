"""Acoustic propagator: time and memory against Deepwave, side by side in one run.

Every measurement runs in a fresh Python process (this script calls itself
with ``--child``). A child builds the model and operator, runs the case once
untimed (so ``torch.compile`` and Deepwave's library loading are not timed;
the first-call time is reported separately), returns freed memory to the
system (``malloc_trim``), resets the kernel's peak-RSS counter, runs it
``--repeats`` more times and reports the fastest and median wall times, the
fastest process CPU time (``cpu_s``: on a machine shared with other jobs the
wall time also counts the time spent waiting for a core, which is not the
same for a single C call and a Python loop; compare both ratios) and
the peak resident memory above the resident memory before those runs
(``VmHWM - VmRSS`` from ``/proc/self/status``, since ``ru_maxrss`` cannot be
reset). ``first_call_peak_mb`` is the same for the first call (it includes
the compilation). Both libraries use
the same discretisation: float32, accuracy 8, 20-cell PML, pinned
``max_vel``/``pml_freq``, one internal step per sample, Deepwave's source
convention. Our forward-only pass runs the C time loop
(``jointinv.physics.acoustic_native``; ``native_build_s`` is the time to
compile it into an empty cache, paid once per machine); ``--torch-step`` also
measures the compiled torch step on the forward pass (``native=False``).

Prints one JSON line per case and measurement::

    python benchmarks/acoustic.py                 # small and large
    python benchmarks/acoustic.py --cases small   # one case
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

CASES = {
    # nz, nx, nt, shots, receivers
    "small": (64, 128, 500, 8, 128),
    "large": (100, 300, 1000, 20, 300),
}
DX, DT, FREQUENCY, MAX_VELOCITY, PML, ACCURACY = 10.0, 1e-3, 10.0, 3500.0, 20, 8


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak_rss():
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)


def _setup(case: str):
    import torch

    nz, nx, nt, n_shots, n_receivers = CASES[case]
    generator = torch.Generator().manual_seed(0)
    z = torch.linspace(0, 1, nz)[:, None]
    model = 2000.0 + 1000.0 * z + 100.0 * torch.rand((nz, nx), generator=generator)
    source_x = torch.linspace(0, nx - 1, n_shots).round().long()
    receiver_x = torch.linspace(0, nx - 1, n_receivers).round().long()
    return model, source_x, receiver_x, nt


def _ours(case: str, gradient: str, native: bool = True):
    import numpy as np
    from jointinv.physics.acoustic import AcousticWave2D

    from jointinv import Grid

    model, source_x, receiver_x, nt = _setup(case)
    nz, nx = model.shape
    grid = Grid(nx=nx, nz=nz, dx=DX, dz=DX)
    sources = np.column_stack([(source_x.numpy() + 0.5) * DX, np.full(len(source_x), 2.5 * DX)])
    receivers = np.column_stack([(receiver_x.numpy() + 0.5) * DX,
                                 np.full(len(receiver_x), 1.5 * DX)])
    operator = AcousticWave2D(grid, sources, receivers, dt=DT, nt=nt, frequency=FREQUENCY,
                              accuracy=ACCURACY, pml_width=PML, max_velocity=MAX_VELOCITY,
                              source_convention="deepwave", gradient=gradient, compile=True,
                              native=native)
    return model, operator


def _deepwave(case: str):
    import deepwave
    import torch

    from jointinv.wavelets import ricker

    model, source_x, receiver_x, nt = _setup(case)
    n_shots, n_receivers = len(source_x), len(receiver_x)
    source_locations = torch.zeros(n_shots, 1, 2, dtype=torch.long)
    source_locations[:, 0, 0], source_locations[:, 0, 1] = 2, source_x
    receiver_locations = torch.zeros(n_shots, n_receivers, 2, dtype=torch.long)
    receiver_locations[..., 0], receiver_locations[..., 1] = 1, receiver_x
    amplitudes = ricker(FREQUENCY, nt, DT).expand(n_shots, 1, nt).contiguous()

    def run(v):
        return deepwave.scalar(v, DX, DT, source_amplitudes=amplitudes,
                               source_locations=source_locations,
                               receiver_locations=receiver_locations, accuracy=ACCURACY,
                               pml_width=PML, pml_freq=FREQUENCY,
                               max_vel=MAX_VELOCITY).receiver_amplitudes
    return model, run


def _trim_and_rss_kib() -> int:
    import ctypes
    import gc

    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return _status_kib("VmRSS")


def child(case: str, engine: str, mode: str, repeats: int) -> dict:

    import torch

    extra = {}
    if engine == "deepwave":
        model, run = _deepwave(case)
    else:
        model, operator = _ours(case, gradient="autograd" if engine == "torch-autograd"
                                else "checkpoint", native=engine != "torch-step")
        run = operator
        if engine == "torch" and mode == "forward":
            extra["native_build_s"] = _time_native_build(model.dtype)

    def once():
        velocity = model.clone().requires_grad_(mode == "forward+backward")
        if mode == "forward":
            with torch.no_grad():
                return run(velocity)
        (run(velocity) ** 2).sum().backward()
        return velocity.grad

    baseline = _trim_and_rss_kib()
    _reset_peak_rss()
    start = time.perf_counter()
    once()
    first = time.perf_counter() - start
    first_peak = _status_kib("VmHWM") - baseline
    baseline = _trim_and_rss_kib()
    _reset_peak_rss()
    times, cpu_times = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        once()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    peak = _status_kib("VmHWM") - baseline
    return {"time_s": round(min(times), 3), "median_s": round(sorted(times)[len(times) // 2], 3),
            "cpu_s": round(min(cpu_times), 3),
            "first_call_s": round(first, 3), "peak_mb": round(peak / 1024, 1),
            "first_call_peak_mb": round(first_peak / 1024, 1),
            "threads": torch.get_num_threads(), **extra}


def _time_native_build(dtype) -> float:
    """Seconds to compile the C loop into a fresh cache directory (then used by the run)."""
    import tempfile

    from jointinv.physics import acoustic_native

    os.environ["JOINTINV_CACHE_DIR"] = tempfile.mkdtemp(prefix="jointinv-bench-")
    start = time.perf_counter()
    if acoustic_native.native_library(dtype, ACCURACY) is None:
        raise RuntimeError("the C acoustic loop did not build: no forward-only comparison")
    return round(time.perf_counter() - start, 3)


def agreement(case: str) -> dict:
    """Data and gradient of both libraries on the same case (one process, float32), and
    our forward-only data (the C loop) against Deepwave's."""
    import torch

    model, operator = _ours(case, gradient="checkpoint")
    _, run = _deepwave(case)
    results = []
    for function in (operator, run):
        velocity = model.clone().requires_grad_(True)
        data = function(velocity)
        (data ** 2).sum().backward()
        results.append((data.detach(), velocity.grad))
    (d_ours, g_ours), (d_theirs, g_theirs) = results
    with torch.no_grad():
        forward_only = operator(model)  # the C loop
    return {"data_relative_l2": float((d_ours - d_theirs).norm() / d_theirs.norm()),
            "forward_only_data_relative_l2": float((forward_only - d_theirs).norm()
                                                   / d_theirs.norm()),
            "gradient_cosine": float(torch.nn.functional.cosine_similarity(
                g_ours.flatten(), g_theirs.flatten(), dim=0))}


def _spawn(*arguments) -> dict:
    output = subprocess.run([sys.executable, __file__, "--child", *arguments],
                            capture_output=True, text=True, check=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return json.loads(output.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--autograd", action="store_true",
                        help="also measure the plain-autograd gradient path")
    parser.add_argument("--torch-step", action="store_true",
                        help="also measure the forward pass on the compiled torch step")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed runs after the warm-up (the fastest is compared)")
    parser.add_argument("--child", nargs=4, metavar=("CASE", "ENGINE", "MODE", "REPEATS"),
                        help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        case, engine, mode, repeats = arguments.child
        result = (agreement(case) if engine == "agreement"
                  else child(case, engine, mode, int(repeats)))
        print(json.dumps(result))
        return
    load = os.getloadavg()[0]
    for case in arguments.cases:
        check = _spawn(case, "agreement", "-", "0")
        print(json.dumps({"case": case, "check": "agreement", **check}), flush=True)
        for mode in ("forward", "forward+backward"):
            engines = (["torch", "deepwave"]
                       + (["torch-autograd"] if arguments.autograd else [])
                       + (["torch-step"] if arguments.torch_step and mode == "forward" else []))
            measured = {engine: _spawn(case, engine, mode, str(arguments.repeats))
                        for engine in engines}
            ours, theirs = measured["torch"], measured["deepwave"]
            line = {"case": case, "mode": mode, "shape": CASES[case][:2], "nt": CASES[case][2],
                    "shots": CASES[case][3], "receivers": CASES[case][4],
                    **{f"{engine}": value for engine, value in measured.items()},
                    "time_ratio": round(ours["time_s"] / theirs["time_s"], 3),
                    "cpu_ratio": round(ours["cpu_s"] / theirs["cpu_s"], 3),
                    "memory_ratio": round(ours["peak_mb"] / max(theirs["peak_mb"], 1e-3), 3),
                    "load_average": [round(load, 2), round(os.getloadavg()[0], 2)]}
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()

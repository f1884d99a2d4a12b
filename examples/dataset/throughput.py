"""Measure dataset throughput (samples/hour) with 1 and 2 (or more) local workers.

    python examples/dataset/throughput.py examples/dataset/joint_tt_dc.yaml \
        --samples 6 --workers 1 2 [--family module:function]

Builds a fresh temporary store per worker count (cluster start-up excluded:
the rate is measured over the samples only), prints samples/hour, the
speed-up over the first worker count and the time extrapolated to the
config's ``n_samples``. Other processes on the machine slow it down: run it
on an idle machine, or say that it was not.
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np
import yaml

from jointinv.dataset import DatasetStore, build_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--samples", type=int, default=6)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="worker counts, in order (e.g. 1 2 1 2 to interleave)")
    parser.add_argument("--family", default=None, help="override family.name (module:function)")
    args = parser.parse_args()
    config = yaml.safe_load(Path(args.config).read_text())
    if args.family:
        config["family"] = {"name": args.family}
    total = config["n_samples"]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for run, workers in enumerate(args.workers):  # repeat counts to interleave them
            store = Path(folder) / f"run{run}-w{workers}.zarr"
            summary = build_dataset(config, store, n_samples=args.samples, workers=workers,
                                    progress=False)
            markers = DatasetStore.open(store, mode="r").markers().values()
            wall = np.median([m["wall_time"] for m in markers])
            cpu = np.median([m["cpu_time"] for m in markers])
            rows.append((workers, summary, wall, cpu))
            print(summary, flush=True)
    base = rows[0][1].samples_per_hour
    print(f"\n| workers | samples | seconds | samples/hour | speed-up | median wall / CPU "
          f"per sample [s] | {total} samples |")
    print("|---|---|---|---|---|---|---|")
    for workers, s, wall, cpu in rows:
        print(f"| {workers} | {s.built} | {s.elapsed:.0f} | {s.samples_per_hour:.0f} | "
              f"{s.samples_per_hour / base:.2f} | {wall:.1f} / {cpu:.1f} | "
              f"{total / s.samples_per_hour:.1f} h |")


if __name__ == "__main__":
    main()

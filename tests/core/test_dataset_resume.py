"""A build SIGKILLed mid-run (parent and Dask workers) and resumed loses and repeats nothing."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from jointinv.dataset import DatasetStore

ROOT = Path(__file__).resolve().parents[2]
N_SAMPLES = 12
CONFIG = f"""
grid: {{nx: 10, nz: 6, dx: 5.0, dz: 5.0}}
family: {{name: "jointinv.dataset.toy:dike", options: {{delay: 0.4}}}}
properties:
  traveltime: {{property: velocity, range: [1500.0, 3000.0]}}
physics:
  traveltime:
    spec: {{physics: traveltime, constructor: crosshole, n_sources: 5, n_receivers: 5}}
    noise: {{relative_error: 0.01}}
    randomise: {{n_receivers: [3, 6]}}
inversion: {{max_iterations: 2, cg_max_iterations: 5}}
n_samples: {N_SAMPLES}
seed: 11
"""


def _command(config, store, *options):
    return [sys.executable, "-m", "jointinv.dataset", "build", str(config), "--output",
            str(store), "--quiet", "--threads-per-worker", "1", *options]


def _environment():
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), os.environ.get("PYTHONPATH", "")]))


def _run(command):
    done = subprocess.run(command, capture_output=True, text=True, env=_environment(),
                          timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done


def test_sigkill_then_resume_is_bit_identical_to_an_uninterrupted_build(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    reference, killed = tmp_path / "reference.zarr", tmp_path / "killed.zarr"
    _run(_command(config, reference, "--workers", "0"))

    # a local Dask cluster (parent + worker processes), killed once some samples are in
    process = subprocess.Popen(_command(config, killed, "--workers", "1"), env=_environment(),
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    deadline = time.monotonic() + 90
    try:
        while len(list((killed / "samples").glob("*.json"))) < 3:
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "the build wrote no samples in 90 s"
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the session of the process started above
        process.wait(timeout=30)
    before = DatasetStore.open(killed, mode="r").markers()
    assert 0 < len(before) < N_SAMPLES, "the kill must come mid-run"
    log_before = (killed / "build.log").read_text().splitlines()

    resumed = _run(_command(config, killed, "--resume", "--workers", "0"))
    assert f"this run built {N_SAMPLES - len(before)} " in resumed.stdout
    new_lines = (killed / "build.log").read_text().splitlines()[len(log_before):]
    rebuilt = sorted(int(line.split("index=")[1].split()[0]) for line in new_lines)
    assert rebuilt == sorted(set(range(N_SAMPLES)) - set(before))  # each missing one once

    a = DatasetStore.open(reference, mode="r")
    b = DatasetStore.open(killed, mode="r")
    assert sorted(b.markers()) == list(range(N_SAMPLES))
    assert b.complete_indices() == a.complete_indices() == list(range(N_SAMPLES))
    for name in ("inputs", "targets", "coverage", "chi_squared_per_datum"):
        np.testing.assert_array_equal(a.group[name][:], b.group[name][:], err_msg=name)
    for index in range(N_SAMPLES):
        assert a.markers()[index]["survey"] == b.markers()[index]["survey"]
    assert not list(killed.rglob("*.partial"))


@pytest.mark.parametrize("extra, message", [
    ([], "already exists; use --resume"),
    (["--scheduler", "not-an-address"], "scheduler must be an address like"),
])
def test_cli_refusals(tmp_path, extra, message):
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    (tmp_path / "store").mkdir()
    done = subprocess.run(_command(config, tmp_path / "store", *extra), capture_output=True,
                          text=True, env=_environment(), timeout=120, cwd=ROOT)
    assert done.returncode in (1, 2) and message in done.stderr


def test_readme_command_lines_parse():
    import re
    import shlex

    from jointinv.cli import build_parser

    readme = (ROOT / "README.md").read_text()
    lines = [line.split("#")[0].strip() for line in readme.splitlines()
             if line.startswith("jointinv dataset ")]
    assert len(lines) >= 2
    parser = build_parser()
    for line in lines:
        base = shlex.split(line.split("[")[0])[1:]
        for option in [None, *re.findall(r"\[([^\]]+)\]", line)]:
            extra = [{"N": "2"}.get(word, word) for word in (option or "").split()]
            assert parser.parse_args([*base, *extra]).run

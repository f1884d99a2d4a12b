"""The FAD-FWI study example runs at a tiny size, logs one row per run and resumes."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[2] / "examples" / "fad_fwi.py"
TINY = dict(nz=12, nx=16, spacing=20.0, shots=2, nt=120, dt=1.6e-3, frequency=7.0,
            iterations=2, base_channels=4, depth=2, norm=None)


@pytest.fixture
def study(monkeypatch):
    spec = importlib.util.spec_from_file_location("fad_fwi_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the example adds its folder
    spec.loader.exec_module(module)
    monkeypatch.setitem(module.SIZES, "cpu", TINY)
    return module


def test_runs_log_resume_table_and_figure(study, tmp_path, capsys):
    argv = ["--methods", "dip", "conventional", "--data", "lowcut+noisy", "--pretrain-steps",
            "2", "--in-process", "--output", str(tmp_path)]
    study.main(argv)
    rows = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert [r["method"] for r in rows] == ["dip", "conventional"]
    assert len({r["key"] for r in rows}) == 2
    for row in rows:
        assert row["mse"] > 0 and -1 <= row["ssim"] <= 1 and len(row["misfit"]) >= 2
        assert row["runtime_s"] > 0 and row["peak_rss_mb"] > 0
    table = (tmp_path / "results.md").read_text()
    assert "| smoothed, lowcut+noisy |" in table and "MSE DIP / conventional" in table
    assert (tmp_path / "models_overthrust_cpu.png").stat().st_size > 1000
    capsys.readouterr()
    study.main(argv)  # a rerun skips what is logged
    assert "0 runs to do (2 in" in capsys.readouterr().out
    assert len((tmp_path / "runs.jsonl").read_text().splitlines()) == 2


def test_a_torn_last_line_is_ignored(study, tmp_path):
    log = tmp_path / "runs.jsonl"
    log.write_text(json.dumps({"key": "a"}) + "\n" + '{"key": "b", "ms')
    assert [row["key"] for row in study.read_log(log)] == ["a"]


def test_bad_arguments_are_refused(study):
    with pytest.raises(SystemExit):
        study.parse_args(["--methods", "svm"])
    with pytest.raises(SystemExit):
        study.parse_args(["--iterations", "0"])


def test_a_raised_start_runs(study, tmp_path):
    # +30 % lifts the start above the pinned maximum velocity: Deepwave refused
    # every raised-start run ("max_vel ... less than the model's ... maximum")
    study.main(["--methods", "conventional", "--data", "clean", "--percent", "30",
                "--engine", "deepwave", "--in-process", "--output", str(tmp_path)])
    rows = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert [row["percent"] for row in rows] == [30.0]
    assert "error" not in rows[0] and rows[0]["mse"] > 0


def _one_conventional_run(study, folder):
    """``(argv, log, row)`` of one logged conventional run on clean data."""
    argv = ["--methods", "conventional", "--data", "clean", "--in-process",
            "--output", str(folder)]
    study.main(argv)
    log = folder / "runs.jsonl"
    return argv, log, json.loads(log.read_text())


def test_a_failed_run_is_tried_again(study, tmp_path, capsys):
    argv, log, row = _one_conventional_run(study, tmp_path)
    failed = {key: row[key] for key in ("key", "method", "model", "size")}
    log.write_text(json.dumps({**failed, "error": "diverged"}) + "\n")
    capsys.readouterr()
    study.main(argv)
    assert "1 runs to do" in capsys.readouterr().out
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert "error" in rows[0] and "error" not in rows[1] and rows[1]["key"] == row["key"]


def test_stop_at_target_ends_each_run_at_the_noise_level(study, tmp_path):
    argv = ["--methods", "conventional", "--data", "noisy", "--iterations", "60", "--in-process",
            "--output", str(tmp_path)]
    study.main(argv + ["--stop-at-target"])
    study.main(argv)  # the fixed budget: a run of its own
    stopped, full = (json.loads(line) for line in
                     (tmp_path / "runs.jsonl").read_text().splitlines())
    assert stopped["key"].endswith("-stop") and not full["key"].endswith("-stop")
    n_data = 2 * 16 * 120  # shots x receivers x samples of the tiny survey
    assert len(stopped["misfit"]) < len(full["misfit"]) == 61
    assert stopped["misfit"][-1] <= n_data < stopped["misfit"][-2]


def test_conventional_runs_do_not_depend_on_the_dip_rate(study, tmp_path, capsys):
    argv, log, row = _one_conventional_run(study, tmp_path)
    assert "dlr" not in row["key"]
    capsys.readouterr()
    study.main([*argv, "--dip-lr", "1e-3"])  # the DIP's rate: nothing to rerun
    assert "0 runs to do" in capsys.readouterr().out
    # a row logged under the former key (which named the DIP rate) still counts
    legacy = study.run_key(row, legacy=True)
    assert "dlr" in legacy and legacy != row["key"]
    log.write_text(json.dumps({**row, "key": legacy}) + "\n")
    study.main(argv)
    assert "0 runs to do" in capsys.readouterr().out
    dip = dict(row, method="dip")
    assert study.run_key(dip) == study.run_key(dip, legacy=True)  # network methods: unchanged


def test_a_dip_rate_schedule_is_its_own_run_and_row(study, tmp_path, capsys):
    argv = ["--methods", "dip", "conventional", "--data", "clean", "--pretrain-steps", "2",
            "--in-process", "--output", str(tmp_path)]
    study.main(argv)
    capsys.readouterr()
    study.main([*argv, "--dip-schedule", "cosine"])  # conventional FWI has nothing to rerun
    assert "1 runs to do (2 in" in capsys.readouterr().out
    rows = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert rows[-1]["key"].endswith("-cosine") and rows[-1]["method"] == "dip"
    table = (tmp_path / "results.md").read_text()
    assert "| DIP U-Net (FAD-FWI), cosine rate | smoothed | clean |" in table
    ratios = [line for line in table.splitlines() if line.startswith("| smoothed, clean |")]
    assert [line.split(" | ")[1] for line in ratios] == ["as the study's defaults",
                                                          "cosine rate"]

"""Runs on disk: output folders checked first, Ctrl-C, markers, --version, --help, schema."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import jointinv
from jointinv.cli import EXIT_INTERRUPTED, main
from jointinv.outputs import MARKER, RunFolder, atomic_path, check_output_folder

ROOT = Path(__file__).resolve().parents[2]

# The real CLI, with the solver pausing after it reports its first iteration so
# that the SIGINT lands mid-inversion on any machine (the inversion takes ~1 s).
_PAUSING_CLI = """
import signal, sys, time
# a shell that starts pytest in the background makes its children ignore SIGINT
signal.signal(signal.SIGINT, signal.default_int_handler)
from jointinv.cli import main
from jointinv.solvers.progress import IterationReporter

report = IterationReporter.row

def pausing(self, row):
    report(self, row)
    print("ITERATION", row["iteration"], flush=True)
    time.sleep(600)

IterationReporter.row = pausing
sys.exit(main(sys.argv[1:]))
"""


def test_ctrl_c_stops_cleanly_with_one_line_and_a_marker(tmp_path):
    output = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-c", _PAUSING_CLI, "demo", "--case", "crosshole", "--output",
         str(output)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        for line in process.stdout:
            if line.startswith("ITERATION"):
                break
        process.send_signal(signal.SIGINT)
        # generous: on a loaded machine the interpreter takes long to wind down
        stdout, stderr = process.communicate(timeout=300)
    finally:
        process.kill()
    assert process.returncode == EXIT_INTERRUPTED
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith("jointinv")]
    assert lines == [f"jointinv demo: interrupted by Ctrl-C; finished parts are in {output}, "
                     f"listed in {output / MARKER}"]
    marker = (output / MARKER).read_text()
    assert "interrupted by Ctrl-C (SIGINT) during inversion" in marker
    assert "finished: nothing yet" in marker and "not finished: inversion, result" in marker
    assert not list(output.glob(".*tmp*"))  # no temporary file left behind


def test_marker_lists_finished_parts_and_goes_away_at_the_end(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with RunFolder(tmp_path, "compare", ["independent", "joint"]) as run:
            run.start("independent")
            run.done("independent")
            run.start("joint")
            raise KeyboardInterrupt
    marker = (tmp_path / MARKER).read_text()
    assert "interrupted by Ctrl-C (SIGINT) during joint" in marker
    assert "finished: independent" in marker and "not finished: joint" in marker
    (tmp_path / "joint").mkdir()
    stale = tmp_path / "joint" / ".models.x1y2.tmp.npz"  # left by a SIGKILL mid-write
    stale.write_text("half")
    with RunFolder(tmp_path, "compare", ["independent"]) as run:
        assert not stale.exists()
        run.done("independent")
    assert not (tmp_path / MARKER).exists()


def test_atomic_path_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "metrics.md"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_text("half")
            raise RuntimeError
    assert target.read_text() == "old" and sorted(tmp_path.iterdir()) == [target]
    with atomic_path(target) as temporary:
        assert temporary.parent == tmp_path and temporary.suffix == ".md"
        temporary.write_text("new")
    assert target.read_text() == "new"


def test_bad_output_folders_fail_before_any_work(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.txt").write_text("x")
    for output, message in [
        (tmp_path / "file", "is a file; give a folder"),
        (tmp_path / "file" / "sub", "cannot be written to"),
        (tmp_path / "full", "is not empty; choose another folder or pass --overwrite"),
    ]:
        assert main(["demo", "--case", "crosshole", "--output", str(output), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert message in err and "jointinv demo: error: --output" in err
    assert check_output_folder(tmp_path / "full", overwrite=True) == tmp_path / "full"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs POSIX permissions and a non-root user")
def test_read_only_output_folder_is_refused(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(ValueError, match="cannot be written to"):
            check_output_folder(tmp_path / "run")
    finally:
        tmp_path.chmod(0o700)


def test_overwrite_replaces_a_finished_run(tmp_path, capsys):
    args = ["demo", "--case", "crosshole", "--output", str(tmp_path), "--quiet",
            "--max-iterations", "1"]
    assert main(args) == 0
    assert main(args) == 2
    assert main([*args, "--overwrite"]) == 0
    assert not (tmp_path / MARKER).exists() and (tmp_path / "result.json").exists()


@pytest.mark.parametrize("argv,message", [
    (["demo", "--max-iterations", "-2"], "argument --max-iterations: must be an integer >= 1"),
    (["demo", "--max-iterations", "0"], "argument --max-iterations: must be an integer >= 1"),
    (["demo", "--seed", "-1"], "argument --seed: must be an integer in [0, 2**63)"),
    (["demo", "--solver", "newton"], "argument --solver: invalid choice: 'newton'"),
])
def test_bad_arguments_are_refused_by_argparse(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_joint_demo_refuses_a_solver_its_strategies_do_not_take(tmp_path, capsys):
    from jointinv.cli import _joint_solver_options

    try:
        options = _joint_solver_options("adam")
    except ValueError as error:  # strategies without a solver keyword (before the rewrite)
        assert "--solver adam is not available for the joint cases yet" in str(error)
        assert main(["demo", "--solver", "adam", "--output", str(tmp_path)]) == 2
        assert not any(tmp_path.iterdir())  # refused before any work
    else:
        assert options == {"solver": "adam"}


def test_version_help_and_schema(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"jointinv {jointinv.__version__}"
    for command in ([], ["demo"], ["compare"]):
        with pytest.raises(SystemExit):
            main([*command, "--help"])
        text = capsys.readouterr().out
        assert "``" not in text and ":func:" not in text and ":class:" not in text
    assert "jointinv schema lists every config key" in text
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    assert "| physics.*.chi_factor | float | > 0 | 1.0 |" in out
    assert re.search(r"strategy sequential:.*\| coupling_iterations \| int \| >= 1 \| 20 \|",
                     out, re.S)

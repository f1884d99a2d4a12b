import json

import torch

import jointinv
from jointinv.cases import crosshole_traveltime_case
from jointinv.cli import main
from jointinv.joint_cases import DEMO_JOINT_METHOD


def test_gauss_newton_reaches_target_on_linear_traveltime_in_five_iterations():
    case = crosshole_traveltime_case(seed=1)
    result = jointinv.invert(case.operator, case.data, case.initial_model,
                             true_model=case.true_model, progress=False, max_iterations=5)
    assert result.misfit("velocity") <= case.data.n_data
    assert result.n_iterations <= 5
    initial_rmse = float((case.initial_model - case.true_model).square().mean().sqrt())
    assert result.metrics["velocity"]["rmse"] < 0.6 * initial_rmse


def test_demo_writes_models_metrics_and_figures(tmp_path, capsys):
    assert main(["demo", "--case", "crosshole", "--output", str(tmp_path), "--quiet",
                 "--max-iterations", "10"]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path.resolve()) in out and "rmse" in out
    metrics = json.loads((tmp_path / "metrics.json").read_text())["metrics"]["velocity"]
    assert metrics["chi_squared_per_datum"] <= 1.0
    for name in ("models.npz", "models_velocity.png", "convergence.png", "metrics.md"):
        assert (tmp_path / name).stat().st_size > 100


def test_plugins_lists_builtin_physics(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    for name in ("traveltime", "acoustic", "dcr"):
        assert name in out


def test_case_is_reproducible():
    a, b = crosshole_traveltime_case(seed=3), crosshole_traveltime_case(seed=3)
    assert torch.equal(a.data.observed, b.data.observed)
    assert not torch.equal(a.data.observed, crosshole_traveltime_case(seed=4).data.observed)


def test_joint_demo_writes_comparison_table_and_figure(tmp_path, capsys):
    assert main(["demo", "--case", "fault", "--output", str(tmp_path), "--quiet",
                 "--max-iterations", "2"]) == 0
    out = capsys.readouterr().out
    joint = DEMO_JOINT_METHOD["label"]
    assert "| independent | traveltime |" in out and f"| {joint} | dcr |" in out
    assert "structure-guided smoothness (edge contrast" in out
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * 2  # header + (2 methods x 2 properties)
    assert (tmp_path / "models.png").stat().st_size > 1000
    for method in ("independent", joint):
        assert (tmp_path / method / "metrics.json").exists()


def test_compare_reports_bad_config_without_traceback(tmp_path, capsys):
    config = tmp_path / "study.yaml"
    config.write_text("case: basin\n")
    assert main(["compare", str(config)]) == 2
    expected = "config case: must be one of the built-in cases ['dike', 'fault', 'fusion']"
    assert expected in capsys.readouterr().err

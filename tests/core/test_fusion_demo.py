"""The built-in ``fusion`` case and ``jointinv demo --case fusion``."""

import pytest
import torch
import yaml

from jointinv.cli import main
from jointinv.dataset.config import load_dataset_config
from jointinv.dataset.sample import draw_true_models
from jointinv.fusion import shipped_network
from jointinv.fusion.demo_case import HELD_OUT_INDEX, fusion_case
from jointinv.fusion.shipped import WEIGHTS
from jointinv.joint_cases import JOINT_CASES, joint_case
from jointinv.physics_spec import build_grid


def test_fusion_case_is_a_held_out_sample_of_the_training_family():
    cases = joint_case("fusion", seed=0)
    config = load_dataset_config(WEIGHTS / "tt_dc_small_dataset.yaml")
    grid = build_grid(config["grid"])
    expected = draw_true_models(config, grid, HELD_OUT_INDEX)
    trained_samples = yaml.safe_load((WEIGHTS / "tt_dc_small.yaml").read_text())["samples"]
    assert HELD_OUT_INDEX >= trained_samples  # the store's first samples were trained on
    assert "fusion" in JOINT_CASES
    network = shipped_network()
    for key, case in cases.items():
        assert torch.equal(case.true_model, expected[key])
        assert case.operator.grid == grid and case.operator.property == \
            network.properties[network.keys.index(key)]
        assert "training family" in case.description
        start = case.initial_model  # homogeneous, fitted to the data
        assert float(start.max() - start.min()) <= 1e-12 * float(start.abs().max())
    other = fusion_case(seed=1)  # another geology of the family
    for key in cases:
        assert not torch.equal(other[key].true_model, cases[key].true_model)


def test_fusion_case_refuses_other_velocity_units():
    with pytest.raises(ValueError, match="velocity_units must be 'm/s' for the fusion case"):
        joint_case("fusion", velocity_units="km/s")


def test_fusion_demo_writes_table_and_figure(tmp_path, capsys):
    assert main(["demo", "--case", "fusion", "--output", str(tmp_path), "--quiet",
                 "--max-iterations", "1"]) == 0
    out = capsys.readouterr().out
    assert "| fusion | dcr |" in out and "| cross_gradient | traveltime |" in out
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    assert len(rows) == 1 + 3 * 2  # header + (3 methods x 2 properties)
    assert (tmp_path / "models.png").stat().st_size > 1000
    for method in ("independent", "cross_gradient", "fusion"):
        assert (tmp_path / method / "metrics.json").exists()

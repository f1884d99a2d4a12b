"""The fusion study's figure and summary: a spike of one method does not set a column's
colour scale, and the summary's ratios are geometric means over the cases."""

import importlib.util
import math
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from jointinv import Grid

EXAMPLE = Path(__file__).parents[2] / "examples" / "fusion_study.py"
GRID = Grid(nx=16, nz=8, dx=2.5, dz=2.5)
RANGES = {"traveltime": (1400.0, 4500.0), "dcr": (1.0, 3.0)}


@pytest.fixture
def study(monkeypatch):
    spec = importlib.util.spec_from_file_location("fusion_study_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setattr(sys, "path", list(sys.path))
    spec.loader.exec_module(module)
    return module


def _panels():
    true = {"traveltime": torch.full(GRID.shape, 2500.0, dtype=torch.float64),
            "dcr": torch.full(GRID.shape, 3.2, dtype=torch.float64)}  # above the range
    spiky = {k: v.clone() for k, v in true.items()}
    spiky["traveltime"][0, 0] = 1e5
    spiky["dcr"][0, 0] = -4.0
    return {"true": true, "independent": spiky}


def test_figure_clips_each_column_to_the_range_widened_to_the_true_model(study, tmp_path,
                                                                          monkeypatch):
    seen = {}

    def capture(rows, columns, models, grid, path, **keywords):
        seen.update(rows=rows, columns=columns, models=models, path=path, **keywords)
        return path

    monkeypatch.setattr(study, "plot_model_grid", capture)
    study.plot_case(tmp_path / "case.png", "case", _panels(), GRID, RANGES)
    assert seen["rows"] == ["true", "independent"]
    assert seen["columns"] == ["velocity", "log10 resistivity"]
    clipped = seen["models"]["independent"]
    assert float(clipped["velocity"].max()) == 4500.0
    assert float(clipped["log10 resistivity"].min()) == 1.0
    # the true model's value above the range is kept
    assert float(clipped["log10 resistivity"].max()) == pytest.approx(3.2)


def test_figure_is_written(study, tmp_path):
    path = tmp_path / "sub" / "case.png"
    study.plot_case(path, "case", _panels(), GRID, RANGES)
    assert path.stat().st_size > 1000


def test_summary_ratios_are_geometric_means_over_cases(study):
    records = [("a", "independent", "traveltime", 100.0, 0.9),
               ("b", "independent", "traveltime", 100.0, 0.9),
               ("a", "fusion both", "traveltime", 50.0, 1.0),
               ("b", "fusion both", "traveltime", 200.0, 1.05)]
    summary = study.summarise(records)
    row = next(line for line in summary.splitlines() if "| fusion both | traveltime |" in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[0] == "out-of-family (2)"
    assert float(cells[3]) == pytest.approx(math.sqrt(0.5 * 2.0), abs=1e-3)
    assert float(cells[6]) == 1.05


def test_oracle_networks_return_the_truth_or_its_units_painted_with_the_given_means(study):
    true = {"traveltime": torch.tensor([[1.0, 1.0, 2.0], [1.0, 3.0, 2.0]], dtype=torch.float64),
            "dcr": torch.tensor([[5.0, 5.0, 6.0], [5.0, 6.0, 6.0]], dtype=torch.float64)}
    network = SimpleNamespace(fuse=None)
    given = {"traveltime": torch.arange(6.0).reshape(2, 3), "dcr": torch.ones(2, 3)}
    fused = study.oracle_network(network, true, "true").fuse(given, GRID)
    assert all(torch.equal(fused[k], true[k]) for k in true)
    painted = study.oracle_network(network, true, "units").fuse(given, GRID)
    # units: (1, 5) at cells 0, 1, 3; (2, 6) at 2 and 5; (3, 6) at 4
    expected = torch.tensor([[4 / 3, 4 / 3, 3.5], [4 / 3, 4.0, 3.5]], dtype=torch.float64)
    assert torch.allclose(painted["traveltime"], expected)
    assert torch.equal(painted["dcr"], torch.ones(2, 3, dtype=torch.float64))
    assert network.fuse is None  # the network itself is untouched

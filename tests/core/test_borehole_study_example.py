"""The borehole ERT study's regional error: near the holes against the centre between them."""

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

EXAMPLE = Path(__file__).parents[2] / "examples" / "borehole_ert_study.py"


@pytest.fixture
def study(monkeypatch):
    monkeypatch.setattr(sys, "path", [str(EXAMPLE.parent), *sys.path])  # it imports a sibling
    spec = importlib.util.spec_from_file_location("borehole_ert_study_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_regional_rmse_separates_errors_near_the_holes_from_the_centre(study):
    grid = study.GRID
    true = torch.full(grid.shape, 2.6, dtype=torch.float64)
    x = torch.as_tensor(grid.cell_centers_x)[None, :].expand(grid.shape)
    z = torch.as_tensor(grid.cell_centers_z)[:, None].expand(grid.shape)
    near_holes = true.masked_fill((x < 10.0) & (z > 50.0), 3.6)  # an artifact along one hole
    near, centre = study.regional_rmse(near_holes, true)
    assert centre == 0.0 and near > 0.4
    unsensed = true.masked_fill((x > 60.0) & (x < 140.0) & (z > 50.0), 1.6)
    near, centre = study.regional_rmse(unsensed, true)
    assert near == 0.0 and centre > 0.6
    shallow = true.masked_fill(z < study.DEEP, 0.0)  # above the judged depth: ignored
    assert study.regional_rmse(shallow, true) == (0.0, 0.0)

"""InversionResult.save / load: everything needed to re-plot and re-check, no operators."""

import json

import numpy as np
import pytest
import torch

import jointinv
from jointinv.cases import crosshole_traveltime_case
from jointinv.result import InversionResult


@pytest.fixture(scope="module")
def result():
    case = crosshole_traveltime_case(n_sources=9, n_receivers=7, seed=2)
    result = jointinv.invert(case.operator, case.data, case.initial_model,
                             true_model=case.true_model, max_iterations=2, progress=False)
    result.config = {"case": "crosshole", "max_iterations": 2}
    return result


def test_load_of_save_reproduces_metrics_data_grid_and_history(result, tmp_path):
    loaded = InversionResult.load(result.save(tmp_path / "run"))
    assert loaded.operators == {}
    assert loaded.metrics == result.metrics  # same arrays, same arithmetic
    assert loaded.summary() == result.summary()
    key = "velocity"
    for group in ("models", "initial_models", "true_models", "predicted"):
        assert torch.equal(getattr(loaded, group)[key], getattr(result, group)[key])
    for field in ("observed", "standard_deviation", "clean"):
        assert torch.equal(getattr(loaded.data[key], field), getattr(result.data[key], field))
    assert loaded.data[key].relative_error == result.data[key].relative_error
    info = loaded.info[key]
    assert info["grid"] == result.operators[key].grid
    assert (info["property"], info["units"], info["n_data"]) == ("velocity", "m/s", 63)
    assert np.array_equal(info["geometry"]["sources"], result.operators[key].sources)
    assert np.array_equal(info["geometry"]["receivers"], result.operators[key].receivers)
    assert np.array_equal(info["geometry"]["pairs"], result.operators[key].pairs)
    assert info["geometry"]["pairs"].dtype.kind == "i"
    assert [row["iteration"] for row in loaded.history] == \
        [row["iteration"] for row in result.history]
    assert loaded.method == result.method and loaded.config == result.config
    assert loaded.versions == result.versions
    assert loaded.versions["torch"] == torch.__version__


def test_loaded_result_makes_the_figures(result, tmp_path):
    loaded = InversionResult.load(result.save(tmp_path / "run", plot=False))
    paths = loaded.plot(tmp_path / "again")
    assert [p.name for p in paths] == ["models_velocity.png", "convergence.png"]
    assert all(p.stat().st_size > 1000 for p in paths)
    assert not list((tmp_path / "again").glob(".*"))  # temporary files are gone


def test_non_finite_history_values_survive(result, tmp_path):
    result.history[-1]["step"] = float("nan")
    try:
        loaded = InversionResult.load(result.save(tmp_path / "run", plot=False))
    finally:
        result.history[-1]["step"] = 1.0
    assert np.isnan(loaded.history[-1]["step"])


def test_quadrupole_tables_are_saved_as_geometry():
    from jointinv.result import _geometry

    class Survey:
        def __init__(self):
            self.a, self.m = np.zeros((3, 2)), np.ones((3, 2))
            self.label = "not a table"

    class Operator:
        quadrupoles = Survey()

    assert sorted(_geometry(Operator())) == ["quadrupoles.a", "quadrupoles.m"]


def test_load_refuses_an_unfinished_or_foreign_folder(result, tmp_path):
    with pytest.raises(ValueError, match="holds no saved InversionResult"):
        InversionResult.load(tmp_path)
    folder = result.save(tmp_path / "run", plot=False)
    meta = json.loads((folder / "result.json").read_text())
    (folder / "result.json").write_text(json.dumps({**meta, "format": 99}))
    with pytest.raises(ValueError, match="has format 99; this jointinv reads format 1"):
        InversionResult.load(folder)

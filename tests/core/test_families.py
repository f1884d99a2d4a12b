"""Shared-structure families: determinism per index, shared boundaries, ranges,
petrophysical relations, user families and bad input."""

import json
import re
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest
import torch

from jointinv import Grid
from jointinv.coupling import NormalizedCrossGradient
from jointinv.synthetic import (
    DEFAULT_RANGES,
    FAMILIES_SHARED,
    UnitModel,
    available_families,
    draw_sample,
    draw_units,
    load_family,
    paint_units,
    shared_samples,
)

GRID = Grid(nx=48, nz=24, dx=10.0, dz=10.0, x0=-240.0)
PROPERTIES = {"traveltime": {"property": "velocity"},
              "dcr": {"property": "log10 resistivity"}}
REQUIRED = ("layered", "faulted", "dike", "blocks", "channels", "mixed")


def _boundaries(model: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Where the model changes between horizontal and vertical neighbours."""
    m = model.numpy()
    return np.diff(m, axis=1) != 0, np.diff(m, axis=0) != 0


def test_required_families_are_registered():
    assert set(REQUIRED) <= set(FAMILIES_SHARED)
    assert set(FAMILIES_SHARED) <= set(available_families())


def test_family_any_draws_each_single_family_and_never_the_mixture():
    drawn = [draw_units("any", GRID, index=i, seed=2).family for i in range(80)]
    singles = set(FAMILIES_SHARED) - {"mixed", "any"}
    assert set(drawn) == singles
    # equal chances: 80 draws over 7 families, none far from 80 / 7 = 11.4
    assert min(drawn.count(name) for name in singles) >= 4
    assert [draw_units("any", GRID, index=i, seed=2).family for i in range(80)] == drawn


@pytest.mark.parametrize("family", sorted(FAMILIES_SHARED))
def test_same_index_same_models_and_shared_boundaries(family):
    first = draw_sample(family, GRID, index=3, seed=11, properties=PROPERTIES)
    again = draw_sample(family, GRID, index=3, seed=11, properties=PROPERTIES)
    assert list(first) == ["traveltime", "dcr"]
    for key, model in first.items():
        assert model.dtype == torch.float64 and tuple(model.shape) == GRID.shape
        assert torch.equal(model, again[key])
    # without texture both properties change exactly where the units change
    units = draw_units(family, GRID, index=3, seed=11)
    assert len(np.unique(units.units)) >= 2
    for velocity_edges, resistivity_edges, unit_edges in zip(
            _boundaries(first["traveltime"]), _boundaries(first["dcr"]),
            _boundaries(torch.from_numpy(units.units.astype(float)))):
        np.testing.assert_array_equal(velocity_edges, unit_edges)
        np.testing.assert_array_equal(resistivity_edges, unit_edges)


def test_order_of_draws_and_other_indices():
    forward = [draw_sample("mixed", GRID, i, 5, PROPERTIES) for i in range(4)]
    backward = [draw_sample("mixed", GRID, i, 5, PROPERTIES) for i in reversed(range(4))][::-1]
    for a, b in zip(forward, backward):
        assert all(torch.equal(a[key], b[key]) for key in PROPERTIES)
    for i in range(4):
        for j in range(i + 1, 4):
            assert not torch.equal(forward[i]["traveltime"], forward[j]["traveltime"])
    other_seed = draw_sample("mixed", GRID, 0, 6, PROPERTIES)
    assert not torch.equal(other_seed["traveltime"], forward[0]["traveltime"])


def test_bit_identical_in_another_process(tmp_path):
    properties = {"traveltime": {"property": "velocity", "texture": 0.05},
                  "dcr": {"property": "log10 resistivity",
                          "relation": {"to": "traveltime", "kind": "anticorrelated"}}}
    script = f"""
import sys, numpy as np
from jointinv import Grid
from jointinv.synthetic import draw_sample
grid = Grid(**{json.dumps(GRID.to_dict())})
models = {{f"{{family}}-{{i}}-{{k}}": m.numpy()
          for family in ("faulted", "channels") for i in (7, 2)
          for k, m in draw_sample(family, grid, i, 99, {properties!r}).items()}}
np.savez(sys.argv[1], **models)
"""
    path = tmp_path / "models.npz"
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=60,
                   env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    stored = np.load(path)
    for family in ("channels", "faulted"):
        for i in (2, 7):
            models = draw_sample(family, GRID, i, 99, properties)
            for key, model in models.items():
                np.testing.assert_array_equal(stored[f"{family}-{i}-{key}"], model.numpy())


def test_geometry_and_other_keys_do_not_depend_on_the_table():
    two = draw_sample("dike", GRID, 4, 0, PROPERTIES)
    three = draw_sample("dike", GRID, 4, 0, {"density": {"property": "density",
                                                          "range": (2000.0, 3000.0)},
                                             **PROPERTIES})
    assert all(torch.equal(two[key], three[key]) for key in PROPERTIES)
    assert list(three) == ["density", "traveltime", "dcr"]


def test_structure_is_shared_by_the_cross_gradient():
    ncg = NormalizedCrossGradient(("a", "b"), GRID)
    same = draw_sample("faulted", GRID, 1, 0, PROPERTIES)
    other = draw_sample("faulted", GRID, 2, 0, PROPERTIES)
    shared = ncg.mean({"a": same["traveltime"], "b": same["dcr"]})
    unrelated = ncg.mean({"a": same["traveltime"], "b": other["dcr"]})
    assert shared < 0.3 * unrelated


@pytest.mark.parametrize("family", REQUIRED)
def test_ranges_are_respected_with_texture(family):
    properties = {"seismic": {"property": "velocity", "range": (2000.0, 2500.0),
                              "texture": {"amplitude": 0.3, "correlation_length": 30.0}},
                  "dc": {"property": "log10 resistivity", "texture": 0.2,
                         "relation": {"to": "seismic", "kind": "correlated", "scatter": 0.5}}}
    for index in range(3):
        models = draw_sample(family, GRID, index, 2, properties)
        for key, (low, high) in (("seismic", (2000.0, 2500.0)),
                                 ("dc", DEFAULT_RANGES["log10 resistivity"])):
            assert low <= float(models[key].min()) and float(models[key].max()) <= high
            assert len(torch.unique(models[key])) > 20  # the texture is there


def _per_unit_values(kind: str, scatter: float = 0.1) -> np.ndarray:
    """Normalised values of two related properties on 300 one-cell units."""
    grid = Grid(nx=300, nz=1, dx=1.0, dz=1.0)
    units = UnitModel(np.arange(300)[None, :], ("layer",) * 300)
    relation = {"to": "v", "kind": kind, "scatter": scatter}
    models = paint_units(units, grid, {"v": {"property": "velocity"},
                                       "r": {"property": "log10 resistivity",
                                             "relation": relation}}, seed=3, index=0)
    return np.corrcoef(models["v"].numpy().ravel(), models["r"].numpy().ravel())[0, 1]


def test_relations_give_the_sign_of_the_correlation():
    assert _per_unit_values("correlated") > 0.8
    assert _per_unit_values("anticorrelated") < -0.8
    assert abs(_per_unit_values("none")) < 0.2
    assert _per_unit_values("correlated", scatter=0.0) == pytest.approx(1.0)


def test_relations_across_units_of_a_family():
    properties = {"v": {"property": "velocity"},
                  "r": {"property": "log10 resistivity",
                        "relation": {"to": "v", "kind": "anticorrelated", "scatter": 0.05}}}
    v, r = [], []
    for index in range(6):
        models = draw_sample("layered", GRID, index, 0, properties)
        v.append(models["v"].numpy()[:, 0])
        r.append(models["r"].numpy()[:, 0])
    assert np.corrcoef(np.concatenate(v), np.concatenate(r))[0, 1] < -0.8


def _halves(grid, rng, split=0.5):
    """A user family: left and right halves, the boundary at a random column."""
    column = int(grid.nx * split) + int(rng.integers(-2, 3))
    units = np.zeros(grid.shape, dtype=int)
    units[:, column:] = 1
    return UnitModel(units, ("block", "block"), "halves")


def test_user_callable_and_registered_family(monkeypatch):
    models = draw_sample(_halves, GRID, 0, 0, PROPERTIES, family_options={"split": 0.25})
    assert len(torch.unique(models["traveltime"])) == 2
    monkeypatch.setitem(FAMILIES_SHARED, "halves", _halves)
    again = draw_sample("halves", GRID, 0, 0, PROPERTIES, family_options={"split": 0.25})
    assert torch.equal(models["dcr"], again["dcr"])
    with pytest.raises(TypeError, match="must return a UnitModel, got ndarray"):
        draw_sample(lambda grid, rng: np.zeros(grid.shape, dtype=int), GRID, 0)
    with pytest.raises(ValueError, match=re.escape("not the grid shape (nz, nx) = (24, 48)")):
        draw_units(lambda grid, rng: UnitModel(np.zeros((2, 2), dtype=int), ("layer",)),
                   GRID, 0)


def test_entry_point_families(monkeypatch):
    points = [EntryPoint("stack", "jointinv.synthetic.families:layered", "jointinv.families"),
              EntryPoint("table", "jointinv.synthetic.families:FAMILIES_SHARED",
                         "jointinv.families")]
    monkeypatch.setattr(shared_samples, "entry_points",
                        lambda group: [p for p in points if p.group == group])
    assert {"stack", "table", "layered"} <= set(available_families())
    assert load_family("stack") is FAMILIES_SHARED["layered"]
    assert torch.equal(draw_sample("stack", GRID, 1, 0)["velocity"],
                       draw_sample("layered", GRID, 1, 0)["velocity"])
    with pytest.raises(TypeError, match="entry point 'table' .* must load a callable"):
        load_family("table")
    with pytest.raises(ValueError, match="unknown family 'volcano'") as info:
        draw_sample("volcano", GRID, 0)
    assert "stack" in str(info.value) and "faulted" in str(info.value)


@pytest.mark.parametrize("properties, message", [
    ({"dcr": {"property": "log10 resistivity", "range": (3.0, 1.0)}},
     "properties['dcr']['range'] must be finite with min < max"),
    ({"dcr": {"property": "log10 resistivity", "range": (1.0, 1.0)}},
     "properties['dcr']['range'] must be finite with min < max"),
    ({"tt": {"property": "velocity", "range": (1400.0, float("inf"))}},
     "properties['tt']['range'] must be finite with min < max"),
    ({"tt": {"property": "velocity", "range": ()}},
     "properties['tt']['range'] must be two numbers (min, max)"),
    ({"g": {"property": "density"}}, "properties['g'] needs a 'range' (min, max)"),
    ({"tt": {"velocity": (1, 2)}}, "properties['tt'] has unknown entries ['velocity']"),
    ({"tt": {"range": (1, 2)}}, "properties['tt'] needs a 'property' name"),
    ({}, "properties must name at least one property"),
    ({"a": {"property": "velocity", "relation": {"to": "b"}}},
     "properties['a']['relation']['to'] must name another property key"),
    ({"a": {"property": "velocity", "relation": {"to": "a", "kind": "inverse"}}},
     "properties['a']['relation']['kind'] must be one of"),
    ({"a": {"property": "velocity", "relation": {"to": "b"}},
      "b": {"property": "velocity", "relation": {"to": "a"}}},
     "relations form a cycle (a -> b -> a)"),
    ({"a": {"property": "velocity", "texture": {"amplitude": -1.0}}},
     "properties['a']['texture']['amplitude'] must be a finite number >= 0"),
    ({"a": {"property": "velocity", "texture": {"amplitude": 0.1,
                                                "correlation_length": (1.0, 2.0, 3.0)}}},
     "properties['a']['texture']['correlation_length'] must be a length [m] or two"),
    ({"a": {"property": "velocity", "relation": {"to": "b", "scatter": float("nan")}},
      "b": {"property": "velocity"}},
     "properties['a']['relation']['scatter'] must be a finite number >= 0"),
])
def test_bad_properties_name_the_key(properties, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        draw_sample("layered", GRID, 0, 0, properties)


def test_bad_family_grid_and_index():
    with pytest.raises(TypeError, match="family must be a name or a callable"):
        draw_sample(3, GRID, 0)
    with pytest.raises(TypeError, match="grid must be a jointinv.Grid"):
        draw_sample("layered", (24, 48), 0)
    with pytest.raises(ValueError, match=re.escape("index must be an integer in [0, 2**63)")):
        draw_sample("layered", GRID, -1)
    with pytest.raises(ValueError, match=re.escape("units must lie in [0, 1)")):
        UnitModel(np.ones((2, 2), dtype=int), ("layer",))


def test_families_draw_their_features():
    kinds = {name: set() for name in ("faulted", "dike", "blocks", "channels", "unconformity")}
    for name in kinds:
        for index in range(4):
            model = draw_units(name, GRID, index, 0)
            kinds[name] |= set(model.kinds) | set(model.features)
    assert "faults" in kinds["faulted"]
    assert "dike" in kinds["dike"] and "block" in kinds["blocks"]
    assert "channel" in kinds["channels"] and "unconformity_depth" in kinds["unconformity"]
    faults = draw_units("faulted", GRID, 0, 0).features["faults"]
    assert 1 <= len(faults) <= 3
    assert all(abs(fault.throw) >= 2 * GRID.dz for fault in faults)

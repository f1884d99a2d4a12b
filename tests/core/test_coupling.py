import re

import discretize
import numpy as np
import pytest
import torch
from simpeg import maps
from simpeg.regularization import CrossGradient as SimpegCrossGradient

from jointinv import Grid
from jointinv.coupling import (
    Coupling,
    CrossGradient,
    JointTotalVariation,
    NormalizedCrossGradient,
)
from jointinv.testing import gradient_check, random_like


@pytest.fixture
def grid():
    return Grid(nx=9, nz=7, dx=3.0, dz=2.0, x0=-5.0, z0=1.0)


@pytest.fixture
def models(grid):
    base = torch.zeros(grid.shape, dtype=torch.float64)
    return {"a": random_like(base, 1) + 2.0, "b": 50.0 * random_like(base, 2) + 2000.0}


def test_cross_gradient_matches_simpeg(grid, models):
    mesh = discretize.TensorMesh([np.full(grid.nx, grid.dx), np.full(grid.nz, grid.dz)])
    wires = maps.Wires(("a", grid.n_cells), ("b", grid.n_cells))
    reference = SimpegCrossGradient(mesh, wire_map=wires)
    # our (nz, nx) C order is discretize's x-fastest cell order
    stacked = np.r_[models["a"].numpy().ravel(), models["b"].numpy().ravel()]
    term = CrossGradient(("a", "b"), grid)
    leaves = {k: v.clone().requires_grad_(True) for k, v in models.items()}
    value = term(leaves)
    value.backward()
    expected_value = reference(stacked)
    expected_grad = reference.deriv(stacked)
    assert float(value) == pytest.approx(expected_value, rel=1e-10)
    ours = np.r_[leaves["a"].grad.numpy().ravel(), leaves["b"].grad.numpy().ravel()]
    np.testing.assert_allclose(ours, expected_grad, rtol=1e-10,
                               atol=1e-10 * np.abs(expected_grad).max())


def test_cross_gradient_zero_for_linearly_related_models(grid, models):
    related = {"a": models["a"], "b": -3.0 * models["a"] + 1.0}
    value = CrossGradient(("a", "b"), grid)(related)
    scale = CrossGradient(("a", "b"), grid)({"a": models["a"], "b": 3.0 * models["b"] / 50.0})
    assert abs(float(value)) < 1e-12 * float(scale)


@pytest.mark.parametrize("factor_a,factor_b", [(1e-3, 1.0), (1.0, 7.5e4), (0.2, 30.0)])
def test_normalized_cross_gradient_is_scale_invariant(grid, models, factor_a, factor_b):
    term = NormalizedCrossGradient(("a", "b"), grid)
    value = float(term(models))
    scaled = float(term({"a": factor_a * models["a"], "b": factor_b * models["b"]}))
    assert scaled == pytest.approx(value, rel=1e-12)
    assert 0.0 < term.mean(models) <= 1.0


def test_normalized_cross_gradient_detects_shared_structure(grid):
    x = torch.as_tensor(grid.cell_centers_x)
    z = torch.as_tensor(grid.cell_centers_z)
    zz, xx = torch.meshgrid(z, x, indexing="ij")
    dipping = torch.tanh((xx - zz) / 4.0)
    term = NormalizedCrossGradient(("a", "b"), grid, eps=0.01)
    same = term.mean({"a": dipping, "b": 5.0 - 2.0 * dipping})
    crossing = term.mean({"a": dipping, "b": torch.tanh((xx + zz - 6.0) / 4.0)})
    assert same < 1e-12 and crossing > 0.3


def test_normalized_cross_gradient_has_structure_only_when_both_models_have_a_gradient(
        grid, models):
    term = NormalizedCrossGradient(("a", "b"), grid)
    flat = torch.full(grid.shape, 2.0, dtype=torch.float64)
    assert term.has_structure(models)
    assert not term.has_structure({"a": flat, "b": models["b"]})
    assert not term.has_structure({"a": models["a"], "b": flat})
    # any step, however short, from a flat model takes the term to its full value
    short_step = {"a": flat + 1e-9 * models["a"], "b": models["b"]}
    assert term.has_structure(short_step)
    assert float(term(short_step)) == pytest.approx(float(term(models)), rel=1e-6)
    # frozen floors decide: a model frozen while flat keeps the term undefined
    assert not term.frozen({"a": flat, "b": models["b"]}).has_structure(models)


@pytest.mark.parametrize("term_class", [CrossGradient, NormalizedCrossGradient,
                                        JointTotalVariation])
def test_gradients_match_finite_differences(grid, models, term_class):
    term = term_class(("a", "b"), grid)
    gradient_check(lambda m: term({"a": m, "b": models["b"]}), models["a"])
    gradient_check(lambda m: term({"a": models["a"], "b": m}), models["b"])


def test_scales_make_cross_gradient_unit_free(grid, models):
    in_m_per_s = CrossGradient(("a", "b"), grid, scales={"b": 2000.0})(models)
    in_km_per_s = CrossGradient(("a", "b"), grid, scales={"b": 2.0})(
        {"a": models["a"], "b": models["b"] / 1000.0})
    assert float(in_km_per_s) == pytest.approx(float(in_m_per_s), rel=1e-12)


def test_joint_total_variation_rewards_shared_edges(grid):
    step = torch.zeros(grid.shape, dtype=torch.float64)
    step[:, 5:] = 1.0
    other = torch.zeros_like(step)
    other[4:, :] = 1.0
    term = JointTotalVariation(("a", "b"), grid)
    assert float(term({"a": step, "b": step})) < float(term({"a": step, "b": other}))


def test_errors(grid, models):
    with pytest.raises(ValueError, match=re.escape("keys must name at least 2 different models")):
        CrossGradient(("a", "a"), grid)
    with pytest.raises(ValueError, match=re.escape("scales[\'b\'] must be a finite number > 0")):
        CrossGradient(("a", "b"), grid, scales={"b": -1.0})
    with pytest.raises(ValueError, match="scales name models \\['c'\\]"):
        JointTotalVariation(("a", "b"), grid, scales={"c": 1.0})
    with pytest.raises(ValueError, match="CrossGradient needs models \\['b'\\]"):
        CrossGradient(("a", "b"), grid)({"a": models["a"]})


def test_normalized_cross_gradient_and_joint_tv_by_hand():
    """3 x 3 cells, m1 = a x and m2 = b z: the values worked out on paper.

    Cell-centre gradients average the two face gradients (boundary faces are
    zero), so edge cells see half the slope: |u| = s / sqrt(s^2 + eps^2 max^2)
    gives f = 1 / (1 + eps^2) inside and 0.25 / (0.25 + eps^2) on the edges,
    and |u1 x u2|^2 = f(column) f(row).
    """
    grid = Grid(nx=3, nz=3, dx=2.0, dz=1.0)
    x = torch.as_tensor(grid.cell_centers_x)[None, :].expand(grid.shape)
    z = torch.as_tensor(grid.cell_centers_z)[:, None].expand(grid.shape)
    models = {"a": 7.0 * x, "b": -3.0 * z}
    eps = 0.1
    f = torch.tensor([0.25 / (0.25 + eps**2), 1 / (1 + eps**2), 0.25 / (0.25 + eps**2)],
                     dtype=torch.float64)
    expected = grid.dx * grid.dz * float(f.sum()) ** 2
    value = NormalizedCrossGradient(("a", "b"), grid, eps=eps)(models)
    assert float(value) == pytest.approx(expected, rel=1e-12)
    # joint TV of m1 alone (m2 flat): averaged squared face gradients a^2 [1/2, 1, 1/2]
    flat = {"a": models["a"], "b": torch.zeros(grid.shape, dtype=torch.float64)}
    per_cell = torch.tensor([0.5, 1.0, 0.5], dtype=torch.float64) * 7.0**2
    expected_tv = grid.dx * grid.dz * 3 * float(torch.sqrt(per_cell + 1e-6**2).sum())
    assert float(JointTotalVariation(("a", "b"), grid)(flat)) == pytest.approx(expected_tv,
                                                                              rel=1e-12)


def test_coupling_objects_cover_every_model(grid, models):
    three = {**models, "c": models["a"] ** 2}
    pairs = Coupling("cross_gradient", weight=0.5).terms(three, grid, n_data_total=100)
    assert [name for name, _, _ in pairs] == ["cross_gradient[a,b]", "cross_gradient[a,c]",
                                             "cross_gradient[b,c]"]
    area = grid.n_cells * grid.dx * grid.dz
    assert all(weight == pytest.approx(0.5 * 100 / area) for _, weight, _ in pairs)
    (name, _, term), = Coupling("joint_total_variation").terms(three, grid, n_data_total=100)
    assert term.keys == ("a", "b", "c") and name == "joint_total_variation[a,b,c]"
    with pytest.raises(ValueError, match=re.escape("keys must name exactly 2 models")):
        NormalizedCrossGradient(("a", "b", "c"), grid)
    with pytest.raises(ValueError, match=re.escape("coupling kind must be one of")):
        Coupling("mutual_information")
    with pytest.raises(ValueError, match=re.escape("coupling weight must be a finite number >= 0")):
        Coupling(weight=-1.0)
    with pytest.raises(TypeError, match=re.escape("coupling has unknown keys ['wieght']")):
        Coupling.coerce({"kind": "cross_gradient", "wieght": 1.0})
    # models of the wrong orientation are refused, not silently read
    with pytest.raises(ValueError, match=re.escape("must have the grid shape (nz, nx) = (7, 9)")):
        CrossGradient(("a", "b"), grid)({"a": models["a"].T, "b": models["b"].T})

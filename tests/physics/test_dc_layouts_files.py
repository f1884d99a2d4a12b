"""Electrode-list surveys, size limits and pyGIMLi unified-format files for DC."""

import re
import time

import numpy as np
import pytest
from jointinv.physics.dc_files import read_unified, write_unified
from jointinv.physics.dc_layouts import LINE_ARRAYS, check_dc_memory, count_line_data, line_indices
from jointinv.physics.dc_survey import Quadrupoles, from_electrodes, surface_line


@pytest.mark.parametrize("array", LINE_ARRAYS)
def test_even_positions_reproduce_surface_line(array):
    # the dipole and pole arrays of surface_line come from SimPEG's generator
    reference = surface_line(array, -50.0, 50.0, 10.0, n_max=4)
    x = np.linspace(-50.0, 50.0, 11)
    survey = from_electrodes(np.column_stack([x, np.zeros(11)]), array, n_max=4)
    for role in "abmn":
        np.testing.assert_array_equal(getattr(survey, role), getattr(reference, role))
    assert count_line_data(array, 11, 4) == survey.n_data == len(line_indices(array, 11, 4))


def test_uneven_surface_line_uses_true_positions():
    x = [0.0, 5.0, 10.0, 20.0, 25.0, 40.0]
    survey = from_electrodes([[xi, 0.0] for xi in x], "dipole-dipole", n_max=2)
    assert survey.n_data == 5
    # first datum: A=0, B=5, M=10, N=20 m; G = (1/AM - 1/AN - 1/BM + 1/BN) / (2 pi)
    expected = (1 / 10 - 1 / 20 - 1 / 5 + 1 / 15) / (2 * np.pi)
    np.testing.assert_allclose(survey.geometric_factor()[0], expected, rtol=1e-12)
    np.testing.assert_array_equal(survey.m[:2, 0], [10.0, 20.0])


def test_borehole_string_with_pole_source():
    depths = [2.0, 4.0, 6.5, 9.0, 13.0]
    survey = from_electrodes([[3.0, z] for z in depths], "pole-dipole", n_max=3)
    assert np.isnan(survey.b).all()
    np.testing.assert_array_equal(survey.a[:3, 1], [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(survey.n[:3, 1], [6.5, 9.0, 13.0])


@pytest.mark.parametrize("kwargs,message", [
    (dict(positions=[[0.0, 0.0], [1.0, 0.0], [1.0, 0.0], [3.0, 0.0]]),
     "positions must be distinct electrodes, got 1 repeated position(s)"),
    (dict(positions=[[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]]),
     "positions: a line of 3 electrodes is too short for one dipole-dipole quadrupole"),
    (dict(positions=np.column_stack([np.arange(20_000.0), np.zeros(20_000)])),
     "positions (20000 rows) gives 2e+04 electrodes, more than the 10000 a line may hold"),
    (dict(positions=np.column_stack([np.arange(5000.0), np.zeros(5000)]), n_max=5000),
     "n_max = 5000 on 5000 electrodes gives 1.249e+07 dipole-dipole data, more than "
     "MAX_DATA = 1e+06"),
    (dict(positions=[[0.0, 0.0], [1.0, np.nan]]),
     "positions must hold finite coordinates, got NaN or inf"),
])
def test_from_electrodes_errors(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        from_electrodes(**kwargs)


@pytest.mark.parametrize("array", ["wenner", "schlumberger", "dipole-dipole"])
def test_huge_n_max_is_quick_and_fine_spacing_is_refused(array):
    start = time.perf_counter()
    survey = surface_line(array, -350.0, 350.0, 25.0, n_max=10**9)
    assert survey.n_data == count_line_data(array, 29, 10**9)
    assert time.perf_counter() - start < 2.0
    with pytest.raises(ValueError, match=re.escape(
            "electrode_spacing = 0.0001 m from start = -350 m to end = 350 m gives 7e+06 "
            "electrodes, more than the 10000 a line may hold")):
        surface_line(array, -350.0, 350.0, 1e-4, n_max=4)


def test_dc_memory_is_estimated_before_factorising():
    class Mesh:
        n_nodes = 1281

    with pytest.raises(ValueError, match=re.escape(
            "nky = 100000 makes the DC simulation (1281 mesh nodes, 8 sources, one factorisation "
            "and field set per wavenumber) need about 106 GiB, more than max_memory_gb = 8 GiB")):
        check_dc_memory(Mesh(), 8, 10**5)
    check_dc_memory(Mesh(), 8, 11)


def test_unified_format_round_trip(tmp_path):
    survey = from_electrodes([[0.0, 0.0], [5.0, 0.0], [12.0, 0.0], [20.0, 1.0], [31.0, 0.0]],
                             "pole-dipole", n_max=2)
    rhoa = np.linspace(90.0, 110.0, survey.n_data)
    path = write_unified(tmp_path / "line.ohm", survey, {"rhoa": rhoa, "err": 0.03})
    text = path.read_text().splitlines()
    assert text[:3] == ["5", "# x z", "0.0 0.0"] and "20.0 -1.0" in text
    assert text[8] == "# a b m n rhoa err" and text[9].startswith("1 0 2 3 ")
    back, columns = read_unified(path)
    for role in "abmn":
        np.testing.assert_array_equal(getattr(back, role), getattr(survey, role))
    np.testing.assert_array_equal(columns["rhoa"], rhoa)
    np.testing.assert_array_equal(columns["err"], 0.03)


def test_reads_a_pygimli_style_file(tmp_path):
    path = tmp_path / "field.dat"
    path.write_text("4 # Number of electrodes\n# x y z\n0 0 0\n2.5 0 0\n6 0 -0.5\n9 0 0\n"
                    "1 # Number of data\n# a b m n rhoa/Ohmm err/%\n1 2 3 4 120.5 2\n0\n")
    survey, columns = read_unified(path)
    assert isinstance(survey, Quadrupoles) and survey.n_data == 1
    np.testing.assert_array_equal(survey.m, [[6.0, 0.5]])  # elevation -0.5 m -> depth 0.5 m
    assert columns == {"rhoa": pytest.approx([120.5]), "err": pytest.approx([2.0])}
    path.write_text("2\n# x z\n0 0\n1 0\n1\n# a b m n\n1 2 3 0\n")
    with pytest.raises(ValueError, match=re.escape("electrode numbers in column m must be "
                                                   "integers in [0, 2], got 3.0")):
        read_unified(path)

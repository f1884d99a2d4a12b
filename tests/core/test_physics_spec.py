"""Operators from plain specifications: any registered physics, clear errors."""

import re

import pytest

from jointinv.physics_spec import build_grid, build_operator


@pytest.fixture
def grid():
    return build_grid({"nx": 20, "nz": 10, "dx": 5.0, "dz": 5.0})


def test_specs_build_every_kind_of_constructor(grid):
    tomo = build_operator(grid, {"physics": "traveltime", "constructor": "crosshole",
                                 "n_sources": 4, "n_receivers": 5})
    assert tomo.n_data == 20 and tomo.grid == grid
    line = build_operator(grid, {"physics": "dcr", "constructor": "from_surface_line",
                                 "array": "dipole-dipole", "start": 10.0, "end": 90.0,
                                 "electrode_spacing": 10.0, "n_max": 3})
    assert line.property == "log10 resistivity"
    direct = build_operator(grid, {"physics": "traveltime", "sources": [[0.0, 12.5]],
                                   "receivers": [[100.0, 12.5], [100.0, 37.5]]})
    assert direct.n_data == 2


@pytest.mark.parametrize("spec,error,message", [
    ({"physics": "tomography"}, ValueError, "unknown physics 'tomography'; installed physics"),
    ({"constructor": "crosshole"}, ValueError, "physics must name a registered physics"),
    ({"physics": "traveltime", "constructor": "fan"}, ValueError,
     "StraightRayTomography has no classmethod 'fan'; it has ['crosshole'"),
    ({"physics": "traveltime", "constructor": "_matrices"}, ValueError,
     "constructor must name a public classmethod"),
    ({"physics": "traveltime", "constructor": "crosshole", "n_source": 3}, TypeError,
     "physics: StraightRayTomography.crosshole: "),
])
def test_bad_specs_are_named(grid, spec, error, message):
    with pytest.raises(error, match=re.escape(message)):
        build_operator(grid, spec)


def test_bad_grids_are_named():
    with pytest.raises(ValueError, match=re.escape("grid needs keys nx, nz, dx, dz")):
        build_grid({"nx": 3, "nz": 3, "dx": 1.0})
    with pytest.raises(TypeError, match=re.escape("grid.dx must be a number, got '1'")):
        build_grid({"nx": 3, "nz": 3, "dx": "1", "dz": 1.0})

"""Built-in joint seismic-DC cases: one geology seen by cross-hole travel times
and a surface DC line, generated in code (no downloads).

Both cases live on a 200 m x 100 m section of 5 m cells (40 x 20). Travel
times: sources in a borehole at x = -100 m, receivers in one at x = +100 m,
depths 20-100 m (below the top layer). DC: a dipole-dipole line on the
surface, whose sensitivity fades with depth. Each method thus sees well what
the other sees poorly. Velocity and
resistivity change at the same boundaries (shared structure), which is what
structural coupling exploits.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from .cases import Case
from .grid import Grid
from .registry import create_physics, load_physics

__all__ = ["DEMO_JOINT_METHOD", "JOINT_CASES", "joint_case"]

_GRID = Grid(nx=40, nz=20, dx=5.0, dz=5.0, x0=-100.0, z0=0.0)


def _coordinates(grid, dtype):
    x = torch.as_tensor(grid.cell_centers_x, dtype=dtype)
    z = torch.as_tensor(grid.cell_centers_z, dtype=dtype)
    return torch.meshgrid(z, x, indexing="ij")  # (zz, xx), each (nz, nx)


def _dike_geology(zz, xx):
    """Top layer (depth < 15 m) and a 45-degree dike 20 m wide below it."""
    layer = zz < 15.0
    dike = (zz >= 15.0) & ((xx + 30.0 - zz).abs() <= 10.0 * 2**0.5)
    return layer, dike


def _fault_geology(zz, xx):
    """A 20 m thick layer offset 25 m by a vertical fault at x = 10 m, and a block."""
    top = torch.where(xx < 10.0, torch.full_like(xx, 30.0), torch.full_like(xx, 55.0))
    layer = (zz >= top) & (zz < top + 20.0)
    block = (xx >= -80.0) & (xx < -50.0) & (zz >= 65.0) & (zz < 90.0)
    return layer, block


_GEOLOGIES = {"dike": _dike_geology, "fault": _fault_geology}
#: ``fusion`` is a held-out sample of the shipped fusion network's training family
#: (80 x 40 cells of 2.5 m; :mod:`jointinv.fusion.demo_case`), not a geology above.
JOINT_CASES = (*_GEOLOGIES, "fusion")

#: The joint method ``jointinv demo`` runs beside the independent inversions
#: (a ``jointinv compare`` strategy entry): structure-guided smoothness (each
#: model's smoothness relaxed across the other model's edges, edge contrast
#: 5 %) with two couplings, the normalised cross-gradient (aligns the edges)
#: and the resolution-aware petrophysical mixture (3 units over both
#: properties, learned in flight from the cells each physics senses: carries
#: a unit's value from where one physics sees it to where only the other
#: does), held 5 iterations at the target misfit. Chosen from the sweeps of
#: ``examples/coupling_study.py``: the smallest petrophysical weight that meets
#: both targets of the couplings issue (velocity -5 %, log10 rho -10 %, every
#: data set at target) on the two built-in cases and three hand-made
#: geologies; on four validation geologies it keeps both gains on average
#: (``examples/couplings/sweeps.md``).
DEMO_JOINT_METHOD = {"name": "joint", "label": "structure_guided_cg_aware_petrophysical",
                     "coupling": [{"kind": "cross_gradient", "weight": 1.0},
                                  {"kind": "petrophysical", "weight": 0.1,
                                   "resolution_aware": True}],
                     "edge_contrast": 0.05, "hold_iterations": 5}


def joint_case(name: str = "dike", n_boreholes_points: int = 17, borehole_top: float = 20.0,
               seed: int = 0,
               traveltime_noise: float = 0.01, dc_noise: float = 0.03,
               velocity_units: str = "m/s", dtype=torch.float64) -> dict:
    """``{"traveltime": Case, "dcr": Case}`` of the built-in joint geology ``name``.

    ``name="fusion"`` is the held-out training-family sample of
    :func:`jointinv.fusion.demo_case.fusion_case` (its own grid, survey and
    noise; only ``seed`` applies).

    Velocities: background 2000 m/s, first unit 1500 m/s, second unit
    1600 m/s; log10 resistivity: background 2 (100 ohm m), first unit 1.5,
    second unit 1 (10 ohm m). Noise: ``traveltime_noise`` relative (floor
    1e-5 s) and ``dc_noise`` relative, seeded. Starting models: homogeneous
    backgrounds. ``velocity_units="km/s"`` expresses velocities in km/s
    instead (travel times then come out in ms), to check unit independence.
    """
    if name not in JOINT_CASES:
        raise ValueError(f"name must be one of {list(JOINT_CASES)}, got {name!r}")
    if velocity_units not in ("m/s", "km/s"):
        raise ValueError(f"velocity_units must be 'm/s' or 'km/s', got {velocity_units!r}")
    if name == "fusion":
        if velocity_units != "m/s":  # the network was trained in m/s
            raise ValueError(f"velocity_units must be 'm/s' for the fusion case, "
                             f"got {velocity_units!r}")
        from .fusion.demo_case import fusion_case

        return fusion_case(seed=seed)
    scale = 1.0 if velocity_units == "m/s" else 1e-3
    grid = _GRID
    zz, xx = _coordinates(grid, dtype)
    first, second = _GEOLOGIES[name](zz, xx)
    velocity = torch.full(grid.shape, 2000.0, dtype=dtype)
    velocity[first], velocity[second] = 1500.0, 1600.0
    log_resistivity = torch.full(grid.shape, 2.0, dtype=dtype)
    log_resistivity[first], log_resistivity[second] = 1.5, 1.0
    velocity = velocity * scale

    # the boreholes start below the top layer, which only the DC line sees well
    depths = np.linspace(borehole_top, grid.z_max, n_boreholes_points)
    sources = np.column_stack([np.full_like(depths, grid.x0), depths])
    receivers = np.column_stack([np.full_like(depths, grid.x_max), depths])
    traveltime = create_physics("traveltime", grid, sources, receivers)
    with warnings.catch_warnings():
        # the data are simulated on the mesh that inverts them: its discretisation
        # error is not a data error here, so the coarse-mesh warning is moot
        warnings.filterwarnings("ignore", message="the DC simulation mesh has")
        dcr = load_physics("dcr").from_surface_line(
            grid, "dipole-dipole", start=-90.0, end=90.0, electrode_spacing=10.0, n_max=6)
    cases = {}
    for key, operator, true, background, noise, floor in (
        # travel times scale with 1 / velocity units: keep the floor at 10 microseconds
        ("traveltime", traveltime, velocity, 2000.0 * scale, traveltime_noise, 1e-5 / scale),
        ("dcr", dcr, log_resistivity, 2.0, dc_noise, 0.0),
    ):
        data = operator.simulate(true, relative_error=noise, noise_floor=floor, seed=seed)
        cases[key] = Case(name=f"{name}-{key}", operator=operator, true_model=true,
                          initial_model=torch.full_like(true, background), data=data,
                          description=f"{name} geology, {operator.property}")
    return cases

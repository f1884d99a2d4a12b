"""An Overthrust-like velocity model: layered sediments cut and repeated by thrusts.

Like the SEG/EAGE Overthrust model (a land model; the FAD-FWI seed's
third experiment), the layers are pushed over themselves along ramp-flat
thrust faults: each fault follows a lower flat (the décollement), climbs a
ramp and continues along an upper flat toward the foreland. The hanging wall
slides along the fault, so above the ramp it folds into a ramp anticline and
beyond it the layers between the two flats are stacked twice (a repeated
section, with a velocity inversion where fast rock rides over slower rock).

Kinematics: vertical simple shear (a hanging-wall point keeps its height
above the fault while it slides by the horizontal ``slip``). A cell is
restored by undoing the thrusts youngest first, then a gentle regional fold,
and its depositional depth is looked up among the flat interfaces of the
layer cake, as in :mod:`.structure`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..grid import Grid, check_grid
from ..validation import (
    check_int_range,
    check_nonnegative_float,
    check_positive_float,
    check_real_range,
    check_seed,
)
from .random_fields import gaussian_random_field
from .structure import Fold, water_mask

__all__ = ["Thrust", "overthrust_model", "overthrust_units"]

# Independent random streams (geometry, values, texture), as in velocity_models.
_STRUCTURE_STREAM, _VALUE_STREAM, _TEXTURE_STREAM = 0, 1, 2
_FAMILY_TAG = 7  # keeps these streams apart from the velocity_model families


@dataclass(frozen=True)
class Thrust:
    """A ramp-flat thrust fault, depths measured from the top of the layer cake.

    Parameters
    ----------
    ramp_x : float
        Horizontal position [m] where the ramp meets the upper flat.
    upper_depth, lower_depth : float
        Depths [m] of the upper flat and of the lower flat (décollement),
        ``0 <= upper_depth < lower_depth``.
    ramp_dip : float
        Dip of the ramp [degrees], in ``(0, 90)``.
    slip : float
        Horizontal displacement [m] of the hanging wall toward the foreland, > 0.
    verges_left : bool
        True if the hanging wall moves toward -x (the foreland is on the left,
        the ramp climbs toward -x), False for the mirror image.
    """

    ramp_x: float
    upper_depth: float
    lower_depth: float
    ramp_dip: float
    slip: float
    verges_left: bool = True

    def __post_init__(self):
        check_nonnegative_float("upper_depth", self.upper_depth)
        if not self.lower_depth > self.upper_depth:
            raise ValueError(f"lower_depth must be greater than upper_depth "
                             f"{self.upper_depth} m, got {self.lower_depth}")
        check_real_range("ramp_dip", self.ramp_dip, 0.0, 90.0, "degrees")
        if self.ramp_dip in (0.0, 90.0):
            raise ValueError(f"ramp_dip must be strictly between 0 and 90 degrees, "
                             f"got {self.ramp_dip}")
        check_positive_float("slip", self.slip)

    @property
    def ramp_width(self) -> float:
        """Horizontal length [m] of the ramp."""
        return (self.lower_depth - self.upper_depth) / math.tan(math.radians(self.ramp_dip))

    def fault_depth(self, x: np.ndarray) -> np.ndarray:
        """Depth [m] of the fault below the layer-cake top at positions ``x`` [m]."""
        toward_hinterland = (np.asarray(x, dtype=float) - self.ramp_x) * (
            1.0 if self.verges_left else -1.0)
        fraction = np.clip(toward_hinterland / self.ramp_width, 0.0, 1.0)
        return self.upper_depth + fraction * (self.lower_depth - self.upper_depth)

    def restore(self, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions ``(x, z)`` [m] before thrusting of points now at ``(x, z)``.

        Hanging-wall points (above the fault) move back by ``slip`` toward the
        hinterland, keeping their height above the fault; the footwall stays.
        """
        hanging = z < self.fault_depth(x)
        origin_x = x + (self.slip if self.verges_left else -self.slip)
        origin_z = z + self.fault_depth(origin_x) - self.fault_depth(x)
        return np.where(hanging, origin_x, x), np.where(hanging, origin_z, z)


def _random_thrusts(rng, n_thrusts: int, width: float, x0: float, thickness: float,
                    verges_left: bool) -> tuple:
    """Piggy-back thrusts on one décollement, oldest (hinterland) first.

    Each thrust's structure (ramp plus the slip it pushes the hanging wall
    beyond the ramp's top) gets its own stretch of the section, scaled down
    if they would not fit in 80 % of the width; the slip exceeds the ramp's
    width, so every thrust stacks a repeated section on its upper flat. A
    thrust is placed before the younger ones in front carried it forward.
    """
    lower = thickness * rng.uniform(0.55, 0.7)
    heights = thickness * rng.uniform(0.15, 0.25, n_thrusts)
    dips = rng.uniform(30.0, 40.0, n_thrusts)
    slip_factors = rng.uniform(1.3, 1.8, n_thrusts)
    ramps = heights / np.tan(np.radians(dips))
    scale = min(1.0, 0.8 * width / float((ramps * (1.0 + slip_factors)).sum()))
    heights, ramps = heights * scale, ramps * scale
    slips = ramps * slip_factors
    gaps = rng.dirichlet(np.ones(n_thrusts + 1)) * (width - float((ramps + slips).sum()))
    # u: distance toward the foreland; final ramp tops, then undo the carrying
    starts = np.cumsum(np.concatenate([[gaps[0]], ramps[:-1] + slips[:-1] + gaps[1:-1]]))
    carried = np.concatenate([np.cumsum(slips[::-1])[::-1][1:], [0.0]])
    tops = starts + ramps - carried
    return tuple(Thrust(ramp_x=x0 + width - u if verges_left else x0 + u,
                        upper_depth=lower - h, lower_depth=lower, ramp_dip=dip, slip=slip,
                        verges_left=verges_left)
                 for u, h, dip, slip in zip(tops, heights, dips, slips, strict=True))


def overthrust_units(grid: Grid, interfaces, thrusts=(), fold: Fold | None = None,
                     top: float = 0.0) -> np.ndarray:
    """Unit index ``(nz, nx)`` of every cell of a thrust-faulted layer cake.

    Parameters
    ----------
    grid : Grid
    interfaces : sequence of float
        Increasing depositional depths [m] of the layer boundaries below ``top``.
    thrusts : sequence of Thrust
        In the order they formed (the last is the youngest, restored first).
    fold : Fold, optional
        Regional folding before thrusting.
    top : float
        Depth [m] below ``grid.z0`` where the layers start (e.g. the sea floor).

    Returns
    -------
    numpy.ndarray
        Integers in ``[0, len(interfaces)]``, 0 for the top layer.
    """
    check_grid("grid", grid)
    interfaces = np.asarray(interfaces, dtype=float)
    if interfaces.ndim != 1 or np.any(np.diff(interfaces) <= 0):
        raise ValueError(f"interfaces must be a strictly increasing 1D sequence of depths, "
                         f"got {interfaces}")
    z, x = np.meshgrid(grid.cell_centers_z - grid.z0 - top, grid.cell_centers_x,
                       indexing="ij")
    for thrust in reversed(tuple(thrusts)):
        x, z = thrust.restore(x, z)
    if fold is not None:
        z = fold.restore(x, z, thickness=max(grid.z_max - grid.z0 - top, grid.dz))
    return np.searchsorted(interfaces, z, side="right")


def overthrust_model(grid: Grid, seed: int = 0, water_depth: float = 0.0,
                     v_min: float = 2000.0, v_max: float = 6000.0, n_layers: int = 12,
                     n_thrusts: int = 2, texture: float = 0.02,
                     water_velocity: float = 1500.0,
                     dtype: torch.dtype | None = None) -> torch.Tensor:
    """A seeded Overthrust-like P-wave velocity model [m/s] of shape ``(nz, nx)``.

    Layers (velocity increasing with depositional depth, every interface a
    contrast of at least 2 % of the range) are gently folded, then cut by
    ``n_thrusts`` ramp-flat thrusts on one décollement that all verge the
    same, seeded, way (:class:`Thrust`): each stacks the layers between its
    flats twice and folds its hanging wall above the ramp.

    Parameters
    ----------
    grid : Grid
        Model grid.
    seed : int, default 0
        Seed in ``[0, 2**63)``; the same arguments give an identical model.
    water_depth : float, default 0
        Thickness [m] of a water layer on top (0: a land model, as the
        Overthrust); less than the grid depth.
    v_min, v_max : float, default 2000, 6000
        Range [m/s] of the rock velocities, ``0 < v_min < v_max``.
    n_layers : int, default 12
        Layers below the water, in ``[3, 100]``.
    n_thrusts : int, default 2
        Thrust faults, in ``[1, 4]``.
    texture : float, default 0.02
        Relative standard deviation of a Matérn random-field texture, in
        ``[0, 0.2]``; the result is clipped to ``[v_min, v_max]``.
    water_velocity : float, default 1500
        Velocity [m/s] of the water layer, > 0.
    dtype : torch.dtype, optional
        Floating dtype of the result (torch's default dtype if omitted).

    Returns
    -------
    torch.Tensor
        Velocity [m/s], shape ``(nz, nx)``, on the CPU.

    Raises
    ------
    TypeError
        For a grid that is not a :class:`jointinv.Grid` or a non-floating dtype.
    ValueError
        For an argument out of its range (the message names it).

    Examples
    --------
    >>> from jointinv import Grid
    >>> model = overthrust_model(Grid(nx=80, nz=30, dx=20.0, dz=20.0), seed=1)
    >>> tuple(model.shape), bool(model.min() >= 2000.0)
    ((30, 80), True)
    """
    check_grid("grid", grid)
    seed = check_seed("seed", seed)
    v_min = check_positive_float("v_min", v_min)
    v_max = check_positive_float("v_max", v_max)
    if v_min >= v_max:
        raise ValueError(f"v_min must be less than v_max, got v_min={v_min}, v_max={v_max}")
    n_layers = check_int_range("n_layers", n_layers, 3, 100)
    n_thrusts = check_int_range("n_thrusts", n_thrusts, 1, 4)
    texture = check_real_range("texture", texture, 0.0, 0.2)
    water_velocity = check_positive_float("water_velocity", water_velocity)
    depth = grid.z_max - grid.z0
    water_depth = check_nonnegative_float("water_depth", water_depth)
    if water_depth >= depth:
        raise ValueError(f"water_depth must be less than the grid depth {depth} m, "
                         f"got {water_depth}")
    dtype = torch.get_default_dtype() if dtype is None else dtype
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch dtype, got {dtype}")

    def rng(stream):
        return np.random.default_rng([seed, _FAMILY_TAG, stream])

    geometry = rng(_STRUCTURE_STREAM)
    thickness = depth - water_depth
    width = grid.x_max - grid.x0
    # Thin layers at least half a cell thick, so each is visible on the grid.
    min_thickness = min(0.5 * grid.dz, thickness / n_layers)
    shares = geometry.dirichlet(np.full(n_layers, 3.0))
    interfaces = np.cumsum(min_thickness + (thickness - n_layers * min_thickness) * shares)[:-1]
    fold = Fold(amplitudes=(0.04 * thickness * geometry.choice([-1.0, 1.0]),),
                wavelengths=(width * geometry.uniform(1.0, 2.0),),
                phases=(geometry.uniform(0.0, 2 * np.pi),), top_scale=1.0)
    thrusts = _random_thrusts(geometry, n_thrusts, width, grid.x0, thickness,
                              verges_left=bool(geometry.integers(2)))
    units = overthrust_units(grid, interfaces, thrusts, fold=fold, top=water_depth)

    values = rng(_VALUE_STREAM)
    floor = 0.02
    steps = floor + (1.0 - n_layers * floor) * values.dirichlet(np.full(n_layers, 2.0))
    velocities = v_min + (v_max - v_min) * (np.cumsum(steps) - steps[0])
    model = velocities[units]
    if texture > 0:
        lengths = (max(depth / 30, 2 * grid.dz), max(width / 15, 2 * grid.dx))
        field = gaussian_random_field(grid.shape, lengths, smoothness=3.0,
                                      seed=int(rng(_TEXTURE_STREAM).integers(2**62)),
                                      spacing=(grid.dz, grid.dx), dtype=torch.float64).numpy()
        model = np.clip(model * (1.0 + texture * field), v_min, v_max)
    model = np.where(water_mask(grid, water_depth), water_velocity, model)
    return torch.from_numpy(np.ascontiguousarray(model)).to(dtype)

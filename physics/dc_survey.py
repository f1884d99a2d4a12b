"""DC resistivity surveys: A-B-M-N quadrupoles and surface-line builders.

A survey is a :class:`Quadrupoles` table, one row per datum, in jointinv's
coordinates ``(x, z)`` with z the depth [m]. Surface lines come from SimPEG's
``generate_dcip_sources_line`` (dipole-dipole, pole-dipole, dipole-pole,
pole-pole) or are laid out here (Wenner, Schlumberger, which that generator
does not offer); any other layout — borehole, cross-hole — is a table of
positions given directly. :meth:`Quadrupoles.to_simpeg` builds the SimPEG
survey, converting depth to elevation.
"""

from __future__ import annotations

import numbers

import numpy as np
from simpeg.electromagnetics.static import resistivity as dc
from simpeg.electromagnetics.static.utils.static_utils import generate_dcip_sources_line

from jointinv.grid import Grid, check_grid
from jointinv.simpeg.mesh import depth_to_elevation
from jointinv.validation import (
    check_choice,
    check_points,
    check_positive_float,
    check_positive_int,
)

from .dc_layouts import LINE_ARRAYS, check_line_size, line_indices

__all__ = ["Quadrupoles", "surface_line", "from_electrodes", "LINE_ARRAYS", "DATA_TYPES"]

#: Data the operator predicts: apparent resistivity [ohm m] or voltage [V] per 1 A.
DATA_TYPES = ("apparent_resistivity", "volt")

_ROLES = ("a", "b", "m", "n")


def _electrode_table(name: str, points, n_rows: int | None, allow_remote: bool) -> np.ndarray:
    """Float64 ``(n, 2)`` positions; all-NaN rows mark a remote (pole) electrode."""
    if points is None:
        if not allow_remote:
            raise ValueError(f"{name} must be given (an (n, 2) array of (x, z) in metres)")
        return np.full((n_rows, 2), np.nan)
    try:
        array = np.array(points, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be an (n, 2) array of (x, z) in metres") from error
    if array.ndim != 2 or array.shape[1] != 2 or (n_rows is not None and len(array) != n_rows):
        expected = f"({n_rows}, 2)" if n_rows is not None else "(n, 2)"
        raise ValueError(f"{name} must have shape {expected} of (x, z) in metres, "
                         f"got {array.shape}")
    if len(array) == 0:
        raise ValueError(f"{name} must hold at least one electrode, got an empty array")
    nan = np.isnan(array)
    remote = nan.all(axis=1)
    if (nan.any(axis=1) & ~remote).any() or np.isinf(array).any() or (remote.any()
                                                                       and not allow_remote):
        what = "finite, or all-NaN rows for a remote electrode" if allow_remote else "finite"
        raise ValueError(f"{name} must hold {what} coordinates, got NaN or inf")
    return array


class Quadrupoles:
    """Positions of the current (A, B) and potential (M, N) electrodes of each datum.

    Parameters
    ----------
    a, m : (n_data, 2) array_like of float
        Current electrode A and potential electrode M, ``(x, z)`` [m], z depth.
    b, n : (n_data, 2) array_like of float, optional
        Current electrode B and potential electrode N; ``None`` or all-NaN
        rows mean a remote electrode (pole source / pole receiver).

    Raises
    ------
    ValueError
        If shapes differ, a value is not finite, or two electrodes of one
        quadrupole share a position.

    Examples
    --------
    A cross-hole quadrupole between boreholes at x = 0 and x = 20 m:

    >>> Quadrupoles(a=[[0, 10]], b=[[0, 20]], m=[[20, 10]], n=[[20, 20]]).n_data
    1
    """

    def __init__(self, a, b=None, m=None, n=None):
        self.a = _electrode_table("a", a, None, allow_remote=False)
        rows = len(self.a)
        self.b = _electrode_table("b", b, rows, allow_remote=True)
        self.m = _electrode_table("m", m, rows, allow_remote=False)
        self.n = _electrode_table("n", n, rows, allow_remote=True)
        self._check_distinct()

    def _check_distinct(self):
        tables = dict(zip(_ROLES, (self.a, self.b, self.m, self.n)))
        for i, first in enumerate(_ROLES):
            for second in _ROLES[i + 1:]:
                same = np.all(tables[first] == tables[second], axis=1)  # NaN never equal
                if same.any():
                    row = int(np.flatnonzero(same)[0])
                    x, z = tables[first][row]
                    raise ValueError(
                        f"quadrupole {row} uses the same position (x={x}, z={z}) for "
                        f"electrodes {first.upper()} and {second.upper()}; the four electrodes "
                        f"of a quadrupole must be distinct ({int(same.sum())} such row(s))"
                    )

    @property
    def n_data(self) -> int:
        """Number of quadrupoles (data)."""
        return len(self.a)

    @property
    def electrodes(self) -> np.ndarray:
        """Distinct electrode positions, ``(n_electrodes, 2)`` of ``(x, z)`` [m]."""
        stacked = np.vstack([self.a, self.b, self.m, self.n])
        return np.unique(stacked[~np.isnan(stacked).any(axis=1)], axis=0)

    def check_inside(self, grid: Grid) -> None:
        """Require every electrode in the ground (not above the surface) and inside the grid.

        The ground surface is the grid's top (depth ``grid.z0``).
        """
        check_grid("grid", grid)
        electrodes = self.electrodes
        above = electrodes[:, 1] < grid.z0 - 1e-9 * grid.dz
        if above.any():
            x, z = electrodes[above][0]
            raise ValueError(
                f"electrodes must lie at or below the ground surface (depth z >= {grid.z0} m); "
                f"got {int(above.sum())} above it, e.g. (x={x}, z={z})"
            )
        grid.check_inside("electrodes", electrodes)

    def geometric_factor(self, surface_depth: float = 0.0) -> np.ndarray:
        """Half-space geometric factor ``G`` [1/m] so that ``V = rho * I * G``.

        Uses the image of each current electrode in the insulating surface at
        ``surface_depth``, ``G = 1/(4 pi) sum +-(1/r + 1/r_image)``, so it is
        exact for buried electrodes too and equals the usual ``1/(2 pi r)``
        terms on the surface. Remote electrodes contribute nothing.

        Returns
        -------
        (n_data,) numpy.ndarray of float64
        """
        factor = np.zeros(self.n_data)
        for source, source_sign in ((self.a, 1.0), (self.b, -1.0)):
            image = source.copy()
            image[:, 1] = 2.0 * surface_depth - source[:, 1]
            for receiver, receiver_sign in ((self.m, 1.0), (self.n, -1.0)):
                terms = (1.0 / np.linalg.norm(receiver - source, axis=1)
                         + 1.0 / np.linalg.norm(receiver - image, axis=1))
                factor += source_sign * receiver_sign * np.nan_to_num(terms, nan=0.0)
        return factor / (4.0 * np.pi)

    def to_simpeg(self, data_type: str = "apparent_resistivity",
                  surface_depth: float = 0.0) -> dc.Survey:
        """SimPEG survey in ``(x, elevation)`` with the data in this table's order.

        Consecutive rows sharing a source become one SimPEG source, so sort
        rows by source for fewer right-hand sides. For apparent resistivity
        the receivers carry :meth:`geometric_factor`.

        Raises
        ------
        ValueError
            For apparent resistivity when a quadrupole's geometric factor is
            zero (e.g. a symmetric cross-hole layout): use ``data_type="volt"``.
        """
        data_type = check_choice("data_type", data_type, DATA_TYPES)
        factor = self.geometric_factor(surface_depth)
        if data_type == "apparent_resistivity":
            tiny = np.abs(factor) <= 1e-9 * np.abs(factor).max()
            if tiny.any():
                raise ValueError(
                    f"quadrupole {int(np.flatnonzero(tiny)[0])} has a zero geometric factor, "
                    f"so it has no apparent resistivity; use data_type='volt' "
                    f"({int(tiny.sum())} such quadrupole(s))"
                )
        elevation = {role: _to_elevation(table) for role, table in
                     zip(_ROLES, (self.a, self.b, self.m, self.n))}
        remote_b, remote_n = np.isnan(self.b[:, 0]), np.isnan(self.n[:, 0])
        key = np.column_stack([self.a, np.nan_to_num(self.b, nan=np.inf), remote_n])
        starts = np.flatnonzero(np.r_[True, np.any(key[1:] != key[:-1], axis=1)])
        stops = np.r_[starts[1:], self.n_data]
        sources = []
        for start, stop in zip(starts, stops):
            rows = slice(start, stop)
            # storeProjections: keep each receiver's interpolation matrix instead
            # of rebuilding it for every source and wavenumber of every J product
            if remote_n[start]:
                receiver = dc.receivers.Pole(elevation["m"][rows], data_type=data_type,
                                             storeProjections=True)
            else:
                receiver = dc.receivers.Dipole(elevation["m"][rows], elevation["n"][rows],
                                               data_type=data_type, storeProjections=True)
            if data_type == "apparent_resistivity":
                receiver_factor = factor[rows]
            if remote_b[start]:
                source = dc.sources.Pole([receiver], elevation["a"][start])
            else:
                source = dc.sources.Dipole([receiver], elevation["a"][start],
                                           elevation["b"][start])
            if data_type == "apparent_resistivity":
                # SimPEG divides voltages by this; set directly so that buried
                # electrodes get the image-method factor.
                receiver._geometric_factor[source] = receiver_factor
            sources.append(source)
        return dc.Survey(sources)

    @classmethod
    def from_simpeg(cls, source_list) -> Quadrupoles:
        """Quadrupoles of a SimPEG source list (elevation converted to depth)."""
        a, b, m, n = [], [], [], []
        for source in source_list:
            for receiver in source.receiver_list:
                count = receiver.nD
                location_a = np.asarray(source.location_a, dtype=float).reshape(-1)
                location_b = np.asarray(source.location_b, dtype=float).reshape(-1)
                a.append(np.tile(location_a, (count, 1)))
                b.append(np.tile(location_b, (count, 1)))
                if isinstance(receiver, dc.receivers.Pole):
                    m.append(np.asarray(receiver.locations, dtype=float))
                    n.append(np.full((count, 2), np.nan))
                else:
                    m.append(np.asarray(receiver.locations_m, dtype=float))
                    n.append(np.asarray(receiver.locations_n, dtype=float))
        return cls(*(_to_depth(np.vstack(table)) for table in (a, b, m, n)))

    def __len__(self) -> int:
        return self.n_data

    def __repr__(self) -> str:
        poles = int(np.isnan(self.b[:, 0]).sum())
        return (f"Quadrupoles(n_data={self.n_data}, n_electrodes={len(self.electrodes)}, "
                f"pole_sources={poles})")


def _to_elevation(table: np.ndarray) -> np.ndarray:
    out = np.full_like(table, np.nan)
    finite = ~np.isnan(table[:, 0])
    if finite.any():
        out[finite] = depth_to_elevation(table[finite])
    return out


def _to_depth(table: np.ndarray) -> np.ndarray:
    # elevation -> depth is the same sign flip (its own inverse)
    return _to_elevation(table)


def _check_real(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number [m], got {value!r}")
    return float(value)


def surface_line(array: str, start: float, end: float, electrode_spacing: float,
                 n_max: int, surface_depth: float = 0.0) -> Quadrupoles:
    """Quadrupoles of a surface line of equally spaced electrodes.

    Parameters
    ----------
    array : {"dipole-dipole", "pole-dipole", "dipole-pole", "pole-pole", "wenner", "schlumberger"}
        Electrode array. The first four come from SimPEG's
        ``generate_dcip_sources_line``; remote electrodes are at infinity.
    start, end : float
        x [m] of the first and last electrode; ``end - start`` must be a
        multiple of ``electrode_spacing``.
    electrode_spacing : float
        Distance between neighbouring electrodes [m] (> 0), the dipole length.
    n_max : int
        Largest n-spacing (>= 1): receivers per source for the SimPEG arrays
        (dipole separations 1..n_max); Wenner spacings ``a = k *
        electrode_spacing``, k = 1..n_max; Schlumberger ``AM = k * MN``,
        k = 1..n_max with ``MN = electrode_spacing``.
    surface_depth : float, default 0
        Depth of the ground surface [m] (the grid's top, ``grid.z0``).

    Returns
    -------
    Quadrupoles
        Rows grouped by source.

    Raises
    ------
    ValueError
        Before building anything, if the line would have more than
        :data:`jointinv.physics.dc_layouts.MAX_ELECTRODES` electrodes or
        :data:`jointinv.physics.dc_layouts.MAX_DATA` data.

    Examples
    --------
    The NFs-Inv line: 29 electrodes 25 m apart, 26 sources, 348 data.

    >>> surface_line("dipole-dipole", -350.0, 350.0, 25.0, n_max=24).n_data
    348
    """
    array = check_choice("array", array, LINE_ARRAYS)
    start, end = _check_real("start", start), _check_real("end", end)
    spacing = check_positive_float("electrode_spacing", electrode_spacing)
    n_max = check_positive_int("n_max", n_max)
    surface_depth = _check_real("surface_depth", surface_depth)
    intervals = (end - start) / spacing
    if end <= start or abs(intervals - round(intervals)) > 1e-9 * max(1.0, intervals):
        raise ValueError(
            f"end - start must be a positive multiple of electrode_spacing={spacing} m, "
            f"got start={start}, end={end}"
        )
    n_electrodes = int(round(intervals)) + 1
    check_line_size(array, n_electrodes, n_max, f"electrode_spacing = {spacing:g} m from "
                    f"start = {start:g} m to end = {end:g} m")
    if array in ("wenner", "schlumberger"):
        x = start + spacing * np.arange(n_electrodes)
        positions = np.column_stack([x, np.full(n_electrodes, surface_depth)])
        return _line_quadrupoles(positions, array, n_max,
                                 f"the line from {start} to {end} m with electrode_spacing="
                                 f"{spacing} m")
    sources = generate_dcip_sources_line(array, "volt", "2D", np.r_[start, end],
                                         -surface_depth, n_max, spacing)
    if not sources:
        raise ValueError(f"the line from {start} to {end} m is too short for one "
                         f"{array} quadrupole with electrode_spacing={spacing} m")
    return Quadrupoles.from_simpeg(sources)


def _line_quadrupoles(positions: np.ndarray, array: str, n_max: int, line: str) -> Quadrupoles:
    indices = line_indices(array, len(positions), n_max)
    if len(indices) == 0:
        raise ValueError(f"{line} is too short for one {array} quadrupole")
    table = np.vstack([positions, [np.nan, np.nan]])  # index -1: a remote electrode
    return Quadrupoles(*(table[indices[:, column]] for column in range(4)))


def from_electrodes(positions, array: str = "dipole-dipole", n_max: int = 8) -> Quadrupoles:
    """Quadrupoles of an array on a line of electrodes at given, possibly uneven, positions.

    Field lines are rarely evenly spaced (obstacles, a skipped electrode, a
    borehole string with a gap): the array is laid out on the electrode
    *numbers* along the line, and the geometric factors
    (:meth:`Quadrupoles.geometric_factor`) use the true positions.

    Parameters
    ----------
    positions : (n_electrodes, 2) array_like of float
        Electrode positions ``(x, z)`` [m], z depth positive down, in their
        order along the line: a surface line (``z = grid.z0``), a borehole
        string (constant x) or any polyline. Distinct, finite, at most
        :data:`jointinv.physics.dc_layouts.MAX_ELECTRODES`.
    array : str, default "dipole-dipole"
        One of :data:`LINE_ARRAYS`; see :func:`jointinv.physics.dc_layouts.line_indices`
        for the electrode numbers of each (dipoles one electrode long, the
        same layout as :func:`surface_line` on an even line).
    n_max : int, default 8
        Largest n-spacing (>= 1).

    Returns
    -------
    Quadrupoles
        Rows grouped by source; remote electrodes of pole arrays are at infinity.

    Raises
    ------
    ValueError
        If positions repeat, the line is too short for one quadrupole, or the
        survey would exceed :data:`jointinv.physics.dc_layouts.MAX_DATA` data.

    Examples
    --------
    >>> x = [0.0, 5.0, 10.0, 20.0, 25.0, 40.0]
    >>> survey = from_electrodes([[xi, 0.0] for xi in x], "dipole-dipole", n_max=2)
    >>> survey.n_data
    5
    """
    array = check_choice("array", array, LINE_ARRAYS)
    positions = check_points("positions", positions)
    n_max = check_positive_int("n_max", n_max)
    check_line_size(array, len(positions), n_max, f"positions ({len(positions)} rows)")
    distinct = np.unique(positions, axis=0)
    if len(distinct) < len(positions):
        raise ValueError(f"positions must be distinct electrodes, got "
                         f"{len(positions) - len(distinct)} repeated position(s)")
    return _line_quadrupoles(positions, array, n_max,
                             f"positions: a line of {len(positions)} electrodes")

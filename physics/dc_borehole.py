"""Cross-hole DC layouts between two boreholes, and surveys joined from several tables.

:func:`crosshole_bipoles` lays out the bipole-bipole (AM-BN) array that
cross-hole ERT uses most: the current dipole A-B and the potential dipole
M-N each span the two holes, so every datum reads the ground between them
rather than the borehole wall. :func:`join_surveys` stacks it with, e.g., a
surface line (:func:`jointinv.physics.dc_survey.surface_line`) into one survey.
"""

from __future__ import annotations

import numpy as np

from jointinv.validation import check_points

from .dc_layouts import MAX_DATA
from .dc_survey import Quadrupoles

__all__ = ["crosshole_bipoles", "join_surveys", "buried_electrodes"]


def crosshole_bipoles(left, right) -> Quadrupoles:
    """AM-BN quadrupoles between two boreholes with electrodes at matching levels.

    Parameters
    ----------
    left, right : (n_levels, 2) array_like of float
        Electrode positions ``(x, z)`` [m], z depth, in each borehole, level
        by level (row ``i`` of ``left`` faces row ``i`` of ``right``).

    Returns
    -------
    Quadrupoles
        For each current level ``i`` (A at ``left[i]``, B at ``right[i]``) and
        each other level ``j != i``: M at ``left[j]``, N at ``right[j]``;
        ``n_levels * (n_levels - 1)`` data grouped by source. By reciprocity
        datum ``(i, j)`` equals ``(j, i)`` in a noise-free earth: the pair is
        two independent readings of one value, as field crews record it.

    Raises
    ------
    ValueError
        If the two holes have different numbers of levels, fewer than two, or
        a left electrode coincides with a right one.

    Examples
    --------
    >>> depths = [[5.0], [10.0], [15.0]]
    >>> survey = crosshole_bipoles(np.c_[[0.0] * 3, depths], np.c_[[20.0] * 3, depths])
    >>> survey.n_data
    6
    """
    left, right = check_points("left", left), check_points("right", right)
    if len(left) != len(right):
        raise ValueError(f"left and right must hold the same number of levels, "
                         f"got {len(left)} and {len(right)}")
    if len(left) < 2:
        raise ValueError(f"a cross-hole bipole survey needs at least 2 levels per hole, "
                         f"got {len(left)}")
    count = len(left) * (len(left) - 1)
    if count > MAX_DATA:
        raise ValueError(f"{len(left)} levels give {count} data, more than "
                         f"MAX_DATA = {MAX_DATA:.0e}")
    current, potential = np.nonzero(~np.eye(len(left), dtype=bool))  # row-major: by source
    return Quadrupoles(a=left[current], b=right[current], m=left[potential],
                       n=right[potential])


def join_surveys(*surveys: Quadrupoles) -> Quadrupoles:
    """One survey with the data of ``surveys`` in the order given.

    Raises
    ------
    TypeError
        If an argument is not a :class:`~jointinv.physics.dc_survey.Quadrupoles`.
    ValueError
        If no survey is given.
    """
    if not surveys:
        raise ValueError("join_surveys needs at least one Quadrupoles table")
    for index, survey in enumerate(surveys):
        if not isinstance(survey, Quadrupoles):
            raise TypeError(f"surveys[{index}] must be a Quadrupoles table, "
                            f"got {type(survey).__name__}")
    return Quadrupoles(*(np.vstack([getattr(s, role) for s in surveys]) for role in "abmn"))


def buried_electrodes(survey: Quadrupoles, surface_depth: float = 0.0) -> np.ndarray:
    """Electrodes of ``survey`` below the surface at ``surface_depth`` [m], ``(n, 2)``.

    "Below" means deeper than ``1e-9`` of the depth scale, so electrodes laid
    on the surface never count as buried through rounding.
    """
    electrodes = survey.electrodes
    scale = max(1.0, float(np.abs(electrodes).max()))
    return electrodes[electrodes[:, 1] > surface_depth + 1e-9 * scale]

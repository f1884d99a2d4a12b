"""Electrode indices of the standard DC arrays on a line of electrodes, and size limits.

A line is a sequence of ``n_electrodes`` electrodes numbered along it
``0 .. n_electrodes - 1`` (the spacing may be uneven: only the order
matters here). :func:`line_indices` gives the A, B, M, N electrode numbers
of every quadrupole of an array, ``-1`` for a remote (pole) electrode, in the
order of SimPEG's ``generate_dcip_sources_line`` for the dipole and pole
arrays. :func:`count_line_data` gives their number without building them, so
that surveys too large to hold are refused before any work, and
:func:`check_dc_memory` does the same for the 2.5D simulation's wavenumbers.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LINE_ARRAYS", "MAX_ELECTRODES", "MAX_DATA", "count_line_data", "line_indices",
           "check_line_size", "dc_memory_estimate", "check_dc_memory"]

#: Arrays laid out on a line of electrodes.
LINE_ARRAYS = ("dipole-dipole", "pole-dipole", "dipole-pole", "pole-pole", "wenner",
               "schlumberger")
#: Most electrodes on one line: field lines have tens to a thousand or so.
MAX_ELECTRODES = 10_000
#: Most quadrupoles of one survey: SimPEG keeps a receiver projection per datum
#: and the sensitivity is ``n_data x n_cells``; a million is already beyond
#: what a 2.5D inversion on one machine can use.
MAX_DATA = 1_000_000

# electrodes used beyond the first one of a quadrupole, per array (for dipole
# and pole arrays: offset of M at n = 1, and whether B and N are present)
_SHIFTS = {"dipole-dipole": (2, True, True), "pole-dipole": (1, False, True),
           "dipole-pole": (2, True, False), "pole-pole": (1, False, False)}


def count_line_data(array: str, n_electrodes: int, n_max: int) -> int:
    """Number of quadrupoles :func:`line_indices` gives (computed without building them)."""
    if array == "wenner":
        k = np.arange(1, min(n_max, n_electrodes // 3) + 1)
        return int(np.maximum(n_electrodes - 3 * k, 0).sum())
    if array == "schlumberger":
        k = np.arange(1, min(n_max, n_electrodes // 2) + 1)
        return int(np.maximum(n_electrodes - (2 * k + 1), 0).sum())
    m_offset, _, has_n = _SHIFTS[array]
    last = n_electrodes - 1 - has_n  # last electrode M may use
    first = np.arange(n_electrodes)
    return int(np.clip(last - (first + m_offset) + 1, 0, n_max).sum())


def check_line_size(array: str, n_electrodes: int, n_max: int, what: str) -> None:
    """Refuse more than :data:`MAX_ELECTRODES` electrodes or :data:`MAX_DATA` data.

    ``what`` names the arguments that set the electrode count (e.g.
    ``"electrode_spacing"``) for the message.
    """
    if n_electrodes > MAX_ELECTRODES:
        raise ValueError(f"{what} gives {n_electrodes:.4g} electrodes, more than the "
                         f"{MAX_ELECTRODES} a line may hold")
    count = count_line_data(array, n_electrodes, n_max)
    if count > MAX_DATA:
        raise ValueError(f"n_max = {n_max} on {n_electrodes} electrodes gives {count:.4g} "
                         f"{array} data, more than MAX_DATA = {MAX_DATA:.0e}; use a smaller "
                         f"n_max or fewer electrodes")


def line_indices(array: str, n_electrodes: int, n_max: int) -> np.ndarray:
    """A, B, M, N electrode numbers of every quadrupole of ``array`` on a line.

    Parameters
    ----------
    array : str
        One of :data:`LINE_ARRAYS`.
    n_electrodes : int
        Electrodes on the line, numbered in order along it.
    n_max : int
        Largest n-spacing: for the dipole and pole arrays M is ``n`` electrodes
        beyond B (or A), ``n = 1 .. n_max``, dipoles one electrode long; Wenner
        ``A, M, N, B = i, i + k, i + 2k, i + 3k``; Schlumberger ``A, M, N, B =
        i, i + k, i + k + 1, i + 2k + 1``, ``k = 1 .. n_max``.

    Returns
    -------
    (n_data, 4) numpy.ndarray of int64
        Columns A, B, M, N; ``-1`` marks a remote electrode. Dipole and pole
        arrays are grouped by source (A, B) with n increasing, as SimPEG's
        ``generate_dcip_sources_line``; Wenner and Schlumberger by k.
    """
    if array in ("wenner", "schlumberger"):
        rows = []
        for k in range(1, min(n_max, n_electrodes) + 1):
            span = 3 * k if array == "wenner" else 2 * k + 1
            first = np.arange(n_electrodes - span)
            if array == "wenner":
                rows.append(np.column_stack([first, first + 3 * k, first + k, first + 2 * k]))
            else:
                rows.append(np.column_stack([first, first + span, first + k, first + k + 1]))
        return np.vstack(rows).astype(np.int64) if rows else np.zeros((0, 4), np.int64)
    m_offset, has_b, has_n = _SHIFTS[array]
    last = n_electrodes - 1 - has_n
    first = np.arange(n_electrodes)
    counts = np.clip(last - (first + m_offset) + 1, 0, n_max)
    a = np.repeat(first, counts)
    n_spacing = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    m = a + m_offset + n_spacing
    b = a + 1 if has_b else np.full_like(a, -1)
    n = m + 1 if has_n else np.full_like(a, -1)
    return np.column_stack([a, b, m, n]).astype(np.int64)


#: Fill of a sparse LU factorisation of the 2D nodal DC matrix, in stored
#: values per mesh node (nested dissection on ~1e4-1e5 nodes measures 20-60).
_FILL_PER_NODE = 60


def dc_memory_estimate(n_nodes: int, n_sources: int, nky: int) -> float:
    """Rough bytes SimPEG's ``Simulation2DNodal`` keeps for one model.

    Per wavenumber: a factorisation (``_FILL_PER_NODE`` values and indices per
    node), the system matrix (9 values and indices per node) and the fields
    of every source (``n_sources`` values per node), all float64.
    """
    per_wavenumber = n_nodes * (12.0 * _FILL_PER_NODE + 12.0 * 9 + 8.0 * n_sources)
    return float(nky) * per_wavenumber


def check_dc_memory(mesh, n_sources: int, nky: int, max_memory_gb: float | None = None) -> None:
    """Refuse, before any factorisation, a 2.5D DC simulation too large for memory.

    Parameters
    ----------
    mesh : discretize mesh
        The simulation mesh (its ``n_nodes`` is used).
    n_sources : int
        Number of current sources (right-hand sides).
    nky : int
        Number of wavenumbers of the 2.5D transform.
    max_memory_gb : float, optional
        Limit [GiB]; default :data:`jointinv.validation.DEFAULT_MAX_MEMORY_GB`.

    Raises
    ------
    ValueError
        Naming ``nky`` with the estimate (:func:`dc_memory_estimate`) and the limit.
    """
    from jointinv.validation import DEFAULT_MAX_MEMORY_GB, check_memory

    limit = DEFAULT_MAX_MEMORY_GB if max_memory_gb is None else max_memory_gb
    needed = dc_memory_estimate(mesh.n_nodes, n_sources, nky)
    check_memory(f"nky = {nky}", needed, limit,
                 f"the DC simulation ({mesh.n_nodes} mesh nodes, {n_sources} sources, one "
                 f"factorisation and field set per wavenumber)",
                 hint="SimPEG's default nky = 11 is accurate to about 1 %; use fewer "
                      "wavenumbers, a coarser mesh or pass a larger max_memory_gb")

"""Read and write DC surveys in pyGIMLi's unified data format (``.ohm``, ``.dat``).

The unified data format of pyGIMLi/BERT (``pygimli.load``,
``DataContainerERT.save``) is plain text::

    4                 # number of electrodes
    # x z             # their columns
    0.0 0.0
    5.0 0.0
    12.0 0.0
    20.0 -1.0
    1                 # number of data
    # a b m n rhoa err
    1 2 3 4 105.2 0.03

Electrode numbers are 1-based; ``0`` marks an unused (remote, pole)
electrode. The vertical coordinate in the file is pyGIMLi's: ``z`` (or ``y``
when the only columns are ``x y``) is *elevation*, up positive, so buried
electrodes have negative values. jointinv's z is depth, down positive, so
``z_jointinv = -z_file``: keep the grid's top (``grid.z0``) at 0 for surface
electrodes to sit on it. Columns after ``a b m n`` (``rhoa`` [ohm m], ``err``
relative, ``u`` [V], ``i`` [A], ``r`` [ohm], ``k`` [m], ``ip`` ...) are kept
by name; a unit after ``/`` in a token (``rhoa/Ohmm``) is dropped. A third
section (topography) and ``#`` comments are ignored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .dc_survey import Quadrupoles

__all__ = ["read_unified", "write_unified"]

_ROLES = ("a", "b", "m", "n")


def _lines(path: Path) -> list[str]:
    """Non-empty lines with trailing comments removed; header lines (``# x z``) kept."""
    out = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            out.append(line)
            continue
        out.append(line.split("#")[0].strip())
    return [line for line in out if line]


def _section(lines: list[str], start: int, path: Path, what: str):
    """Count line, ``#`` token line, rows: returns (tokens, rows as lists of str, next line)."""
    while start < len(lines) and lines[start].startswith("#"):
        start += 1
    if start >= len(lines):
        raise ValueError(f"path {str(path)!r}: missing the {what} section")
    try:
        count = int(lines[start].split()[0])
    except ValueError as error:
        raise ValueError(f"path {str(path)!r}: expected the number of {what}, got "
                         f"{lines[start]!r}") from error
    if count < 0:
        raise ValueError(f"path {str(path)!r}: the number of {what} must be >= 0, got {count}")
    start += 1
    if start >= len(lines) or not lines[start].startswith("#"):
        raise ValueError(f"path {str(path)!r}: expected a '# ...' line naming the {what} "
                         f"columns after their number")
    tokens = [token.split("/")[0].lower() for token in lines[start].lstrip("#").split()]
    rows = [line.split() for line in lines[start + 1:start + 1 + count]]
    if len(rows) < count or any(len(row) < len(tokens) for row in rows):
        raise ValueError(f"path {str(path)!r}: the {what} section announces {count} rows of "
                         f"{len(tokens)} columns {tokens}; got fewer")
    return tokens, rows, start + 1 + count


def read_unified(path) -> tuple[Quadrupoles, dict[str, np.ndarray]]:
    """Survey and data columns of a pyGIMLi unified-data-format file.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.ohm``/``.dat``/``.data`` file (2D: electrodes on the x–z plane).

    Returns
    -------
    survey : Quadrupoles
        In jointinv's coordinates ``(x, depth)`` [m], rows in file order.
    columns : dict of str to (n_data,) numpy.ndarray of float64
        The data columns other than ``a b m n``, e.g. ``"rhoa"``, ``"err"``.

    Raises
    ------
    TypeError
        If ``path`` is not a str or Path.
    ValueError
        If the file is not in the format (the message names the path and
        what is wrong), an electrode number is out of range, the electrodes
        are 3D, or a value is not a number.
    """
    if not isinstance(path, (str, Path)):
        raise TypeError(f"path must be a str or pathlib.Path, got {type(path).__name__}")
    path = Path(path)
    lines = _lines(path)
    tokens, rows, after = _section(lines, 0, path, "electrodes")
    try:
        table = np.array([[float(value) for value in row[:len(tokens)]] for row in rows])
    except ValueError as error:
        raise ValueError(f"path {str(path)!r}: electrode positions must be numbers") from error
    table = table.reshape(len(rows), len(tokens))
    if "x" not in tokens:
        raise ValueError(f"path {str(path)!r}: the electrode columns must include x, "
                         f"got {tokens}")
    column = {token: table[:, i] for i, token in enumerate(tokens)}
    if "z" in column:
        if "y" in column and np.any(column["y"] != 0):
            raise ValueError(f"path {str(path)!r}: electrodes have non-zero y: jointinv "
                             f"reads 2D lines (x, z) only")
        elevation = column["z"]
    else:
        elevation = column.get("y", np.zeros(len(rows)))
    positions = np.column_stack([column["x"], -elevation])
    tokens, rows, _ = _section(lines, after, path, "data")
    missing = [role for role in _ROLES if role not in tokens]
    if missing:
        raise ValueError(f"path {str(path)!r}: the data columns must include a b m n, "
                         f"missing {missing}")
    try:
        values = np.array([[float(value) for value in row[:len(tokens)]] for row in rows])
    except ValueError as error:
        raise ValueError(f"path {str(path)!r}: data values must be numbers") from error
    values = values.reshape(len(rows), len(tokens))
    lookup = np.vstack([[np.nan, np.nan], positions])  # number 0: remote
    tables = []
    for role in _ROLES:
        numbers = values[:, tokens.index(role)]
        bad = (numbers != np.round(numbers)) | (numbers < 0) | (numbers > len(positions))
        if bad.any():
            raise ValueError(f"path {str(path)!r}: electrode numbers in column {role} must be "
                             f"integers in [0, {len(positions)}], got {numbers[bad][0]}")
        tables.append(lookup[numbers.astype(np.int64)])
    columns = {token: values[:, i] for i, token in enumerate(tokens) if token not in _ROLES}
    return Quadrupoles(*tables), columns


def write_unified(path, survey: Quadrupoles, columns=None) -> Path:
    """Write ``survey`` (and data columns) as a pyGIMLi unified-data-format file.

    Parameters
    ----------
    path : str or pathlib.Path
        Output file (``.ohm`` or ``.dat`` by convention); parents are created.
    survey : Quadrupoles
        Electrodes in jointinv's ``(x, depth)`` [m]; written as ``# x z`` with
        z the elevation ``-depth``.
    columns : dict of str to (n_data,) array_like, optional
        Data columns by pyGIMLi name, e.g. ``{"rhoa": values, "err": 0.03}``
        (a scalar is repeated). Names are lower-case words without spaces.

    Returns
    -------
    pathlib.Path
    """
    if not isinstance(path, (str, Path)):
        raise TypeError(f"path must be a str or pathlib.Path, got {type(path).__name__}")
    if not isinstance(survey, Quadrupoles):
        raise TypeError(f"survey must be a jointinv.physics.dc_survey.Quadrupoles, "
                        f"got {type(survey).__name__}")
    columns = {} if columns is None else dict(columns)
    data = {}
    for name, value in columns.items():
        if not isinstance(name, str) or not name.isidentifier() or name in _ROLES:
            raise ValueError(f"columns keys must be pyGIMLi column names such as 'rhoa' or "
                             f"'err' (not a, b, m, n), got {name!r}")
        array = np.broadcast_to(np.asarray(value, dtype=np.float64), (survey.n_data,))
        if not np.all(np.isfinite(array)):
            raise ValueError(f"columns[{name!r}] must be finite, got NaN or inf")
        data[name] = array
    electrodes = survey.electrodes
    numbers = []
    for table in (survey.a, survey.b, survey.m, survey.n):
        remote = np.isnan(table[:, 0])
        index = np.zeros(survey.n_data, dtype=np.int64)
        match = (table[~remote, None, :] == electrodes[None, :, :]).all(axis=2)
        index[~remote] = match.argmax(axis=1) + 1
        numbers.append(index)
    lines = [f"{len(electrodes)}", "# x z"]
    lines += [f"{float(x)!r} {0.0 - float(z)!r}" for x, z in electrodes]
    lines += [f"{survey.n_data}", "# " + " ".join([*_ROLES, *data])]
    for row in range(survey.n_data):
        fields = [str(number[row]) for number in numbers]
        fields += [repr(float(array[row])) for array in data.values()]
        lines.append(" ".join(fields))
    lines.append("0")  # no topography section
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path

"""Output folders of runs: checked before any work, files written atomically,
and an ``INCOMPLETE`` marker while a run is not finished.

Every file is first written to a hidden temporary file in its own folder and
then moved over its final name with :func:`os.replace`, which is atomic on
POSIX and Windows: a reader (or a run killed at any moment) sees the old file
or the new one, never half of one.

A :class:`RunFolder` writes ``INCOMPLETE`` as soon as the run starts, rewrites
it each time a part finishes (so it always lists what is done), says there
when the run was interrupted, and removes it only once everything is written.
A folder without ``INCOMPLETE`` therefore holds a finished run. A run killed
outright (SIGKILL) may leave a hidden ``.name.*.tmp.suffix`` file beside the
complete ones; the next run in that folder (``--overwrite``) removes it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from pathlib import Path

__all__ = ["atomic_path", "write_text", "write_json", "check_output_folder", "RunFolder",
           "MARKER"]

#: Name of the marker file of an unfinished run.
MARKER = "INCOMPLETE"


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path`` (same suffix); move it over ``path`` on success.

    The writer may use the yielded path like the final one (``np.savez``,
    ``figure.savefig`` pick the format from the suffix). On an exception,
    ``KeyboardInterrupt`` included, the temporary file is removed and
    ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.",
                                         suffix=f".tmp{path.suffix}")
    os.close(handle)
    temporary = Path(temporary)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_text(path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(text)
    return Path(path)


def write_json(path, value) -> Path:
    """Write ``value`` as indented JSON to ``path`` atomically."""
    return write_text(path, json.dumps(value, indent=1) + "\n")


def check_output_folder(path, overwrite: bool = False, name: str = "--output") -> Path:
    """Create (if needed) and check an output folder before any work starts.

    Parameters
    ----------
    path : str or pathlib.Path
        The folder.
    overwrite : bool
        Accept an existing non-empty folder; files of the same names are
        replaced, other files are left alone.
    name : str
        How the user gave the folder, for the messages.

    Raises
    ------
    ValueError
        If ``path`` is a file, cannot be created or written to, or is a
        non-empty folder and ``overwrite`` is false.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a folder path, got {type(path).__name__}")
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{name} {str(folder)!r} is a file; give a folder")
    if folder.is_dir() and any(folder.iterdir()) and not overwrite:
        raise ValueError(f"{name} {str(folder)!r} is not empty; choose another folder "
                         f"or pass --overwrite to replace the files a run writes there")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ValueError(f"{name} {str(folder)!r} cannot be written to: "
                         f"{error.strerror or error}") from error
    return folder


class RunFolder:
    """The output folder of one run and its ``INCOMPLETE`` marker.

    Use as a context manager around the run; call :meth:`done` each time a
    part (a strategy, a figure, a table) is written. Leaving the block
    normally removes the marker; leaving it by an exception (Ctrl-C
    included) records how the run ended in the marker and re-raises.

    Parameters
    ----------
    folder : pathlib.Path
        A folder checked by :func:`check_output_folder`.
    command : str
        What runs (kept in the marker).
    parts : list of str
        Everything the run will write, in order.
    """

    def __init__(self, folder: Path, command: str, parts):
        self.folder = Path(folder)
        self.command = command
        self.parts = list(parts)
        self.finished: list[str] = []
        self.started = time.strftime("%Y-%m-%d %H:%M:%S %z")
        self.current: str | None = None

    @property
    def marker(self) -> Path:
        return self.folder / MARKER

    def _write_marker(self, status: str) -> None:
        lines = [f"This run is incomplete: {status}.",
                 f"command: {self.command}",
                 f"started: {self.started}",
                 f"finished: {', '.join(self.finished) or 'nothing yet'}",
                 f"not finished: {', '.join(p for p in self.parts if p not in self.finished)}"]
        write_text(self.marker, "\n".join(lines) + "\n")

    def start(self, part: str) -> None:
        """Say that ``part`` is being computed now."""
        self.current = part
        self._write_marker(f"running {part}")

    def done(self, part: str) -> None:
        """Record that ``part`` is written."""
        self.finished.append(part)
        self.current = None
        self._write_marker("still running")

    def __enter__(self) -> RunFolder:
        # temporary files of a run that was killed (SIGKILL, power loss) mid-write
        for stale in self.folder.rglob(".*.tmp*"):
            if stale.is_file():
                stale.unlink()
        self._write_marker("started")
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        if kind is None:
            self.marker.unlink(missing_ok=True)
        elif issubclass(kind, KeyboardInterrupt):
            where = f" during {self.current}" if self.current else ""
            self._write_marker(f"interrupted by Ctrl-C (SIGINT){where}")
        else:
            self._write_marker(f"stopped by {kind.__name__}: {error}")
        return False

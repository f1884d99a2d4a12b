"""Progress of long runs: a bar in a terminal, one line per iteration in a log file.

Solvers report through :class:`IterationReporter`: ``row(history_row)`` once
per iteration, ``stop(reason)`` when they stop, ``close()`` at the end. When
standard error is a terminal this is a tqdm bar; otherwise (a log file, a
pipe, CI) every iteration is one plain line, without carriage returns, and
the stopping reason is the last line.
"""

from __future__ import annotations

import math
import sys

from tqdm.auto import tqdm

__all__ = ["IterationReporter", "progress_bar", "format_row"]


def _is_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _number(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) and math.isfinite(value) else str(value)


def format_row(row: dict, targets: dict) -> str:
    """One history row as ``key=value`` pairs: ``it 3 beta[dcr]=12.5 phi_d[dcr]/target=1.8``.

    Shows the iteration, every beta, each data misfit over its target (or
    the misfit where no target is known), every regularization and coupling
    term, the step length and the CG iterations when the row has them.
    """
    fields = [f"it {row.get('iteration', '?')}"]
    for name, value in row.items():
        if name.startswith("beta["):
            fields.append(f"{name}={_number(value)}")
    for name, value in row.items():
        if name.startswith("phi_d["):
            key = name[len("phi_d["):-1]
            chi_squared = row.get(f"chi2[{key}]")
            if chi_squared is not None and key in targets:  # another misfit function
                fields.append(f"{name}={_number(value)}")
                fields.append(f"chi2[{key}]/target={_number(chi_squared / targets[key])}")
            elif key in targets:
                fields.append(f"{name}/target={_number(value / targets[key])}")
            else:
                fields.append(f"{name}={_number(value)}")
    for name, value in row.items():
        if name.startswith(("phi_m[", "coupling[")):
            fields.append(f"{name}={_number(value)}")
    for name, label in (("step", "step"), ("cg_iterations", "cg")):
        if name in row:
            fields.append(f"{label}={_number(row[name])}")
    return " ".join(fields)


class _LineBar:
    """tqdm's ``update``/``set_postfix``/``close`` as one plain line per step (log files)."""

    def __init__(self, total: int, description: str, stream):
        self.total, self.description, self.stream = total, description, stream
        self.n, self.postfix, self.pending = 0, {}, False

    def _flush(self) -> None:
        if self.pending:
            values = " ".join(f"{k}={v}" for k, v in self.postfix.items())
            print(f"{self.description} {self.n}/{self.total} {values}".rstrip(),
                  file=self.stream, flush=True)
            self.pending = False

    def update(self, n: int = 1) -> None:
        self._flush()
        self.n += n
        self.pending = True

    def set_postfix(self, values: dict) -> None:
        self.postfix = dict(values)
        self._flush()

    def close(self) -> None:
        self._flush()


def progress_bar(total: int, description: str, enabled: bool = True, stream=None):
    """A progress display of ``total`` steps with tqdm's ``update``/``set_postfix``/``close``.

    A tqdm bar when ``stream`` (default: standard error) is a terminal, one
    plain line per step otherwise, nothing when ``enabled`` is false.
    """
    stream = sys.stderr if stream is None else stream
    if enabled and not _is_terminal(stream):
        return _LineBar(total, description, stream)
    return tqdm(total=total, desc=description, disable=not enabled, file=stream,
                leave=False, dynamic_ncols=True)


class IterationReporter:
    """Progress of an iterative solver.

    Parameters
    ----------
    total : int
        Maximum number of iterations.
    description : str
        Name of the run (e.g. ``"Gauss-Newton"``).
    targets : dict
        ``{key: target misfit}`` of every data set, to show ``phi_d / target``.
    enabled : bool
        Show anything at all.
    stream : file-like, optional
        Where to write (default: standard error).
    """

    def __init__(self, total: int, description: str, targets: dict, enabled: bool = True,
                 stream=None):
        self.targets = dict(targets)
        self.description = description
        self.enabled = enabled
        self.stream = sys.stderr if stream is None else stream
        self.plain = enabled and not _is_terminal(self.stream)
        self.bar = None if self.plain else progress_bar(total, description, enabled, self.stream)
        self.reason = None

    def row(self, row: dict) -> None:
        """One iteration's history row (``phi_d[key]``, ``beta[key]``, ...)."""
        if self.plain:
            print(f"{self.description} {format_row(row, self.targets)}", file=self.stream,
                  flush=True)
            return
        self.bar.update(1)
        postfix = {}
        for key, target in self.targets.items():
            name = f"chi2[{key}]" if f"chi2[{key}]" in row else f"phi_d[{key}]"
            if name in row:
                postfix[f"{name}/target"] = f"{row[name] / target:.3g}"
        self.bar.set_postfix(postfix)

    def stop(self, reason: str) -> None:
        """Why the solver stopped (target reached, iterations exhausted, ...)."""
        self.reason = reason

    def close(self) -> None:
        """End the display; the stopping reason is the last line."""
        if self.bar is not None:
            self.bar.close()
        if self.enabled and self.reason:
            print(f"{self.description} stopped: {self.reason}", file=self.stream, flush=True)

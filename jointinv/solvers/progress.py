"""Progress of long runs: a bar in a terminal, one line per iteration in a log file.

Solvers report through :class:`IterationReporter`: ``row(history_row)`` once
per iteration, ``stop(reason)`` when they stop, ``close()`` at the end.
"""

from __future__ import annotations

import sys

from tqdm.auto import tqdm

__all__ = ["IterationReporter", "progress_bar"]


def progress_bar(total: int, description: str, enabled: bool = True):
    """A tqdm bar of ``total`` steps; a no-op bar when ``enabled`` is false."""
    return tqdm(total=total, desc=description, disable=not enabled, file=sys.stderr,
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
    """

    def __init__(self, total: int, description: str, targets: dict, enabled: bool = True):
        self.targets = dict(targets)
        self.bar = progress_bar(total, description, enabled)

    def row(self, row: dict) -> None:
        """One iteration's history row (``phi_d[key]``, ``beta[key]``, ...)."""
        self.bar.update(1)
        self.bar.set_postfix({f"phi_d[{k}]/target": f"{row[f'phi_d[{k}]'] / t:.3g}"
                              for k, t in self.targets.items() if f"phi_d[{k}]" in row})

    def stop(self, reason: str) -> None:
        """Why the solver stopped (target reached, iterations exhausted, ...)."""
        self.reason = reason

    def close(self) -> None:
        self.bar.close()

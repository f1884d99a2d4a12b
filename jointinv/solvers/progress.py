"""Progress display for long runs (tqdm on stderr, silent when disabled)."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm

__all__ = ["progress_bar"]


def progress_bar(total: int, description: str, enabled: bool = True):
    """A tqdm bar of ``total`` steps; a no-op bar when ``enabled`` is false."""
    return tqdm(total=total, desc=description, disable=not enabled, file=sys.stderr,
                leave=False, dynamic_ncols=True)

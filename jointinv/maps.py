"""Elementwise maps from the inversion variable to the physical property.

Cell inversions work in the space where the problem is best conditioned:
slowness for travel times (``t = L s`` is linear), the property itself
elsewhere. A map is elementwise, so its Jacobian is diagonal.
"""

from __future__ import annotations

import torch

__all__ = ["IdentityMap", "ReciprocalMap", "get_map"]


class IdentityMap:
    """``property = m``."""

    name = "identity"

    def forward(self, m: torch.Tensor) -> torch.Tensor:
        return m

    def inverse(self, prop: torch.Tensor) -> torch.Tensor:
        return prop

    def __call__(self, m):
        return self.forward(m)


class ReciprocalMap(IdentityMap):
    """``property = 1 / m`` (e.g. velocity [m/s] from slowness [s/m])."""

    name = "reciprocal"

    def forward(self, m):
        return 1.0 / m

    def inverse(self, prop):
        return 1.0 / prop


_MAPS = {cls.name: cls for cls in (IdentityMap, ReciprocalMap)}


def get_map(name):
    """The map called ``name`` (``"identity"`` or ``"reciprocal"``); maps pass through."""
    if isinstance(name, IdentityMap):
        return name
    if name not in _MAPS:
        raise ValueError(f"map must be one of {sorted(_MAPS)}, got {name!r}")
    return _MAPS[name]()

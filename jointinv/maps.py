"""Elementwise maps from an inversion variable to a physical property.

Cell inversions work in the space where the problem is best conditioned:
slowness for travel times (``t = L s`` is linear), the property itself
elsewhere. A map is elementwise, so its Jacobian is diagonal; derivatives come
from autograd. Maps compose like functions: ``(a * b)(m) = a(b(m))``.

>>> velocity = ReciprocalMap()(torch.tensor([0.5e-3]))      # slowness -> velocity
>>> (ReciprocalMap() * ExpMap()).inverse(torch.tensor([2000.0]))  # log-slowness
"""

from __future__ import annotations

import torch

__all__ = ["Map", "IdentityMap", "ReciprocalMap", "ExpMap", "Log10Map", "ComposedMap",
           "get_map", "MAPS"]


class Map:
    """``property = map(m)``, elementwise, with its inverse.

    Subclasses implement :meth:`forward` and :meth:`inverse` in torch
    operations (so autograd differentiates them) and set :attr:`name`.
    """

    name = "map"

    def forward(self, m: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def inverse(self, prop: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, m: torch.Tensor) -> torch.Tensor:
        return self.forward(m)

    def derivative(self, m: torch.Tensor) -> torch.Tensor:
        """``d map / d m`` per element (the diagonal of the Jacobian), by autograd."""
        with torch.enable_grad():
            leaf = m.detach().clone().requires_grad_(True)
            (slope,) = torch.autograd.grad(self.forward(leaf).sum(), leaf)
        return slope

    def __mul__(self, inner: Map) -> ComposedMap:
        if not isinstance(inner, Map):
            return NotImplemented
        return ComposedMap(self, inner)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class IdentityMap(Map):
    """``property = m``."""

    name = "identity"

    def forward(self, m):
        return m

    def inverse(self, prop):
        return prop


class ReciprocalMap(Map):
    """``property = 1 / m`` (e.g. velocity [m/s] from slowness [s/m])."""

    name = "reciprocal"

    def forward(self, m):
        return 1.0 / m

    def inverse(self, prop):
        return 1.0 / prop


class ExpMap(Map):
    """``property = exp(m)`` (a positive property from an unbounded variable)."""

    name = "exp"

    def forward(self, m):
        return torch.exp(m)

    def inverse(self, prop):
        return torch.log(prop)


class Log10Map(Map):
    """``property = log10(m)`` (e.g. log10 resistivity from resistivity [ohm m])."""

    name = "log10"

    def forward(self, m):
        return torch.log10(m)

    def inverse(self, prop):
        return torch.pow(10.0, prop)


class ComposedMap(Map):
    """``outer(inner(m))``; its inverse is ``inner.inverse(outer.inverse(p))``."""

    def __init__(self, outer: Map, inner: Map):
        for label, value in (("outer", outer), ("inner", inner)):
            if not isinstance(value, Map):
                raise TypeError(f"{label} must be a jointinv.maps.Map, got {type(value).__name__}")
        self.outer, self.inner = outer, inner
        self.name = f"{outer.name}*{inner.name}"

    def forward(self, m):
        return self.outer(self.inner(m))

    def inverse(self, prop):
        return self.inner.inverse(self.outer.inverse(prop))

    def __repr__(self) -> str:
        return f"{self.outer!r} * {self.inner!r}"


MAPS = {cls.name: cls for cls in (IdentityMap, ReciprocalMap, ExpMap, Log10Map)}


def get_map(name) -> Map:
    """The map called ``name``; ``"a*b"`` composes; :class:`Map` objects pass through.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones).
    """
    if isinstance(name, Map):
        return name
    if not isinstance(name, str):
        raise TypeError(f"map must be a name or a jointinv.maps.Map, got {type(name).__name__}")
    parts = [part.strip() for part in name.split("*")]
    unknown = [part for part in parts if part not in MAPS]
    if unknown:
        raise ValueError(f"map must be one of {sorted(MAPS)} or a product 'a*b' of them, "
                         f"got {name!r}")
    maps = [MAPS[part]() for part in parts]
    composed = maps[-1]
    for outer in reversed(maps[:-1]):
        composed = ComposedMap(outer, composed)
    return composed


"""Find physics plugins by name through the ``jointinv.physics`` entry points.

The core never imports the built-in physics directly: they are registered in
``setup.cfg`` exactly like a third-party plugin would register its own.
"""

from __future__ import annotations

from importlib.metadata import entry_points

__all__ = ["ENTRY_POINT_GROUP", "available_physics", "load_physics", "create_physics"]

ENTRY_POINT_GROUP = "jointinv.physics"


def _entry_points() -> dict:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_physics() -> list[str]:
    """Sorted names of the installed physics plugins."""
    return sorted(_entry_points())


def load_physics(name: str):
    """The operator class registered under ``name``.

    Raises
    ------
    TypeError
        If ``name`` is not a string.
    ValueError
        If no plugin of that name is installed; the message lists the names
        that are.
    """
    if not isinstance(name, str):
        raise TypeError(f"physics name must be a string, got {type(name).__name__}")
    found = _entry_points()
    if name not in found:
        raise ValueError(
            f"unknown physics {name!r}; installed physics are: "
            f"{', '.join(sorted(found)) or '(none)'} (entry-point group {ENTRY_POINT_GROUP!r})"
        )
    return found[name].load()


def create_physics(name: str, *args, **kwargs):
    """Instantiate the plugin ``name`` with the given arguments."""
    return load_physics(name)(*args, **kwargs)

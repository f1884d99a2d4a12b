"""Built-in physics plugins, each implementing ``jointinv.PhysicsOperator``.

The classes load lazily (``jointinv.physics.DCResistivity2D`` imports SimPEG only when
first used); jointinv itself finds them through the ``jointinv.physics``
entry points, exactly as it finds third-party plugins.
"""

from importlib import import_module

_CLASSES = {
    "StraightRayTomography": ".traveltime",
    "SlownessTomography": ".slowness_tomography",
    "AcousticWave2D": ".acoustic",
    "DCResistivity2D": ".dcresistivity",
}

__all__ = sorted(_CLASSES)


def __getattr__(name):
    if name in _CLASSES:
        return getattr(import_module(_CLASSES[name], __name__), name)
    raise AttributeError(f"module 'physics' has no attribute {name!r}")

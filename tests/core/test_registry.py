import re

import pytest

import jointinv
from jointinv import PhysicsOperator


def test_builtin_physics_are_registered():
    names = jointinv.available_physics()
    assert {"traveltime", "acoustic", "dcr"} <= set(names)


def test_load_physics_returns_operator_class():
    cls = jointinv.load_physics("traveltime")
    assert issubclass(cls, PhysicsOperator)
    assert cls.property == "velocity"


def test_unknown_physics_lists_installed_names():
    with pytest.raises(ValueError, match=re.escape("unknown physics 'magnetotellurics'")) as info:
        jointinv.load_physics("magnetotellurics")
    assert "traveltime" in str(info.value) and "dcr" in str(info.value)
    with pytest.raises(TypeError, match="physics name must be a string"):
        jointinv.load_physics(3)


def test_property_declared_in_class_statement():
    class Gravity(PhysicsOperator, property="density", units="kg/m^3"):
        @property
        def n_data(self):
            return 1

    assert Gravity.property == "density" and Gravity.units == "kg/m^3"
    with pytest.raises(TypeError, match="units must be a string"):
        type("Bad", (PhysicsOperator,), {}, units=3)

"""One parametrised test over every registered physics plugin, through the shipped kit.

A new plugin that implements ``example_case()`` and registers under the
``jointinv.physics`` entry points gets the contract, adjoint, Taylor,
gradient, linearisation and bad-input tests of :func:`jointinv.testing.check_plugin`
without writing a test file.
"""

import pytest
import torch

import jointinv
from jointinv.testing import PLUGIN_CHECKS, check_plugin, taylor_test

PLUGINS = jointinv.available_physics()


class ScaledJacobian(jointinv.PhysicsOperator, property="wrapped", units="wrapped"):
    """A plugin whose forward is right and whose ``jvp`` is ``scale`` times the true one."""

    def __init__(self, inner, scale):
        super().__init__(inner.grid)
        self.inner, self.scale = inner, scale

    @property
    def n_data(self):
        return self.inner.n_data

    @property
    def data_shape(self):
        return self.inner.data_shape

    def _forward(self, model):
        return self.inner(model)

    def _jvp(self, model, tangent):
        return self.scale * self.inner.jvp(model, tangent)


@pytest.fixture(params=PLUGINS)
def plugin(request):
    return jointinv.load_physics(request.param)


def test_builtin_plugins_are_registered():
    assert {"acoustic", "dcr", "traveltime"} <= set(PLUGINS)


def test_check_plugin(plugin):
    report = check_plugin(plugin)
    assert list(report) == list(PLUGIN_CHECKS)
    left, right = report["dottest"]
    assert abs(left) > 0 and len(report["bad_input"]) == 7


def test_taylor_test_accepts_the_true_jacobian_and_rejects_one_1_percent_off(plugin):
    operator, model = plugin.example_case()
    taylor_test(ScaledJacobian(operator, 1.0), model)
    with pytest.raises(AssertionError, match="Taylor test failed: mean order"):
        taylor_test(ScaledJacobian(operator, 1.01), model)
    with pytest.raises(AssertionError, match=r"check_plugin\(ScaledJacobian\): check 'taylor'"):
        check_plugin(ScaledJacobian, case=(ScaledJacobian(operator, 1.01), model),
                     checks=["taylor"])


def test_check_plugin_names_unknown_checks():
    with pytest.raises(ValueError, match="checks must be among"):
        check_plugin(ScaledJacobian, case=(None, torch.zeros(1)), checks=["speed"])

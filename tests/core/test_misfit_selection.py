"""Waveform misfits selected as the data misfit of an inversion (misfit=)."""

import re

import pytest
import torch
from conftest import DenseLinearOperator

import jointinv
from jointinv import PhysicsSetup
from jointinv.solvers.progress import format_row


@pytest.mark.parametrize("misfit", ["envelope", "correlation"])
def test_waveform_misfit_drives_adam_and_reports_chi_squared(acoustic_example, misfit):
    operator, data, true = acoustic_example
    start = torch.full_like(true, float(true.mean()))
    result = jointinv.invert(operator, data, start, solver="adam", misfit=misfit, beta=1e-6,
                             step=20.0, max_iterations=4, progress=False)
    first, last = result.history[0], result.history[-1]
    # scaled at the start so that it equals chi-squared there; chi^2 reported alongside
    assert first["phi_d[velocity]"] == pytest.approx(first["chi2[velocity]"], rel=1e-10)
    assert last["phi_d[velocity]"] < first["phi_d[velocity]"]
    assert last["phi_d[velocity]"] != pytest.approx(last["chi2[velocity]"], rel=1e-6)
    line = format_row(last, {"velocity": data.n_data})
    assert "chi2[velocity]/target=" in line and "phi_d[velocity]=" in line
    # chi2 per datum of the result is the chi-squared misfit of the final prediction
    assert result.metrics["velocity"]["chi_squared"] == pytest.approx(
        float(data.chi_squared(operator(result.models["velocity"]))), rel=1e-8)


def test_a_callable_misfit_and_the_target_on_chi_squared(acoustic_example):
    operator, data, true = acoustic_example
    calls = []

    def absolute(predicted, observed):
        calls.append(1)
        return (predicted - observed.observed).abs().sum()

    result = jointinv.invert(operator, data, true, solver="lbfgs", misfit=absolute,
                             chi_factor=10.0, max_iterations=3, progress=False)
    assert calls
    # at the true model chi2 ~ n_data < 10 n_data: stops at the first row, on chi-squared
    assert len(result.history) == 1
    assert result.history[-1]["stopped"] == "every data set at its target misfit"


def test_misfit_errors_are_named(acoustic_example, small_grid):
    operator, data, true = acoustic_example
    with pytest.raises(ValueError, match=re.escape("Gauss-Newton needs chi-squared (misfit "
                                                   "'l2') data misfits, got 'velocity': "
                                                   "'envelope'")):
        jointinv.invert(operator, data, true, misfit="envelope", progress=False)
    with pytest.raises(ValueError, match="misfit must be one of"):
        jointinv.invert(operator, data, true, misfit="l1", solver="adam")
    with pytest.raises(TypeError, match="misfit must be a name"):
        PhysicsSetup(operator, data, true, misfit=3)
    linear = DenseLinearOperator(small_grid, n_data=10)
    vector = linear.simulate(torch.zeros(small_grid.shape, dtype=torch.float64),
                             noise_floor=1.0)
    with pytest.raises(ValueError, match=re.escape("misfit 'envelope' compares traces "
                                                   "(..., time); the data of 'density' have "
                                                   "shape (10,)")):
        PhysicsSetup(linear, vector, torch.zeros(small_grid.shape), misfit="envelope")

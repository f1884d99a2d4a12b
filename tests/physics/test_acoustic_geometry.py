"""Per-shot acquisition geometry of the acoustic operator: towed streamer, ocean-bottom
spread, shot subsets; checked against deepwave.scalar."""

import re

import numpy as np
import pytest
import torch
from jointinv.physics.acoustic import AcousticWave2D
from jointinv.physics.acoustic_setup import COURANT_SAFETY, shot_geometry
from jointinv.physics.acoustic_step import critical_courant_number

from jointinv import Grid
from jointinv.testing import dottest

GRID = Grid(nx=36, nz=20, dx=10.0, dz=10.0)
OPTIONS = dict(dt=1e-3, nt=150, frequency=15.0, accuracy=4, pml_width=8, max_velocity=2600.0,
               source_convention="deepwave", compile=False)
SOURCE_X = np.array([35.0, 95.0, 155.0])


def streamer():
    """Three shots, each towing six receivers 30-180 m behind it, in the water."""
    sources = np.column_stack([SOURCE_X, np.full(3, 15.0)])
    offsets = 30.0 * np.arange(1, 7)
    receivers = np.stack([np.column_stack([x + offsets, np.full(6, 25.0)]) for x in SOURCE_X])
    return sources, receivers


def model():
    z = torch.linspace(0, 1, GRID.nz, dtype=torch.float64)[:, None]
    x = torch.linspace(0, 1, GRID.nx, dtype=torch.float64)[None, :]
    return 1800.0 + 600.0 * z + 100.0 * torch.sin(4.0 * x) * z


def deepwave_reference(velocity, sources, receivers):
    """``deepwave.scalar`` with per-shot locations [shot, receiver, 2] in cells."""
    deepwave = pytest.importorskip("deepwave")
    source_cells, receiver_cells = shot_geometry(GRID, sources, receivers)
    wavelet = AcousticWave2D(GRID, sources, receivers, **OPTIONS).source_amplitudes
    out = deepwave.scalar(
        velocity, [GRID.dz, GRID.dx], OPTIONS["dt"], source_amplitudes=wavelet[:, None, :],
        source_locations=torch.as_tensor(source_cells)[:, None, :],
        receiver_locations=torch.as_tensor(receiver_cells),
        accuracy=OPTIONS["accuracy"], pml_width=OPTIONS["pml_width"],
        pml_freq=OPTIONS["frequency"], max_vel=OPTIONS["max_velocity"],
        courant_number=COURANT_SAFETY * critical_courant_number(OPTIONS["accuracy"]))
    return out.receiver_amplitudes


@pytest.mark.parametrize("layout", ["fixed", "streamer"])
def test_matches_deepwave_scalar(layout):
    sources, receivers = streamer()
    if layout == "fixed":  # an ocean-bottom spread: one receiver line for every shot
        receivers = np.column_stack([15.0 + 20.0 * np.arange(17), np.full(17, 195.0)])
        reference_receivers = np.broadcast_to(receivers, (3, *receivers.shape))
    else:
        reference_receivers = receivers
    velocity = model()
    ours = AcousticWave2D(GRID, sources, receivers, **OPTIONS)(velocity)
    reference = deepwave_reference(velocity, sources, reference_receivers)
    assert ours.shape == reference.shape
    assert float((ours - reference).norm() / reference.norm()) < 1e-10
    engine = AcousticWave2D(GRID, sources, receivers, engine="deepwave", **OPTIONS)(velocity)
    assert float((engine - reference).norm() / reference.norm()) < 1e-12


def test_streamer_rows_equal_single_shot_operators():
    # an oracle without Deepwave: shot k of the streamer is a one-shot operator
    sources, receivers = streamer()
    velocity = model()
    together = AcousticWave2D(GRID, sources, receivers, **OPTIONS)(velocity)
    for k in range(3):
        alone = AcousticWave2D(GRID, sources[k:k + 1], receivers[k], **OPTIONS)(velocity)
        torch.testing.assert_close(together[k], alone[0], rtol=1e-12, atol=1e-30)
    # a towed streamer records differently from a fixed spread at its first position
    fixed = AcousticWave2D(GRID, sources, receivers[0], **OPTIONS)(velocity)
    assert float((fixed[2] - together[2]).norm()) > 0.1 * float(together[2].norm())


def test_streamer_adjoint_and_shot_subsets():
    sources, receivers = streamer()
    operator = AcousticWave2D(GRID, sources, receivers, **{**OPTIONS, "nt": 60})
    velocity = model()
    dottest(operator, velocity, rtol=1e-8)
    subset = operator.select_shots([2, 0])
    assert subset.data_shape == (2, 6, 60) and operator.data_shape == (3, 6, 60)
    full = operator(velocity)
    torch.testing.assert_close(subset(velocity), full[[2, 0]], rtol=1e-12, atol=1e-30)
    with pytest.raises(ValueError, match=re.escape("indices must be distinct shot numbers in "
                                                   "[0, 3), got [1, 1]")):
        operator.select_shots([1, 1])


def test_geometry_errors_are_named():
    sources, receivers = streamer()
    two_sources = np.stack([sources, sources + 10.0], axis=1)
    with pytest.raises(ValueError, match=re.escape("sources must have shape (n_shots, 2) or "
                                                   "(n_shots, 1, 2): one source per shot, "
                                                   "got (3, 2, 2)")):
        shot_geometry(GRID, two_sources, receivers)
    with pytest.raises(ValueError, match=re.escape("receivers per shot must have shape "
                                                   "(n_shots, n_receivers, 2) = (2, "
                                                   "n_receivers, 2), got (3, 6, 2)")):
        shot_geometry(GRID, sources[:2], receivers)
    outside = receivers.copy()
    outside[1, 5, 0] = 500.0
    with pytest.raises(ValueError, match="receivers must lie inside the grid"):
        shot_geometry(GRID, sources, outside)
    one_source = shot_geometry(GRID, sources[:, None, :], receivers)[0]
    np.testing.assert_array_equal(one_source, shot_geometry(GRID, sources, receivers)[0])

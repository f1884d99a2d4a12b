"""The C forward loop (physics/acoustic_native.c) against the torch step it replaces."""

from __future__ import annotations

import os
import re
import shutil

import jointinv.physics.acoustic as acoustic
import jointinv.physics.acoustic_checkpoint as checkpoint
import jointinv.physics.acoustic_native as native
import numpy as np
import pytest
import torch
from jointinv.physics.acoustic import AcousticWave2D

from jointinv import Grid

GRID = Grid(nx=18, nz=13, dx=10.0, dz=8.0, x0=-50.0, z0=20.0)
SOURCES = [[-25.0, 44.0], [85.0, 60.0], [35.0, 116.0]]
RECEIVERS = [[-35.0, 100.0], [15.0, 28.0], [95.0, 90.0], [55.0, 36.0], [-45.0, 24.0]]


def model(dtype=torch.float64):
    z = torch.linspace(0, 1, GRID.nz, dtype=dtype)[:, None]
    x = torch.linspace(0, 1, GRID.nx, dtype=dtype)[None, :]
    return 1900.0 + 500.0 * z + 150.0 * torch.cos(5.0 * x) * z


def operator(sources=SOURCES, receivers=RECEIVERS, **options):
    options = {"dt": 1.2e-3, "nt": 90, "frequency": 25.0, "pml_width": 5,
               "max_velocity": 2700.0, "compile": False, **options}
    return AcousticWave2D(GRID, sources, receivers, **options)


HAS_COMPILER = shutil.which(os.environ.get("CC", "cc")) is not None
needs_compiler = pytest.mark.skipif(not HAS_COMPILER, reason="no C compiler ($CC or cc): the "
                                    "propagator keeps its torch step (tested below)")


@pytest.fixture
def calls(monkeypatch):
    """Counts the propagations the C loop ran (``None`` results are not counted)."""
    count = []

    def spy(*args):
        records = native.native_forward(*args)
        if records is not None:
            count.append(1)
        return records

    monkeypatch.setattr(checkpoint, "native_forward", spy)
    return count


def both(calls, **options):
    """Forward-only data from the C loop and from the torch step, same operator settings."""
    dtype = options.pop("dtype", torch.float64)
    sources = options.pop("sources", SOURCES)
    with torch.no_grad():
        fast = operator(sources=sources, native=True, **options)(model(dtype))
        assert len(calls) == 1, "the C loop did not run"
        reference = operator(sources=sources, native=False, **options)(model(dtype))
        assert len(calls) == 1, "native=False ran the C loop"
    return fast, reference


@needs_compiler
@pytest.mark.parametrize("accuracy", [2, 4, 6, 8])
@pytest.mark.parametrize("free_surface", [False, True])
def test_same_data_as_the_torch_step(calls, accuracy, free_surface):
    fast, reference = both(calls, accuracy=accuracy, free_surface=free_surface)
    assert reference.abs().max() > 0
    torch.testing.assert_close(fast, reference, rtol=1e-11, atol=1e-11 * reference.abs().max())


@needs_compiler
def test_float32_rigid_walls_and_sub_steps(calls):
    # no PML (rigid walls) and a dt that forces CFL sub-steps, in single precision
    with pytest.warns(UserWarning, match="sub-steps|CFL|time step"):
        fast, reference = both(calls, dtype=torch.float32, pml_width=0, dt=2.4e-3, nt=45,
                               frequency=12.0)
    torch.testing.assert_close(fast, reference, rtol=1e-4, atol=1e-5 * reference.abs().max())


@needs_compiler
def test_one_shot_on_two_threads_shares_rows(calls):
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # more threads than shots: the rows of each step are shared
    try:
        fast, reference = both(calls, sources=SOURCES[:1], accuracy=8)
    finally:
        torch.set_num_threads(threads)
    torch.testing.assert_close(fast, reference, rtol=1e-11, atol=1e-11 * reference.abs().max())


@needs_compiler
def test_receivers_per_shot(calls):
    # a towed streamer: each shot its own receivers
    per_shot = np.stack([np.array(RECEIVERS[:4]) + [10.0 * s, 0.0] for s in range(3)])
    fast, reference = both(calls, receivers=per_shot)
    torch.testing.assert_close(fast, reference, rtol=1e-11, atol=1e-11 * reference.abs().max())


def test_gradients_stay_on_the_torch_step(calls):
    velocity = model().requires_grad_()
    for gradient in ("checkpoint", "autograd"):
        data = operator(gradient=gradient)(velocity)
        (data ** 2).sum().backward()
    assert calls == []


@needs_compiler
def test_forward_only_runs_do_not_count_toward_compilation(calls, monkeypatch):
    op = operator(compile="auto")
    shape = op.layout().shape
    monkeypatch.setattr(acoustic, "AUTO_COMPILE_CELL_STEPS",
                        0.5 * op.n_shots * shape[0] * shape[1] * op.nt)
    with torch.no_grad():
        op(model())
    assert len(calls) == 1 and not op._auto_compiled


def test_without_a_compiler_warns_once_and_uses_the_torch_step(calls, monkeypatch):
    monkeypatch.setattr(native, "_libraries", {})
    monkeypatch.setattr(native, "_failed", set())
    monkeypatch.setenv("CC", "/nonexistent/cc")
    with torch.no_grad(), pytest.warns(RuntimeWarning, match="no C compiler found"):
        fallback = operator(accuracy=6)(model())
    with torch.no_grad():
        again = operator(accuracy=6)(model())  # remembered: no second warning, no retry
    assert calls == []
    torch.testing.assert_close(again, fallback, rtol=0, atol=0)
    # on the torch step, forward-only runs count toward compile="auto" again
    op = operator(accuracy=6, compile="auto")
    with torch.no_grad():
        op(model())
    assert op._work > 0


def test_an_unwritable_cache_warns_and_uses_the_torch_step(calls, monkeypatch, tmp_path):
    monkeypatch.setattr(native, "_libraries", {})
    monkeypatch.setattr(native, "_failed", set())
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setenv("JOINTINV_CACHE_DIR", str(blocker / "cache"))  # below a file: no mkdir
    with torch.no_grad(), pytest.warns(RuntimeWarning, match="JOINTINV_CACHE_DIR"):
        data = operator(accuracy=4)(model())
    assert calls == [] and bool(torch.isfinite(data).all())


def test_switched_off_by_environment(calls, monkeypatch):
    monkeypatch.setenv("JOINTINV_NATIVE", "0")
    with torch.no_grad():
        operator()(model())
    assert calls == []


def test_native_must_be_a_bool():
    with pytest.raises(TypeError, match=re.escape("native must be True or False, got 'yes'")):
        operator(native="yes")

"""Tests of the 2D acoustic wave-equation operator (FWI physics)."""

import re
import warnings

import numpy as np
import pytest
import torch
from jointinv.physics.acoustic import AcousticWave2D, acoustic_wave_2d
from jointinv.physics.acoustic_checkpoint import Kernels
from jointinv.physics.acoustic_setup import downsample, upsample
from jointinv.physics.acoustic_step import critical_courant_number

from jointinv import Grid, load_physics
from jointinv.testing import dottest, gradient_check, random_like, taylor_test
from jointinv.wavelets import peak_frequency, ricker

# non-square cells and a non-zero origin, so that no axis or offset mix-up hides
GRID = Grid(nx=16, nz=12, dx=10.0, dz=8.0, x0=-50.0, z0=20.0)
SOURCES = [[-25.0, 44.0], [85.0, 60.0]]
RECEIVERS = [[-35.0, 100.0], [15.0, 28.0], [95.0, 90.0], [55.0, 36.0]]
TINY = dict(dt=1.2e-3, nt=70, frequency=25.0, pml_width=5, max_velocity=2700.0, compile=False)


def smooth_model(grid, dtype=torch.float64):
    z = torch.linspace(0, 1, grid.nz, dtype=dtype)[:, None]
    x = torch.linspace(0, 1, grid.nx, dtype=dtype)[None, :]
    return 1900.0 + 500.0 * z + 150.0 * torch.cos(5.0 * x) * z


def tiny_operator(**overrides):
    options = {**TINY, **overrides}
    return AcousticWave2D(GRID, SOURCES, RECEIVERS, **options)


# -- agreement with Deepwave ----------------------------------------------------------
@pytest.mark.parametrize("accuracy", [2, 8])
def test_matches_deepwave_data_and_interior_gradient(accuracy):
    pytest.importorskip("deepwave")
    grid = Grid(nx=40, nz=30, dx=10.0, dz=12.0)
    sources = [[105.0, 30.0], [305.0, 54.0]]
    receivers = [[x, 18.0] for x in range(15, 400, 30)]
    generator = torch.Generator().manual_seed(3)
    model = 2000.0 + 500.0 * torch.rand(grid.shape, generator=generator)  # float32
    options = dict(dt=1e-3, nt=160, frequency=15.0, accuracy=accuracy, pml_width=10,
                   max_velocity=2600.0, source_convention="deepwave", compile=False)
    ours = AcousticWave2D(grid, sources, receivers, **options)
    theirs = AcousticWave2D(grid, sources, receivers, engine="deepwave", **options)
    # direct waves reach receivers before any PML reflection at t = 0.16 s
    # (nearest boundary 60 m beyond the 360 m farthest offset), but the two
    # also agree afterwards: compare the whole record.
    data_ours, data_theirs = ours(model), theirs(model)
    assert data_ours.dtype == torch.float32
    assert float((data_ours - data_theirs).norm() / data_theirs.norm()) <= 1e-3
    cotangent = random_like(data_ours, seed=5)
    gradient_ours = ours.vjp(model, cotangent)
    gradient_theirs = theirs.vjp(model, cotangent)
    interior = torch.zeros(grid.shape, dtype=torch.bool)
    interior[4:-4, 4:-4] = True
    for iz, ix in ours.source_cells:
        interior[max(iz - 3, 0):iz + 4, max(ix - 3, 0):ix + 4] = False
    cosine = torch.nn.functional.cosine_similarity(
        gradient_ours[interior].double(), gradient_theirs[interior].double(), dim=0)
    assert float(cosine) >= 0.99
    # and in float64 they are the same discretisation to rounding error
    data64, reference64 = ours(model.double()), theirs(model.double())
    assert float((data64 - reference64).norm() / reference64.norm()) < 1e-10


def test_substepped_data_are_resampled_like_deepwave():
    """dt above the CFL limit: band-limited source and receiver resampling, as Deepwave's."""
    pytest.importorskip("deepwave")
    grid = Grid(nx=40, nz=30, dx=10.0, dz=12.0)
    sources, receivers = [[105.0, 30.0], [305.0, 54.0]], [[x, 18.0] for x in range(15, 400, 30)]
    generator = torch.Generator().manual_seed(3)
    model = 2000.0 + 500.0 * torch.rand(grid.shape, generator=generator, dtype=torch.float64)
    for nt in (100, 101):  # the Nyquist bin exists for an even nt only
        options = dict(dt=4e-3, nt=nt, frequency=15.0, accuracy=4, pml_width=10,
                       max_velocity=2600.0, source_convention="deepwave", compile=False)
        with pytest.warns(UserWarning, match="taking 2 internal steps per sample"):
            ours = AcousticWave2D(grid, sources, receivers, **options)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the same CFL warning, and Deepwave's own
            theirs = AcousticWave2D(grid, sources, receivers, engine="deepwave", **options)
            reference = theirs(model)
            reference32 = theirs(model.float())
        assert float((ours(model) - reference).norm() / reference.norm()) < 1e-12
        assert float((ours(model.float()) - reference32).norm() / reference32.norm()) < 1e-5
        # reading every second step instead (what the operator did before) is 0.5 % off
        fine = AcousticWave2D(grid, sources, receivers, **{**options, "dt": 2e-3, "nt": 2 * nt})
        decimated = fine(model)[..., ::2]
        assert float((decimated - reference).norm() / reference.norm()) > 1e-3


def test_physical_convention_scales_deepwave_convention():
    """dt^2 s / (dx dz) versus -v_s^2 dt^2 s: data differ by -1 / (v_s^2 dx dz) per shot."""
    model = torch.full(GRID.shape, 2200.0, dtype=torch.float64)
    physical = tiny_operator()(model)
    deepwave_convention = tiny_operator(source_convention="deepwave")(model)
    scale = -1.0 / (2200.0 ** 2 * GRID.dx * GRID.dz)
    torch.testing.assert_close(physical, deepwave_convention * scale, rtol=1e-12, atol=0)


# -- gradients ---------------------------------------------------------------------
@pytest.mark.parametrize("options", [
    dict(),
    dict(free_surface=True, accuracy=6, checkpoint_interval=7),
    dict(accuracy=2, dt=3.5e-3, source_convention="deepwave"),  # CFL sub-stepping
])
def test_checkpoint_and_autograd_gradients_agree(options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sub-stepping case warns by design
        checkpointed = tiny_operator(gradient="checkpoint", **options)
        plain = tiny_operator(gradient="autograd", **options)
    model = smooth_model(GRID)
    cotangent = random_like(torch.empty(checkpointed.data_shape, dtype=torch.float64), seed=2)
    reference = plain.vjp(model, cotangent)
    assert float(reference.norm()) > 0
    gradient = checkpointed.vjp(model, cotangent)
    assert float((gradient - reference).norm() / reference.norm()) < 1e-5
    torch.testing.assert_close(checkpointed(model), plain(model), rtol=1e-12, atol=0)


@pytest.mark.parametrize("options", [dict(), dict(free_surface=True, accuracy=8)])
def test_misfit_gradient_matches_finite_differences(options):
    operator = tiny_operator(**options)
    model = smooth_model(GRID)
    with torch.no_grad():
        observed = operator(model * 1.02)

    def misfit(m):
        return ((operator(m) - observed) ** 2).sum() / (observed ** 2).sum()

    gradient_check(misfit, model, seed=4)


@pytest.mark.parametrize("gradient", ["checkpoint", "autograd"])
@pytest.mark.parametrize("free_surface", [False, True])
def test_dot_and_taylor(gradient, free_surface):
    operator = tiny_operator(gradient=gradient, free_surface=free_surface)
    model = smooth_model(GRID)
    dottest(operator, model, rtol=1e-9, seed=7)
    taylor_test(operator, model, seed=8)


def test_gradient_reaches_an_upstream_network():
    """FAD-FWI: velocity = network(latent); both gradient paths give the same weights' gradient."""
    torch.manual_seed(0)
    network = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.Tanh(),
                                  torch.nn.Conv2d(4, 1, 3, padding=1)).double()
    latent = torch.randn(1, 1, *GRID.shape, dtype=torch.float64)
    observed = tiny_operator()(smooth_model(GRID)).detach()
    gradients = []
    for gradient in ("checkpoint", "autograd"):
        network.zero_grad()
        velocity = 2200.0 + 100.0 * network(latent)[0, 0]
        loss = ((tiny_operator(gradient=gradient)(velocity) - observed) ** 2).sum()
        loss.backward()
        gradients.append(torch.cat([p.grad.flatten() for p in network.parameters()]))
    assert float(gradients[0].norm()) > 0
    torch.testing.assert_close(gradients[0], gradients[1], rtol=1e-7, atol=0)


# -- physics -----------------------------------------------------------------------
def test_float32_follows_the_model_and_matches_float64():
    operator = tiny_operator()
    model = smooth_model(GRID)
    data32 = operator(model.float())
    assert data32.dtype == torch.float32
    data64 = operator(model)
    assert float((data32.double() - data64).norm() / data64.norm()) < 1e-4
    gradient32 = operator.vjp(model.float(), torch.ones_like(data32))
    assert gradient32.dtype == torch.float32


def test_free_surface_reflects_with_reversed_polarity():
    """With u = 0 on the top edge the surface reflection is minus the direct wave
    of the image source mirrored about that edge (homogeneous medium)."""
    dx = 10.0
    grid = Grid(nx=60, nz=20, dx=dx, dz=dx)
    source, receiver = [[105.0, 45.0]], [[405.0, 45.0]]
    options = dict(dt=1e-3, nt=330, frequency=15.0, pml_width=20, max_velocity=2000.0,
                   accuracy=8, compile=False)
    velocity = torch.full(grid.shape, 2000.0, dtype=torch.float64)
    free = AcousticWave2D(grid, source, receiver, free_surface=True, **options)(velocity)
    absorbing = AcousticWave2D(grid, source, receiver, **options)(velocity)
    # the same medium extended 20 cells upwards, with a source at the mirror point
    tall = Grid(nx=60, nz=40, dx=dx, dz=dx, z0=-200.0)
    tall_velocity = torch.full(tall.shape, 2000.0, dtype=torch.float64)
    image = AcousticWave2D(tall, [[105.0, -45.0]], receiver, **options)(tall_velocity)
    reflection = free - absorbing
    assert float(reflection.abs().max()) > 0.3 * float(absorbing.abs().max())
    assert float((reflection + image).norm() / image.norm()) < 0.02
    # the PML run has no such arrival
    assert float((absorbing - AcousticWave2D(tall, source, receiver, **options)(tall_velocity))
                 .norm() / image.norm()) < 0.02


def test_pml_absorbs_while_rigid_walls_trap_the_energy():
    grid = Grid(nx=30, nz=30, dx=10.0, dz=10.0)
    everywhere = grid.cell_centers
    options = dict(dt=1.5e-3, nt=500, frequency=20.0, max_velocity=2000.0, compile=False)
    velocity = torch.full(grid.shape, 2000.0, dtype=torch.float64)
    energies = {}
    for width in (0, 20):
        data = AcousticWave2D(grid, [[155.0, 155.0]], everywhere, pml_width=width,
                              **options)(velocity)
        energy = (data ** 2).sum(dim=(0, 1))
        energies[width] = float(energy[-50:].mean() / energy.max())
    assert energies[20] < 1e-4  # all but a trace of the wave has left the grid
    assert energies[0] > 1e-2  # with reflecting walls it is still there


def test_substeps_when_dt_violates_cfl():
    model = torch.full(GRID.shape, 2500.0, dtype=torch.float64)
    limit = critical_courant_number(4) / (2500.0 * np.sqrt(1 / 10.0 ** 2 + 1 / 8.0 ** 2))
    dt = 1.6 * limit
    with pytest.warns(UserWarning, match=r"taking 2 internal steps per sample"):
        coarse = tiny_operator(dt=dt, nt=40, max_velocity=2500.0)
    fine = tiny_operator(dt=dt / 2, nt=80, max_velocity=2500.0)
    data_coarse, data_fine = coarse(model), fine(model)
    assert bool(torch.isfinite(data_coarse).all())
    # the internal steps are the fine run's; the records are resampled band-limited
    error = float((data_coarse - downsample(data_fine, 2)).norm() / data_fine.norm())
    assert error < 1e-9


def test_rejects_velocities_that_break_the_pinned_cfl():
    operator = tiny_operator(max_velocity=2000.0)
    fast = torch.full(GRID.shape, 6000.0, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"velocity maximum 6000 m/s exceeds max_velocity = "
                                         r"2000 m/s and makes the internal time step"):
        operator(fast)
    with pytest.warns(UserWarning, match=r"exceeds max_velocity = 2000 m/s \(still stable\)"):
        operator(torch.full(GRID.shape, 2100.0, dtype=torch.float64))


def test_warns_below_six_cells_per_wavelength():
    with pytest.warns(UserWarning, match=r"cells per wavelength"):
        tiny_operator(frequency=80.0)(smooth_model(GRID))


# -- helpers ---------------------------------------------------------------------
def test_ricker_and_peak_frequency():
    wavelet = ricker(12.5, 400, 1e-3, dtype=torch.float64)
    assert int(wavelet.argmax()) == 120 and float(wavelet.max()) == pytest.approx(1.0)
    assert peak_frequency(wavelet, 1e-3) == pytest.approx(12.5, abs=0.7)
    assert ricker(12.5, 400, 1e-3, peak_time=0.2).dtype == torch.float32
    with pytest.raises(ValueError, match=re.escape("freq must be a finite number > 0, got -1.0")):
        ricker(-1.0, 10, 1e-3)


def test_upsample_is_exact_for_band_limited_signals():
    t = torch.arange(64, dtype=torch.float64)
    signal = torch.sin(2 * np.pi * 3 * t / 64) + 0.5 * torch.cos(2 * np.pi * 7 * t / 64)
    fine = upsample(signal, 3)
    t_fine = torch.arange(192, dtype=torch.float64) / 3
    exact = torch.sin(2 * np.pi * 3 * t_fine / 64) + 0.5 * torch.cos(2 * np.pi * 7 * t_fine / 64)
    torch.testing.assert_close(fine, exact, rtol=0, atol=1e-12)


def test_functional_form_equals_operator():
    model = smooth_model(GRID)
    torch.testing.assert_close(acoustic_wave_2d(model, GRID, SOURCES, RECEIVERS, **TINY),
                               tiny_operator()(model))


def test_user_wavelet_per_shot_and_registry():
    single = ricker(25.0, 70, 1.2e-3, dtype=torch.float64)
    wavelet = torch.stack([single, 2 * single])
    operator = load_physics("acoustic")(GRID, SOURCES, RECEIVERS, **TINY, wavelet=wavelet)
    reference = tiny_operator()(smooth_model(GRID))  # the built-in Ricker of 25 Hz
    torch.testing.assert_close(operator(smooth_model(GRID)),
                               reference * torch.tensor([1.0, 2.0])[:, None, None],
                               rtol=1e-12, atol=0)
    # without frequency, the PML and sampling check use the wavelet's spectral peak
    # (moved up a little here because this short record cuts the wavelet's tail)
    estimated = tiny_operator(wavelet=single, frequency=None)
    assert estimated.frequency == pytest.approx(25.0, abs=1.5)


def test_compile_failure_falls_back_to_eager(monkeypatch):
    def broken(function, **kwargs):
        def fail(*args, **kw):
            raise RuntimeError("no compiler")
        return fail

    monkeypatch.setattr(torch, "compile", broken)
    monkeypatch.setattr(Kernels, "_shared", {})  # do not leave the broken kernels behind
    operator = tiny_operator(compile=True, native=False)
    with pytest.warns(RuntimeWarning, match="torch.compile of the acoustic step failed"):
        data = operator(smooth_model(GRID))
    torch.testing.assert_close(data, tiny_operator()(smooth_model(GRID)))


# -- bad input -------------------------------------------------------------------
def test_errors():
    model = smooth_model(GRID)
    operator = tiny_operator()
    with pytest.raises(ValueError, match=re.escape(
            "velocity must be > 0 m/s everywhere, got minimum -1 m/s")):
        operator(torch.where(model > 2300, -1.0, model))
    bad = model.clone()
    bad[2, 3] = float("inf")
    with pytest.raises(ValueError, match="must be finite"):
        operator(bad)
    with pytest.raises(ValueError, match=re.escape("accuracy must be one of 2, 4, 6 or 8, got 3")):
        tiny_operator(accuracy=3)
    with pytest.raises(TypeError, match=re.escape("accuracy must be an integer, got float")):
        tiny_operator(accuracy=4.0)
    with pytest.raises(ValueError, match=re.escape("sources must lie inside the grid x in "
                                                   "[-50.0, 110.0], z in [20.0, 116.0] m")):
        AcousticWave2D(GRID, [[0.0, 10.0]], RECEIVERS, **TINY)
    with pytest.raises(ValueError, match=re.escape("receivers must lie inside the grid")):
        AcousticWave2D(GRID, SOURCES, [[200.0, 30.0]], **TINY)
    with pytest.raises(ValueError, match=re.escape(
            "wavelet must have shape (nt,) = (70,) or (n_shots, nt) = (2, 70), got (69,)")):
        tiny_operator(wavelet=ricker(25.0, 69, 1.2e-3))
    with pytest.raises(ValueError, match=re.escape("give either wavelet")):
        tiny_operator(frequency=None)
    with pytest.raises(ValueError, match=re.escape("pml_width must be an integer >= 0 (cells), "
                                                   "got -2")):
        tiny_operator(pml_width=-2)
    with pytest.raises(ValueError, match=re.escape("dt must be a finite number in [1e-12, "
                                                   "1e+06] s, got 0.0")):
        tiny_operator(dt=0.0)
    with pytest.raises(ValueError, match=re.escape("gradient must be one of ['autograd', "
                                                   "'checkpoint'], got 'adjoint'")):
        tiny_operator(gradient="adjoint")
    with pytest.raises(ValueError, match=re.escape("compile must be True, False or 'auto'")):
        tiny_operator(compile="yes")
    pytest.importorskip("deepwave")
    with pytest.raises(ValueError, match=re.escape("free_surface=True is only available with "
                                                   "engine='torch'")):
        tiny_operator(engine="deepwave", free_surface=True)


def test_missing_deepwave_gives_a_clear_import_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_deepwave(name, *args, **kwargs):
        if name == "deepwave":
            raise ImportError("No module named 'deepwave'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_deepwave)
    with pytest.raises(ImportError, match=re.escape("engine='deepwave' needs the optional "
                                                    "package deepwave")):
        tiny_operator(engine="deepwave")


def test_zero_wavelet_is_refused():
    with pytest.raises(ValueError, match=re.escape(
            "wavelet must not be zero at every time sample (no source, zero data, no dominant "
            "frequency); got an all-zero wavelet for 2 of 2 shot(s)")):
        tiny_operator(wavelet=torch.zeros(70), frequency=None)


def test_tiny_dt_and_velocity_that_underflow_are_refused():
    with pytest.raises(ValueError, match=re.escape("dt must be a finite number in [1e-12, 1e+06] "
                                                   "s, got 5e-324")):
        tiny_operator(dt=5e-324)
    with pytest.raises(ValueError, match=re.escape("velocity must be >= 1.24e-151 m/s for dt = "
                                                   "0.0012 s in torch.float64")):
        tiny_operator()(torch.full(GRID.shape, 1e-200, dtype=torch.float64))


def test_huge_dt_or_nt_is_refused_before_any_work():
    with pytest.raises(ValueError, match=re.escape(
            "dt = 10000 s needs 5545269 internal (CFL) steps per sample: 3.88e+08 time steps "
            "for nt = 70, more than max_time_steps = 1e+06")):
        tiny_operator(dt=1e4)
    # without max_velocity the step count is known at the call
    lazy = tiny_operator(dt=1e4, max_velocity=None, frequency=None,
                         wavelet=ricker(25.0, 70, 1.2e-3))
    with pytest.raises(ValueError, match=re.escape("dt = 10000 s needs 5237198 internal")):
        lazy(smooth_model(GRID))
    with pytest.raises(ValueError, match=re.escape(
            "nt = 10000000000 samples make 1e+10 time steps, more than max_time_steps = 1e+06")):
        tiny_operator(nt=10**10)
    with pytest.raises(ValueError, match=re.escape(
            "nt makes the propagation (nt = 200000 samples, 2 shot(s), 4 receiver(s), padded "
            "grid 26 x 30, gradient='autograd') need about 9.32 GiB, more than max_memory_gb = "
            "8 GiB; use fewer samples")):
        tiny_operator(nt=200_000, gradient="autograd", max_velocity=None)
    # the override lets a user with a big machine go ahead
    tiny_operator(nt=200_000, gradient="autograd", max_velocity=None, max_memory_gb=16)


def test_ricker_refuses_a_wavelet_larger_than_memory():
    with pytest.raises(ValueError, match=re.escape("nt makes the Ricker wavelet of nt = "
                                                   "10000000000 samples (four float64 arrays) "
                                                   "need about 298 GiB, more than max_memory_gb "
                                                   "= 8 GiB")):
        ricker(10.0, 10**10, 1e-3)


def test_wavelet_helpers_refuse_what_they_cannot_use():
    with pytest.raises(ValueError, match=re.escape(
            "freq must be at most the Nyquist frequency 1 / (2 dt) = 500 Hz for dt = 0.001 s, "
            "got 1e+300 Hz")):
        ricker(1e300, 10, 1e-3)
    assert torch.isfinite(ricker(10.0, 10, 1e-3, peak_time=1e300)).all()
    with pytest.raises(ValueError, match=re.escape("wavelet must not be zero everywhere (it has "
                                                   "no peak frequency), got all zeros")):
        peak_frequency(torch.zeros(50), 1e-3)
    with pytest.raises(ValueError, match=re.escape(
            "frequency must be a finite number in [1e-12, 416.667] Hz (the Nyquist frequency "
            "of dt), got 1000.0")):
        tiny_operator(frequency=1000.0)


# -- compilation policy (dynamo's graph count; the "eager" backend skips code generation) ----
@pytest.fixture
def count_graphs(monkeypatch):
    monkeypatch.setattr(Kernels, "_shared", {})
    monkeypatch.setattr(Kernels, "backend", "eager")
    torch._dynamo.reset()
    counters = torch._dynamo.utils.counters
    counters.clear()
    yield lambda: counters["stats"]["unique_graphs"]
    torch._dynamo.reset()


def test_repeated_calls_compile_once(count_graphs):
    model = smooth_model(GRID)
    operator = tiny_operator(compile=True, native=False)  # forward-only: the torch step
    expected = operator(model)
    compiled = count_graphs()
    assert compiled == 1  # the step, traced once
    operator(model)
    tiny_operator(compile=True, native=False)(model)  # a new operator shares the step
    assert count_graphs() == compiled
    torch.testing.assert_close(operator(model), expected, rtol=0, atol=0)
    # the gradient adds the replay and the adjoint step, once; same numbers as eager
    cotangent = random_like(expected, seed=3)
    gradient = operator.vjp(model, cotangent)
    assert count_graphs() == 3
    torch.testing.assert_close(operator.vjp(model, cotangent), gradient, rtol=0, atol=0)
    assert count_graphs() == 3
    torch.testing.assert_close(gradient, tiny_operator().vjp(model, cotangent), rtol=1e-10,
                               atol=0)


def test_auto_compiles_once_the_work_adds_up(count_graphs, monkeypatch):
    import jointinv.physics.acoustic as acoustic

    operator = tiny_operator(compile="auto", native=False)
    shape = operator.layout().shape
    one_forward = operator.n_shots * shape[0] * shape[1] * operator.nt
    monkeypatch.setattr(acoustic, "AUTO_COMPILE_CELL_STEPS", 1.5 * one_forward)
    model = smooth_model(GRID)
    eager = operator(model)
    assert count_graphs() == 0  # one forward: less work than a compilation
    torch.testing.assert_close(operator(model), eager)  # the second adds up: compiled
    assert count_graphs() == 1
    for _ in range(2):
        operator(model)
    assert count_graphs() == 1
    assert operator.compile == "auto"


def test_downsample_keeps_the_band_and_is_the_transpose_of_upsample():
    t = torch.arange(192, dtype=torch.float64) / 3  # fine samples of a 64-sample record
    low = torch.sin(2 * np.pi * 3 * t / 64)
    high = 0.5 * torch.cos(2 * np.pi * 40 * t / 64)  # above the coarse Nyquist frequency (32)
    torch.testing.assert_close(downsample(low + high, 3), low[::3], rtol=0, atol=1e-12)
    x = random_like(torch.empty(2, 64, dtype=torch.float64), seed=1)
    y = random_like(torch.empty(2, 192, dtype=torch.float64), seed=2)
    # <up x, y> = ratio <x, down y>: the adjoint injects into every internal step
    assert float((upsample(x, 3) * y).sum()) == pytest.approx(float(3 * (x * downsample(y, 3))
                                                                    .sum()), rel=1e-12)
    with pytest.raises(ValueError, match=re.escape("multiple of ratio = 3, got 100")):
        downsample(torch.zeros(100), 3)

"""Property-based bad-input suite: nothing passes silently.

Hypothesis draws calls to the public API (Grid, Data, the three operators'
constructors and forward, DC surveys, wavelets, waveform misfits and
``jointinv.validation``). Each call has either only good arguments or exactly
one bad one, and its outcome is classified:

- good: valid input runs and returns finite numbers (warnings allowed);
- named: bad input raises ``ValueError``/``TypeError`` whose message names the
  bad argument;
- silent: bad input is accepted, or the output holds NaN or inf;
- unnamed: any other exception (or a timeout), a message without the
  argument's name, or an error for valid input.

The test prints the four counts and fails on any silent or unnamed outcome.
A case that runs longer than ``CASE_SECONDS`` counts as unnamed (a hang).
"""

from __future__ import annotations

import collections
import re
import signal
import warnings
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jointinv.physics import dc_survey
from jointinv.physics.acoustic import AcousticWave2D
from jointinv.physics.dcresistivity import DCResistivity2D
from jointinv.physics.traveltime import StraightRayTomography

import jointinv.validation as validation
import jointinv.waveform_misfits as misfits
from jointinv import Data, Grid
from jointinv.wavelets import peak_frequency, ricker

EXAMPLES_PER_AREA = 60
CASE_SECONDS = 5.0

GRID = Grid(nx=6, nz=5, dx=10.0, dz=8.0)
WAVE_GRID = Grid(nx=10, nz=8, dx=10.0, dz=10.0)
NAN, INF = float("nan"), float("inf")

# -- argument strategies: good values and bad ones ---------------------------------
reals = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e3, max_value=1e3)
bad_reals = st.sampled_from([NAN, INF, -INF, "1.0", None, [1.0], True])
bad_positive = st.sampled_from([0.0, -1.0, NAN, INF, 5e-324, "1.0", None])
bad_counts = st.sampled_from([0, -3, 2.5, "4", None, True])


def points(x_max: float, z_max: float, min_size=1, max_size=4):
    point = st.tuples(st.floats(0.0, x_max), st.floats(0.0, z_max))
    return st.lists(point, min_size=min_size, max_size=max_size).map(np.array)


bad_points = st.sampled_from([
    np.array([[1e6, 1.0]]), np.array([[NAN, 1.0]]), np.zeros((2, 3)), np.zeros((0, 2)),
    "sources", None, [[1.0, "a"]],
])


@dataclass
class Case:
    """One call: ``function(**kwargs)``; ``bad`` names the one bad argument (None: valid)."""

    area: str
    function: object
    kwargs: dict = field(default_factory=dict)
    bad: str | None = None
    warns: bool = False

    def __repr__(self):
        shown = {k: _short(v) for k, v in self.kwargs.items()}
        return f"{self.area}: bad={self.bad!r} {shown}"


def _short(value):
    if isinstance(value, (torch.Tensor, np.ndarray)) and value.size != () and (
            value.numel() if isinstance(value, torch.Tensor) else value.size) > 6:
        return f"<{type(value).__name__} {tuple(value.shape)}>"
    return value


@st.composite
def calls(draw, area, function, spec, extra=None):
    """A Case with all-good arguments or exactly one bad one, drawn from ``spec``.

    ``spec`` maps argument names to ``(good, bad)`` strategies; ``extra``
    (fixed keyword arguments) is passed as is.
    """
    bad = draw(st.sampled_from([None, None, *spec]))
    kwargs = {name: draw(wrong if name == bad else good) for name, (good, wrong) in spec.items()}
    return Case(area, function, {**(extra or {}), **kwargs}, bad)


# -- the areas --------------------------------------------------------------------
def _grid(**kwargs):
    return Grid(**kwargs).cell_centers


grid_calls = calls("Grid", _grid, {
    "nx": (st.integers(1, 60), st.one_of(bad_counts, st.just(10**10))),
    "nz": (st.integers(1, 60), st.one_of(bad_counts, st.just(10**10))),
    "dx": (st.floats(1e-3, 1e3), st.one_of(bad_positive, st.just(1e300))),
    "dz": (st.floats(1e-3, 1e3), st.one_of(bad_positive, st.just(1e300))),
    "x0": (reals, st.one_of(bad_reals, st.just(1e300))),
    "z0": (reals, st.one_of(bad_reals, st.just(-1e300))),
})


def _grid_argument(grid, use):
    if use == "crosshole":
        return StraightRayTomography.crosshole(grid, 2, 2).matrix.toarray()
    if use == "traveltime":
        return StraightRayTomography(grid, [[0.0, 5.0]], [[60.0, 5.0]]).matrix.toarray()
    if use == "acoustic":
        return AcousticWave2D(grid, [[5.0, 5.0]], [[50.0, 5.0]], dt=1e-3, nt=20,
                              frequency=20.0, compile=False).source_amplitudes
    return dc_survey.surface_line("dipole-dipole", 0.0, 50.0, 10.0, 2).check_inside(grid)


grid_argument_calls = calls("grid argument", _grid_argument, {
    "grid": (st.just(Grid(nx=6, nz=5, dx=10.0, dz=10.0)),
             st.sampled_from(["5x4", (4, 5), None, {"nx": 4}, 3.0])),
}, extra={}).flatmap(lambda case: st.sampled_from(
    ["crosshole", "traveltime", "acoustic", "dc"]).map(
    lambda use: Case(case.area, case.function, {**case.kwargs, "use": use}, case.bad)))


@st.composite
def data_calls(draw):
    n = draw(st.integers(1, 12))
    values = st.lists(reals, min_size=n, max_size=n).map(np.array)
    convert = draw(st.sampled_from([np.asarray, torch.as_tensor, list]))
    spec = {
        "observed": (values.map(convert), st.sampled_from(
            [np.zeros(0), np.full(n, NAN), np.full(n, INF), "abc", None, [[1.0], [2.0, 3.0]],
             np.ones(n, dtype=complex)])),
        "standard_deviation": (
            st.one_of(st.floats(1e-3, 1e3), st.lists(st.floats(1e-3, 1e3), min_size=n,
                                                     max_size=n).map(np.array)),
            st.sampled_from([0.0, -1.0, INF, NAN, 5e-324, np.ones(n + 1), "x",
                             np.full(n, -2.0)])),
        "relative_error": (st.floats(0.0, 1.0), st.sampled_from([-1.0, NAN, INF, "a"])),
        "noise_floor": (st.floats(0.0, 10.0), st.sampled_from([-1.0, NAN, INF, "a"])),
        "clean": (st.one_of(st.none(), values), st.sampled_from(
            [np.full(n, NAN), np.ones(n + 2), "clean", np.zeros((n, 2))])),
    }
    return draw(calls("Data", _data, spec))


def _data(**kwargs):
    data = Data(**kwargs)
    return data.chi_squared(data.observed + 1.0), data.standard_deviation


def _from_clean(**kwargs):
    data = Data.from_clean(**kwargs)
    return data.observed, data.standard_deviation


from_clean_calls = calls("Data.from_clean", _from_clean, {
    "clean": (st.lists(reals, min_size=1, max_size=9).map(np.array),
              st.sampled_from([np.zeros(0), [NAN], "clean", None])),
    "relative_error": (st.floats(0.0, 1.0), st.sampled_from([-1.0, NAN, "a"])),
    "noise_floor": (st.floats(1e-3, 10.0), st.sampled_from([-1.0, INF, "a"])),
    "seed": (st.integers(0, 2**31), st.sampled_from([-1, 2**64, 1.5, "seed"])),
})


def _traveltime(model_value, model_dtype, **kwargs):
    operator = StraightRayTomography(GRID, **kwargs)
    model = (torch.full(GRID.shape, model_value, dtype=model_dtype)
             if isinstance(model_value, float) else model_value)
    return operator(model)


traveltime_calls = calls("traveltime", _traveltime, {
    "sources": (points(60.0, 40.0), bad_points),
    "receivers": (points(60.0, 40.0), bad_points),
    "pairs": (st.just(None), st.sampled_from([[[0, 99]], [[0.5, 1.0]], np.zeros((0, 2), int),
                                              [0, 1], "all"])),
    "kernel": (st.just("exact"), st.sampled_from(["fast", 3, None])),
    "model_value": (st.floats(100.0, 8000.0), st.sampled_from(
        [0.0, -1.0, NAN, INF, 5e-324, 1e-200, torch.ones(3, 3), "fast", torch.ones(5, 6,
                                                                             dtype=torch.int64)])),
    "model_dtype": (st.sampled_from([torch.float32, torch.float64]), st.just(torch.float16)),
}).map(lambda case: _rename(case, {"model_value": "model", "model_dtype": "model"}))


def _rename(case, names):
    case.bad = names.get(case.bad, case.bad)
    return case


def _acoustic(**kwargs):
    operator = AcousticWave2D(WAVE_GRID, compile=False, **kwargs)
    return operator(torch.full(WAVE_GRID.shape, 2000.0, dtype=torch.float64))


acoustic_calls = calls("acoustic", _acoustic, {
    "sources": (points(100.0, 80.0, max_size=2), bad_points),
    "receivers": (points(100.0, 80.0, max_size=3), bad_points),
    "dt": (st.floats(5e-4, 2e-3), st.sampled_from([0.0, -1.0, NAN, 1e4, 5e-324, "0.001"])),
    "nt": (st.integers(10, 40), st.sampled_from([0, -5, 10**10, 2.5, "40"])),
    "frequency": (st.floats(10.0, 25.0), st.sampled_from([0.0, -1.0, NAN, INF, 1e300, "x"])),
    "pml_width": (st.integers(0, 5), st.sampled_from([-1, 2.5, "5"])),
    "accuracy": (st.sampled_from([2, 4, 6, 8]), st.sampled_from([3, 0, "4", 4.0])),
    "max_velocity": (st.one_of(st.none(), st.floats(2500.0, 4000.0)),
                     st.sampled_from([0.0, NAN, -1.0, "fast"])),
})


def _acoustic_wavelet(wavelet):
    return AcousticWave2D(WAVE_GRID, [[15.0, 15.0]], [[85.0, 15.0]], dt=1e-3, nt=30,
                          wavelet=wavelet, compile=False).source_amplitudes


acoustic_wavelet_calls = calls("acoustic wavelet", _acoustic_wavelet, {
    "wavelet": (st.just(ricker(20.0, 30, 1e-3, dtype=torch.float64)),
                st.sampled_from([torch.zeros(30), torch.full((30,), NAN), torch.ones(29),
                                 np.ones(30), torch.zeros(2, 30)])),
})


def _surface_line(**kwargs):
    return dc_survey.surface_line(**kwargs).geometric_factor()


@st.composite
def surface_line_calls(draw):
    spacing = draw(st.sampled_from([5.0, 10.0, 25.0]))
    start = draw(st.floats(-100.0, 0.0))
    end = start + spacing * draw(st.integers(4, 12))
    return draw(calls("surface_line", _surface_line, {
        "array": (st.sampled_from(dc_survey.LINE_ARRAYS), st.sampled_from(["dd", 3, None])),
        "start": (st.just(start), st.sampled_from([NAN, INF, "0", end + 1.0])),
        "end": (st.just(end), st.sampled_from([NAN, start - 10.0, end + 0.37 * spacing])),
        "electrode_spacing": (st.just(spacing), st.sampled_from([0.0, -1.0, NAN, 1e-4, "5"])),
        "n_max": (st.one_of(st.integers(1, 10), st.just(10**9)), bad_counts),
    }))


def _quadrupoles(**kwargs):
    return dc_survey.Quadrupoles(**kwargs).geometric_factor()


quadrupole_calls = calls("Quadrupoles", _quadrupoles, {
    "a": (st.just([[0.0, 0.0], [10.0, 0.0]]), st.sampled_from(
        [[[NAN, 0.0], [1.0, 0.0]], np.zeros((2, 3)), "a", np.zeros((0, 2))])),
    "b": (st.sampled_from([None, [[5.0, 0.0], [15.0, 0.0]]]),
          st.sampled_from([[[INF, 0.0], [1.0, 0.0]], [[5.0, 0.0]]])),
    "m": (st.just([[30.0, 0.0], [40.0, 0.0]]), st.sampled_from([None, [[1.0, 2.0, 3.0]]])),
    "n": (st.sampled_from([None, [[35.0, 0.0], [45.0, 0.0]]]),
          st.sampled_from([[[30.0, 0.0], [40.0, 0.0]], "n"])),
})


def _from_electrodes(**kwargs):
    return dc_survey.from_electrodes(**kwargs).geometric_factor()


def _uneven_line(n):
    return st.lists(st.floats(0.5, 10.0), min_size=n, max_size=n).map(
        lambda gaps: np.column_stack([np.cumsum(gaps), np.zeros(n)]))


from_electrodes_calls = calls("from_electrodes", _from_electrodes, {
    "positions": (st.integers(6, 15).flatmap(_uneven_line), st.sampled_from(
        [np.zeros((5, 2)), np.array([[0.0, 0.0], [1.0, NAN]]), "line", np.zeros((0, 2)),
         np.column_stack([np.arange(20_000.0), np.zeros(20_000)])])),
    "array": (st.sampled_from(dc_survey.LINE_ARRAYS), st.sampled_from(["dd", 0])),
    "n_max": (st.integers(1, 6), bad_counts),
})


_CORRUPTIONS = {
    "drop a data row": lambda lines: lines[:-2] + lines[-1:],
    "a word for a number": lambda lines: lines[:3] + ["x 0.0"] + lines[4:],
    "electrode number too large": lambda lines: lines[:-2] + ["1 2 3 99 100.0"] + lines[-1:],
    "no column line": lambda lines: lines[:1] + lines[2:],
    "empty file": lambda lines: [],
    "negative count": lambda lines: ["-3"] + lines[1:],
}


def _unified_file(positions, corruption):
    """Write a survey in pyGIMLi's format, corrupt it (or not), read it back."""
    import tempfile
    from pathlib import Path

    from jointinv.physics.dc_files import read_unified, write_unified

    survey = dc_survey.from_electrodes(positions, "dipole-dipole", n_max=2)
    with tempfile.TemporaryDirectory() as folder:
        path = write_unified(Path(folder) / "line.ohm", survey, {"rhoa": 100.0})
        if corruption is not None:
            lines = path.read_text().splitlines()
            path.write_text("\n".join(_CORRUPTIONS[corruption](lines)) + "\n")
        back, columns = read_unified(path)
    return back.geometric_factor(), columns["rhoa"]


unified_file_calls = st.integers(6, 12).flatmap(_uneven_line).flatmap(
    lambda positions: st.one_of(
        st.just(Case("unified file", _unified_file, {"positions": positions,
                                                     "corruption": None}, None)),
        st.sampled_from(sorted(_CORRUPTIONS)).map(
            lambda corruption: Case("unified file", _unified_file,
                                    {"positions": positions, "corruption": corruption},
                                    "path"))))


def _dc(**kwargs):
    model = kwargs.pop("model")
    grid = Grid(nx=12, nz=4, dx=10.0, dz=10.0, x0=-60.0)
    line = dc_survey.surface_line("dipole-dipole", -30.0, 30.0, 12.0, n_max=3)
    operator = DCResistivity2D(grid, kwargs.pop("survey", line), padding_cells=4,
                               padding_factor=1.5, **kwargs)
    return operator(torch.full(grid.shape, model, dtype=torch.float64)
                    if isinstance(model, float) else model)


dc_calls = calls("dc resistivity", _dc, {
    "nky": (st.integers(3, 7), st.sampled_from([0, 2, 2.5, "11"])),
    "data_type": (st.sampled_from(["apparent_resistivity", "volt"]), st.sampled_from(
        ["rho", 1])),
    "survey": (st.just(dc_survey.surface_line("dipole-dipole", -30.0, 30.0, 12.0, n_max=3)),
               st.sampled_from(["line", None, [[0.0, 0.0]]])),
    "model": (st.floats(0.0, 4.0), st.sampled_from([NAN, INF, torch.ones(3, 3), "2"])),
})


def _ricker(**kwargs):
    return ricker(**kwargs)


ricker_calls = calls("ricker", _ricker, {
    "freq": (st.floats(1.0, 40.0), st.sampled_from([0.0, -1.0, NAN, 1e300, "a"])),
    "nt": (st.integers(2, 500), st.sampled_from([0, 10**10, 1.5])),
    "dt": (st.floats(1e-4, 1e-2), st.sampled_from([0.0, NAN, -1e-3, "dt"])),
    "peak_time": (st.one_of(st.none(), st.floats(-1.0, 1e6)), st.sampled_from([NAN, INF, "a"])),
})


def _peak_frequency(**kwargs):
    return peak_frequency(**kwargs)


peak_calls = calls("peak_frequency", _peak_frequency, {
    "wavelet": (st.just(ricker(20.0, 100, 1e-3)), st.sampled_from(
        [torch.zeros(100), torch.full((100,), NAN), torch.ones(1), [1.0, 2.0]])),
    "dt": (st.floats(1e-4, 1e-2), st.sampled_from([0.0, NAN, "dt"])),
})


def _misfit(misfit, power=None, **kwargs):
    function = misfits.get_waveform_misfit(misfit)
    return function(**kwargs) if power is None else function(power=power, **kwargs)


traces = st.integers(2, 40).map(lambda nt: torch.randn(2, 3, nt, dtype=torch.float64,
                                                        generator=torch.Generator().manual_seed(nt)))
misfit_calls = calls("waveform misfit", _misfit, {
    "misfit": (st.sampled_from(list(misfits.WAVEFORM_MISFITS)), st.sampled_from(["l1", 2])),
    "predicted": (st.just(torch.linspace(-1, 1, 60, dtype=torch.float64).reshape(2, 3, 10)),
                  st.sampled_from([torch.full((2, 3, 10), NAN), torch.ones(2, 3, 1),
                                   [1.0, 2.0]])),
    "observed": (st.one_of(traces.map(lambda t: t[..., :10] if t.shape[-1] >= 10 else
                                      torch.zeros(2, 3, 10, dtype=torch.float64)),
                           st.just(Data(torch.ones(2, 3, 10, dtype=torch.float64),
                                        noise_floor=0.1))),
                 st.sampled_from([torch.ones(2, 3, 9), torch.full((2, 3, 10), INF), "obs"])),
})


_VALIDATORS = {
    "positive_float": validation.check_positive_float,
    "positive_int": validation.check_positive_int,
    "nonnegative_float": validation.check_nonnegative_float,
    "seed": validation.check_seed,
    "points": validation.check_points,
    "model": validation.as_model_tensor,
    "choice": lambda name, value: validation.check_choice(name, value, ("a", "b")),
}
if hasattr(validation, "check_real_range"):  # added with this suite
    _VALIDATORS.update({
        "real_range": lambda name, value: validation.check_real_range(name, value, -1.0, 1.0),
        "int_range": lambda name, value: validation.check_int_range(name, value, 0, 9),
        "data": validation.as_data_tensor,
    })


def _validator(kind, value):
    return _VALIDATORS[kind]("alpha", value)


_GOOD_VALUES = {
    "positive_float": st.floats(1e-300, 1e300), "positive_int": st.integers(1, 10**6),
    "nonnegative_float": st.floats(0.0, 1e300), "seed": st.integers(0, 2**62),
    "points": points(10.0, 10.0), "model": st.just(np.ones((3, 4))),
    "choice": st.sampled_from(["a", "b"]), "real_range": st.floats(-1.0, 1.0),
    "int_range": st.integers(0, 9), "data": st.lists(reals, min_size=1).map(np.array),
}
_BAD_VALUES = {
    "positive_float": st.sampled_from([0.0, -1.0, NAN, INF, "1.0", None]),
    "positive_int": bad_counts,
    "nonnegative_float": st.sampled_from([-1.0, NAN, INF, "0"]),
    "seed": st.sampled_from([-1, 2**63, 1.5, "7"]), "points": bad_points,
    "model": st.sampled_from(["m", [[1.0], [1.0, 2.0]], np.ones(3, dtype=complex),
                              torch.ones(3, dtype=torch.float16), None]),
    "choice": st.sampled_from(["c", 1, None]),
    "real_range": st.sampled_from([1.5, NAN, -INF, "0", None]),
    "int_range": st.sampled_from([10, -1, 2.0, "3"]),
    "data": st.sampled_from([np.zeros(0), [NAN], "d", None, np.ones(2, dtype=complex)]),
}
validation_calls = st.sampled_from(sorted(_VALIDATORS)).flatmap(
    lambda kind: st.one_of(
        _GOOD_VALUES[kind].map(lambda v: Case("validation", _validator,
                                              {"kind": kind, "value": v}, None)),
        _BAD_VALUES[kind].map(lambda v: Case("validation", _validator,
                                             {"kind": kind, "value": v}, "alpha"))))

AREAS = [grid_calls, grid_argument_calls, data_calls(), from_clean_calls, traveltime_calls,
         acoustic_calls, acoustic_wavelet_calls, surface_line_calls(), quadrupole_calls,
         dc_calls, ricker_calls, peak_calls, misfit_calls, validation_calls]
if hasattr(dc_survey, "from_electrodes"):  # lets the suite run on code from before it, too
    AREAS[9:9] = [from_electrodes_calls, unified_file_calls]



# -- running and classifying ------------------------------------------------------
class _Timeout(BaseException):
    """A case ran longer than CASE_SECONDS (BaseException: library code cannot catch it)."""


def _alarm(signum, frame):
    raise _Timeout


def _finite(value) -> bool:
    if isinstance(value, (tuple, list)):
        return all(_finite(item) for item in value)
    if isinstance(value, torch.Tensor):
        return bool(torch.isfinite(value.detach()).all())
    if isinstance(value, (np.ndarray, float, int)):
        return bool(np.all(np.isfinite(value)))
    return True


def _names(message: str, name: str) -> bool:
    """Whether ``message`` names ``name`` as a word (an electrode role also as A, B, M, N)."""
    names = {name, name.upper()} if name in ("a", "b", "m", "n") else {name}
    return any(re.search(rf"(?<![\w]){re.escape(each)}(?![\w])", message) for each in names)


def classify(case: Case) -> tuple[str, str]:
    """(outcome, detail) of running ``case``."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            output = case.function(**case.kwargs)
    except _Timeout:
        return "unnamed", f"no answer within {CASE_SECONDS} s"
    except (ValueError, TypeError) as error:
        if case.bad is None:
            return "unnamed", f"valid input refused: {type(error).__name__}: {error}"
        if _names(str(error), case.bad):
            return "named", ""
        return "unnamed", f"message does not name {case.bad!r}: {type(error).__name__}: {error}"
    except Exception as error:  # noqa: BLE001 - classifying every exception is the point
        return "unnamed", f"{type(error).__name__}: {error}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if not _finite(output):
        return "silent", "NaN or inf in the output"
    if case.bad is not None:
        return "silent", f"bad {case.bad!r} accepted"
    return "good", ""


def test_bad_inputs_are_named_and_valid_inputs_work(capsys):
    counts = collections.Counter()
    problems = []

    def record(case):
        outcome, detail = classify(case)
        counts[outcome] += 1
        counts[case.area] += 1
        if outcome in ("silent", "unnamed"):
            problems.append(f"{outcome}: {case!r}\n    {detail[:300]}")

    # one search per area, so every area gets its share of the examples
    for area in AREAS:
        settings(max_examples=EXAMPLES_PER_AREA, deadline=None, derandomize=True,
                 database=None, suppress_health_check=list(HealthCheck))(given(area)(record))()
    total = sum(counts[key] for key in ("good", "named", "silent", "unnamed"))
    with capsys.disabled():
        print(f"\nfuzz cases: {total}  good={counts['good']}  named={counts['named']}  "
              f"silent={counts['silent']}  unnamed={counts['unnamed']}")
        areas = sorted(key for key in counts if key not in ("good", "named", "silent",
                                                            "unnamed"))
        print("  per area: " + ", ".join(f"{area} {counts[area]}" for area in areas))
        for problem in problems[:60]:
            print("  " + problem)
    assert total >= 300, f"only {total} cases ran"
    assert not problems, f"{len(problems)} silent or unnamed outcome(s), listed above"


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__, "-q", "-s"])

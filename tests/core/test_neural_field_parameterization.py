"""NeuralField parameterization: coordinates, heads, seeding, physics through invert,
gradients, the annealed objective, errors."""

import re

import numpy as np
import pytest
import torch

import jointinv
from jointinv import Grid
from jointinv.neural_field import Annealing, NeuralField, OutputHead, grid_coordinates
from jointinv.testing import gradient_check

SMALL = (16, 16)


@pytest.fixture(scope="module")
def tomography():
    grid = Grid(nx=8, nz=10, dx=5.0, dz=5.0)
    depths = np.linspace(2.5, 47.5, 7)
    sources = np.column_stack([np.zeros_like(depths), depths])
    receivers = np.column_stack([np.full_like(depths, 40.0), depths])
    operator = jointinv.create_physics("traveltime", grid, sources, receivers)
    true = torch.full(grid.shape, 2000.0, dtype=torch.float64)
    true[3:7, 2:6] = 1600.0
    return operator, true, operator.simulate(true, relative_error=0.01, noise_floor=1e-6, seed=0)


def slowness_field(grid, **options):
    head = OutputHead("sigmoid", lower=1 / 2500, upper=1 / 1400, map="reciprocal")
    return NeuralField(grid, {"velocity": head}, widths=SMALL, **options)


def test_coordinates_span_minus_one_to_one_in_c_order():
    coordinates = grid_coordinates(Grid(nx=3, nz=2, dx=1.0, dz=4.0))
    expected = [[-1, -1], [0, -1], [1, -1], [-1, 1], [0, 1], [1, 1]]  # (x, z), x fastest
    torch.testing.assert_close(coordinates, torch.tensor(expected, dtype=torch.float64))


@pytest.mark.parametrize("head, low, high", [
    (OutputHead("tanh", scale=5.0, offset=5.0), 0.0, 10.0),
    (OutputHead("sigmoid", lower=0.5, upper=3.0), 0.5, 3.0),
    (OutputHead("softplus", offset=0.01), 0.01, np.inf),
    (OutputHead("none", scale=2.0, offset=1.0), -np.inf, np.inf),
])
def test_heads_stay_in_their_ranges(head, low, high):
    raw = torch.linspace(-30.0, 30.0, 61, dtype=torch.float64)
    values = head(raw)
    assert float(values.min()) >= low and float(values.max()) <= high
    assert float(values[31] - values[29]) > 0                # increasing


def test_one_network_two_properties_in_their_units():
    grid = Grid(nx=6, nz=4, dx=10.0, dz=10.0)
    heads = {"velocity": OutputHead("sigmoid", lower=1 / 4000, upper=1 / 1500, map="reciprocal"),
             "log10 resistivity": OutputHead("sigmoid", lower=0.0, upper=3.0)}
    field = NeuralField(grid, heads, widths=SMALL)
    models = field()
    assert set(models) == set(heads) and field.network.output.out_features == 2
    assert models["velocity"].shape == grid.shape
    velocity = models["velocity"].detach()
    assert 1500 < float(velocity.min()) and float(velocity.max()) < 4000
    values = models["log10 resistivity"].detach()
    assert 0 < float(values.min()) and float(values.max()) < 3
    # the regularization reads the head's variable (slowness) without a round trip
    maps = {"velocity": jointinv.get_map("reciprocal"), "log10 resistivity":
            jointinv.get_map("identity")}
    variables = field.variables(models, maps)
    torch.testing.assert_close(variables["velocity"], 1.0 / models["velocity"])


def test_same_seed_same_field_and_global_generator_untouched():
    grid = Grid(nx=5, nz=4, dx=1.0, dz=1.0)
    state = torch.random.get_rng_state()
    first = slowness_field(grid, seed=3, encoding="gaussian", n_features=8)()["velocity"]
    assert torch.equal(torch.random.get_rng_state(), state)
    again = slowness_field(grid, seed=3, encoding="gaussian", n_features=8)()["velocity"]
    other = slowness_field(grid, seed=4, encoding="gaussian", n_features=8)()["velocity"]
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_field_drives_travel_times_through_invert(tomography):
    operator, true, data = tomography
    field = slowness_field(operator.grid, encoding="basic")
    start = torch.full_like(true, 2000.0)
    result = jointinv.invert(operator, data, start, solver="adam", lr=1e-2, beta=1e-3,
                             parameterization=field, max_iterations=20, progress=False)
    history = result.history
    assert history[-1]["phi_d[velocity]"] < 0.2 * history[0]["phi_d[velocity]"]
    assert result.model.shape == operator.grid.shape


def test_gradient_of_the_misfit_through_the_operator_and_field(tomography):
    operator, _, data = tomography
    field = slowness_field(operator.grid, dtype=torch.float64)
    names = [name for name, _ in field.named_parameters()]
    shapes = [p.shape for p in field.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in field.parameters()])

    def misfit(theta):
        pieces = torch.split(theta, [int(np.prod(s)) for s in shapes])
        params = {n: p.reshape(s) for n, p, s in zip(names, pieces, shapes)}
        velocity = torch.func.functional_call(field, params, ())["velocity"]
        return (((operator(velocity) - data.observed) / data.standard_deviation) ** 2).sum()

    analytic, finite = gradient_check(misfit, flat, seed=1, step=1e-6, rtol=1e-5)
    assert analytic != 0.0


def test_annealing_schedules():
    exponential = Annealing(decay=800.0)
    assert exponential.beta(0) == 1.0 and exponential.beta(800) == pytest.approx(np.exp(-1))
    linear = Annealing("linear", initial=0.8, final=0.2, decay=10)
    assert [linear.beta(t) for t in (0, 5, 10, 50)] == pytest.approx([0.8, 0.5, 0.2, 0.2])
    assert Annealing("constant", initial=0.0).weights(123) == (1.0, 0.0)


def test_annealed_objective_weights_misfit_and_regularization(tomography):
    operator, true, data = tomography
    schedule = Annealing("linear", initial=1.0, final=0.0, decay=4, stop_at_target=False)
    field = slowness_field(operator.grid, schedule=schedule)
    result = jointinv.invert(operator, data, torch.full_like(true, 2000.0), solver="adam",
                             lr=1e-3, beta=2.0, parameterization=field, max_iterations=6,
                             chi_factor=100.0, progress=False)
    rows = result.history
    assert len(rows) == 7 and "max_iterations" in rows[-1]["stopped"]   # no stop at target
    for row in rows:
        b = schedule.beta(row["iteration"])
        assert row["annealing_beta"] == b
        expected = (1 - b) * row["phi_d[velocity]"] + b * 2.0 * row["phi_m[velocity]"]
        assert row["phi"] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("make, error, message", [
    (lambda: OutputHead("sigmoid", lower=1.0), ValueError, "kind='sigmoid' needs both lower"),
    (lambda: OutputHead("sigmoid", lower=2.0, upper=1.0), ValueError,
     "lower must be < upper, got lower=2.0, upper=1.0"),
    (lambda: OutputHead("tanh", upper=1.0), ValueError, "lower and upper are for kind='sigmoid'"),
    (lambda: OutputHead("softplus", scale=-1.0), ValueError,
     "scale must be a finite number > 0, got -1.0"),
    (lambda: OutputHead("relu"), ValueError, "kind must be one of"),
    (lambda: Annealing(initial=1.5), ValueError, "initial must be in [0, 1], got 1.5"),
    (lambda: Annealing("cosine"), ValueError, "kind must be one of"),
    (lambda: Annealing(decay=0), ValueError, "decay must be a finite number > 0"),
    (lambda: NeuralField(Grid(nx=2, nz=2, dx=1.0, dz=1.0), {}), TypeError,
     "heads must be a non-empty dict"),
    (lambda: NeuralField(Grid(nx=2, nz=2, dx=1.0, dz=1.0), {"v": "tanh"}), TypeError,
     "heads['v'] must be an OutputHead, got str"),
    (lambda: NeuralField(Grid(nx=2, nz=2, dx=1.0, dz=1.0), {"v": OutputHead()},
                         dtype=torch.float16), TypeError, "dtype must be torch.float32 or"),
    (lambda: NeuralField(Grid(nx=2, nz=2, dx=1.0, dz=1.0), {"v": OutputHead()},
                         schedule=0.5), TypeError, "schedule must be an Annealing or None"),
])
def test_errors_name_the_argument(make, error, message):
    with pytest.raises(error, match=re.escape(message)):
        make()


def test_bounds_are_refused(tomography):
    operator, true, data = tomography
    field = slowness_field(operator.grid)
    with pytest.raises(ValueError, match="cannot honour model bounds"):
        jointinv.invert(operator, data, true, solver="adam", parameterization=field,
                        bounds=(1000.0, 3000.0), progress=False)


def test_two_modules_with_different_schedules_are_refused(tomography):
    from jointinv.solvers.first_order import optimize

    operator, true, data = tomography
    built = jointinv.PhysicsSetup(operator, data, true).build("velocity")
    problem = jointinv.problem.InversionProblem([built.misfit], {}, {})
    fields = [slowness_field(operator.grid, schedule=Annealing()) for _ in range(2)]
    with pytest.raises(ValueError, match="parameterizations set different objective schedules"):
        optimize(problem, fields, max_iterations=1, progress=False)

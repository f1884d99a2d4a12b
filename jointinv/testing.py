"""Public checks for operators: the plugin kit, dot-product (adjoint) test, gradient checks.

Third-party plugins run the same checks as the built-in physics::

    from jointinv.testing import check_plugin
    check_plugin(MyPhysics)      # on MyPhysics.example_case()

or one at a time with :func:`dottest`, :func:`taylor_test` and
:func:`gradient_check`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

__all__ = ["check_plugin", "dottest", "taylor_test", "gradient_check", "random_like",
           "MIN_ORDER", "PLUGIN_CHECKS"]


def random_like(tensor: torch.Tensor, seed: int) -> torch.Tensor:
    """Standard-normal tensor shaped like ``tensor``, drawn on the CPU with ``seed``."""
    generator = torch.Generator(device="cpu").manual_seed(int(seed))
    return torch.randn(tensor.shape, generator=generator, dtype=torch.float64).to(tensor)


def dottest(operator, model: torch.Tensor, rtol: float = 1e-6, seed: int = 0) -> tuple:
    """Check ``<J v, u> == <v, J^T u>`` at ``model`` with random ``u``, ``v``.

    Uses ``operator.jvp`` and ``operator.vjp``. Returns both inner products;
    raises ``AssertionError`` (with both values) when their relative
    difference exceeds ``rtol``.
    """
    __tracebackhide__ = True
    v = random_like(model, seed)
    jv = operator.jvp(model, v)
    u = random_like(jv, seed + 1)
    jtu = operator.vjp(model, u)
    left = float((jv.double() * u.double()).sum())
    right = float((v.double() * jtu.double()).sum())
    scale = max(abs(left), abs(right), np.finfo(float).tiny)
    if abs(left - right) > rtol * scale:
        raise AssertionError(
            f"dot test failed: <Jv, u> = {left!r}, <v, J^T u> = {right!r}, "
            f"relative difference {abs(left - right) / scale:.3e} > rtol {rtol:.1e}"
        )
    return left, right


#: Default ``min_order`` of :func:`taylor_test` per model dtype: float32
#: round-off leaves fewer clean steps and blurs their orders.
MIN_ORDER = {torch.float64: 1.9, torch.float32: 1.7}


def taylor_test(operator, model: torch.Tensor, direction=None, steps=None, seed: int = 0,
                min_order: float | None = None) -> np.ndarray:
    """Taylor test of ``forward`` against ``jvp`` (as discretize's ``check_derivative``).

    For decreasing ``h``, ``||F(m + h v) - F(m)||`` falls like ``h`` while
    ``||F(m + h v) - F(m) - h J v||`` falls like ``h**2`` when ``J`` is right.
    Steps whose second error is at round-off (``1e3 * eps`` times the data
    norm) are left out; the mean observed order between the remaining
    consecutive steps must reach ``min_order``. A 1 %-wrong Jacobian leaves a
    ``0.01 h ||J v||`` term of order 1 at small ``h`` and fails. When every
    step is at round-off (a linear operator with its exact Jacobian), it passes.

    Parameters
    ----------
    operator : PhysicsOperator
    model : torch.Tensor
        ``(nz, nx)`` model to test at.
    direction : torch.Tensor, optional
        ``(nz, nx)`` direction ``v``; default seeded standard normal. It is
        scaled so that ``max |v| = 0.1 max |model|``.
    steps : array_like of float, optional
        Decreasing ``h``; default ``1, 0.1, ..., 1e-4``.
    seed : int, default 0
    min_order : float, optional
        Required mean order; default :data:`MIN_ORDER` for the model's dtype
        (1.9 for float64).

    Returns
    -------
    (n_steps, 3) numpy.ndarray
        Rows ``(h, first-order error, second-order error)``.

    Raises
    ------
    AssertionError
        With the table and the orders, when the mean order is below ``min_order``.
    """
    __tracebackhide__ = True
    model = model.detach()
    min_order = MIN_ORDER.get(model.dtype, 1.9) if min_order is None else float(min_order)
    v = random_like(model, seed) if direction is None else direction.to(model)
    scale = float(model.abs().max()) or 1.0
    v = v * (0.1 * scale / float(v.abs().max()))
    steps = np.logspace(0, -4, 5) if steps is None else np.asarray(steps, dtype=float)
    with torch.no_grad():
        f0 = operator(model)
    jv = operator.jvp(model, v)
    rows, floors = [], []
    eps = float(torch.finfo(model.dtype).eps)
    for h in steps:
        with torch.no_grad():
            fh = operator(model + h * v)
        rows.append((h, float((fh - f0).norm()), float((fh - f0 - h * jv).norm())))
        # the difference of two data vectors carries round-off of both
        floors.append(1e3 * eps * (float(f0.norm()) + float(fh.norm())))
    table = np.array(rows)
    clean = table[:, 2] > np.array(floors)
    pairs = clean[:-1] & clean[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        orders = (np.log10(table[:-1, 2] / table[1:, 2])
                  / np.log10(table[:-1, 0] / table[1:, 0]))
    if pairs.any() and not np.mean(orders[pairs]) >= min_order:
        raise AssertionError(
            f"Taylor test failed: mean order {np.mean(orders[pairs]):.3f} < {min_order} over "
            f"the steps above round-off; (h, |dF|, |dF - hJv|) =\n{table}\norders {orders}"
        )
    return table


def gradient_check(function, model: torch.Tensor, seed: int = 0, step: float = 1e-6,
                   rtol: float = 1e-4) -> tuple:
    """Compare the autograd gradient of a scalar ``function(model)`` with a
    central finite difference along a random direction.

    Returns ``(directional derivative from autograd, finite difference)``;
    raises ``AssertionError`` when they differ by more than ``rtol`` relative.
    """
    __tracebackhide__ = True
    model = model.detach().clone().requires_grad_(True)
    value = function(model)
    (gradient,) = torch.autograd.grad(value, model)
    v = random_like(model, seed)
    scale = float(model.detach().abs().max()) or 1.0
    h = step * scale
    with torch.no_grad():
        plus = float(function(model.detach() + h * v))
        minus = float(function(model.detach() - h * v))
    finite = (plus - minus) / (2 * h)
    analytic = float((gradient * v).sum())
    if abs(analytic - finite) > rtol * max(abs(analytic), abs(finite), 1e-300):
        raise AssertionError(
            f"gradient check failed: autograd {analytic!r} vs finite difference {finite!r}"
        )
    return analytic, finite


# -- the plugin kit -----------------------------------------------------------------------
def _relative_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    scale = max(float(a.double().norm()), float(b.double().norm()), 1e-300)
    return float((a.double() - b.double()).norm()) / scale


def _check_metadata(operator, model, options) -> dict:
    from .operator import PhysicsOperator

    if not isinstance(operator, PhysicsOperator):
        raise AssertionError(f"example_case() must return a jointinv.PhysicsOperator, "
                             f"got {type(operator).__name__}")
    for name in ("property", "units"):
        value = getattr(operator, name)
        if not isinstance(value, str) or not value:
            raise AssertionError(f"{name} must be a non-empty string, got {value!r}")
    if tuple(model.shape) != operator.grid.shape or model.dtype != torch.float64:
        raise AssertionError(f"example_case() model must be float64 of shape grid.shape = "
                             f"{operator.grid.shape}, got {model.dtype} {tuple(model.shape)}")
    report = {"property": operator.property, "units": operator.units,
              "n_data": operator.n_data, "data_shape": tuple(operator.data_shape)}
    for dtype in (torch.float64, torch.float32):
        with torch.no_grad():
            predicted = operator(model.to(dtype))
        if tuple(predicted.shape) != tuple(operator.data_shape) or \
                predicted.numel() != operator.n_data:
            raise AssertionError(f"data shape {tuple(predicted.shape)} does not match "
                                 f"data_shape {tuple(operator.data_shape)} / n_data "
                                 f"{operator.n_data}")
        if predicted.dtype != dtype:
            raise AssertionError(f"data dtype must follow the model's: {dtype} model gave "
                                 f"{predicted.dtype} data")
        if not bool(torch.isfinite(predicted).all()):
            raise AssertionError(f"predicted data are not finite for the {dtype} model")
    data = operator.simulate(model, relative_error=0.05, seed=1,
                             noise_floor=1e-3 * float(predicted.abs().max()) or 1.0)
    if data.n_data != operator.n_data:
        raise AssertionError(f"simulate() gave {data.n_data} data, n_data is {operator.n_data}")
    return report


def _check_dottest(operator, model, options):
    return dottest(operator, model, rtol=options["dot_rtol"], seed=options["seed"])


def _check_taylor(operator, model, options):
    return taylor_test(operator, model, seed=options["seed"], min_order=options["min_order"])


def _check_gradient(operator, model, options):
    seed = options["seed"]
    scale = float(model.abs().max()) or 1.0
    with torch.no_grad():
        observed = operator(model + 0.05 * scale * random_like(model, seed + 7))
    weight = 1.0 / (0.05 * observed.abs() + 1e-3 * float(observed.abs().max()) + 1e-300)

    def misfit(m):
        return 0.5 * (((operator(m) - observed) * weight) ** 2).sum()

    return gradient_check(misfit, model, seed=seed, rtol=options["gradient_rtol"])


def _check_linearize(operator, model, options) -> dict:
    seed, linearize_rtol = options["seed"], options["linearize_rtol"]
    linear = operator.linearize(model)
    v = random_like(model, seed + 3)
    u = random_like(linear.predicted, seed + 4)
    with torch.no_grad():
        predicted = operator(model)
    report = {
        "predicted": _relative_difference(linear.predicted, predicted),
        "jvp": _relative_difference(linear.jvp(v), operator.jvp(model, v)),
        "vjp": _relative_difference(linear.vjp(u), operator.vjp(model, u)),
    }
    worst = max(report, key=report.get)
    if report[worst] > linearize_rtol:
        raise AssertionError(f"linearize(model).{worst} differs from the operator's by "
                             f"{report[worst]:.3e} (relative) > {linearize_rtol:.1e}")
    return report


def _expect_error(error: type, what: str, call: Callable) -> str:
    try:
        call()
    except error as raised:
        return f"{what}: {type(raised).__name__}: {raised}"
    except Exception as raised:  # noqa: BLE001 - any other type is the failure reported
        raise AssertionError(f"{what} must raise {error.__name__}, got "
                             f"{type(raised).__name__}: {raised}") from raised
    raise AssertionError(f"{what} must raise {error.__name__}, nothing was raised")


def _check_bad_input(operator, model, options) -> list:
    nan = model.clone()
    nan.view(-1)[0] = float("nan")
    with torch.no_grad():
        n_data = operator(model).numel()
    tangent, cotangent = torch.zeros_like(model), torch.zeros(operator.data_shape).to(model)
    cases = [
        (ValueError, "a model with one row too few", lambda: operator(model[:-1])),
        (ValueError, "a model with a NaN", lambda: operator(nan)),
        (TypeError, "an integer model", lambda: operator(model.long())),
        (ValueError, "a flattened tangent", lambda: operator.jvp(model, tangent.reshape(-1))),
        (TypeError, "a tangent that is not a tensor", lambda: operator.jvp(model, "v")),
        (ValueError, "a cotangent one datum too long",
         lambda: operator.vjp(model, torch.zeros(n_data + 1).to(model))),
        (ValueError, "a cotangent with a NaN",
         lambda: operator.vjp(model, cotangent + float("nan"))),
    ]
    return [_expect_error(error, what, call) for error, what, call in cases]


#: The checks :func:`check_plugin` runs, in order.
PLUGIN_CHECKS = {
    "metadata": _check_metadata,
    "dottest": _check_dottest,
    "taylor": _check_taylor,
    "gradient": _check_gradient,
    "linearize": _check_linearize,
    "bad_input": _check_bad_input,
}


def check_plugin(cls, *, case=None, checks=None, seed: int = 0, dot_rtol: float = 1e-8,
                 min_order: float | None = None, gradient_rtol: float = 1e-4,
                 linearize_rtol: float = 1e-8) -> dict:
    """Test a physics plugin the way jointinv tests its own, on ``cls.example_case()``.

    Checks, in order (:data:`PLUGIN_CHECKS`):

    - ``metadata``: a :class:`~jointinv.PhysicsOperator` with non-empty
      ``property`` and ``units``; float64 example model of ``grid.shape``;
      data of ``data_shape`` (``n_data`` values), finite, in the model's
      dtype (float64 and float32); ``simulate`` gives ``n_data`` data;
    - ``dottest``: ``<J v, u> = <v, J^T u>`` (:func:`dottest`, ``dot_rtol``);
    - ``taylor``: strict :func:`taylor_test` of ``forward`` against ``jvp``;
    - ``gradient``: the autograd gradient of a weighted least-squares misfit
      against a central finite difference (:func:`gradient_check`);
    - ``linearize``: ``linearize(model)``'s data, ``jvp`` and ``vjp`` equal
      ``forward``, ``jvp`` and ``vjp`` (``linearize_rtol``);
    - ``bad_input``: a wrong model shape, a NaN, an integer dtype, a wrong
      tangent or cotangent shape, a non-tensor tangent and a NaN cotangent
      raise ``ValueError``/``TypeError``.

    Parameters
    ----------
    cls : type
        The plugin class (a :class:`~jointinv.PhysicsOperator` subclass with
        ``example_case()`` returning a tiny float64 ``(operator, model)``).
    case : tuple, optional
        ``(operator, model)`` to test instead of ``cls.example_case()``.
    checks : iterable of str, optional
        Names of :data:`PLUGIN_CHECKS` to run; default all.
    seed : int, default 0
        Seed of every random direction.
    dot_rtol, min_order, gradient_rtol, linearize_rtol : float
        Tolerances of the checks (``min_order`` default: :data:`MIN_ORDER`).

    Returns
    -------
    dict
        Check name -> what it measured (inner products, Taylor table, ...).

    Raises
    ------
    AssertionError
        Naming the plugin and the first check that failed.
    """
    __tracebackhide__ = True
    names = list(PLUGIN_CHECKS) if checks is None else list(checks)
    unknown = sorted(set(names) - set(PLUGIN_CHECKS))
    if unknown:
        raise ValueError(f"checks must be among {list(PLUGIN_CHECKS)}, got {unknown}")
    label = getattr(cls, "__name__", repr(cls))
    if case is None:
        case = cls.example_case()
    operator, model = case
    options = {"seed": seed, "dot_rtol": dot_rtol, "min_order": min_order,
               "gradient_rtol": gradient_rtol, "linearize_rtol": linearize_rtol}
    report = {}
    for name in names:
        try:
            report[name] = PLUGIN_CHECKS[name](operator, model, options)
        except AssertionError as error:
            raise AssertionError(f"check_plugin({label}): check {name!r} failed: {error}") \
                from error
    return report

"""Strategy ``sequential``: separate inversion steps alternating with a coupling step.

Each round runs one Gauss-Newton step of every physics on its own (with its
own beta, cooling and solver), giving updates ``m~_k``; then the models move
to minimise the structural coupling while staying close to those updates:

    min_m  sum_k 1/2 (m_k - m~_k)^T H_k (m_k - m~_k) + lambda_eff * coupling(m)

where ``H_k`` is the Gauss-Newton Hessian of physics ``k``'s own objective at
``m~_k``: "close" is measured by how much each physics' data fit and
regularization would suffer, so the coupling moves the models only where
their data leave them free. ``lambda_eff`` is scaled as in the simultaneous
strategy. Because the physics only ever see their own problem, any solver a
physics brings (SimPEG's included) can run the separate steps.

The coupling step sees no data, only ``H_k``, so it is kept from gaming the
coupling (issue 14: velocities of 1e5 m/s): the normalised cross-gradient's
gradient floors are frozen at ``m~``, each physics' variables are scaled by
its own curvature, and the step adds no value outside the range of ``m~_k``.
"""

from __future__ import annotations

import time

import torch

from ..coupling import Coupling
from ..masks import apply_mask
from ..multiscale import invert_setups_by_band
from ..problem import InversionProblem
from ..runner import RunOutput, SolverOptions, check_common_grid, make_result
from ..solvers import estimate_betas
from ..solvers.gauss_newton import gauss_newton_point, record
from ..solvers.progress import IterationReporter
from ..validation import check_positive_int
from .common import build_all, check_setups

__all__ = ["invert_sequential", "closeness_scale", "coupling_step"]


def coupling_step(models: dict, hessians: dict, couplings, iterations: int = 20,
                  lower=None, upper=None):
    """Minimise coupling + Hessian-weighted closeness to ``models`` with L-BFGS.

    ``hessians[key]`` applies ``H_k`` to a ``(nz, nx)`` tensor; ``couplings``
    is a list of ``(name, weight, term)``; a term's gradient floors are held
    at ``models`` (:func:`_frozen`). Returns new models.

    L-BFGS works on ``z_k = (m_k - models[k]) / s_k`` with ``s_k`` from
    :func:`closeness_scale`: the variables of different physics (slowness in
    s/m, log10 resistivity) differ in size and curvature by orders of
    magnitude, and one L-BFGS over both would step in the stiff one's units.
    """
    anchors = {k: m.detach() for k, m in models.items()}
    couplings = _frozen(couplings, anchors)
    scales = {k: closeness_scale(hessians[k], m) for k, m in anchors.items()}
    steps = {k: torch.zeros_like(m, requires_grad=True) for k, m in anchors.items()}
    optimizer = torch.optim.LBFGS(list(steps.values()), max_iter=iterations,
                                  line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        value = 0.0
        with torch.enable_grad():
            variables = {k: anchors[k] + scales[k] * z for k, z in steps.items()}
            coupling = sum(weight * term(variables) for _, weight, term in couplings)
            coupling.backward()
        for k, z in steps.items():
            delta = scales[k] * z.detach()
            h_delta = hessians[k](delta)
            value += 0.5 * float((delta * h_delta).sum())
            grad = scales[k] * h_delta
            z.grad = grad if z.grad is None else z.grad + grad
        return torch.as_tensor(value + float(coupling.detach()), dtype=torch.float64)

    optimizer.step(closure)
    out = {}
    for k, z in steps.items():
        # the step aligns structure; it never adds values outside the range of
        # the separate update (a cell the data barely see could spike there)
        m = (anchors[k] + scales[k] * z.detach()).clamp(min=anchors[k].min(),
                                                        max=anchors[k].max())
        lo, hi = (lower or {}).get(k), (upper or {}).get(k)
        out[k] = m.clamp(min=lo, max=hi) if (lo is not None or hi is not None) else m
    return out


def closeness_scale(hessian, model: torch.Tensor) -> float:
    """``1 / sqrt(mean diag H)``, the step size at which closeness costs ~1/2 per cell.

    The mean of the diagonal is ``trace(H) / n``, estimated with one seeded
    Rademacher probe ``v``: ``v^T H v / n`` (Hutchinson). Falls back to the
    model's mean amplitude when ``H`` shows no curvature.
    """
    generator = torch.Generator().manual_seed(0)
    probe = torch.randint(0, 2, tuple(model.shape), generator=generator).to(model) * 2 - 1
    curvature = float((probe * hessian(probe)).sum()) / probe.numel()
    if curvature > 0.0 and curvature < float("inf"):
        return curvature ** -0.5
    return max(float(model.abs().mean()), 1e-12)


def _frozen(couplings, models) -> list:
    """The couplings with any gradient floor fixed at the separate updates ``models``.

    The coupling step weighs only closeness to the updates, not the data: a
    floor that followed the models would let a single-cell spike shrink the
    normalised cross-gradient everywhere (velocities of 1e5 m/s, issue 14).
    """
    return [(name, weight, term.frozen(models) if hasattr(term, "frozen") else term)
            for name, weight, term in couplings]


def invert_sequential(setups: dict, *, coupling="cross_gradient",
                      coupling_iterations: int = 20, **solver_options):
    """Alternate separate Gauss-Newton steps with a structural coupling step.

    Parameters
    ----------
    setups : dict
        ``{name: PhysicsSetup}``, two or more physics on one grid. One may
        have ``frequencies``: the rounds then run once per band, as in
        :func:`jointinv.strategies.invert_joint` (the other physics with
        their own unfiltered data in every band; warm starts between bands).
    coupling : Coupling, str or dict
        The coupling of the coupling step (:class:`jointinv.coupling.Coupling`;
        its weight is relative to the unit-free closeness term).
    coupling_iterations : int
        L-BFGS iterations of each coupling step.
    **solver_options
        :class:`~jointinv.runner.SolverOptions`; ``max_iterations`` (rounds,
        per band: one separate step per physics plus one coupling step each) and
        ``cg_max_iterations`` default to 30. The separate steps are
        Gauss-Newton steps (``solver`` must be ``"gauss_newton"``).

    Stops when every data set is at its target after a coupling step.
    """
    options = SolverOptions.from_options(solver_options, max_iterations=30,
                                         cg_max_iterations=30)
    if options.solver != "gauss_newton":
        raise ValueError(f"sequential alternates Gauss-Newton steps with coupling steps; "
                         f"solver must be 'gauss_newton', got {options.solver!r} (use "
                         f"strategy 'cross_gradient' for a first-order joint inversion)")
    coupling = Coupling.coerce(coupling)
    coupling_iterations = check_positive_int("coupling_iterations", coupling_iterations)
    check_setups(setups, minimum=2)
    start = time.perf_counter()
    return invert_setups_by_band(
        lambda band_setups: _sequential_once(band_setups, coupling, coupling_iterations,
                                             options, start),
        setups, progress=options.progress)


def _sequential_once(setups: dict, coupling: Coupling, coupling_iterations: int,
                     options: SolverOptions, start: float):
    """One sequential inversion of ``setups`` (no bands); ``start``: its perf_counter."""
    built = build_all(setups, minimum=2)
    check_common_grid(built)
    keys = list(built)
    grid = built[keys[0]].setup.operator.grid
    couplings = coupling.terms({k: b.start for k, b in built.items()}, grid,
                               sum(b.setup.data.n_data for b in built.values()))
    problems, points = {}, {}
    for key, b in built.items():
        problem = InversionProblem([b.misfit], {key: b.regularization}, {key: 1.0},
                                   maps={key: b.map})
        points[key] = problem.linearize({key: b.start})
        problem.betas = {key: b.setup.beta if b.setup.beta is not None
                         else estimate_betas(points[key], options.beta0_ratio)[key]}
        problems[key] = problem
    lower = {k: b.lower for k, b in built.items()}
    upper = {k: b.upper for k, b in built.items()}
    targets = {k: problems[k].targets()[k] for k in keys}
    history = []
    reporter = IterationReporter(options.max_iterations, "sequential", targets, options.progress)
    reason = f"reached max_iterations={options.max_iterations}"
    for iteration in range(1, options.max_iterations + 1):
        if all(points[k].at_target() for k in keys):
            reason = "every data set at its target misfit"
            break
        hessians, models = {}, {}
        for key in keys:
            points[key], _ = gauss_newton_point(
                problems[key], points[key].variables, max_iterations=1,
                cooling_factor=options.cooling_factor,
                cg_max_iterations=options.cg_max_iterations, lower={key: lower[key]},
                upper={key: upper[key]}, progress=False, start_point=points[key],
                fixed={key: built[key].mask})
            models[key] = points[key].variables[key]
            apply = points[key].hessian()
            hessians[key] = (lambda v, apply=apply, key=key: apply({key: v})[key])
        for _, _, term in couplings:
            if hasattr(term, "update"):  # a mixture learned from the separate updates
                term.update(models)
        models = coupling_step(models, hessians, couplings, coupling_iterations, lower, upper)
        # fixed cells keep their starting values through the coupling step too
        models = {k: apply_mask(m, built[k].mask, built[k].start) for k, m in models.items()}
        points = {k: problems[k].linearize({k: models[k]}) for k in keys}
        parts = {}
        for key in keys:
            parts.update(points[key].parts())
        with torch.no_grad():
            for name, _, term in couplings:
                parts[f"coupling[{name}]"] = float(term(models))
        row = record(problems[keys[0]], iteration, parts, float("nan"), start)
        row.update({f"beta[{k}]": problems[k].betas[k] for k in keys})
        history.append(row)
        reporter.row(row)
    else:
        if all(points[k].at_target() for k in keys):
            reason = "every data set at its target misfit"
    if history:
        history[-1]["stopped"] = reason
    reporter.stop(reason)
    reporter.close()
    properties = {k: apply_mask(problems[k].maps[k](points[k].variables[k]), built[k].mask,
                                built[k].setup.initial_model) for k in keys}
    predicted = {k: points[k].linear[0][1].predicted for k in keys}
    output = RunOutput(properties, {k: points[k].variables[k] for k in keys}, history, predicted)
    return make_result(built, output, start,
                       f"sequential {coupling.kind} (lambda={coupling.weight:g})")

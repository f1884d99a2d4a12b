"""The one runner under ``invert`` and every strategy: setups -> problem -> betas -> solver.

:func:`run` takes built physics (:meth:`PhysicsSetup.build`), optional
couplings and an optional parameterization, estimates the trade-off
parameters at the start, and runs Gauss-Newton, Adam or L-BFGS.
:class:`SolverOptions` holds the solver settings every strategy shares, so an
option is spelt, checked and documented once.
"""

from __future__ import annotations

import dataclasses
import time
from contextlib import ExitStack
from dataclasses import dataclass

from .coupling import Coupling
from .joint_regularization import BetaShares
from .masks import apply_mask, hold_fixed_cells
from .parameterizations import Parameterization
from .preconditioning import PRECONDITIONERS, step_weights
from .problem import InversionProblem
from .result import InversionResult
from .solvers import LR_SCHEDULES, OPTIMIZERS, estimate_betas, optimize
from .solvers.batches import ShotBatches
from .solvers.gauss_newton import gauss_newton_point
from .validation import (
    check_choice,
    check_nonnegative_int,
    check_positive_float,
    check_positive_int,
    check_seed,
)

__all__ = ["SOLVERS", "SolverOptions", "RunOutput", "run", "make_result", "check_common_grid"]

SOLVERS = ("gauss_newton",) + OPTIMIZERS


@dataclass
class SolverOptions:
    """Solver settings shared by :func:`jointinv.invert` and every strategy.

    Parameters
    ----------
    solver : {"gauss_newton", "adam", "lbfgs"}
        Projected Gauss-Newton-CG (SimPEG's recipe; cells only), or a
        first-order torch optimizer (any parameterization); all of them cool
        beta (``cooling_factor``, ``cooling_rate``).
    max_iterations : int, >= 1
        Gauss-Newton iterations or optimizer steps (first-order solvers run
        one evaluation, i.e. one simulation and one adjoint per data set, per
        step; L-BFGS more when its line search rejects the unit step).
    beta0_ratio : float, > 0
        Starting beta = ratio x largest-eigenvalue ratio of the data and
        regularization Hessians (when a setup gives no ``beta``).
    cooling_factor : float, >= 1
        Every solver divides beta by it every ``cooling_rate`` iterations
        while the data set is above its target (SimPEG's ``BetaSchedule``);
        1 keeps the betas fixed. Every solver also divides the weights of the
        couplings over a data set that stalls above its target: Gauss-Newton
        per cooling step (:class:`jointinv.solvers.cooling.Cooling`), Adam and
        L-BFGS per window of 10 iterations
        (:class:`jointinv.solvers.cooling.WindowedYield`). First-order solvers
        apply the new beta from the next evaluation; a parameterization's
        ``schedule`` (annealing) replaces the cooling.
    cooling_rate : int, >= 1
    cg_max_iterations : int, >= 1
        Conjugate-gradient iterations per Gauss-Newton step.
    hold_iterations : int, >= 0
        Gauss-Newton only: once every data set reaches its target, go on for
        this many iterations minimising regularization and couplings with the
        misfits held at their targets (see
        :func:`jointinv.solvers.gauss_newton.hold_at_target`); 0 stops there.
        A run the hold leaves above a target cools on until it is back there.
    lr_schedule : {"constant", "cosine"}
        Adam only: the learning rate over the run. ``"cosine"`` decays it
        from ``lr`` to 0 at ``max_iterations`` along half a cosine
        (``torch.optim.lr_scheduler.CosineAnnealingLR``), so the last
        iterates settle instead of circling a minimum at the full step
        (each band of a multiscale run restarts it).
    lr : float, optional
        First-order learning rate. With cell models it is *relative*: Adam
        moves each cell by at most about ``lr`` times the RMS of the starting
        model per step (0.01: 1 %, e.g. 25 m/s for 2500 m/s); with a network
        parameterization it is in the units of the network's weights. Default
        0.01 for Adam, 1 for L-BFGS (a scale of its quasi-Newton step).
    step : float or dict, optional
        Adam with cell models only: the step per iteration in the units of
        the property (e.g. 20.0 for about 20 m/s), ``{key: step}`` when
        several physics are inverted; converted to ``lr = step / RMS(start)``
        for each model. Give ``lr`` or ``step``, not both.
    preconditioner : {"depth", "illumination"}, array or dict, optional
        First-order solvers on cell models: per-cell step weights
        (:mod:`jointinv.preconditioning`): ``"depth"`` ``(z / z_max) **
        depth_power``, ``"illumination"`` the square root of the normalised
        Gauss-Newton Hessian diagonal at the start (a few adjoints), an
        ``(nz, nx)`` array of weights >= 0, or ``{model: any of these}``.
    depth_power : float, > 0
        Exponent ``p`` of the depth weights.
    shots_per_iteration : int, optional
        Adam only: shot mini-batching. Each iteration evaluates a random
        subset of this many shots of every operator that has shots (seeded
        by ``batch_seed``), with the misfit scaled by ``n_shots / subset``;
        the history's misfits are these estimates (the final predicted data
        use every shot).
    batch_seed : int
        Seed of the shot subsets.
    callback : callable, optional
        ``callback(row, models)`` after every iteration of any solver, with
        the history row (a dict: ``iteration``, ``phi_d[key]``, betas, ...)
        and the current models ``{key: (nz, nx) property}`` (detached);
        returning True stops the run.
    progress : bool
        Show progress (a bar in a terminal, a line per iteration in a file).
    """

    solver: str = "gauss_newton"
    max_iterations: int = 20
    beta0_ratio: float = 1.0
    cooling_factor: float = 2.0
    cooling_rate: int = 1
    cg_max_iterations: int = 20
    hold_iterations: int = 0
    lr: float | None = None
    lr_schedule: str = "constant"
    step: float | dict | None = None
    preconditioner: object = None
    depth_power: float = 1.0
    shots_per_iteration: int | None = None
    batch_seed: int = 0
    callback: object = None
    progress: bool = True

    def __post_init__(self):
        self.solver = check_choice("solver", self.solver, SOLVERS)
        self.max_iterations = check_positive_int("max_iterations", self.max_iterations)
        self.beta0_ratio = check_positive_float("beta0_ratio", self.beta0_ratio)
        self.cooling_factor = check_positive_float("cooling_factor", self.cooling_factor)
        if self.cooling_factor < 1:
            raise ValueError(f"cooling_factor must be >= 1 (beta is divided by it), "
                             f"got {self.cooling_factor}")
        self.cooling_rate = check_positive_int("cooling_rate", self.cooling_rate)
        self.cg_max_iterations = check_positive_int("cg_max_iterations", self.cg_max_iterations)
        self.hold_iterations = check_nonnegative_int("hold_iterations", self.hold_iterations)
        if self.hold_iterations and self.solver != "gauss_newton":
            raise ValueError(f"hold_iterations needs solver 'gauss_newton' (it rescales the "
                             f"betas between iterations), got solver {self.solver!r}")
        if self.lr is not None:
            self.lr = check_positive_float("lr", self.lr)
        self.lr_schedule = check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        if self.lr_schedule != "constant" and self.solver != "adam":
            raise ValueError(f"lr_schedule {self.lr_schedule!r} needs solver 'adam' "
                             f"({self.solver!r} sets its own steps), got solver "
                             f"{self.solver!r}")
        if self.step is not None:
            if self.solver != "adam":
                raise ValueError(f"step sets Adam's step size; solver {self.solver!r} chooses "
                                 f"its own steps (use lr for L-BFGS's scale)")
            if self.lr is not None:
                raise ValueError(f"give lr (relative) or step (property units), not both; "
                                 f"got lr={self.lr} and step={self.step}")
            if isinstance(self.step, dict):
                self.step = {k: check_positive_float(f"step[{k!r}]", v)
                             for k, v in self.step.items()}
            else:
                self.step = check_positive_float("step", self.step)
        self.depth_power = check_positive_float("depth_power", self.depth_power)
        self.batch_seed = check_seed("batch_seed", self.batch_seed)
        if self.preconditioner is not None and self.solver == "gauss_newton":
            raise ValueError("preconditioner sets the steps of first-order solvers ('adam', "
                             "'lbfgs'); Gauss-Newton scales its steps by the Hessian")
        if isinstance(self.preconditioner, str):
            check_choice("preconditioner", self.preconditioner, PRECONDITIONERS)
        if self.shots_per_iteration is not None:
            self.shots_per_iteration = check_positive_int("shots_per_iteration",
                                                          self.shots_per_iteration)
            if self.solver != "adam":
                raise ValueError(f"shots_per_iteration needs solver 'adam' (a stochastic "
                                 f"gradient; {self.solver!r} needs the full objective), got "
                                 f"solver {self.solver!r}")
        if self.callback is not None and not callable(self.callback):
            raise TypeError(f"callback must be callable as callback(row, models), got "
                            f"{type(self.callback).__name__}")
        if not isinstance(self.progress, bool):
            raise TypeError(f"progress must be True or False, got {self.progress!r}")

    @classmethod
    def names(cls) -> tuple:
        return tuple(field.name for field in dataclasses.fields(cls))

    @classmethod
    def from_options(cls, options: dict, **defaults) -> SolverOptions:
        """Options from keyword arguments; an unknown name raises ``TypeError`` listing
        the allowed ones (plus ``extra`` names the caller accepts)."""
        unknown = sorted(set(options) - set(cls.names()))
        if unknown:
            raise TypeError(f"unknown solver options {unknown}; allowed: {sorted(cls.names())}")
        return cls(**{**defaults, **options})


@dataclass
class RunOutput:
    """What :func:`run` returns: final properties and variables, history, predicted data."""

    properties: dict
    variables: dict
    history: list
    predicted: dict


def check_common_grid(built: dict) -> None:
    """Coupled models must live on one grid (each physics owns its own mesh transfer)."""
    grids = {key: b.setup.operator.grid for key, b in built.items()}
    first_key, first = next(iter(grids.items()))
    for key, grid in grids.items():
        if grid != first:
            raise ValueError(
                f"coupled physics must share one jointinv.Grid: {first_key!r} uses {first} but "
                f"{key!r} uses {grid}; build both operators on the same grid (each physics "
                f"transfers the grid to its own mesh)"
            )


def _coupling_terms(built: dict, couplings) -> list:
    if couplings is None:
        return []
    couplings = [couplings] if not isinstance(couplings, (list, tuple)) else list(couplings)
    if not couplings:
        return []
    check_common_grid(built)
    grid = next(iter(built.values())).setup.operator.grid
    n_data = sum(b.setup.data.n_data for b in built.values())
    starts = {k: b.start for k, b in built.items()}
    couplings = [Coupling.coerce(coupling) for coupling in couplings]
    confidence = (_confidence(built) if any(c.resolution_aware for c in couplings) else None)
    return [term for coupling in couplings
            for term in coupling.terms(starts, grid, n_data, confidence)]


def _confidence(built: dict) -> dict:
    """``{key: (nz, nx)}``: how well each physics senses each cell at the start, in [0, 1]."""
    from .petrophysics import confidence_from_sensitivity
    from .sensitivity import sensitivity_weights

    return {k: confidence_from_sensitivity(sensitivity_weights(
        b.misfit, b.map(b.start).detach(), threshold=1e-6)) for k, b in built.items()}


def _check_parameterization(parameterization, built: dict):
    if not isinstance(parameterization, Parameterization):
        raise TypeError(f"parameterization must be a jointinv Parameterization (an nn.Module "
                        f"returning {{key: property}}), got {type(parameterization).__name__}")
    missing = sorted(set(built) - set(parameterization.keys))
    if missing:
        raise ValueError(f"parameterization produces {list(parameterization.keys)} but the "
                         f"inversion needs models {missing}")
    for b in built.values():
        if b.setup.bounds is not None:
            parameterization.check_bounds(*b.setup.bounds)


def _per_model(name: str, value, built: dict) -> dict:
    """``{key: value}``: one value for every model, or a dict naming known models only."""
    if not isinstance(value, dict):
        return {key: value for key in built}
    unknown = sorted(set(value) - set(built))
    if unknown:
        raise ValueError(f"{name} names models {unknown}; models are {sorted(built)}")
    return value


def _learning_rates(options: SolverOptions, built: dict, parameterization):
    """``lr``, or one relative rate per cell model from ``options.step`` [property units]."""
    if options.step is None:
        return options.lr
    if parameterization is not None:
        raise ValueError(f"step is in the units of a cell model's property; with "
                         f"{type(parameterization).__name__} give lr (in the units of its "
                         f"parameters) instead")
    if not isinstance(options.step, dict) and len(built) > 1:
        raise ValueError(f"step must be a dict {{model: step}} when several models are "
                         f"inverted (their units differ): {sorted(built)}")
    steps = _per_model("step", options.step, built)
    missing = sorted(set(built) - set(steps))
    if missing:
        raise ValueError(f"step must give every model {sorted(built)}; missing {missing}")
    rates = []
    for key, b in built.items():
        rms = float(b.setup.initial_model.pow(2).mean().sqrt()) or 1.0
        rates.append(steps[key] / rms)
    return rates


def _gauss_newton_callback(problem, built: dict, updates, callback):
    """The Gauss-Newton per-iteration hook: term updates, then the user's callback."""
    if not updates and callback is None:
        return None

    def hook(iteration, variables, row):
        for update in updates:
            update.update(variables)
        if callback is None:
            return None
        models = {k: apply_mask(problem.maps[k](variables[k]), built[k].mask,
                                built[k].setup.initial_model).detach() for k in problem.keys}
        return callback(row, models)

    return hook


def _precondition(modules, built: dict, options: SolverOptions, parameterization, point,
                  problem) -> None:
    """Give each cell model its step weights (``options.preconditioner``)."""
    if parameterization is not None:
        raise ValueError(f"preconditioner weights the steps of cell models; "
                         f"{type(parameterization).__name__} has its own parameters "
                         f"(pass preconditioner=None)")
    choices = _per_model("preconditioner", options.preconditioner, built)
    if point is None and any(isinstance(c, str) and c == "illumination"
                             for c in choices.values()):
        point = problem.linearize({k: b.start for k, b in built.items()})
    for module, (key, b) in zip(modules, built.items()):
        if choices.get(key) is not None:
            module.set_step_weights(step_weights(choices[key], key, b.setup.operator.grid,
                                                 point, options.depth_power, b.start))


def run(built: dict, options: SolverOptions, couplings=None, parameterization=None,
        regularizations: dict | None = None, updates=()) -> RunOutput:
    """Build the problem over ``built`` physics, estimate betas and run the solver.

    Parameters
    ----------
    built : dict
        ``{key: BuiltPhysics}``.
    options : SolverOptions
    couplings : Coupling, str or list of them, optional
        Structural couplings over all models (pairwise where the kind is).
    parameterization : Parameterization, optional
        Produces every model (first-order solvers only); default: cells.
    regularizations : dict, optional
        Extra named regularizations over several models (a joint
        regularization), each with its own beta.
    updates : sequence, optional
        Objects with ``start(variables)``, called at the starting models, and
        ``update(variables)``, called with the current models before every
        Gauss-Newton iteration (structure guidance, IRLS-style
        continuation); the terms they change are re-evaluated.
    """
    terms = _coupling_terms(built, couplings)
    keys = list(built)
    # couplings learned in flight (a petrophysical mixture) update between iterations
    updates = list(updates) + [term for _, _, term in terms if hasattr(term, "update")]
    problem = InversionProblem([b.misfit for b in built.values()],
                               {**{k: b.regularization for k, b in built.items()},
                                **(regularizations or {})}, {},
                               couplings=terms, maps={k: b.map for k, b in built.items()})
    if updates and options.solver != "gauss_newton":
        raise ValueError("structure guidance and joint total variation update their terms "
                         f"between Gauss-Newton iterations; use solver 'gauss_newton', got "
                         f"{options.solver!r}")
    l1 = [k for k, b in built.items() if b.setup.smallness_norm == 1]
    if l1 and options.solver == "gauss_newton":
        raise ValueError(f"an L1 smallness (smallness_norm=1, models {l1}) has no curvature "
                         f"for Gauss-Newton; use solver='adam' or 'lbfgs'")
    unset = [k for k in l1 if built[k].setup.beta is None]
    if unset:
        raise ValueError(f"an L1 smallness (models {unset}) has no curvature to estimate beta "
                         f"from: give beta= (or the setup's beta)")
    if parameterization is not None:
        _check_parameterization(parameterization, built)
        if options.solver == "gauss_newton":
            raise ValueError(f"solver 'gauss_newton' works on cell models; use solver='adam' "
                             f"or 'lbfgs' with {type(parameterization).__name__}")
    given = {k: b.setup.beta for k, b in built.items() if b.setup.beta is not None}
    needs_eigenvalues = set(given) != set(problem.regularizations) or (
        options.solver == "gauss_newton" and len(keys) > 1)
    start = {k: b.start for k, b in built.items()}
    for update in updates:
        update.start(start)
    point, eigenvalues = None, {}
    if needs_eigenvalues:
        point = problem.linearize(start)
        # a model whose smoothness a joint regularization replaced keeps the smallness
        # beta of a separate inversion (balanced alone, it would weigh like the data)
        stand_ins = {k: b.beta_regularization for k, b in built.items()
                     if b.beta_regularization is not None}
        estimated = estimate_betas(point, options.beta0_ratio, eigenvalues=eigenvalues,
                                   stand_ins=stand_ins)
    problem.betas = {name: given[name] if name in given else estimated[name]
                     for name in problem.regularizations}
    if options.solver == "gauss_newton":
        updates = [*_beta_shares(problem, start), *updates]
        # the data Hessians of different physics differ by orders of magnitude in
        # their own units: scale each block by its largest data eigenvalue
        preconditioner = ({k: 1.0 / eigenvalues["data"][k] for k in keys} if len(keys) > 1
                          else None)
        final, history = gauss_newton_point(
            problem, start, max_iterations=options.max_iterations,
            cooling_factor=options.cooling_factor, cooling_rate=options.cooling_rate,
            cg_max_iterations=options.cg_max_iterations,
            lower={k: b.lower for k, b in built.items()},
            upper={k: b.upper for k, b in built.items()},
            block_preconditioner=preconditioner, progress=options.progress, start_point=point,
            hold_iterations=options.hold_iterations,
            fixed={k: b.mask for k, b in built.items()},
            callback=_gauss_newton_callback(problem, built, updates, options.callback))
        variables = final.variables
        # the variables of fixed cells never moved; the start itself avoids map round-off
        properties = {k: apply_mask(problem.maps[k](variables[k]), built[k].mask,
                                    built[k].setup.initial_model) for k in keys}
        # the final point simulated these models already
        predicted = {}
        for key, linear in final.linear:
            predicted.setdefault(key, linear.predicted)
    else:
        modules = [parameterization] if parameterization is not None else \
            [b.cells() for b in built.values()]
        if options.preconditioner is not None:
            _precondition(modules, built, options, parameterization, point, problem)
        batches = (None if options.shots_per_iteration is None else
                   ShotBatches(problem.misfits, options.shots_per_iteration, options.batch_seed))
        fixed = {k: (b.mask, b.setup.initial_model) for k, b in built.items()}
        with ExitStack() as stack:
            for module in modules:
                stack.enter_context(hold_fixed_cells(module, fixed))
            properties, history = optimize(
                problem, modules, optimizer=options.solver,
                lr=_learning_rates(options, built, parameterization),
                max_iterations=options.max_iterations, progress=options.progress,
                cooling_factor=options.cooling_factor, cooling_rate=options.cooling_rate,
                callback=options.callback, batches=batches, lr_schedule=options.lr_schedule)
        properties = {k: properties[k] for k in keys}
        variables = {k: problem.maps[k].inverse(properties[k]) for k in keys}
        predicted = {k: built[k].misfit.predict(properties[k]) for k in keys}
    return RunOutput(properties, variables, history, predicted)


def _beta_shares(problem, start: dict) -> list:
    """:class:`BetaShares` of each joint regularization whose models have their own betas:
    each model's share of it cools with that model's beta."""
    shares = [BetaShares(problem, name) for name, term in problem.regularizations.items()
              if hasattr(term, "balance") and all(k in problem.regularizations
                                                    for k in term.keys)]
    for share in shares:
        share.start(start)
    return shares


def make_result(built: dict, output: RunOutput, start: float, method: str) -> InversionResult:
    """An :class:`InversionResult` of ``output`` (``start``: ``time.perf_counter()`` then)."""
    setups = {k: b.setup for k, b in built.items()}
    result = InversionResult(
        models=output.properties,
        initial_models={k: s.initial_model for k, s in setups.items()},
        true_models={k: s.true_model for k, s in setups.items() if s.true_model is not None},
        operators={k: s.operator for k, s in setups.items()},
        data={k: s.data for k, s in setups.items()},
        predicted=output.predicted, history=output.history,
        wall_time=time.perf_counter() - start, method=method,
    )
    for key, b in built.items():
        result.info[key]["target"] = b.misfit.target  # the convergence plot draws it
    return result

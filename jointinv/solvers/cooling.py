"""Beta cooling in which structural couplings yield when they hold a data set above target.

SimPEG's ``BetaSchedule`` divides each beta by a cooling factor while its data
set is above the target misfit. A coupling weight is not a beta, and a large
one can hold the data off target however small the betas become: the models
would have to give up shared structure to fit the data. :class:`Cooling`
watches for that. A data set that stays above target while cooling its beta
no longer lowers its misfit has *stalled*; the couplings that read it are
then cooled with the betas until it moves again. At weights where the data
reach their targets without stalling, nothing changes.

First-order solvers take many small steps, so one step's progress says
little: :class:`WindowedYield` judges a stall over windows of
:data:`YIELD_WINDOW` iterations (the best misfit of a window against the
previous window's) by the same fraction as Gauss-Newton's cooling steps.
"""

from __future__ import annotations

__all__ = ["Cooling", "STALL_FRACTION", "STALLS_BEFORE_YIELDING", "WindowedYield",
           "YIELD_WINDOW"]

#: A data set stalls at a cooling step when it is above its target and its
#: misfit's excess over the target fell by less than this fraction (or rose)
#: since the previous cooling step ...
STALL_FRACTION = 0.1
#: ... and the couplings that read it yield after this many stalls in a row.
STALLS_BEFORE_YIELDING = 2
#: First-order solvers: iterations per window of :class:`WindowedYield`.
YIELD_WINDOW = 10


def _stalled(excess: float, before, fraction: float) -> bool:
    """Above target and less than ``fraction`` of the previous excess gained (or lost)."""
    return before is not None and excess > (1.0 - fraction) * before


def _cool_couplings(problem, keys: set, factor: float) -> None:
    """Divide the weight of every coupling that reads a data set in ``keys`` by ``factor``."""
    problem.couplings = [
        (name, weight / factor if keys & set(term.keys) else weight, term)
        for name, weight, term in problem.couplings]


class Cooling:
    """The cooling step of a Gauss-Newton run outside its hold phase.

    Parameters
    ----------
    problem : InversionProblem
        Its betas and coupling weights are changed in place.
    factor : float
        Cooling factor (>= 1): betas and yielding coupling weights are divided by it.
    """

    def __init__(self, problem, factor: float):
        self.problem = problem
        self.factor = factor
        self.last = {}  # {key: (misfit, stalls in a row)} at the previous cooling step

    def forget(self) -> None:
        """Forget the previous step (the hold phase rescaled every weight meanwhile)."""
        self.last = {}

    def __call__(self, misfits: dict) -> set:
        """Cool at the misfits ``{key: phi_d}``; returns the data sets whose couplings yielded.

        Each beta whose data set is above target is divided by the factor (the
        beta of a joint regularization over several data sets, when all of them
        are above target or one has stalled: :meth:`InversionProblem.above_target`);
        so is each coupling weight over a data set that has stalled
        :data:`STALLS_BEFORE_YIELDING` times in a row (see :data:`STALL_FRACTION`).
        """
        problem, targets = self.problem, self.problem.targets()
        last, self.last, yielding = self.last, {}, set()
        for key, target in targets.items():
            if misfits[key] <= target:
                continue
            before, stalls = last.get(key, (None, 0))
            stalled = _stalled(misfits[key] - target, None if before is None
                               else before - target, STALL_FRACTION)
            stalls = stalls + 1 if stalled else 0
            self.last[key] = (misfits[key], stalls)
            if stalls >= STALLS_BEFORE_YIELDING:
                yielding.add(key)
        for name in problem.tuned_betas():
            # a joint regularization (several data sets) also yields, as couplings do,
            # when one of its data sets stalls
            if problem.above_target(name, misfits) or \
                    set(problem.regularizations[name].keys) & yielding:
                problem.betas[name] /= self.factor
        _cool_couplings(problem, yielding, self.factor)
        return yielding


class WindowedYield:
    """Couplings yield over a data set that stands still above target (first-order solvers).

    Call it after every iteration with the misfits; at the end of each window
    of ``window`` iterations, a data set whose best misfit in the window is
    above target and gained less than :data:`STALL_FRACTION` of the
    previous window's excess has stalled; after
    :data:`STALLS_BEFORE_YIELDING` stalled windows in a row the couplings
    that read it are divided by ``factor``, and again after every further
    stalled window. Betas are cooled elsewhere (every ``cooling_rate``).

    Parameters
    ----------
    problem : InversionProblem
        Its coupling weights are changed in place.
    factor : float
        Cooling factor (> 1).
    window : int
        Iterations per window.
    """

    def __init__(self, problem, factor: float, window: int = YIELD_WINDOW):
        self.problem, self.factor, self.window = problem, factor, window
        self.best = {}  # {key: lowest misfit in the current window}
        self.last = {}  # {key: (previous window's best excess, stalls in a row)}
        self.count = 0

    def __call__(self, misfits: dict) -> set:
        """Record one iteration's ``{key: misfit}``; returns the data sets that yielded."""
        for key, value in misfits.items():
            self.best[key] = min(self.best.get(key, value), value)
        self.count += 1
        if self.count % self.window:
            return set()
        targets, yielding, last = self.problem.targets(), set(), self.last
        self.last = {}
        for key, target in targets.items():
            excess = self.best[key] - target
            if excess <= 0:
                continue
            before, stalls = last.get(key, (None, 0))
            stalls = stalls + 1 if _stalled(excess, before, STALL_FRACTION) else 0
            self.last[key] = (excess, stalls)
            if stalls >= STALLS_BEFORE_YIELDING:
                yielding.add(key)
        self.best = {}
        # only data sets some coupling reads: the caller resets its optimizer on a yield
        yielding = {key for key in yielding
                    if any(key in term.keys for _, _, term in self.problem.couplings)}
        _cool_couplings(self.problem, yielding, self.factor)
        return yielding

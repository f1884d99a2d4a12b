"""Beta cooling in which structural couplings yield when they hold a data set above target.

SimPEG's ``BetaSchedule`` divides each beta by a cooling factor while its data
set is above the target misfit. A coupling weight is not a beta, and a large
one can hold the data off target however small the betas become: the models
would have to give up shared structure to fit the data. :class:`Cooling`
watches for that. A data set that stays above target while cooling its beta
no longer lowers its misfit has *stalled*; the couplings that read it are
then cooled with the betas until it moves again. At weights where the data
reach their targets without stalling, nothing changes.
"""

from __future__ import annotations

__all__ = ["Cooling", "STALL_FRACTION", "STALLS_BEFORE_YIELDING"]

#: A data set stalls at a cooling step when it is above its target and its
#: misfit's excess over the target fell by less than this fraction (or rose)
#: since the previous cooling step ...
STALL_FRACTION = 0.1
#: ... and the couplings that read it yield after this many stalls in a row.
STALLS_BEFORE_YIELDING = 2


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

        Each beta whose data set is above target is divided by the factor; so
        is each coupling weight over a data set that has stalled
        :data:`STALLS_BEFORE_YIELDING` times in a row (see :data:`STALL_FRACTION`).
        """
        problem, targets = self.problem, self.problem.targets()
        last, self.last, yielding = self.last, {}, set()
        for key, target in targets.items():
            if misfits[key] <= target:
                continue
            before, stalls = last.get(key, (None, 0))
            stalled = before is not None and (
                misfits[key] - target > (1.0 - STALL_FRACTION) * (before - target))
            stalls = stalls + 1 if stalled else 0
            self.last[key] = (misfits[key], stalls)
            if stalls >= STALLS_BEFORE_YIELDING:
                yielding.add(key)
        for name in problem.betas:
            if problem.above_target(name, misfits):
                problem.betas[name] /= self.factor
        problem.couplings = [
            (name, weight / self.factor if yielding & set(term.keys) else weight, term)
            for name, weight, term in problem.couplings]
        return yielding

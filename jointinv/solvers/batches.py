"""Shot mini-batching: a seeded random subset of shots per iteration."""

from __future__ import annotations

import torch

from ..validation import check_positive_int, check_seed

__all__ = ["ShotBatches"]


class ShotBatches:
    """Draw ``size`` shots per iteration for every data misfit whose operator has shots.

    Each :meth:`draw` picks, for every such misfit, ``min(size, n_shots)``
    distinct shots uniformly at random (a seeded CPU generator: the sequence
    of subsets is reproducible) and makes the misfit evaluate on them only,
    scaled by ``n_shots / size`` (:meth:`jointinv.objective.DataMisfit.use_shots`);
    misfits without shots (travel times, DC) always use all their data.
    The misfit values in the history are these per-iteration estimates.

    Parameters
    ----------
    misfits : sequence of DataMisfit
    size : int, >= 1
        Shots per iteration.
    seed : int
        Seed of the draws.

    Raises
    ------
    ValueError
        If no misfit has an operator with shots.
    """

    def __init__(self, misfits, size: int, seed: int = 0):
        self.size = check_positive_int("shots_per_iteration", size)
        self.misfits = [m for m in misfits if m.supports_shots]
        if not self.misfits:
            raise ValueError("shots_per_iteration needs an operator with shots (n_shots and "
                             "select_shots, e.g. AcousticWave2D); none of the physics has them")
        self.generator = torch.Generator(device="cpu").manual_seed(check_seed("batch_seed", seed))
        self.current = {}

    def draw(self) -> None:
        """Pick the next subsets and hand them to the misfits."""
        self.current = {}
        for misfit in self.misfits:
            n_shots = misfit.operator.n_shots
            chosen = torch.randperm(n_shots, generator=self.generator)[:min(self.size, n_shots)]
            indices = sorted(chosen.tolist())
            misfit.use_shots(indices)
            self.current[misfit.key] = indices

    def description(self) -> str:
        """The current subsets, e.g. ``"velocity: 0 3 5"`` (for history rows)."""
        return "; ".join(f"{key}: {' '.join(map(str, shots))}"
                         for key, shots in self.current.items())

    def release(self) -> None:
        """Back to every shot."""
        for misfit in self.misfits:
            misfit.use_shots(None)
        self.current = {}

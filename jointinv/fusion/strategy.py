"""Strategy ``fusion`` (Hu et al.): independent inversions, the fusion network, re-inversion.

Round 0 inverts every physics on its own. Each of the ``rounds`` that follow
passes the recovered models (and their coverage maps, when the network takes
them) through the fusion network, blends its output with the recovered
models, ``w * network + (1 - w) * recovered``, and inverts every physics on
its own again from that blend (``use_as="start"``), towards it
(``"reference"``: the smallness term's reference, from the original start) or
both. The final models are those of the last inversion, so every data set is
fitted as the independent inversion fits it (to its target when the solver
reaches it; ``chi_squared_per_datum`` in :attr:`InversionResult.metrics`).
With ``reinversion="joint"`` the re-inversions after round 0 are the default
joint inversion (:data:`jointinv.joint_cases.DEMO_JOINT_METHOD`) instead of
separate ones; round 0 stays separate, as the network was trained on separate
inversions.
"""

from __future__ import annotations

import dataclasses
import numbers
import time
from pathlib import Path

import torch

from ..runner import SolverOptions
from ..validation import check_choice
from .network import FusionNetwork

__all__ = ["invert_fusion", "USES", "REINVERSIONS"]

USES = ("start", "reference", "both")
#: How each round re-inverts: every physics on its own, or the default joint inversion.
REINVERSIONS = ("independent", "joint")


def _check_network(network) -> FusionNetwork:
    if isinstance(network, (str, Path)):
        return FusionNetwork.load(network)
    if not isinstance(network, FusionNetwork):
        raise TypeError(f"network must be a jointinv.fusion.FusionNetwork or the path of its "
                        f"file, got {type(network).__name__}")
    return network


def _check_options(rounds, weight, use_as, alpha_s, reinversion):
    check_choice("reinversion", reinversion, REINVERSIONS)
    if isinstance(rounds, bool) or not isinstance(rounds, numbers.Integral) or rounds < 1:
        raise ValueError(f"rounds must be an integer >= 1, got {rounds!r}")
    if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or \
            not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be a number in [0, 1], got {weight!r}")
    if use_as not in USES:
        raise ValueError(f"use_as must be one of {list(USES)}, got {use_as!r}")
    if alpha_s is not None and (isinstance(alpha_s, bool) or not isinstance(
            alpha_s, numbers.Real) or not alpha_s > 0):
        raise ValueError(f"alpha_s must be a number > 0 or None, got {alpha_s!r}")


def _common_grid(setups: dict):
    grids = {key: setup.operator.grid for key, setup in setups.items()}
    first_key, first = next(iter(grids.items()))
    for key, grid in grids.items():
        if grid != first:
            raise ValueError(f"the fusion network sees all models on one grid: {first_key!r} "
                             f"uses {first} but {key!r} uses {grid}")
    return first


def _coverage(network, setups, models) -> dict | None:
    if not network.coverage:
        return None
    from ..dataset.sample import coverage_map

    return {key: torch.as_tensor(coverage_map(setup.operator, models[key], setup.data,
                                              network.coverage_probes.get(key, 8), seed=0))
            for key, setup in setups.items()}


def _blend(setup, fused, recovered, weight):
    model = weight * fused + (1.0 - weight) * recovered
    if setup.bounds is not None:  # a start must lie inside the bounds the solver keeps
        low, high = setup.bounds
        model = model.clamp(min=low, max=high)
    return model.to(recovered)


def invert_fusion(setups: dict, *, network, rounds: int = 2, weight: float = 0.5,
                  use_as: str = "start", alpha_s: float | None = None, separate=None,
                  reinversion: str = "independent", **solver_options):
    """Independent inversions improved by the fusion network, ``rounds`` times.

    Parameters
    ----------
    setups : dict
        ``{name: PhysicsSetup}``, one per physics the network was trained for
        (same keys and property names), all on one grid.
    network : FusionNetwork or path
        A trained network (:func:`jointinv.fusion.train_fusion`, or
        :func:`jointinv.fusion.shipped_network`).
    rounds : int, >= 1
        Network applications, each followed by a re-inversion (``rounds + 1``
        inversions of each physics in all).
    weight : float in [0, 1]
        ``w`` of the blend ``w * network + (1 - w) * recovered`` (the
        recovered models clamped to the network's ``input_range``, as the
        network saw them; the blend is clamped to a setup's ``bounds``).
        On validation samples of the shipped network's family larger is
        better (1.0: 4-15 % lower RMSE than 0.5); 0.5 is the default because
        out of that family a larger weight carries more of a wrong network
        output into the result (``examples/fusion/study_results.md``, "The
        blend weight").
    use_as : {"start", "reference", "both"}
        The blend becomes the next starting model, the next reference model of
        the smallness term (the inversion then starts from the setup's own
        initial model), or both.
    alpha_s : float, optional
        Smallness weight of the re-inversions (default: each setup's own). A
        reference model only pulls as hard as ``alpha_s`` lets it.
    separate : InversionResult, optional
        The independent inversion of these setups, if already run (round 0 is
        then skipped, e.g. to compare several ``use_as`` on one inversion).
    reinversion : {"independent", "joint"}
        How rounds 1.. re-invert: each physics on its own (the seed's loop),
        or jointly with the default joint method (structure-guided smoothness,
        cross-gradient, resolution-aware petrophysical coupling; its options
        from :data:`jointinv.joint_cases.DEMO_JOINT_METHOD`, which holds the
        misfits at target for 5 Gauss-Newton iterations: with ``solver="adam"``
        or ``"lbfgs"`` pass ``hold_iterations=0``).
    **solver_options
        :class:`~jointinv.runner.SolverOptions` of every inversion.

    Returns
    -------
    InversionResult
        The last inversion's models and metrics; ``history`` holds every
        round's rows with a ``round`` column; ``result.rounds`` lists per round
        the chi-squared per datum of each data set, and ``result.network_models``
        the last network output.

    Notes
    -----
    The network is fully convolutional and is applied to any grid: models on
    cells of another size are resampled (bilinearly) to its training cell size
    and back. It has only learnt the training set's extent, survey layout,
    noise and geology families; far from those, expect the re-inversion to
    undo less of its error (the data are fitted all the same).

    Which use helps: a Gauss-Newton inversion that converges minimises
    ``phi_d + beta phi_m`` whatever its start, and with the default tiny
    smallness weight ``phi_m`` hardly depends on the reference either. So
    ``use_as="start"`` changes little where the problem is near linear
    (travel times in slowness: the re-inversion returns to the independent
    model); ``"reference"`` or ``"both"`` with a larger ``alpha_s`` (e.g.
    0.05 on 2.5 m cells) keeps the network's structure where the data allow
    it (``examples/fusion_study.py``).

    Raises
    ------
    TypeError, ValueError, FusionNetworkError
        A bad option, setups the network was not trained for (other keys,
        properties or channel counts), several grids, or a grid too small for
        the network -- before any inversion runs.
    """
    from ..strategies import run_strategy
    from ..strategies.common import check_setups

    network = _check_network(network)
    _check_options(rounds, weight, use_as, alpha_s, reinversion)
    SolverOptions.from_options(solver_options)
    reinversion_name, reinversion_options = _reinversion(reinversion)
    # the re-inversions' solver settings (the joint method's hold iterations, say) must
    # suit the solver asked for before round 0 spends anything
    SolverOptions.from_options({**{k: v for k, v in reinversion_options.items()
                                   if k in SolverOptions.names()}, **solver_options})
    check_setups(setups)
    network.check_keys(setups, {k: s.operator.property for k, s in setups.items()})
    grid = _common_grid(setups)
    network.check_grid(grid)
    if separate is not None and sorted(getattr(separate, "models", {})) != sorted(setups):
        raise ValueError(f"separate must be the InversionResult of the independent inversion "
                         f"of setups {sorted(setups)}, got "
                         f"{sorted(getattr(separate, 'models', {})) or type(separate).__name__}")
    start = time.perf_counter()
    result = separate if separate is not None else run_strategy("independent", setups,
                                                                **solver_options)
    history = [{**row, "round": 0} for row in result.history]
    summary = [_round_summary(0, result)]
    fused = None
    for round_ in range(1, rounds + 1):
        models = {k: result.models[k].detach() for k in setups}
        fused = network.fuse(models, grid, _coverage(network, setups, models))
        # the blend uses the models the network saw (clamped to its input range)
        seen = network.clamp_inputs(torch.stack([models[k] for k in network.keys]))
        next_setups = {}
        for key, setup in setups.items():
            blend = _blend(setup, fused[key], seen[network.keys.index(key)], weight)
            changes = {}
            if use_as in ("start", "both"):
                changes["initial_model"] = blend
            if use_as in ("reference", "both"):
                changes["reference_model"] = blend
            if alpha_s is not None:
                changes["alpha_s"] = float(alpha_s)
            next_setups[key] = dataclasses.replace(setup, **changes)
        result = run_strategy(reinversion_name, next_setups,
                              **{**reinversion_options, **solver_options})
        history += [{**row, "round": round_} for row in result.history]
        summary.append(_round_summary(round_, result))
    result.history = history
    result.wall_time = time.perf_counter() - start
    result.method = (f"fusion ({rounds} round{'s' * (rounds > 1)}, weight {weight:g}, "
                     f"as {use_as}; {result.method})")
    result.rounds = summary
    result.network_models = fused
    return result


def _reinversion(kind: str) -> tuple:
    """``(strategy name, its options)`` of a round's re-inversion (rounds 1..)."""
    if kind == "independent":
        return "independent", {}
    from ..joint_cases import DEMO_JOINT_METHOD
    return DEMO_JOINT_METHOD["name"], {k: v for k, v in DEMO_JOINT_METHOD.items()
                                       if k not in ("name", "label")}


def _round_summary(round_: int, result) -> dict:
    metrics = result.metrics
    return {"round": round_, **{f"chi_squared_per_datum[{k}]": row["chi_squared_per_datum"]
                                for k, row in metrics.items()}}


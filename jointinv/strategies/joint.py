"""Simultaneous joint inversion with structural couplings (``cross_gradient``, ...)."""

from __future__ import annotations

import time

from ..coupling import Coupling
from ..joint_regularization import JOINT_REGULARIZATIONS, StructureGuidance, joint_regularizations
from ..multiscale import invert_setups_by_band
from ..runner import SolverOptions, check_common_grid, make_result, run
from .common import build_all, check_setups

__all__ = ["invert_joint", "invert_cross_gradient", "invert_joint_total_variation"]


def invert_joint(setups: dict, *, coupling="cross_gradient", parameterization=None,
                 regularization: str = "separate", regularization_eps: float | None = None,
                 edge_contrast: float | None = None, **solver_options):
    """Invert all data sets at once, coupling the models.

    Minimises ``sum_k [phi_d,k + beta_k phi_m,k] + coupling`` with any solver.
    Each physics keeps its own data misfit, regularization, beta (estimated
    from its eigenvalue ratio) and target; with Gauss-Newton a beta is cooled
    only while its data set is above target, and the run stops when every
    data set is at its target.

    Parameters
    ----------
    setups : dict
        ``{name: PhysicsSetup}`` with at least two physics on one grid. One
        of them may have ``frequencies`` (a waveform physics): the joint
        inversion then runs once per band, that physics' data and wavelet
        low-passed, every other physics with its own unfiltered data in every
        band, all warm-started from the previous band's models
        (:func:`jointinv.multiscale.invert_setups_by_band`).
    coupling : Coupling, str, dict or list of them
        :class:`jointinv.coupling.Coupling` (a kind name or ``{kind:, weight:,
        eps:}`` is shorthand); its unit-free weight is documented there.
    parameterization : Parameterization, optional
        One module producing every model (e.g. a network with one output
        channel per property); first-order solvers. Default: cells.
    regularization : {"separate", "joint_total_variation", "joint_minimum_gradient_support"}
        ``"separate"``: each model's own Tikhonov term. ``"joint_total_variation"``:
        one joint total variation of all models replaces their smoothness
        (each keeps its smallness); ``"joint_minimum_gradient_support"``: the
        sparser joint minimum gradient support does (IRLS); see
        :mod:`jointinv.joint_regularization`.
    regularization_eps : float, optional
        Relative change across one cell below which the joint total variation
        (or minimum gradient support) acts like an L2 smoothness (default 1e-4
        for the joint total variation, 1 for the minimum gradient support:
        :data:`jointinv.joint_regularization.DEFAULT_EPS`).
    edge_contrast : float, optional
        Structure-guided smoothness: each model's smoothness is relaxed across
        faces where the other models change by more than this relative amount,
        updated every Gauss-Newton iteration (off when None).
    **solver_options
        :class:`~jointinv.runner.SolverOptions`; ``max_iterations`` (per
        band) and ``cg_max_iterations`` default to 30.
    """
    options = SolverOptions.from_options(solver_options, max_iterations=30,
                                         cg_max_iterations=30)
    couplings = coupling if isinstance(coupling, (list, tuple)) else [coupling]
    couplings = [Coupling.coerce(c) for c in couplings if c is not None]
    if regularization not in JOINT_REGULARIZATIONS:
        raise ValueError(f"regularization must be one of {list(JOINT_REGULARIZATIONS)}, "
                         f"got {regularization!r}")
    if edge_contrast is not None and regularization != "separate":
        raise ValueError("edge_contrast guides each model's own smoothness: use it with "
                         "regularization='separate'")
    check_setups(setups, minimum=2)
    names = [f"{c.kind} (lambda={c.weight:g})" for c in couplings]
    if regularization != "separate":
        names.append(regularization)
    if edge_contrast is not None:
        names.append(f"structure-guided smoothness (edge contrast {edge_contrast:g})")
    method = f"joint {' + '.join(names) or 'uncoupled'} ({options.solver})"
    start = time.perf_counter()

    def invert_once(band_setups):
        built = build_all(band_setups, minimum=2, smoothness=regularization == "separate")
        check_common_grid(built)
        joint, updates = joint_regularizations(regularization, built, regularization_eps)
        if edge_contrast is not None:
            updates.append(StructureGuidance(built, edge_contrast))
        output = run(built, options, couplings=couplings, parameterization=parameterization,
                     regularizations=joint, updates=updates)
        return make_result(built, output, start, method)

    return invert_setups_by_band(invert_once, setups, progress=options.progress)


def invert_cross_gradient(setups: dict, *, coupling=None, parameterization=None,
                          **solver_options):
    """:func:`invert_joint` with a normalised cross-gradient (default weight)."""
    return invert_joint(setups, coupling=_kind("cross_gradient", coupling),
                        parameterization=parameterization, **solver_options)


def invert_joint_total_variation(setups: dict, *, coupling=None, parameterization=None,
                                 **solver_options):
    """:func:`invert_joint` with a joint total variation coupling (default weight)."""
    return invert_joint(setups, coupling=_kind("joint_total_variation", coupling),
                        parameterization=parameterization, **solver_options)


def _kind(kind: str, coupling) -> Coupling:
    if coupling is None:
        return Coupling(kind)
    coupling = Coupling.coerce(coupling)
    if coupling.kind != kind:
        raise ValueError(f"strategy {kind!r} needs a {kind!r} coupling, got {coupling.kind!r}; "
                         f"use strategy 'joint' to choose the kind")
    return coupling

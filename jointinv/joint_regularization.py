"""Joint regularization of several models: joint total variation and structure guidance.

Two ways for models to share edges without a cross-gradient:

- :func:`joint_regularizations` with ``"joint_total_variation"`` replaces each
  model's L2 smoothness by one joint total variation of all models
  (``sum_cells v sqrt(sum_k |grad m_k / s_k|^2 + eps^2)``, a smoothed L1 norm
  of the joint gradient that Gauss-Newton handles through its exact Hessian):
  an edge costs less when all models have it at the same place, and edges are
  not smeared as an L2 smoothness smears them. Each model keeps its smallness.
- ``"joint_minimum_gradient_support"`` replaces it by the joint minimum gradient
  support (:class:`~jointinv.coupling.JointMinimumGradientSupport`, a sparser
  variant: an edge costs the same whatever its size), majorised by a weighted L2
  term that is reweighted, with ``eps`` lowered, between iterations (IRLS).
- :class:`StructureGuidance` keeps each model's L2 smoothness but lowers its
  face weights where the *other* models currently have an edge, updated
  between iterations (edge-preserving smoothing guided by the other physics).

``s_k`` is the mean absolute starting value of model ``k`` (inversion
variable), so ``eps`` and ``edge_contrast`` read as relative changes across
one cell, whatever the units.

With a joint regularization each model keeps its smallness with the beta of a
separate inversion (estimated against its full Tikhonov term): balanced alone
the smallness weighed about 1e4 times more (it outweighed the joint term, and
the minimum gradient support left speckled velocity models, 1.07x
independent). The joint term's one beta stays put while each model's share of
it cools with that model's own beta (:class:`BetaShares`), as its smoothness
would in a separate inversion.
"""

from __future__ import annotations

from .coupling import JointMinimumGradientSupport, JointTotalVariation
from .regularization import Smoothness
from .validation import check_positive_float

__all__ = ["DEFAULT_EPS", "JOINT_REGULARIZATIONS", "BetaShares", "joint_regularizations",
           "StructureGuidance"]

JOINT_REGULARIZATIONS = ("separate", "joint_total_variation", "joint_minimum_gradient_support")

#: Default final ``eps`` of each joint regularization (relative change across one cell),
#: from the sweeps of ``examples/coupling_study.py`` over five cases
#: (``examples/couplings/sweeps.md``; joint total variation 1e-5 to 1, minimum gradient
#: support 1e-3 to 1): the joint total variation's best mean RMSE of both properties.
#: The minimum gradient support is within 1 % at every eps from 1e-3 to 1 on those cases
#: (best, by 1e-4, at 0.1), but below 1 it over-fits the two-physics toy of the tests
#: (chi^2/N 0.52 at 0.1), where each cell is seen on its own and an edge in the noise
#: costs no more than a real one; 1 keeps every data set near its target.
DEFAULT_EPS = {"joint_total_variation": 1e-4, "joint_minimum_gradient_support": 1.0}


def _amplitudes(built: dict) -> dict:
    return {k: max(float(b.start.abs().mean()), 1e-12) for k, b in built.items()}


def joint_regularizations(kind: str, built: dict, eps: float | None = None
                          ) -> tuple[dict, list]:
    """``({name: Term}, updates)``: the joint regularization ``kind`` over every model.

    ``"separate"`` gives none (each model keeps its own Tikhonov term);
    ``"joint_minimum_gradient_support"`` gives one
    :class:`~jointinv.coupling.JointMinimumGradientSupport` and a
    :class:`SupportReweighting` with the same ``eps`` schedule as below;
    ``"joint_total_variation"`` gives one :class:`JointTotalVariation` (build
    the physics with ``smoothness=False`` so it replaces their smoothness) and
    an :class:`EpsilonContinuation` that lowers its ``eps`` from a relative
    change of 1 across the smaller cell size (an L2-like start, where the beta
    estimate is made) to ``eps``, halving it every iteration, as SimPEG's
    sparse (IRLS) inversions do. ``eps=None``: :data:`DEFAULT_EPS` of ``kind``.

    Each model keeps its smallness, with the beta it has in a separate
    inversion (see :class:`~jointinv.physics_setup.BuiltPhysics`
    ``beta_regularization``), and its share of the joint term cools with that
    beta (:class:`BetaShares`, added by the runner).
    """
    if kind not in JOINT_REGULARIZATIONS:
        raise ValueError(f"regularization must be one of {list(JOINT_REGULARIZATIONS)}, "
                         f"got {kind!r}")
    if eps is not None:
        eps = check_positive_float("regularization_eps", eps)
    if kind == "separate":
        return {}, []
    eps = DEFAULT_EPS[kind] if eps is None else eps
    grid = next(iter(built.values())).setup.operator.grid
    cell = min(grid.dx, grid.dz)
    if kind == "joint_minimum_gradient_support":
        term = JointMinimumGradientSupport(list(built), grid, scales=_amplitudes(built),
                                           eps=max(eps, 1.0) / cell)
        return {kind: term}, [SupportReweighting(term, eps / cell)]
    term = JointTotalVariation(list(built), grid, scales=_amplitudes(built),
                               eps=max(eps, 1.0) / cell)
    return {"joint_total_variation": term}, [EpsilonContinuation(term, eps / cell)]


class EpsilonContinuation:
    """Halve a smoothed-L1 term's ``eps`` at every update until it reaches ``final``."""

    def __init__(self, term, final: float):
        self.term, self.final = term, check_positive_float("final eps", final)

    def start(self, variables: dict) -> None:
        """Nothing to do: the beta estimate is made at the starting (large) ``eps``."""

    def update(self, variables: dict) -> None:
        self.term.eps = max(self.term.eps / 2.0, self.final)


class SupportReweighting(EpsilonContinuation):
    """Halve a minimum-gradient-support term's ``eps`` at every update until it reaches
    ``final``, and majorise it again at the current models (IRLS)."""

    def start(self, variables: dict) -> None:
        """Weights at the starting models (before the beta estimate)."""
        self.term.reweight(variables)

    def update(self, variables: dict) -> None:
        super().update(variables)
        self.term.reweight(variables)


class BetaShares:
    """Let each model's share of a joint regularization cool with its own beta.

    The joint term has one beta, yet its models' data sets reach their targets
    at different iterations: cooling it for a data set still above target
    would strip the others of their smoothing, and not cooling it stalls that
    data set. Here the joint term's beta stays put (the problem lists it in
    ``shared_betas``) and, before every Gauss-Newton iteration, each model's
    share is scaled by its own beta (that of its smallness, cooled with its data
    set) over that beta at the start, through
    :meth:`~jointinv.coupling.JointTotalVariation.balance`.
    """

    def __init__(self, problem, name: str):
        self.problem, self.name = problem, name
        self.term = problem.regularizations[name]
        self.start_betas = None
        problem.shared_betas.add(name)

    def start(self, variables: dict) -> None:
        """Remember the starting betas (call it once the betas are set)."""
        self.start_betas = {k: self.problem.betas[k] for k in self.term.keys}

    def update(self, variables: dict) -> None:
        self.term.balance({k: self.problem.betas[k] / self.start_betas[k]
                           for k in self.term.keys})


class StructureGuidance:
    """Smoothness face weights of each model from the other models' edges.

    Across a face where the other models change by a relative amount ``r``
    (root-sum-square over the other models of ``|m_j(i+1) - m_j(i)| / s_j``),
    the smoothness weight of the model is ``max(1 / (1 + (r / edge_contrast)^2),
    floor)``: faces where the others jump by much more than ``edge_contrast``
    are barely smoothed, so the model may put an edge there.

    Parameters
    ----------
    built : dict
        ``{key: BuiltPhysics}`` whose regularizations hold :class:`Smoothness` terms.
    edge_contrast : float
        Relative change across one face that counts as an edge (0.05 = 5 %).
    floor : float
        Smallest weight, in (0, 1].
    """

    def __init__(self, built: dict, edge_contrast: float = 0.05, floor: float = 0.01):
        self.edge_contrast = check_positive_float("edge_contrast", edge_contrast)
        self.floor = check_positive_float("floor", floor)
        if self.floor > 1:
            raise ValueError(f"floor must be in (0, 1], got {floor}")
        self.scales = _amplitudes(built)
        self.smoothness = {k: [t for _, t in getattr(b.regularization, "weighted_terms", [])
                               if isinstance(t, Smoothness)] for k, b in built.items()}

    def start(self, variables: dict) -> None:
        """Weights at the starting models (before the beta estimate)."""
        self.update(variables)

    def update(self, variables: dict) -> None:
        """Recompute every model's face weights from the others at ``variables``."""
        for key, terms in self.smoothness.items():
            others = [variables[k] / self.scales[k] for k in variables if k != key]
            for term in terms:
                jumps = sum(term.difference(m) ** 2 for m in others).sqrt()
                weights = 1.0 / (1.0 + (jumps / self.edge_contrast) ** 2)
                term.face_weights = weights.clamp_min(self.floor).detach()

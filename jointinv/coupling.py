"""Structural coupling terms between models on the common grid.

Each term reads two or more models from the dict of models and returns a
scalar; all use cell-size-aware gradients (:mod:`jointinv.grid_operators`).

- :class:`CrossGradient` — Gallardo & Meju (2003)
  ``sum_cells v |grad m1 x grad m2|^2`` written, as SimPEG does, with the
  identity ``|a x b|^2 = |a|^2 |b|^2 - (a . b)^2`` on face gradients averaged
  to cells. Its value has units ``[m1]^2 [m2]^2 / m^2``, so its weight depends
  on the properties' units: use ``scales`` (divide each model by a typical
  amplitude) or the normalised form.
- :class:`NormalizedCrossGradient` — the same with unit gradient vectors, so
  it measures structure only and is invariant to scaling either model; its
  value divided by the grid area is the mean ``sin^2`` of the angle between
  the two gradients, in [0, 1].
- :class:`JointTotalVariation` — ``sum_cells v sqrt(sum_k |grad m_k / s_k|^2 + eps^2)``,
  which favours edges shared by all models.
"""

from __future__ import annotations

import math

import torch

from .grid import Grid
from .grid_operators import average_faces_to_cells, cell_gradient, face_gradients
from .objective import Term
from .validation import check_nonnegative_float, check_positive_float, check_positive_int

__all__ = ["COUPLING_KINDS", "Coupling", "CrossGradient", "DEFAULT_COUPLING_WEIGHT",
           "DEFAULT_WEIGHTS", "JointTotalVariation", "NCG_EPS", "NormalizedCrossGradient"]

#: Gradient floor of the normalised cross-gradient, relative to each model's
#: largest gradient: the coupling and the reported similarity both use it.
NCG_EPS = 0.1


def _check_keys(keys, minimum, maximum=None):
    if isinstance(keys, str) or not hasattr(keys, "__iter__"):
        raise TypeError(f"keys must be a sequence of model names, got {keys!r}")
    keys = tuple(keys)
    if len(keys) < minimum or len(set(keys)) != len(keys):
        raise ValueError(f"keys must name at least {minimum} different models, got {keys}")
    if maximum is not None and len(keys) > maximum:
        raise ValueError(f"keys must name exactly {maximum} models (a pairwise term), got "
                         f"{keys}; use jointinv.coupling.Coupling for more models (pairwise sums)")
    return keys


def _check_grid(grid):
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a jointinv.Grid, got {type(grid).__name__}")
    return grid


def _read(term, models) -> list:
    """The term's models from ``models``, each checked to have the grid's ``(nz, nx)`` shape."""
    term._check_keys(models)
    out = []
    for key in term.keys:
        if tuple(models[key].shape) != term.grid.shape:
            raise ValueError(f"{type(term).__name__}: model {key!r} must have the grid shape "
                             f"(nz, nx) = {term.grid.shape}, got {tuple(models[key].shape)}")
        out.append(models[key])
    return out


def _scales(keys, scales):
    if scales is None:
        return {key: 1.0 for key in keys}
    unknown = sorted(set(scales) - set(keys))
    if unknown:
        raise ValueError(f"scales name models {unknown} that the term does not read {keys}")
    return {key: check_positive_float(f"scales[{key!r}]", scales.get(key, 1.0)) for key in keys}


class CrossGradient(Term):
    """Cross-gradient ``sum_i v_i [A(g1^2)_i A(g2^2)_i - A(g1 g2)_i^2]``.

    ``g = G m / s`` are face gradients (zero on boundary faces), ``A`` averages
    faces to cells and ``v`` is the cell area [m^2] — the discretisation of
    SimPEG's ``regularization.CrossGradient`` on the same TensorMesh.

    Parameters
    ----------
    keys : (str, str)
        The two models.
    grid : Grid
    scales : dict, optional
        ``{key: s}``: each model is divided by ``s`` (a typical amplitude in
        its units) so the term is dimensionless and its weight unit-free.
    """

    def __init__(self, keys, grid: Grid, scales=None):
        self.keys = _check_keys(keys, 2, maximum=2)
        self.grid = _check_grid(grid)
        self.scales = _scales(self.keys, scales)

    def __call__(self, models):
        (a, b) = (m / self.scales[k] for k, m in zip(self.keys, _read(self, models)))
        ax, az = face_gradients(a, self.grid)
        bx, bz = face_gradients(b, self.grid)
        aa = average_faces_to_cells(ax * ax, az * az)
        bb = average_faces_to_cells(bx * bx, bz * bz)
        ab = average_faces_to_cells(ax * bx, az * bz)
        return self.grid.dx * self.grid.dz * (aa * bb - ab * ab).sum()


def _largest_squared_gradient(model, grid):
    gx, gz = cell_gradient(model, grid)
    return (gx * gx + gz * gz).max()


def _unit_gradient(model, grid, eps, largest=None):
    """Unit gradient vectors; ``largest`` (a number) fixes the floor's reference."""
    gx, gz = cell_gradient(model, grid)
    norm2 = gx * gx + gz * gz
    largest = norm2.max() if largest is None else torch.as_tensor(largest, dtype=norm2.dtype)
    if float(largest.detach()) == 0.0:  # a flat model has no structure to align
        return torch.zeros_like(gx), torch.zeros_like(gz)
    # eps is relative to the model's largest gradient, so the result is
    # exactly invariant to scaling the model
    inv = torch.rsqrt(norm2 + (eps**2) * largest)
    return gx * inv, gz * inv


class NormalizedCrossGradient(Term):
    """Cross-gradient of unit gradient vectors: ``sum_i v_i |u1 x u2|_i^2``.

    Invariant under ``m_k -> c m_k`` for any ``c > 0``. ``eps`` (relative to
    each model's largest gradient) keeps flat regions from amplifying noise.
    :meth:`mean` gives the area-weighted mean in [0, 1], the structural
    similarity reported by comparison studies (0 = identical structure).
    """

    def __init__(self, keys, grid: Grid, eps: float = NCG_EPS):
        self.keys = _check_keys(keys, 2, maximum=2)
        self.grid = _check_grid(grid)
        self.eps = check_positive_float("eps", eps)
        self.largest = None  # {key: squared gradient} when the floors are frozen

    def frozen(self, models) -> NormalizedCrossGradient:
        """This term with each gradient floor fixed at its value for ``models``.

        The free floor follows each model's largest gradient, so a single-cell
        spike in one model lowers every unit gradient of that model and with
        them the whole term: a minimiser that only weighs closeness (the
        sequential strategy's coupling step) buys a smaller value with spikes.
        With frozen floors a spike only adds misaligned gradients.
        """
        term = NormalizedCrossGradient(self.keys, self.grid, eps=self.eps)
        with torch.no_grad():
            term.largest = {key: float(_largest_squared_gradient(model, self.grid))
                            for key, model in zip(self.keys, _read(self, models))}
        return term

    def has_structure(self, models) -> bool:
        """True when both models have a gradient somewhere (the term is defined).

        On a flat model the unit gradients do not exist and the term is 0 by
        convention. Being scale invariant, it jumps to its full O(1) value for
        any step, however short, that gives both models structure, with no
        gradient or curvature at the flat model to foresee it: a solver lets
        the term sit out a step from a flat model (it has no say there anyway).
        """
        frozen = self.largest or {}
        with torch.no_grad():
            return all(float(frozen[key] if key in frozen else
                             _largest_squared_gradient(model, self.grid)) > 0
                       for key, model in zip(self.keys, _read(self, models)))

    def residual(self, models) -> torch.Tensor:
        """``sqrt(v) (u1 x u2)`` per cell: the value is the sum of its squares."""
        a, b = _read(self, models)
        largest = self.largest or {}
        ux, uz = _unit_gradient(a, self.grid, self.eps, largest.get(self.keys[0]))
        wx, wz = _unit_gradient(b, self.grid, self.eps, largest.get(self.keys[1]))
        return (self.grid.dx * self.grid.dz) ** 0.5 * (ux * wz - uz * wx)

    def __call__(self, models):
        return (self.residual(models) ** 2).sum()

    def mean(self, models) -> float:
        """Area-weighted mean of ``|u1 x u2|^2`` over the grid."""
        with torch.no_grad():
            return float(self(models)) / (self.grid.n_cells * self.grid.dx * self.grid.dz)


class JointTotalVariation(Term):
    """``sum_i v_i sqrt(sum_k A(g_k^2)_i + eps^2)`` with ``g_k = G m_k / s_k``.

    Parameters
    ----------
    keys : sequence of str
        Two or more models.
    grid : Grid
    scales : dict, optional
        ``{key: s}`` typical amplitude of each model (see :class:`CrossGradient`).
    eps : float
        Smoothing of the square root [1/m after scaling], > 0.
    """

    def __init__(self, keys, grid: Grid, scales=None, eps: float = 1e-6):
        self.keys = _check_keys(keys, 2)
        self.grid = _check_grid(grid)
        self.scales = _scales(self.keys, scales)
        self.eps = check_positive_float("eps", eps)
        self.amplitudes = dict(self.scales)  # :meth:`balance` rescales from these

    def balance(self, weights: dict) -> None:
        """Weigh model ``k``'s scaled gradient by ``sqrt(weights[k])``: its scale becomes
        ``amplitude / sqrt(weights[k])`` (the amplitude given at construction), so that its
        share of the term grows or shrinks as ``weights[k]`` does (e.g. its beta relative
        to its starting beta, see :class:`jointinv.joint_regularization.BetaShares`)."""
        self.scales = {k: self.amplitudes[k] / math.sqrt(
            check_positive_float(f"weights[{k!r}]", weights[k])) for k in self.keys}

    def squared_gradient(self, models) -> torch.Tensor:
        """The sum over models of the squared scaled gradient per cell, ``(nz, nx)``."""
        total = 0.0
        for key, model in zip(self.keys, _read(self, models)):
            gx, gz = face_gradients(model / self.scales[key], self.grid)
            total = total + average_faces_to_cells(gx * gx, gz * gz)
        return total

    def __call__(self, models):
        total = self.squared_gradient(models)
        return self.grid.dx * self.grid.dz * torch.sqrt(total + self.eps**2).sum()


class JointMinimumGradientSupport(JointTotalVariation):
    """Joint minimum gradient support, majorised for Gauss-Newton (IRLS).

    The functional is ``sum_i v_i eps_0^2 s_i / (s_i + eps^2)`` with the joint
    squared gradient ``s_i = sum_k A(g_k^2)_i``, ``g_k = G m_k / s_k``, and
    ``eps_0`` the ``eps`` it was built with: like an L2 smoothness where every
    model is flat (``s << eps^2``), about ``v_i eps_0^2`` wherever any model
    has an edge, whatever its size. It counts the cells with an edge
    (Portniaguine & Zhdanov's minimum support), so it favours blocky models
    with edges at the same places in every model. ``eps_0`` stays when ``eps``
    is lowered: an edge keeps its cost while flat cells grow stiffer, and the
    betas cool to fit the data (with ``eps^2`` in its place the term faded by
    ``eps^2`` and the data were over-fitted, chi^2/N down to 0.34). For
    Gauss-Newton the term is a reweighted L2 one (IRLS), ``sum_i v_i w_i s_i``
    with weights from the functional's tangent at the models of the last
    :meth:`reweight`, ``w_i = c eps^4 / (s_i^0 + eps^2)^2`` (1 before any
    reweighting), ``c`` making the term equal the functional there (as
    SimPEG's IRLS rescales its weights, so that the betas keep their meaning).
    Reweight (and lower ``eps``) between iterations, as
    :class:`jointinv.joint_regularization.SupportReweighting` does.

    Parameters
    ----------
    keys, grid, scales
        As :class:`JointTotalVariation` (whose joint gradient it shares).
    eps : float
        Gradient [1/m after scaling] above which a cell counts as an edge, > 0.
    """

    def __init__(self, keys, grid: Grid, scales=None, eps: float = 1e-6):
        super().__init__(keys, grid, scales, eps)
        self.start_eps = self.eps
        self.weights = None

    def support(self, models) -> torch.Tensor:
        """The minimum-gradient-support functional itself (scalar)."""
        s = self.squared_gradient(models)
        return self.grid.dx * self.grid.dz * (self.start_eps**2 * s / (s + self.eps**2)).sum()

    def reweight(self, models) -> None:
        """Weights ``eps^4 / (s + eps^2)^2`` at ``models`` (held fixed until the next call),
        scaled by one factor so that the term equals the functional there (as SimPEG's IRLS
        rescales its weights): the betas keep their meaning while edges lose weight."""
        with torch.no_grad():
            s = self.squared_gradient(models)
            weights = self.eps**4 / (s + self.eps**2) ** 2
            weighted = float((weights * s).sum())
            functional = float(self.support(models)) / (self.grid.dx * self.grid.dz)
            scale = functional / weighted if weighted > 0 else 1.0
            self.weights = (scale * weights).detach()

    def __call__(self, models):
        s = self.squared_gradient(models)
        weighted = s if self.weights is None else self.weights.to(s) * s
        return self.grid.dx * self.grid.dz * weighted.sum()


COUPLING_KINDS = ("cross_gradient", "cross_gradient_unnormalized", "joint_total_variation",
                  "petrophysical")

#: Default unit-free weight lambda of each kind: at 1, models whose gradients
#: are everywhere perpendicular (normalised cross-gradient) cost as much as
#: all data sets sitting at their target misfit. Chosen from the sweeps of
#: ``examples/coupling_study.py`` over three decades on five cases (the two
#: built-in joint cases and three hand-made geologies; tables in
#: ``examples/couplings/sweeps.md``): the weight with the best mean RMSE of
#: both properties with every data set at its target.
DEFAULT_WEIGHTS = {"cross_gradient": 0.3, "cross_gradient_unnormalized": 0.3,
                   "joint_total_variation": 10.0, "petrophysical": 0.3}

#: Default weight of the normalised cross-gradient (the default kind).
DEFAULT_COUPLING_WEIGHT = DEFAULT_WEIGHTS["cross_gradient"]


class Coupling:
    """A structural coupling between models, with a weight that means the same in any units.

    Parameters
    ----------
    kind : str
        One of :data:`COUPLING_KINDS`:

        - ``"cross_gradient"``: :class:`NormalizedCrossGradient` of every pair
          of models; the objective adds ``weight * n_data * mean |u1 x u2|^2``
          per pair (the mean over the grid area is in [0, 1]).
        - ``"cross_gradient_unnormalized"``: :class:`CrossGradient` of every
          pair, each model divided by its mean absolute starting value, times
          ``weight * n_data / area``.
        - ``"joint_total_variation"``: one :class:`JointTotalVariation` of all
          models, scaled the same way, times ``weight * n_data / area``.
        - ``"petrophysical"``: one
          :class:`~jointinv.petrophysics.GaussianMixtureCoupling` of all
          models (a mixture of ``n_clusters`` units over their scaled values,
          re-estimated between iterations), times ``weight * n_data / area``.

        ``n_data`` is the total number of data of all physics and ``area`` the
        grid's area [m^2].
    weight : float, optional
        lambda, dimensionless, >= 0. Default per kind (:data:`DEFAULT_WEIGHTS`,
        from the sweeps over 0.01-10 on five cases, mean RMSE ratios to
        independent velocity / log10 rho): ``cross_gradient`` 0.3 (0.99 /
        0.97; at 10 the velocity loses 8 %, every data set at its target
        since the couplings yield to it, one at chi^2/N 1.3 before),
        ``cross_gradient_unnormalized`` 0.3 (no measurable effect anywhere in
        0.01-10: relative gradients per metre make its value tiny),
        ``joint_total_variation`` 10 (0.95 / 0.99, the top of the range),
        ``petrophysical`` 0.3 (0.88 / 0.98; 0.90 / 0.98 before the couplings
        yielded; from 1 on the data left their target then, not rerun).
        Beside structure guidance, ``jointinv.joint_cases.
        DEMO_JOINT_METHOD`` uses the cross-gradient at 1 and the
        resolution-aware petrophysical coupling at 0.1 (0.86 / 0.87).
        The weight is where a Gauss-Newton run starts: a weight too large
        for the data to reach their targets is cooled with the betas once a
        data set stalls above its target
        (:class:`jointinv.solvers.cooling.Cooling`), so a large weight no
        longer leaves the data off target.
    eps : float, optional
        Gradient floor: relative to each model's largest gradient for the
        normalised cross-gradient (default :data:`NCG_EPS`), the square-root
        smoothing of the joint total variation (default 1e-6); not used by the
        unnormalised cross-gradient.
    n_clusters : int, default 3
        Units of the ``petrophysical`` mixture.
    resolution_aware : bool, default False
        ``petrophysical`` only: learn each unit's value of a property from the
        cells its physics senses (confidence from each physics' sensitivity at
        the starting models; :mod:`jointinv.petrophysics`), so that a unit
        seen by one physics near the surface and by the other at depth
        carries its value down. Costs one sensitivity estimate per physics
        (32 vector-Jacobian products) at the start.
    """

    def __init__(self, kind: str = "cross_gradient", weight: float | None = None,
                 eps: float | None = None, n_clusters: int = 3,
                 resolution_aware: bool = False):
        if kind not in COUPLING_KINDS:
            raise ValueError(f"coupling kind must be one of {list(COUPLING_KINDS)}, got {kind!r}")
        self.kind = kind
        self.weight = check_nonnegative_float(
            "coupling weight", DEFAULT_WEIGHTS[kind] if weight is None else weight)
        if eps is not None and kind in ("cross_gradient_unnormalized", "petrophysical"):
            raise ValueError(f"eps is not used by the {kind!r} coupling; leave it None")
        self.n_clusters = check_positive_int("coupling n_clusters", n_clusters)
        if not isinstance(resolution_aware, bool):
            raise TypeError(f"coupling resolution_aware must be True or False, "
                            f"got {resolution_aware!r}")
        if resolution_aware and kind != "petrophysical":
            raise ValueError(f"resolution_aware applies to the 'petrophysical' coupling, "
                             f"not {kind!r}")
        self.resolution_aware = resolution_aware
        default = NCG_EPS if kind == "cross_gradient" else 1e-6
        self.eps = check_positive_float("coupling eps", default if eps is None else eps)

    @classmethod
    def coerce(cls, value) -> Coupling:
        """A :class:`Coupling` from itself, a kind name, or a mapping ``{kind:, weight:, eps:}``."""
        if isinstance(value, Coupling):
            return value
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, dict):
            allowed = {"kind", "weight", "eps", "n_clusters", "resolution_aware"}
            unknown = sorted(set(value) - allowed)
            if unknown:
                raise TypeError(f"coupling has unknown keys {unknown}; allowed: {sorted(allowed)}")
            return cls(**value)
        raise TypeError(f"coupling must be a jointinv.coupling.Coupling, a kind name "
                        f"{list(COUPLING_KINDS)} or a mapping, got {type(value).__name__}")

    def terms(self, start_models: dict, grid: Grid, n_data_total: int,
              confidence: dict | None = None) -> list:
        """``[(name, effective weight, Term)]`` over the models of ``start_models``.

        ``start_models`` ``{key: (nz, nx)}`` (inversion variables at the start)
        sets the amplitude scales of the unnormalised kinds; ``confidence``
        ``{key: (nz, nx)}`` in [0, 1] is required when ``resolution_aware``.
        """
        if self.resolution_aware and confidence is None:
            raise ValueError("a resolution-aware petrophysical coupling needs each model's "
                             "confidence map; run it through jointinv.invert or a strategy")
        keys = list(start_models)
        # a mixture over one model is a clustering smallness (PGI on one physics)
        smallest = 1 if self.kind == "petrophysical" else 2
        if len(keys) < smallest:
            raise ValueError(f"a {self.kind!r} coupling needs at least {smallest} models, "
                             f"got {keys}")
        area = grid.n_cells * grid.dx * grid.dz
        effective = self.weight * n_data_total / area
        if self.kind in ("joint_total_variation", "petrophysical"):
            scales = {k: _amplitude(start_models[k]) for k in keys}
            if self.kind == "petrophysical":
                from .petrophysics import GaussianMixtureCoupling

                term = GaussianMixtureCoupling(
                    keys, grid, scales, n_clusters=self.n_clusters,
                    confidence=confidence if self.resolution_aware else None)
            else:
                term = JointTotalVariation(keys, grid, scales=scales, eps=self.eps)
            return [(f"{self.kind}[{','.join(keys)}]", effective, term)]
        out = []
        for i, a in enumerate(keys):
            for b in keys[i + 1:]:
                if self.kind == "cross_gradient":
                    term = NormalizedCrossGradient((a, b), grid, eps=self.eps)
                else:
                    scales = {k: _amplitude(start_models[k]) for k in (a, b)}
                    term = CrossGradient((a, b), grid, scales=scales)
                out.append((f"{self.kind}[{a},{b}]", effective, term))
        return out

    def __repr__(self) -> str:
        aware = ", resolution_aware=True" if self.resolution_aware else ""
        return f"Coupling(kind={self.kind!r}, weight={self.weight:g}, eps={self.eps:g}{aware})"


def _amplitude(model: torch.Tensor) -> float:
    return max(float(model.detach().abs().mean()), 1e-12)

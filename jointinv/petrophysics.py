"""Petrophysical coupling: a Gaussian mixture over the joint property values, learned in flight.

Where one property is resolved and the other is not, structure alone cannot
carry information across (a cross-gradient is satisfied by a flat model); a
*quantitative* link can. As in SimPEG's petrophysically and geologically
guided inversion (PGI), the models' values cell by cell, ``x_i = (m_1,i / s_1,
..., m_P,i / s_P)`` (each model scaled by its mean starting amplitude), are
described by a Gaussian mixture whose means, covariances and proportions are
re-estimated (a few EM steps) between Gauss-Newton iterations. The coupling
term is the mixture's smallness with the cell responsibilities held fixed
during an iteration::

    sum_i v_i sum_k r_ik (x_i - mu_k)^T Sigma_k^{-1} (x_i - mu_k)

so a cell whose velocity puts it in a unit pulls its resistivity toward that
unit's mean resistivity. The term is quadratic at fixed ``r, mu, Sigma``,
which Gauss-Newton handles exactly; it is weighted like a coupling (a
unit-free lambda times the number of data).

Resolution-aware mixture (``confidence``): where a physics does not sense a
cell, its model there stays near the start, and a mixture fitted to every
cell alike learns that starting value as the unit's mean (the unsensed cells
outnumber the sensed ones), so it pulls nothing anywhere. Given a confidence
``c_ip`` in [0, 1] per cell and model (how well its physics senses the cell,
:func:`confidence_from_sensitivity`), the mixture is fitted with diagonal
covariances, each value weighted by its confidence: a unit's mean of a
property comes from the cells that property's physics senses, and a cell's
unit from the properties sensed there (``log p_k(x_i) = sum_p c_ip log
N(x_ip | mu_kp, sigma_kp^2)``). The term still pulls every cell toward its
unit's means, so a unit resolved by one physics near the surface and by the
other at depth carries its value there; but a unit's mean of a property pulls
only as far as it is known *and linked*: with weight ``min(1, sum_i r_ik c_ip
c'_ip / (f N))``, ``c'_ip`` the best confidence of the other properties in the
cell and ``f`` = :data:`MIN_SENSED_FRACTION` of the ``N`` cells. A value
sensed only where no other property is sensed is learned but not carried:
nothing there tells which unit, in the other property's terms, the cell is.
A unit that one physics never senses (say, the top rows above the boreholes of a cross-hole
survey, grouped by their resistivity) has no velocity to give, and its mean
there is only the start's value. And a cell is pulled toward the moments of
its mixture, not each unit's: mean ``m_ip = sum_k r_ik mu_kp`` and variance
``s_ip^2 = sum_k r_ik (sigma_kp^2 + mu_kp^2) - m_ip^2``, so where the sensed
property cannot tell two units apart that differ in the other property (two
layers of one resistivity and two velocities), the wide ``s_ip`` leaves that
property to its own data and smoothness instead of pulling it to a blend.
"""

from __future__ import annotations

import math

import torch

from .grid import Grid
from .objective import Term
from .validation import check_positive_float, check_positive_int

__all__ = ["GaussianMixtureCoupling", "confidence_from_sensitivity", "fit_gaussian_mixture"]

#: Quantile of a physics' sensitivity at and above which a cell counts as fully
#: sensed (confidence 1): the best-sensed tenth of the grid.
CONFIDENCE_QUANTILE = 0.9


#: Sensed cells (confidence mass) a unit needs, as a fraction of the grid, for
#: its mean of a property to pull with full weight (less: proportionally less).
MIN_SENSED_FRACTION = 0.01


def confidence_from_sensitivity(weights: torch.Tensor,
                                quantile: float = CONFIDENCE_QUANTILE) -> torch.Tensor:
    """Confidence in [0, 1] per cell: sensitivity over its ``quantile``, capped at 1.

    ``weights`` ``(nz, nx)``: a physics' normalised sensitivity
    (:func:`jointinv.sensitivity.sensitivity_weights`). Relative to a
    quantile, not the maximum: the maximum sits next to an electrode or a
    source, and every other cell would count as unsensed.
    """
    reference = torch.quantile(weights.reshape(-1).to(torch.float64), quantile)
    return (weights / reference.clamp_min(1e-300)).clamp(max=1.0).to(weights)


def _initial_means(points: torch.Tensor, n_clusters: int, generator) -> torch.Tensor:
    """k-means++ seeding: spread-out starting means ``(K, P)``."""
    first = torch.randint(len(points), (1,), generator=generator).item()
    means = [points[first]]
    for _ in range(1, n_clusters):
        distance = torch.cdist(points, torch.stack(means)).min(dim=1).values ** 2
        if float(distance.sum()) == 0:
            means.append(points[torch.randint(len(points), (1,), generator=generator).item()])
            continue
        pick = torch.multinomial(distance / distance.sum(), 1, generator=generator).item()
        means.append(points[pick])
    return torch.stack(means)


def fit_gaussian_mixture(points: torch.Tensor, n_clusters: int, iterations: int = 20,
                         floor: float = 1e-4, seed: int = 0, state: dict | None = None,
                         confidence: torch.Tensor | None = None) -> dict:
    """Fit a ``K``-component Gaussian mixture to ``points`` ``(N, P)`` by EM.

    ``floor`` is added to each covariance's diagonal (in the points' units, a
    variance) so that a tight cluster stays well conditioned; ``state`` (a
    previous fit) warm-starts the means, covariances and proportions.
    ``confidence`` ``(N, P)`` in [0, 1] weights each value (diagonal
    covariances; see the module docstring).
    Returns ``{"means" (K, P), "covariances" (K, P, P), "weights" (K,),
    "responsibilities" (N, K)}``, with ``confidence`` also ``"cell_means"``
    and ``"cell_precisions"`` ``(N, P)``: each cell's mixture moments, the
    precision scaled by how well its units' means are known (see the module
    docstring).
    """
    n, p = points.shape
    if confidence is not None:
        return _fit_with_confidence(points, confidence, n_clusters, iterations, floor, seed,
                                    state)
    if state is None:
        generator = torch.Generator(device="cpu").manual_seed(seed)
        means = _initial_means(points.cpu(), n_clusters, generator).to(points)
        covariances = torch.eye(p, dtype=points.dtype, device=points.device).expand(
            n_clusters, p, p) * (points.var(dim=0).mean() + floor)
        weights = torch.full((n_clusters,), 1.0 / n_clusters, dtype=points.dtype,
                             device=points.device)
    else:
        means, covariances, weights = state["means"], state["covariances"], state["weights"]
    eye = torch.eye(p, dtype=points.dtype, device=points.device)
    for _ in range(iterations):
        # E step: log N(x | mu_k, Sigma_k) + log w_k, normalised per point
        difference = points[:, None, :] - means[None, :, :]                 # (N, K, P)
        precision = torch.linalg.inv(covariances)                              # (K, P, P)
        mahalanobis = torch.einsum("nkp,kpq,nkq->nk", difference, precision, difference)
        log_det = torch.logdet(covariances)
        log_prob = (torch.log(weights) - 0.5 * (mahalanobis + log_det
                                                + p * math.log(2 * math.pi)))
        responsibilities = torch.softmax(log_prob, dim=1)                      # (N, K)
        # M step
        totals = responsibilities.sum(dim=0) + 1e-12                           # (K,)
        weights = totals / n
        means = responsibilities.T @ points / totals[:, None]
        difference = points[:, None, :] - means[None, :, :]
        covariances = torch.einsum("nk,nkp,nkq->kpq", responsibilities, difference,
                                   difference) / totals[:, None, None] + floor * eye
    return {"means": means, "covariances": covariances, "weights": weights,
            "responsibilities": responsibilities}


def _sensed_elsewhere(confidence: torch.Tensor) -> torch.Tensor:
    """``(N, P)``: per cell and property, the best confidence of the *other* properties (1
    for a one-property mixture: nothing else to link)."""
    p = confidence.shape[1]
    if p == 1:
        return torch.ones_like(confidence)
    return torch.stack([torch.cat([confidence[:, :j], confidence[:, j + 1:]], dim=1)
                        .max(dim=1).values for j in range(p)], dim=1)


def _fit_with_confidence(points, confidence, n_clusters, iterations, floor, seed, state):
    """EM with diagonal covariances and each value weighted by its confidence."""
    n, p = points.shape
    confidence = confidence.to(points)
    if state is None:
        # Seeds among all cells: two physics often sense different regions (cross-hole rays
        # at depth, a surface line near the top), so the cells both sense can be too few to
        # hold one seed per unit. One variance for every property, as the plain mixture
        # starts: in relative units a unit is a relative change of any property; a variance
        # per property would let the one with the least spread (a few per cent of log10 rho)
        # decide the units, and the mixture would come out flat in the other.
        generator = torch.Generator(device="cpu").manual_seed(seed)
        means = _initial_means(points.cpu(), n_clusters, generator).to(points)
        variances = (points.var(dim=0).mean() + floor).expand(n_clusters, p).clone()
        weights = torch.full((n_clusters,), 1.0 / n_clusters, dtype=points.dtype,
                             device=points.device)
    else:
        means, weights = state["means"], state["weights"]
        variances = torch.diagonal(state["covariances"], dim1=1, dim2=2)
    for _ in range(iterations):
        difference = points[:, None, :] - means[None]                          # (N, K, P)
        log_density = -0.5 * (difference ** 2 / variances[None] + torch.log(variances)[None]
                              + math.log(2 * math.pi))
        log_prob = torch.log(weights) + (confidence[:, None, :] * log_density).sum(dim=2)
        responsibilities = torch.softmax(log_prob, dim=1)                      # (N, K)
        weights = responsibilities.sum(dim=0) / n + 1e-12
        mass = responsibilities.T @ confidence + 1e-12                         # (K, P)
        means = responsibilities.T @ (confidence * points) / mass
        difference = points[:, None, :] - means[None]
        variances = torch.einsum("nk,np,nkp->kp", responsibilities, confidence,
                                 difference ** 2) / mass + floor
    # A unit's value of a property links to the other properties only where the unit is
    # identified by them too: count the cells sensed in that property and in another one.
    # (Where one physics senses the top and the other only the depth, a unit's resistivity
    # learned at the top says nothing about the deep cells the velocity assigns to it.)
    mass = responsibilities.T @ (confidence * _sensed_elsewhere(confidence)) + 1e-12
    known = (mass / (MIN_SENSED_FRACTION * n)).clamp(max=1.0)               # (K, P)
    # per cell: the mixture's moments of each property, and how well they are known
    cell_means = responsibilities @ means                                     # (N, P)
    cell_variances = (responsibilities @ (variances + means ** 2) - cell_means ** 2).clamp_min(
        floor)
    return {"means": means, "covariances": torch.diag_embed(variances), "weights": weights,
            "responsibilities": responsibilities, "cell_means": cell_means,
            "cell_precisions": (responsibilities @ known) / cell_variances}


class GaussianMixtureCoupling(Term):
    """Mixture smallness over the joint values of several models (see the module docstring).

    Parameters
    ----------
    keys : sequence of str
        The models: two or more couple them; one makes the term a clustering
        smallness of that model alone (as PGI on one physics).
    grid : Grid
    scales : dict
        ``{key: s}``: each model is divided by ``s`` (its mean absolute starting
        value), so the mixture lives in relative units.
    n_clusters : int
        Number of units (components), >= 1.
    floor : float
        Variance added to each covariance diagonal, in relative units squared
        (0.01**2: values within about 1 % of a unit's mean are not told apart).
    em_iterations : int
        EM steps per update.
    seed : int
        Seeds the k-means++ initialisation.
    confidence : dict, optional
        ``{key: (nz, nx)}`` in [0, 1]: fit the mixture resolution-aware (see
        the module docstring), e.g. from :func:`confidence_from_sensitivity`.

    Until :meth:`update` has seen models with spread (the starting models are
    often homogeneous), the term is zero.
    """

    def __init__(self, keys, grid: Grid, scales: dict, n_clusters: int = 3,
                 floor: float = 1e-4, em_iterations: int = 20, seed: int = 0,
                 confidence: dict | None = None):
        self.keys = tuple(keys)
        if not self.keys or len(set(self.keys)) != len(self.keys):
            raise ValueError(f"keys must name one or more different models, got {self.keys}")
        self.grid = grid
        self.scales = {k: check_positive_float(f"scales[{k!r}]", scales[k]) for k in self.keys}
        self.n_clusters = check_positive_int("n_clusters", n_clusters)
        self.floor = check_positive_float("floor", floor)
        self.em_iterations = check_positive_int("em_iterations", em_iterations)
        self.seed = seed
        self.state = None
        self.confidence = None
        if confidence is not None:
            missing = sorted(set(self.keys) - set(confidence))
            if missing:
                raise ValueError(f"confidence must give a map for every model; missing {missing}")
            maps = [torch.as_tensor(confidence[k]) for k in self.keys]
            for key, values in zip(self.keys, maps):
                if tuple(values.shape) != tuple(grid.shape):
                    raise ValueError(f"confidence[{key!r}] must have the grid's shape "
                                     f"{tuple(grid.shape)}, got {tuple(values.shape)}")
                if not bool(((values >= 0) & (values <= 1)).all()):
                    raise ValueError(f"confidence[{key!r}] must lie in [0, 1]")
            self.confidence = torch.stack([m.reshape(-1) for m in maps], dim=1)

    def points(self, models: dict) -> torch.Tensor:
        """Cells as points ``(n_cells, P)`` in relative units."""
        return torch.stack([models[k].reshape(-1) / self.scales[k] for k in self.keys], dim=1)

    def start(self, variables: dict) -> None:
        self.update(variables)

    def update(self, variables: dict) -> None:
        """Re-estimate the mixture (warm-started) and the responsibilities at ``variables``."""
        points = self.points({k: variables[k].detach() for k in self.keys})
        if float(points.std(dim=0).max()) < math.sqrt(self.floor):
            return  # no spread yet: nothing to learn from
        self.state = fit_gaussian_mixture(points, self.n_clusters, self.em_iterations,
                                          self.floor, self.seed, state=self.state,
                                          confidence=self.confidence)

    def __call__(self, models: dict):
        self._check_keys(models)
        if self.state is None:
            return 0.0 * sum(models[k].sum() for k in self.keys)
        points = self.points(models)
        if "cell_means" in self.state:  # resolution-aware: each cell's mixture moments
            difference = points - self.state["cell_means"].to(points)
            weighted = (self.state["cell_precisions"].to(points) * difference ** 2).sum()
            return weighted * self.grid.dx * self.grid.dz
        difference = points[:, None, :] - self.state["means"].to(points)[None]
        precision = torch.linalg.inv(self.state["covariances"].to(points))
        mahalanobis = torch.einsum("nkp,kpq,nkq->nk", difference, precision, difference)
        weighted = (self.state["responsibilities"].to(points) * mahalanobis).sum()
        return weighted * self.grid.dx * self.grid.dz

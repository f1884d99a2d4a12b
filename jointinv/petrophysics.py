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
"""

from __future__ import annotations

import math

import torch

from .grid import Grid
from .objective import Term
from .validation import check_positive_float, check_positive_int

__all__ = ["GaussianMixtureCoupling", "fit_gaussian_mixture"]


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
                         floor: float = 1e-4, seed: int = 0, state: dict | None = None) -> dict:
    """Fit a ``K``-component Gaussian mixture to ``points`` ``(N, P)`` by EM.

    ``floor`` is added to each covariance's diagonal (in the points' units, a
    variance) so that a tight cluster stays well conditioned; ``state`` (a
    previous fit) warm-starts the means, covariances and proportions.
    Returns ``{"means" (K, P), "covariances" (K, P, P), "weights" (K,),
    "responsibilities" (N, K)}``.
    """
    n, p = points.shape
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

    Until :meth:`update` has seen models with spread (the starting models are
    often homogeneous), the term is zero.
    """

    def __init__(self, keys, grid: Grid, scales: dict, n_clusters: int = 3,
                 floor: float = 1e-4, em_iterations: int = 20, seed: int = 0):
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
                                          self.floor, self.seed, state=self.state)

    def __call__(self, models: dict):
        self._check_keys(models)
        if self.state is None:
            return 0.0 * sum(models[k].sum() for k in self.keys)
        points = self.points(models)
        difference = points[:, None, :] - self.state["means"].to(points)[None]
        precision = torch.linalg.inv(self.state["covariances"].to(points))
        mahalanobis = torch.einsum("nkp,kpq,nkq->nk", difference, precision, difference)
        weighted = (self.state["responsibilities"].to(points) * mahalanobis).sum()
        return weighted * self.grid.dx * self.grid.dz

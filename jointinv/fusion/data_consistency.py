"""Data-consistency loss of the fusion network: its output should still fit each physics' data.

For every training sample the store keeps the true models, the recovered
models and the survey of each physics (its per-sample marker), and the
builder's noise is seeded by ``(seed, index, physics)``: the observed data
are rebuilt exactly as the builder simulated them, without storing them.
The term is, per physics ``k`` and sample,
``max(chi^2_k / N_k - 1, 0)`` of the network output (misfit beyond the
noise level: fitting the noise is no aim), averaged over the samples of the
batch and the physics.

A physics is simulated exactly through its operator (autograd; cheap for
straight-ray travel times, about 1 s per sample for the 80 x 40 DC
problem), or, when listed in ``linearised``, through its first-order
expansion at the sample's recovered model ``d(m0) + J(m0) (m - m0)``, with
``J`` formed once (``n_data`` products; float32, ``n_data x nz x nx`` per
sample: 2.7 MB for the default DC line) -- the linearised data of the
issue, accurate while the output stays near the recovered model.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from ..dataset.sample import cached_operator, derived_seed
from ..dataset.store import DatasetStore
from ..physics_spec import build_grid

__all__ = ["DataConsistency"]


class DataConsistency:
    """Observed data and operators (or linearisations) of the samples a training run uses.

    Parameters
    ----------
    store : path
        The dataset store training reads.
    indices : sequence of int
        Store indices of the samples, in the order of the training arrays
        (their positions are what :meth:`misfits` takes).
    keys : sequence of str
        Physics keys in channel order.
    linearised : sequence of str
        Keys simulated by their linearisation at the recovered model.
    physics : sequence of str, optional
        Keys the term covers (default: all); the others are not simulated
        and their misfits read NaN.

    Raises
    ------
    ValueError
        A key of ``physics`` that is not a physics of the store, one of
        ``linearised`` that is not covered, or a sample without a recorded
        survey.
    """

    def __init__(self, store, indices, keys, linearised=(), physics=None):
        self.keys = list(keys)
        self.covered = list(self.keys) if physics is None else sorted(set(physics))
        for name, named in (("physics", self.covered), ("linearised", linearised)):
            unknown = sorted(set(named) - set(self.keys))
            if unknown:
                raise ValueError(f"loss.data_consistency_{name} names {unknown}, not physics "
                                 f"of the store {self.keys}")
        unknown = sorted(set(linearised) - set(self.covered))
        if unknown:
            raise ValueError(f"loss.data_consistency_linearised names {unknown}, not physics "
                             f"the term covers {self.covered}")
        self.linearised = set(linearised)
        store = DatasetStore.open(store, mode="r")
        config, markers = store.config, store.markers()
        grid = build_grid(config["grid"])
        self.shape = grid.shape
        self.samples = []  # per position: {key: (operator or None, observed, sd, d0, J, m0)}
        for index in indices:
            survey = markers.get(index, {}).get("survey")
            if not survey:
                raise ValueError(f"sample {index} of store {store.path} records no survey: "
                                 f"the data-consistency loss cannot rebuild its data")
            targets = np.asarray(store.group["targets"][index])
            inputs = np.asarray(store.group["inputs"][index])
            entry = {}
            for p, key in enumerate(self.keys):
                if key not in self.covered:
                    continue
                with warnings.catch_warnings():
                    # the builder simulated and inverted on this very mesh (same warning there)
                    warnings.filterwarnings("ignore", message="the DC simulation mesh has")
                    operator = cached_operator(grid, survey[key], f"sample {index} survey {key}")
                data = operator.simulate(torch.as_tensor(targets[p]),
                                         **config["physics"][key]["noise"],
                                         seed=derived_seed(config["seed"], index, key, "noise"))
                observed = data.observed.reshape(-1)
                sd = data.standard_deviation.expand(data.shape).reshape(-1)
                if key in self.linearised:
                    m0 = torch.as_tensor(inputs[p])
                    linear = operator.linearize(m0)
                    rows = [linear.vjp(v.reshape(data.shape))
                            for v in torch.eye(operator.n_data, dtype=torch.float64)]
                    jacobian = torch.stack(rows).reshape(operator.n_data, -1).float()
                    entry[key] = (None, observed, sd, linear.predicted.reshape(-1).detach(),
                                  jacobian, m0.reshape(-1))
                else:
                    entry[key] = (operator, observed, sd, None, None, None)
            self.samples.append(entry)

    def misfits(self, positions, models: torch.Tensor) -> torch.Tensor:
        """``chi^2 / N`` of ``models`` ``(batch, P, nz, nx)`` (property values), differentiable.

        ``positions`` are the samples' positions in ``indices``. Returns
        ``(batch, P)`` in the models' dtype and device; NaN for physics the
        term does not cover.
        """
        if models.ndim != 4 or tuple(models.shape[1:]) != (len(self.keys), *self.shape):
            raise ValueError(f"models must have shape (batch, {len(self.keys)}, "
                             f"{self.shape[0]}, {self.shape[1]}), got {tuple(models.shape)}")
        rows = []
        for b, position in enumerate(positions):
            row = []
            for p, key in enumerate(self.keys):
                if key not in self.covered:
                    row.append(torch.tensor(float("nan"), dtype=torch.float64))
                    continue
                operator, observed, sd, d0, jacobian, m0 = self.samples[int(position)][key]
                model = models[b, p].double().cpu()
                if operator is not None:
                    predicted = operator(model).reshape(-1)
                else:
                    predicted = d0 + jacobian.double() @ (model.reshape(-1) - m0)
                row.append((((predicted - observed) / sd) ** 2).mean())
            rows.append(torch.stack(row))
        return torch.stack(rows).to(models)

    def loss(self, positions, models: torch.Tensor) -> tuple:
        """``(term, misfits)``: mean ``max(chi^2/N - 1, 0)`` over the covered physics, and
        the ``(batch, P)`` misfits."""
        misfits = self.misfits(positions, models)
        covered = [self.keys.index(key) for key in self.covered]
        return torch.relu(misfits[:, covered] - 1.0).mean(), misfits

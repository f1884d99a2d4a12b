"""A dataset store as a ``torch.utils.data.Dataset`` for training the fusion network."""

from __future__ import annotations

import numpy as np
import torch

from .store import DatasetStore

__all__ = ["JointInversionDataset"]

NORMALISATIONS = ("standard", "range")


class JointInversionDataset(torch.utils.data.Dataset):
    """``(inputs, targets)`` pairs of a store built by :func:`jointinv.dataset.build_dataset`.

    Parameters
    ----------
    store : path
        Dataset store.
    normalise : bool
        Scale each property (input and target channel alike) with the store's
        per-property ``offset`` and ``scale``; :meth:`denormalise` undoes it.
    normalisation : {"standard", "range"}
        ``standard``: mean and standard deviation of the store's targets
        (computed when the build finishes, stored in the store); ``range``:
        the config's property range mapped to [-1, 1].
    coverage : bool
        Append the P coverage maps (in [0, 1], never normalised) to the inputs.
    allow_missing : bool
        Use only the complete samples of a store that lacks some (not built
        yet, or failed); otherwise such a store is refused.

    Items are ``(inputs, targets)`` float32 tensors of shapes ``(P [+ P], nz,
    nx)`` and ``(P, nz, nx)``, P physics in :attr:`keys` order.

    Raises
    ------
    ValueError
        A store with missing or failed samples and ``allow_missing=False``
        (the message gives the counts), or an unknown ``normalisation``.
    """

    def __init__(self, store, normalise: bool = True, normalisation: str = "standard",
                 coverage: bool = True, allow_missing: bool = False):
        if normalisation not in NORMALISATIONS:
            raise ValueError(f"normalisation must be one of {list(NORMALISATIONS)}, "
                             f"got {normalisation!r}")
        self.store = DatasetStore.open(store, mode="r")
        markers = self.store.markers()
        self.indices = sorted(i for i, m in markers.items() if m["status"] == "complete")
        missing = self.store.n_samples - len(markers)
        failed = len(markers) - len(self.indices)
        if (missing or failed) and not allow_missing:
            raise ValueError(f"dataset store {self.store.path} lacks {missing + failed} of its "
                             f"{self.store.n_samples} samples ({missing} missing, {failed} "
                             f"failed); finish it with `jointinv dataset build ... --resume` "
                             f"or pass allow_missing=True to use the "
                             f"{len(self.indices)} complete ones")
        if not self.indices:
            raise ValueError(f"dataset store {self.store.path} has no complete sample")
        self.keys = self.store.keys
        self.normalise = bool(normalise)
        self.coverage = bool(coverage)
        offset, scale = self._normalisation(normalisation)
        self.offset = torch.tensor(offset, dtype=torch.float32).reshape(-1, 1, 1)
        self.scale = torch.tensor(scale, dtype=torch.float32).reshape(-1, 1, 1)

    def _normalisation(self, kind: str) -> tuple:
        statistics = self.store.attrs.get("statistics")
        if kind == "standard" and (statistics is None or self.store.attrs.get(
                "statistics_samples") != len(self.indices)):
            statistics = self._statistics()
        offset, scale = [], []
        for key in self.keys:
            if kind == "standard":
                offset.append(statistics[key]["mean"])
                scale.append(statistics[key]["std"] or 1.0)
            else:
                low, high = self.store.config["properties"][key]["range"]
                offset.append(0.5 * (low + high))
                scale.append(0.5 * (high - low))
        return offset, scale

    def _statistics(self) -> dict:
        """Mean and std of the complete targets, without writing (a store being built)."""
        stacked = np.stack([self.store.group["targets"][i] for i in self.indices])
        return {key: {"mean": float(stacked[:, p].mean()), "std": float(stacked[:, p].std())}
                for p, key in enumerate(self.keys)}

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, item: int) -> tuple:
        index = self.indices[item]
        group = self.store.group
        inputs = torch.as_tensor(np.asarray(group["inputs"][index]), dtype=torch.float32)
        targets = torch.as_tensor(np.asarray(group["targets"][index]), dtype=torch.float32)
        if self.normalise:
            inputs = (inputs - self.offset) / self.scale
            targets = (targets - self.offset) / self.scale
        if self.coverage:
            cover = torch.as_tensor(np.asarray(group["coverage"][index]), dtype=torch.float32)
            inputs = torch.cat([inputs, cover])
        return inputs, targets

    def sample_index(self, item: int) -> int:
        """The store index (config sample index) of item ``item``."""
        return self.indices[item]

    def denormalise(self, models: torch.Tensor) -> torch.Tensor:
        """Property values of normalised models ``(P, nz, nx)`` or ``(batch, P, nz, nx)``.

        Coverage channels, if present, must be removed first (take ``[:P]``).
        """
        if models.shape[-3] != len(self.keys):
            raise ValueError(f"models must have {len(self.keys)} property channels {self.keys} "
                             f"in dimension -3, got shape {tuple(models.shape)}")
        if not self.normalise:
            return models
        return models * self.scale.to(models) + self.offset.to(models)

"""Deep-image-prior parameterization: a U-Net fed a fixed random field (FAD-FWI).

The model is the output of a :class:`jointinv.networks.UNet` whose input is a
fixed Matérn Gaussian random field (smoothness 3 by default, as in FAD-FWI)
the size of the grid; the optimizer moves the network's weights, never the
cells, so the network's architecture is the regularization. One output
channel per property: a U-Net with P channels drives P physics in a joint
inversion (one prior, shared structure by construction).

Output heads, per property ``k`` with ``u`` the network output:

- ``"linear"`` (default): ``offset_k + scale_k * u`` — physical units with a
  linear last layer; ``offset``/``scale`` default to the mean and spread of the
  starting model, so the untrained network starts near it.
- ``"tanh"``: ``offset_k + scale_k * tanh(u)`` — the seed's bounded variant
  (scaling factor ``scale``, e.g. 100 or 1000 m/s).
- ``"none"``: ``u`` itself (the seed's "no scaling").

:meth:`DeepImagePrior.pretrain` fits the output to the starting models before
the physics takes over, as deep-image-prior practice does.
"""

from __future__ import annotations

import torch

from .grid import Grid, check_grid
from .networks import UNet
from .parameterizations import Parameterization
from .synthetic import gaussian_random_field
from .validation import as_model_tensor, check_choice, check_positive_float, check_positive_int

__all__ = ["DeepImagePrior", "HEADS"]

HEADS = ("linear", "tanh", "none")


class DeepImagePrior(Parameterization):
    """Properties ``{key: (nz, nx)}`` produced by a U-Net from a fixed GRF latent.

    Parameters
    ----------
    grid : jointinv.Grid
    initial : dict
        ``{key: (nz, nx)}`` starting model of each property (tensor or array, in
        the operator's units, e.g. velocity [m/s]); sets the keys, the dtype and
        the default ``offset``/``scale`` of the head.
    network : UNet, optional
        In 1 channel, out ``len(initial)`` channels; default
        ``UNet.fad_fwi(base_channels=16, depth=3, norm=None)`` (a CPU-sized FAD-FWI
        U-Net; pass ``UNet.fad_fwi()`` for the paper's width).
    head : {"linear", "tanh", "none"}
    offset, scale : dict, optional
        ``{key: float}`` of the head [property units]; scale > 0.
    smoothness : float
        Matérn smoothness of the latent (> 0; 3 in FAD-FWI).
    correlation_length : float, optional
        Latent correlation length in cells (default a tenth of the larger grid side).
    seed : int
        Seeds the latent and the network's initial weights (the global
        generator is left untouched).
    """

    def __init__(self, grid: Grid, initial: dict, network: UNet | None = None,
                 head: str = "linear", offset: dict | None = None, scale: dict | None = None,
                 smoothness: float = 3.0, correlation_length: float | None = None,
                 seed: int = 0):
        super().__init__()
        self.grid = check_grid("grid", grid)
        if not isinstance(initial, dict) or not initial:
            raise TypeError("initial must be a non-empty dict {key: (nz, nx) starting model}")
        starts = {k: as_model_tensor(f"initial[{k!r}]", v).detach() for k, v in initial.items()}
        for key, start in starts.items():
            if tuple(start.shape) != grid.shape:
                raise ValueError(f"initial[{key!r}] must have the grid shape (nz, nx) = "
                                 f"{grid.shape}, got {tuple(start.shape)}")
        self.keys = tuple(starts)
        dtype = next(iter(starts.values())).dtype
        self.head = check_choice("head", head, HEADS)
        offset = offset or {k: float(s.mean()) for k, s in starts.items()}
        scale = scale or {k: max(float(s.std()), 0.05 * abs(float(s.mean())), 1e-12)
                          for k, s in starts.items()}
        for name, values in (("offset", offset), ("scale", scale)):
            missing = sorted(set(self.keys) - set(values))
            if missing:
                raise ValueError(f"{name} must give every key {list(self.keys)}; "
                                 f"missing {missing}")
        self.register_buffer("offset", torch.tensor([float(offset[k]) for k in self.keys],
                                                    dtype=dtype)[:, None, None])
        self.register_buffer("scale", torch.tensor(
            [check_positive_float(f"scale[{k!r}]", scale[k]) for k in self.keys],
            dtype=dtype)[:, None, None])
        length = correlation_length or max(grid.shape) / 10.0
        latent = gaussian_random_field(grid.shape, check_positive_float("correlation_length",
                                                                        length),
                                       smoothness=check_positive_float("smoothness", smoothness),
                                       seed=seed, dtype=dtype)
        self.register_buffer("latent", latent[None, None])
        if network is None:
            state = torch.random.get_rng_state()
            torch.manual_seed(seed)
            network = UNet.fad_fwi(out_channels=len(self.keys), base_channels=16, depth=3,
                                   norm=None)
            torch.random.set_rng_state(state)
        if not isinstance(network, UNet):
            raise TypeError(f"network must be a jointinv.networks.UNet, got "
                            f"{type(network).__name__}")
        if network.in_channels != 1 or network.out_channels != len(self.keys):
            raise ValueError(f"network must map 1 channel to {len(self.keys)} (one per key "
                             f"{list(self.keys)}), got {network.in_channels} -> "
                             f"{network.out_channels}")
        self.network = network.to(dtype)

    def forward(self) -> dict:
        out = self.network(self.latent)[0]
        if self.head == "linear":
            out = self.offset + self.scale * out
        elif self.head == "tanh":
            out = self.offset + self.scale * torch.tanh(out)
        return {key: out[i] for i, key in enumerate(self.keys)}

    def pretrain(self, targets: dict, steps: int = 300, lr: float = 1e-3) -> float:
        """Fit the output to ``targets`` ``{key: (nz, nx)}`` by Adam on the relative MSE.

        Returns the final relative RMS misfit ``||out - target|| / ||target||``.
        """
        steps = check_positive_int("steps", steps)
        lr = check_positive_float("lr", lr)
        missing = sorted(set(self.keys) - set(targets))
        if missing:
            raise ValueError(f"targets must give every key {list(self.keys)}; missing {missing}")
        goal = {k: as_model_tensor(f"targets[{k!r}]", targets[k]).detach().to(self.latent)
                for k in self.keys}
        optimizer = torch.optim.Adam(self.network.parameters(), lr=lr)

        def misfit():
            out = self()
            return sum(((out[k] - goal[k]) ** 2).sum() / (goal[k] ** 2).sum() for k in self.keys)

        for _ in range(steps):
            optimizer.zero_grad()
            loss = misfit()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            return float(misfit() / len(self.keys)) ** 0.5

"""The fusion network: a U-Net over all recovered models, with what it needs to be used.

:class:`FusionNetwork` holds the U-Net (:class:`jointinv.networks.UNet`) and
everything a user of the weights must know: the property keys in channel
order, their property names and units, the per-property normalisation, the
channel layout (models, then optional coverage maps), the grid it was
trained on, and the training config with its hash. :meth:`save` writes one
file; :meth:`load` reads it back and refuses files of another format.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from torch.nn import functional

from ..networks import UNet

__all__ = ["FusionNetwork", "FusionNetworkError", "config_hash", "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "jointinv.fusion/1"
#: Fewest cells along an axis the network is applied to (after resampling).
MIN_CELLS = 8


class FusionNetworkError(ValueError):
    """A network file or network input that cannot be used; the message says why."""


def config_hash(config: dict) -> str:
    """SHA-256 (first 16 hex digits) of a config's canonical JSON."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class FusionNetwork(torch.nn.Module):
    """U-Net mapping recovered models (and coverage maps) of P properties to P models.

    Parameters
    ----------
    keys : sequence of str
        Physics keys in channel order (e.g. ``["traveltime", "dcr"]``).
    properties, units : sequence of str
        Property name and unit of each key (``"velocity"``, ``"m/s"``).
    offset, scale : sequence of float
        Per-property normalisation: ``normalised = (property - offset) / scale``
        for input models and outputs alike.
    grid : dict
        ``{"nx", "nz", "dx", "dz"}`` of the training grid [cells, m].
    coverage : bool
        Whether P coverage maps (in [0, 1]) follow the P models in the input.
    residual : bool
        Whether the U-Net predicts a correction added to the (normalised) input
        models rather than the models themselves (its last layer then starts at
        zero: the untrained network returns its input models).
    unet : dict
        Keywords of :class:`jointinv.networks.UNet` (``depth``, ``base_channels``, ...).
    config : dict, optional
        The training config (stored with its hash).
    coverage_probes : dict, optional
        ``{key: probes}`` used for the coverage maps in training (the fusion
        strategy computes them the same way).
    info : dict, optional
        Anything else to keep (training summary, store description).
    input_range : sequence of (float, float), optional
        Per-property ``(low, high)`` the input models are clamped to before
        the network sees them (the property range of the training data: an
        independent inversion can leave cells it barely sees far outside it,
        e.g. velocities of 10^5 m/s where no ray passes); None: no clamp.
    """

    def __init__(self, keys, properties, units, offset, scale, grid: dict, coverage: bool = True,
                 residual: bool = True, unet: dict | None = None, config: dict | None = None,
                 coverage_probes: dict | None = None, info: dict | None = None,
                 input_range=None):
        super().__init__()
        self.keys = [str(k) for k in keys]
        n = len(self.keys)
        if n < 1 or len(set(self.keys)) != n:
            raise ValueError(f"keys must name one or more different physics, got {keys!r}")
        for name, value in (("properties", properties), ("units", units), ("offset", offset),
                            ("scale", scale)):
            if len(value) != n:
                raise ValueError(f"{name} must have one entry per key {self.keys}, got {value!r}")
        if any(float(s) <= 0 for s in scale):
            raise ValueError(f"scale must be > 0 for every property, got {list(scale)}")
        self.properties = [str(p) for p in properties]
        self.units = [str(u) for u in units]
        self.grid = {name: grid[name] for name in ("nx", "nz", "dx", "dz")}
        self.coverage = bool(coverage)
        self.residual = bool(residual)
        self.unet_options = dict(unet or {})
        self.config = config or {}
        self.coverage_probes = dict(coverage_probes or {k: 8 for k in self.keys})
        self.info = dict(info or {})
        if input_range is not None:
            input_range = [(float(low), float(high)) for low, high in input_range]
            if len(input_range) != n or any(not low < high for low, high in input_range):
                raise ValueError(f"input_range must hold one (low, high) pair with low < high "
                                 f"per key {self.keys}, got {input_range!r}")
        self.input_range = input_range
        self.register_buffer("offset", torch.tensor([float(v) for v in offset]).reshape(-1, 1, 1))
        self.register_buffer("scale", torch.tensor([float(v) for v in scale]).reshape(-1, 1, 1))
        self.unet = UNet(in_channels=self.in_channels, out_channels=n, **self.unet_options)
        if self.residual:
            # an untrained residual network is the identity: training starts from the
            # independent models, not from a random perturbation of them
            torch.nn.init.zeros_(self.unet.head.weight)
            torch.nn.init.zeros_(self.unet.head.bias)

    # -- channel layout ---------------------------------------------------------
    @property
    def in_channels(self) -> int:
        return len(self.keys) * (2 if self.coverage else 1)

    @property
    def channels(self) -> list:
        """Names of the input channels in order (``"model:KEY"``, ``"coverage:KEY"``)."""
        names = [f"model:{k}" for k in self.keys]
        return names + ([f"coverage:{k}" for k in self.keys] if self.coverage else [])

    def clamp_inputs(self, models: torch.Tensor) -> torch.Tensor:
        """``(..., P, nz, nx)`` property values clamped to :attr:`input_range` (if any)."""
        if self.input_range is None:
            return models
        low = torch.tensor([r[0] for r in self.input_range]).to(models).reshape(-1, 1, 1)
        high = torch.tensor([r[1] for r in self.input_range]).to(models).reshape(-1, 1, 1)
        return torch.minimum(torch.maximum(models, low), high)

    def normalise(self, models: torch.Tensor) -> torch.Tensor:
        """``(..., P, nz, nx)`` property values to normalised values."""
        return (models - self.offset.to(models)) / self.scale.to(models)

    def denormalise(self, models: torch.Tensor) -> torch.Tensor:
        """``(..., P, nz, nx)`` normalised values to property values."""
        return models * self.scale.to(models) + self.offset.to(models)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Normalised ``(batch, in_channels, nz, nx)`` -> normalised ``(batch, P, nz, nx)``."""
        if inputs.ndim != 4 or inputs.shape[1] != self.in_channels:
            raise FusionNetworkError(
                f"inputs must have shape (batch, {self.in_channels}, nz, nx) (channels "
                f"{self.channels}), got {tuple(inputs.shape)}")
        out = self.unet(inputs)
        return out + inputs[:, :len(self.keys)] if self.residual else out

    # -- use on models of any grid ----------------------------------------------
    def check_keys(self, keys, properties=None) -> None:
        """Refuse physics keys (and property names) other than the trained ones."""
        keys = list(keys)
        if sorted(keys) != sorted(self.keys):
            raise FusionNetworkError(
                f"the fusion network was trained for physics {self.keys} "
                f"({self.in_channels} input channels {self.channels}), got models {keys}")
        if properties is not None:
            for key in self.keys:
                expected = self.properties[self.keys.index(key)]
                if properties[key] != expected:
                    raise FusionNetworkError(
                        f"the fusion network was trained on {key!r} = {expected!r}, got "
                        f"property {properties[key]!r}")

    def resampled_shape(self, grid) -> tuple:
        """``(nz, nx)`` of ``grid`` resampled to the training cell size."""
        nz = max(1, round(grid.nz * grid.dz / self.grid["dz"]))
        nx = max(1, round(grid.nx * grid.dx / self.grid["dx"]))
        return nz, nx

    def check_grid(self, grid) -> tuple:
        """The resampled shape of ``grid``; refused when it is too small for the network."""
        shape = self.resampled_shape(grid)
        if min(shape) < MIN_CELLS:
            raise FusionNetworkError(
                f"grid {grid} has {shape} cells of the network's training size "
                f"({self.grid['dz']} m x {self.grid['dx']} m); the network needs at least "
                f"{MIN_CELLS} along each axis")
        return shape

    @torch.no_grad()
    def fuse(self, models: dict, grid, coverage: dict | None = None) -> dict:
        """Fused models ``{key: (nz, nx)}`` from recovered models on ``grid``.

        Models are clamped to :attr:`input_range`, resampled (bilinear) to
        the training cell size when the
        grid's cells differ from it, passed through the network, and resampled
        back. The network is fully convolutional: any extent works, but it has
        only seen the training extent, survey layout and geology.

        Parameters
        ----------
        models : dict
            ``{key: (nz, nx) tensor}`` property values, every trained key.
        grid : jointinv.Grid
        coverage : dict, optional
            ``{key: (nz, nx)}`` coverage maps in [0, 1]; required when the
            network takes coverage.
        """
        self.check_keys(models)
        shape = self.check_grid(grid)
        if self.coverage and (coverage is None or sorted(coverage) != sorted(self.keys)):
            raise FusionNetworkError(f"the fusion network takes coverage maps of {self.keys}; "
                                     f"got {None if coverage is None else sorted(coverage)}")
        reference = models[self.keys[0]]
        for key in self.keys:
            if tuple(models[key].shape) != grid.shape:
                raise FusionNetworkError(f"models[{key!r}] must have the grid shape "
                                         f"{grid.shape}, got {tuple(models[key].shape)}")
        parameter = next(self.parameters())
        stack = torch.stack([models[k].to(parameter) for k in self.keys])[None]
        inputs = self.normalise(self.clamp_inputs(stack))
        if self.coverage:
            inputs = torch.cat([inputs, torch.stack([torch.as_tensor(coverage[k]).to(parameter)
                                                     for k in self.keys])[None]], dim=1)
        resample = shape != grid.shape
        if resample:
            inputs = functional.interpolate(inputs, size=shape, mode="bilinear",
                                            align_corners=False)
        was_training = self.training
        self.eval()
        try:
            out = self(inputs)
        finally:
            self.train(was_training)
        if resample:
            out = functional.interpolate(out, size=grid.shape, mode="bilinear",
                                         align_corners=False)
        out = self.denormalise(out)[0]
        return {k: out[i].to(reference) for i, k in enumerate(self.keys)}

    # -- file -------------------------------------------------------------------
    def description(self) -> dict:
        """Everything but the weights (what :meth:`save` stores beside them)."""
        return {"format": CHECKPOINT_FORMAT, "keys": self.keys, "properties": self.properties,
                "units": self.units, "offset": self.offset.flatten().tolist(),
                "scale": self.scale.flatten().tolist(), "grid": self.grid,
                "coverage": self.coverage, "channels": self.channels,
                "residual": self.residual, "unet": self.unet_options, "config": self.config,
                "config_hash": config_hash(self.config) if self.config else None,
                "coverage_probes": self.coverage_probes, "info": self.info,
                "input_range": self.input_range}

    def save(self, path, extra: dict | None = None) -> Path:
        """Write weights and description to ``path`` atomically (``extra``: more entries)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        content = {**self.description(), "state_dict": {k: v.detach().cpu() for k, v in
                                                         self.state_dict().items()}}
        content.update(extra or {})
        temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
        torch.save(content, temporary)
        os.replace(temporary, path)
        return path

    @classmethod
    def from_content(cls, content: dict, where: str = "checkpoint") -> FusionNetwork:
        if not isinstance(content, dict) or content.get("format") != CHECKPOINT_FORMAT:
            raise FusionNetworkError(f"{where} is not a jointinv fusion network (format "
                                     f"{CHECKPOINT_FORMAT!r})")
        network = cls(content["keys"], content["properties"], content["units"],
                      content["offset"], content["scale"], content["grid"],
                      coverage=content["coverage"], residual=content["residual"],
                      unet=content["unet"], config=content["config"],
                      coverage_probes=content["coverage_probes"], info=content["info"],
                      input_range=content.get("input_range"))
        network.load_state_dict(content["state_dict"])
        network.eval()
        return network

    @classmethod
    def load(cls, path, map_location="cpu") -> FusionNetwork:
        """Read a file written by :meth:`save` (or a training checkpoint)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"fusion network file {path} does not exist")
        content = torch.load(path, map_location=map_location, weights_only=False)
        return cls.from_content(content, str(path))

"""Coordinate MLPs (neural fields): positional encoding, then a multilayer perceptron.

A neural field maps a point's coordinates to the values of one or more
properties there, ``f_theta(x) = MLP(gamma(x))`` (Mildenhall et al., 2020;
Tancik et al., 2020). NFs-Inv (Xu and Heagy) uses such a field as the model of
a geophysical inversion, learned through the physics at test time. This module
knows no grid and no physics: coordinates in, values out.

Encodings ``gamma`` of coordinates ``x`` (``(n_points, in_features)``, usually
scaled to ``[-1, 1]``), all with sines and cosines of ``pi * B x``:

- ``"none"``: ``gamma(x) = x``;
- ``"basic"``: ``B`` the identity, one period over ``[-1, 1]`` per axis
  (NFs-Inv Case 1);
- ``"gaussian"``: Gaussian Fourier features, ``B`` drawn once from
  ``N(0, scale**2)`` with a seed (Tancik et al., 2020; NFs-Inv Case 2 uses 128
  features of scale 0.5);
- ``"frequencies"``: linear frequency levels, ``B`` the identity times
  ``step * k`` for ``k = 1 .. n_features`` (NFs-Inv's "linear PE" uses
  ``step = 0.5`` and 8 levels).

References
----------
Mildenhall, B. et al. (2020). NeRF: representing scenes as neural radiance
fields for view synthesis. ECCV 2020.

Tancik, M. et al. (2020). Fourier features let networks learn high frequency
functions in low dimensional domains. NeurIPS 2020.

Xu, A., Heagy, L. J. Towards understanding the benefits of neural network
parameterization in geophysical inversions: a study with neural fields
(NFs-Inv).
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import nn

from .unet import _check_count, _check_name

__all__ = ["PositionalEncoding", "CoordinateMLP", "ENCODINGS", "FIELD_ACTIVATIONS"]

ENCODINGS = ("none", "basic", "gaussian", "frequencies")

# Hidden activations by name; leaky ReLU uses NFs-Inv's slope 0.2.
FIELD_ACTIVATIONS = {
    "leaky_relu": lambda: nn.LeakyReLU(negative_slope=0.2),
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "softplus": nn.Softplus,
}


def _check_positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return float(value)


class PositionalEncoding(nn.Module):
    """``gamma(x) = [sin(pi B x), cos(pi B x)]`` (or ``x`` itself for ``"none"``).

    Parameters
    ----------
    kind : {"none", "basic", "gaussian", "frequencies"}, default "basic"
        See the module docstring.
    in_features : int, default 2
        Coordinates per point (2 for ``(x, z)``).
    n_features : int, optional
        ``"gaussian"``: rows of ``B`` (default 128); ``"frequencies"``: levels
        per axis (default 8). Not accepted by ``"none"`` and ``"basic"``.
    scale : float, default 1
        ``"gaussian"``: standard deviation of ``B``'s entries.
    step : float, default 0.5
        ``"frequencies"``: level ``k`` has the angular frequency ``pi * step * k``.
    seed : int, default 0
        ``"gaussian"``: seed of ``B`` (drawn on the CPU in float64, so it is the
        same on every device).

    Attributes
    ----------
    frequencies : (n_rows, in_features) torch.Tensor
        ``B`` (a buffer: it moves with ``.to()`` and is saved in the state dict,
        but is never trained); empty for ``"none"``.
    out_features : int
        Features per point: ``in_features`` for ``"none"``, ``2 * n_rows`` otherwise.
    """

    def __init__(self, kind: str = "basic", in_features: int = 2, n_features: int | None = None,
                 scale: float = 1.0, step: float = 0.5, seed: int = 0):
        super().__init__()
        self.kind = _check_name("kind", kind, ENCODINGS)
        self.in_features = _check_count("in_features", in_features, 1)
        if n_features is not None and kind in ("none", "basic"):
            raise ValueError(f"n_features is set by encoding {kind!r}; pass n_features=None, "
                             f"got {n_features}")
        if kind == "gaussian":
            n_rows = _check_count("n_features", 128 if n_features is None else n_features, 1)
            scale = _check_positive("scale", scale)
            seed = _check_count("seed", seed, 0)
            generator = torch.Generator().manual_seed(seed)
            matrix = scale * torch.randn(n_rows, self.in_features, generator=generator,
                                         dtype=torch.float64)
        elif kind == "frequencies":
            levels = _check_count("n_features", 8 if n_features is None else n_features, 1)
            step = _check_positive("step", step)
            multiples = step * torch.arange(1, levels + 1, dtype=torch.float64)
            eye = torch.eye(self.in_features, dtype=torch.float64)
            matrix = (multiples[:, None, None] * eye).reshape(-1, self.in_features)
        elif kind == "basic":
            matrix = torch.eye(self.in_features, dtype=torch.float64)
        else:
            matrix = torch.zeros(0, self.in_features, dtype=torch.float64)
        self.register_buffer("frequencies", matrix.to(torch.get_default_dtype()))
        self.out_features = self.in_features if kind == "none" else 2 * matrix.shape[0]

    def forward(self, coordinates: torch.Tensor) -> torch.Tensor:
        """Encode ``(n_points, in_features)`` coordinates to ``(n_points, out_features)``."""
        if coordinates.ndim != 2 or coordinates.shape[1] != self.in_features:
            raise ValueError(f"coordinates must have shape (n_points, {self.in_features}), "
                             f"got {tuple(coordinates.shape)}")
        if self.kind == "none":
            return coordinates
        projected = math.pi * coordinates @ self.frequencies.to(coordinates).T
        return torch.cat([torch.sin(projected), torch.cos(projected)], dim=-1)

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, in_features={self.in_features}, " \
               f"out_features={self.out_features}"


class CoordinateMLP(nn.Module):
    """Neural field: positional encoding, hidden ``Linear -> activation`` layers, linear output.

    Parameters
    ----------
    in_features : int, default 2
        Coordinates per point.
    out_features : int, default 1
        Values per point (one per property); the output is linear, so callers
        add their own output heads (bounds, positivity).
    width : int, default 256
        Units of every hidden layer (when ``widths`` is not given).
    depth : int, default 6
        Number of hidden layers (when ``widths`` is not given).
    widths : sequence of int, optional
        Units of each hidden layer, e.g. NFs-Inv's ``(128, 256, 256, 256, 256,
        128)``; overrides ``width`` and ``depth``.
    activation : str, default "leaky_relu"
        Hidden activation, one of :data:`FIELD_ACTIVATIONS` (leaky ReLU with slope 0.2).
    encoding : PositionalEncoding or str, default "none"
        An encoding, or its ``kind`` with default options.

    Notes
    -----
    Layers use torch's default initialisation; seed them by creating the
    module under ``torch.manual_seed`` (as :class:`jointinv.neural_field.NeuralField`
    does without touching the global generator). Parameters are created in
    float32 on the CPU; move the module with ``.to(dtype=..., device=...)``.

    Examples
    --------
    >>> mlp = CoordinateMLP(out_features=2, widths=(16, 16), encoding="basic")
    >>> mlp(torch.zeros(5, 2)).shape
    torch.Size([5, 2])
    """

    def __init__(self, in_features: int = 2, out_features: int = 1, width: int = 256,
                 depth: int = 6, widths=None, activation: str = "leaky_relu",
                 encoding: PositionalEncoding | str = "none"):
        super().__init__()
        in_features = _check_count("in_features", in_features, 1)
        self.out_features = _check_count("out_features", out_features, 1)
        if widths is None:
            widths = [_check_count("width", width, 1)] * _check_count("depth", depth, 1)
        else:
            if isinstance(widths, (str, bytes)) or not hasattr(widths, "__iter__"):
                raise TypeError(f"widths must be a sequence of integers, got "
                                f"{type(widths).__name__}")
            widths = [_check_count("widths[i]", w, 1) for w in widths]
            if not widths:
                raise ValueError("widths must hold at least one hidden layer width, got []")
        self.widths = tuple(widths)
        self.activation = _check_name("activation", activation, FIELD_ACTIVATIONS)
        if isinstance(encoding, str):
            encoding = PositionalEncoding(encoding, in_features=in_features)
        if not isinstance(encoding, PositionalEncoding):
            raise TypeError(f"encoding must be a PositionalEncoding or one of {list(ENCODINGS)}, "
                            f"got {type(encoding).__name__}")
        if encoding.in_features != in_features:
            raise ValueError(f"encoding.in_features must equal in_features={in_features}, "
                             f"got {encoding.in_features}")
        self.encoding = encoding
        layers, previous = [], encoding.out_features
        for units in self.widths:
            layers += [nn.Linear(previous, units), FIELD_ACTIVATIONS[self.activation]()]
            previous = units
        self.hidden = nn.Sequential(*layers)
        self.output = nn.Linear(previous, self.out_features)

    def forward(self, coordinates: torch.Tensor) -> torch.Tensor:
        """Values ``(n_points, out_features)`` at ``(n_points, in_features)`` coordinates."""
        return self.output(self.hidden(self.encoding(coordinates)))

"""Configurable 2D U-Net for model-to-model maps and deep-image-prior models.

The network follows Ronneberger et al. (2015): an encoder of double 3x3
convolution blocks and 2x2 max pooling, a decoder that upsamples and joins the
encoder features of the same scale through skip connections, and a 1x1
convolution head. The head is linear (no output activation) by default, so the
network can output unbounded values such as velocities in m/s, as FAD-FWI
(Sun et al., 2025) requires.

Inputs of any size are accepted: they are padded up to the next multiple of
``2**depth`` and the output is cropped back to the input size.

References
----------
Ronneberger, O., Fischer, P., Brox, T. (2015). U-Net: convolutional networks
for biomedical image segmentation. MICCAI 2015, LNCS 9351, 234-241.

Sun, P., Zheng, J., Zhao, J., Yang, Y., Wang, Y. (2025). Fully automatic
differentiation with coupling deep neural networks for full-waveform
inversion. Journal of Seismic Exploration, doi:10.36922/JSE025410085.
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import nn
from torch.nn import functional

__all__ = ["UNet", "ACTIVATIONS", "NORMS", "UPSAMPLES", "PADDING_MODES"]

# Hidden and output activations by name; leaky ReLU uses the deep-image-prior slope.
ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(negative_slope=0.2),
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "softplus": nn.Softplus,
}
NORMS = ("batch", "instance", "group", None)
UPSAMPLES = ("transpose", "bilinear")
PADDING_MODES = ("replicate", "reflect")
_MAX_GROUPS = 8


def _make_norm(norm: str | None, channels: int) -> nn.Module:
    """Normalisation layer for ``channels`` feature maps (identity for ``None``)."""
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if norm == "group":
        # The largest group count <= 8 that divides the channels.
        return nn.GroupNorm(math.gcd(channels, _MAX_GROUPS), channels)
    return nn.Identity()


class DoubleConv(nn.Sequential):
    """Two (3x3 convolution -> normalisation -> activation) steps.

    The convolution has no bias when a normalisation follows it (the norm's
    shift replaces it). Zero padding keeps the spatial size.
    """

    def __init__(self, in_channels: int, out_channels: int, norm: str | None,
                 activation: str):
        layers = []
        for channels_in in (in_channels, out_channels):
            layers += [
                nn.Conv2d(channels_in, out_channels, kernel_size=3, padding=1,
                          bias=norm is None),
                _make_norm(norm, out_channels),
                ACTIVATIONS[activation](),
            ]
        super().__init__(*layers)


class Down(nn.Sequential):
    """Halve the spatial size (2x2 max pooling), then a :class:`DoubleConv`."""

    def __init__(self, in_channels: int, out_channels: int, norm: str | None,
                 activation: str):
        super().__init__(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels, norm, activation))


class Up(nn.Module):
    """Double the spatial size, join the skip features, then a :class:`DoubleConv`.

    ``"transpose"`` upsamples with a learned 2x2 transposed convolution;
    ``"bilinear"`` interpolates and then mixes channels with a 1x1 convolution.
    Both halve the channel count before the skip features are concatenated.
    """

    def __init__(self, in_channels: int, out_channels: int, norm: str | None,
                 activation: str, upsample: str):
        super().__init__()
        if upsample == "transpose":
            self.upsample = nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2)
        else:
            self.upsample = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(in_channels, out_channels, kernel_size=1),
            )
        self.conv = DoubleConv(2 * out_channels, out_channels, norm, activation)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([skip, self.upsample(x)], dim=1))


def _check_count(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def _check_name(name: str, value, allowed, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        expected = "a string or None" if allow_none else "a string"
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__}")
    if value not in allowed:
        choices = sorted(allowed) + (["None"] if allow_none else [])
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


class UNet(nn.Module):
    """2D U-Net mapping ``(batch, in_channels, nz, nx)`` to ``(batch, out_channels, nz, nx)``.

    Level ``k`` (``k = 0 .. depth``) has ``base_channels * 2**k`` feature maps;
    the input passes ``depth`` poolings down to the bottleneck and ``depth``
    upsamplings back, each joined with the encoder features of its scale.

    Parameters
    ----------
    in_channels, out_channels : int, default 1
        Channels of the input (e.g. one per physics, or one GRF latent) and of
        the output.
    depth : int, default 4
        Number of poolings (>= 1). The input is padded to a multiple of
        ``2**depth`` (see Notes).
    base_channels : int, default 32
        Feature maps of the first level (>= 1).
    norm : {"batch", "instance", "group", None}, default "batch"
        Normalisation after every 3x3 convolution. ``"group"`` uses the largest
        number of groups <= 8 that divides the channel count.
    activation : str, default "relu"
        Hidden activation, one of :data:`ACTIVATIONS` (``"leaky_relu"`` has
        slope 0.2).
    final_activation : str or None, default None
        Output activation, one of :data:`ACTIVATIONS` or ``None`` for a linear
        (unbounded) output.
    upsample : {"transpose", "bilinear"}, default "transpose"
        Learned 2x2 transposed convolution, or bilinear interpolation followed
        by a 1x1 convolution.
    padding_mode : {"replicate", "reflect"}, default "replicate"
        How the input is padded up to a multiple of ``2**depth``.
        ``"replicate"`` repeats the edge cells and works for any size;
        ``"reflect"`` mirrors the input about its edges and needs the padding on
        each side to be smaller than the input along that axis.

    Notes
    -----
    Padding is split evenly between the two sides of each axis (the extra cell,
    if any, goes to the bottom/right) and the output is cropped back to
    ``(nz, nx)``, so the output cell ``[i, j]`` corresponds to the input cell
    ``[i, j]``. With ``norm="batch"`` or ``"instance"`` in training mode the
    deepest level must hold more than one value per channel; tiny inputs that
    would pool down to ``1 x 1`` are rejected with a ``ValueError``.

    The network's parameters are created in float32 on the CPU; move it with
    ``unet.to(x)`` (or ``unet.double()``) to match an input's dtype and device.
    Padding and cropping follow the input's device and dtype.

    Examples
    --------
    >>> unet = UNet(in_channels=2, out_channels=2, depth=3, base_channels=8)
    >>> unet(torch.zeros(1, 2, 37, 53)).shape
    torch.Size([1, 2, 37, 53])
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, depth: int = 4,
                 base_channels: int = 32, norm: str | None = "batch",
                 activation: str = "relu", final_activation: str | None = None,
                 upsample: str = "transpose", padding_mode: str = "replicate"):
        super().__init__()
        self.in_channels = _check_count("in_channels", in_channels, 1)
        self.out_channels = _check_count("out_channels", out_channels, 1)
        self.depth = _check_count("depth", depth, 1)
        self.base_channels = _check_count("base_channels", base_channels, 1)
        self.norm = _check_name("norm", norm, [n for n in NORMS if n is not None],
                                allow_none=True)
        self.activation = _check_name("activation", activation, ACTIVATIONS)
        self.final_activation = _check_name("final_activation", final_activation, ACTIVATIONS,
                                            allow_none=True)
        self.upsample = _check_name("upsample", upsample, UPSAMPLES)
        self.padding_mode = _check_name("padding_mode", padding_mode, PADDING_MODES)

        channels = [self.base_channels * 2**level for level in range(self.depth + 1)]
        blocks = {"norm": self.norm, "activation": self.activation}
        self.stem = DoubleConv(self.in_channels, channels[0], **blocks)
        self.downs = nn.ModuleList(
            Down(channels[level], channels[level + 1], **blocks) for level in range(self.depth)
        )
        self.ups = nn.ModuleList(
            Up(channels[level + 1], channels[level], upsample=self.upsample, **blocks)
            for level in reversed(range(self.depth))
        )
        self.head = nn.Conv2d(channels[0], self.out_channels, kernel_size=1)
        self.output_activation = (nn.Identity() if self.final_activation is None
                                  else ACTIVATIONS[self.final_activation]())

    @classmethod
    def fad_fwi(cls, **overrides) -> UNet:
        """U-Net for FAD-FWI velocity reparameterization (Sun et al., 2025).

        The paper (section 2.2, Fig. 2) maps one GRF latent channel, the size of
        the velocity model, to the velocity through an encoder-decoder U-Net
        with skip connections and a *linear* last layer. Its text does not give
        the number of levels, channels, normalisation or activation, so those
        follow the U-Net paper it cites (Ronneberger et al., 2015): four
        poolings, 64 feature maps at the first level doubling per level, 3x3
        convolutions with ReLU, 2x2 max pooling and 2x2 transposed-convolution
        upsampling; batch normalisation is added after each convolution.

        Parameters
        ----------
        **overrides
            Any :class:`UNet` keyword to change (e.g. ``base_channels=16`` on a
            laptop CPU).
        """
        config = dict(in_channels=1, out_channels=1, depth=4, base_channels=64, norm="batch",
                      activation="relu", final_activation=None, upsample="transpose")
        config.update(overrides)
        return cls(**config)

    @property
    def downsample_factor(self) -> int:
        """Spatial factor ``2**depth`` that the padded input size is a multiple of."""
        return 2**self.depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the network.

        Parameters
        ----------
        x : torch.Tensor, shape (batch, in_channels, nz, nx), floating point
            Input feature maps, in the dtype and on the device of the network.

        Returns
        -------
        torch.Tensor, shape (batch, out_channels, nz, nx)
            Same dtype and device as ``x``.
        """
        self._check_input(x)
        padded, crop = self._pad(x)
        features = self.stem(padded)
        skips = []
        for down in self.downs:
            skips.append(features)
            features = down(features)
        for up, skip in zip(self.ups, reversed(skips), strict=True):
            features = up(features, skip)
        return self.output_activation(self.head(features))[crop]

    def _pad(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple]:
        """Pad ``x`` to a multiple of ``2**depth``; return it and the crop back."""
        nz, nx = x.shape[-2:]
        factor = self.downsample_factor
        pad_z = -nz % factor
        pad_x = -nx % factor
        top, left = pad_z // 2, pad_x // 2
        bottom, right = pad_z - top, pad_x - left
        crop = (Ellipsis, slice(top, top + nz), slice(left, left + nx))
        if pad_z == 0 and pad_x == 0:
            return x, crop
        return functional.pad(x, (left, right, top, bottom), mode=self.padding_mode), crop

    def _check_input(self, x) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")
        if x.ndim != 4:
            raise ValueError(
                f"x must have shape (batch, channels, nz, nx) with 4 dimensions, "
                f"got {x.ndim} dimensions of shape {tuple(x.shape)}"
            )
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"x must have in_channels={self.in_channels} channels (dimension 1), "
                f"got {x.shape[1]} in shape {tuple(x.shape)}"
            )
        if min(x.shape) == 0:
            raise ValueError(f"x must not be empty, got shape {tuple(x.shape)}")
        weight = self.head.weight
        if x.dtype != weight.dtype or x.device != weight.device:
            raise TypeError(
                f"x must match the network's dtype and device ({weight.dtype} on "
                f"{weight.device}), got {x.dtype} on {x.device}; move the network "
                f"with unet.to(x)"
            )
        nz, nx = x.shape[-2:]
        factor = self.downsample_factor
        if self.padding_mode == "reflect":
            for axis, size in (("nz", nz), ("nx", nx)):
                largest_side = (-size % factor + 1) // 2
                if largest_side >= size:
                    raise ValueError(
                        f"padding_mode='reflect' needs {axis} > {largest_side} to pad "
                        f"{axis}={size} to a multiple of 2**depth={factor}; use "
                        f"padding_mode='replicate' or a smaller depth"
                    )
        deepest = math.ceil(nz / factor) * math.ceil(nx / factor)
        values_per_channel = deepest * (x.shape[0] if self.norm == "batch" else 1)
        if self.training and self.norm in ("batch", "instance") and values_per_channel < 2:
            raise ValueError(
                f"x of shape {tuple(x.shape)} pools down to 1 x 1 at depth={self.depth}, "
                f"too small for norm={self.norm!r} in training mode; use a smaller depth, "
                f"a larger input or norm='group'/None"
            )

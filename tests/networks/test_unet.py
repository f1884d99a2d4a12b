"""Tests for jointinv.networks.UNet: shapes, padding and cropping, gradients, output range,
errors."""

import re

import numpy as np
import pytest
import torch
from jointinv.networks import UNet
from torch.nn import functional


def seeded_input(shape, seed=0, dtype=torch.float32):
    generator = torch.Generator(device="cpu").manual_seed(seed)
    return torch.randn(shape, generator=generator, dtype=dtype)


@pytest.fixture(autouse=True)
def seeded_weights():
    torch.manual_seed(1234)


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("upsample", ["transpose", "bilinear"])
def test_output_shape_equals_input_shape_for_odd_sizes(depth, upsample):
    unet = UNet(in_channels=2, out_channels=3, depth=depth, base_channels=2, upsample=upsample)
    output = unet(seeded_input((2, 2, 37, 53)))
    assert output.shape == (2, 3, 37, 53)


def test_crop_matches_padding_placement():
    # 37 -> 48 and 53 -> 64 for depth 4: 11 cells of padding each, 5 before and 6 after.
    unet = UNet(depth=4, base_channels=2).eval()
    x = seeded_input((1, 1, 37, 53))
    padded_by_hand = functional.pad(x, (5, 6, 5, 6), mode="replicate")
    with torch.no_grad():
        unpadded_output = unet(padded_by_hand)
        assert unpadded_output.shape == (1, 1, 48, 64)
        assert torch.equal(unet(x), unpadded_output[..., 5:42, 5:58])


def test_reflect_padding_matches_numpy_reflection():
    # 21 -> 24 for depth 3: 1 row before and 2 after; 19 -> 24: 2 columns before, 3 after.
    unet = UNet(depth=3, base_channels=2, padding_mode="reflect").eval().double()
    x = seeded_input((1, 1, 21, 19), dtype=torch.float64)
    reflected = np.pad(x.numpy(), ((0, 0), (0, 0), (1, 2), (2, 3)), mode="reflect")
    with torch.no_grad():
        expected = unet(torch.from_numpy(reflected))[..., 1:22, 2:21]
        assert torch.equal(unet(x), expected)


def test_padding_changes_output_near_edges_only_through_mode():
    # Same network, different padding modes: outputs differ, so the mode is really applied.
    replicate = UNet(depth=2, base_channels=2).eval()
    reflect = UNet(depth=2, base_channels=2, padding_mode="reflect").eval()
    reflect.load_state_dict(replicate.state_dict())
    x = seeded_input((1, 1, 13, 14))
    with torch.no_grad():
        assert not torch.allclose(replicate(x), reflect(x))
        exact = seeded_input((1, 1, 12, 16))  # a multiple of 4: no padding at all
        assert torch.equal(replicate(exact), reflect(exact))


@pytest.mark.parametrize("norm", ["batch", "instance", "group", None])
def test_gradient_reaches_every_parameter(norm):
    unet = UNet(in_channels=2, out_channels=2, depth=2, base_channels=4, norm=norm,
                activation="leaky_relu")
    output = unet(seeded_input((2, 2, 11, 9)))
    (output * seeded_input(output.shape, seed=1)).sum().backward()
    for name, parameter in unet.named_parameters():
        assert parameter.grad is not None, name
        assert float(parameter.grad.abs().sum()) > 0, name


@pytest.mark.parametrize("upsample", ["transpose", "bilinear"])
def test_input_gradient_matches_finite_differences(upsample):
    # Smooth activation and no batch statistics, so central differences are accurate.
    unet = UNet(depth=2, base_channels=2, norm="group", activation="gelu",
                upsample=upsample).double()
    x = seeded_input((1, 1, 6, 5), dtype=torch.float64).requires_grad_(True)
    assert torch.autograd.gradcheck(unet, (x,), eps=1e-6, atol=1e-7, rtol=1e-5, fast_mode=True)


def test_linear_head_is_unbounded_and_final_activation_bounds_it():
    x = seeded_input((1, 1, 16, 16))
    linear = UNet(depth=2, base_channels=4)
    bounded = UNet(depth=2, base_channels=4, final_activation="sigmoid")
    bounded.load_state_dict(linear.state_dict())
    with torch.no_grad():
        for unet in (linear, bounded):
            unet.head.weight.mul_(1000.0)
            unet.head.bias.fill_(-3000.0)
        out_linear, out_bounded = linear(x), bounded(x)
    assert float(out_linear.min()) < -1.0
    assert float(out_linear.max() - out_linear.min()) > 1.0
    assert torch.all((out_bounded >= 0) & (out_bounded <= 1))
    assert torch.allclose(out_bounded, torch.sigmoid(out_linear))


def test_follows_input_dtype():
    unet = UNet(depth=2, base_channels=2).double()
    output = unet(seeded_input((1, 1, 10, 7), dtype=torch.float64))
    assert output.dtype == torch.float64


def test_group_norm_uses_a_divisor_of_the_channels():
    unet = UNet(depth=1, base_channels=12, norm="group")
    assert unet.stem[1].num_groups == 4  # gcd(12, 8)
    assert unet.downs[0][1][1].num_groups == 8  # 24 channels


def test_fad_fwi_configuration():
    unet = UNet.fad_fwi(base_channels=4)
    assert (unet.in_channels, unet.out_channels, unet.depth) == (1, 1, 4)
    assert unet.final_activation is None
    assert isinstance(unet.output_activation, torch.nn.Identity)
    assert (unet.norm, unet.activation, unet.upsample) == ("batch", "relu", "transpose")
    assert unet.head.out_channels == 1 and unet.head.in_channels == 4
    assert unet(seeded_input((1, 1, 30, 45))).shape == (1, 1, 30, 45)


def test_fad_fwi_default_width_is_ronneberger():
    assert UNet.fad_fwi().stem[0].out_channels == 64


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"depth": 0}, ValueError, "depth must be an integer >= 1, got 0"),
        ({"depth": 2.0}, TypeError, "depth must be an integer, got float"),
        ({"in_channels": 0}, ValueError, "in_channels must be an integer >= 1, got 0"),
        ({"base_channels": True}, TypeError, "base_channels must be an integer, got bool"),
        ({"norm": "layer"}, ValueError,
         "norm must be one of ['batch', 'group', 'instance', 'None'], got 'layer'"),
        ({"activation": "swish"}, ValueError,
         "activation must be one of ['elu', 'gelu', 'leaky_relu', 'relu', 'sigmoid', "
         "'silu', 'softplus', 'tanh'], got 'swish'"),
        ({"activation": None}, TypeError, "activation must be a string, got NoneType"),
        ({"final_activation": "linear"}, ValueError, "final_activation must be one of ["),
        ({"upsample": "nearest"}, ValueError,
         "upsample must be one of ['bilinear', 'transpose'], got 'nearest'"),
        ({"padding_mode": "zeros"}, ValueError,
         "padding_mode must be one of ['reflect', 'replicate'], got 'zeros'"),
    ],
)
def test_bad_configuration_raises(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        UNet(**kwargs)


@pytest.mark.parametrize(
    "x, error, message",
    [
        (np.zeros((1, 2, 8, 8), dtype=np.float32), TypeError,
         "x must be a torch.Tensor, got ndarray"),
        (torch.zeros(1, 2, 8, 8, dtype=torch.int64), TypeError,
         "x must be a floating-point tensor, got dtype torch.int64"),
        (torch.zeros(2, 8, 8), ValueError,
         "x must have shape (batch, channels, nz, nx) with 4 dimensions, got 3 dimensions"),
        (torch.zeros(1, 3, 8, 8), ValueError,
         "x must have in_channels=2 channels (dimension 1), got 3"),
        (torch.zeros(1, 2, 8, 8, dtype=torch.float64), TypeError,
         "x must match the network's dtype and device (torch.float32 on cpu), "
         "got torch.float64 on cpu"),
    ],
)
def test_bad_input_raises(x, error, message):
    unet = UNet(in_channels=2, depth=2, base_channels=2)
    with pytest.raises(error, match=re.escape(message)):
        unet(x)


def test_input_too_small_for_instance_norm_raises_and_group_norm_works():
    x = seeded_input((1, 1, 5, 6))
    unet = UNet(depth=3, base_channels=2, norm="instance")
    with pytest.raises(ValueError, match=re.escape("pools down to 1 x 1 at depth=3")):
        unet(x)
    assert UNet(depth=3, base_channels=2, norm="group")(x).shape == (1, 1, 5, 6)


def test_reflect_padding_too_wide_raises():
    unet = UNet(depth=3, base_channels=2, norm=None, padding_mode="reflect")
    with pytest.raises(ValueError, match=re.escape(
            "padding_mode='reflect' needs nz > 3 to pad nz=3 to a multiple of 2**depth=8")):
        unet(seeded_input((1, 1, 3, 8)))

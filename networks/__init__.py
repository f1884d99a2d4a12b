"""Neural-network building blocks (torch ``nn.Module`` only, no physics, no grid)."""

from .neural_field import CoordinateMLP, PositionalEncoding
from .unet import UNet

__all__ = ["CoordinateMLP", "PositionalEncoding", "UNet"]

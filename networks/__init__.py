"""Neural-network building blocks (torch ``nn.Module`` only, no physics, no grid)."""

from .unet import UNet

__all__ = ["UNet"]

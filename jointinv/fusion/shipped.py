"""The fusion network shipped with jointinv (``jointinv/fusion/weights/``).

``tt_dc_small.pt`` is a small U-Net trained on a store built from the
default dataset config ``examples/dataset/joint_tt_dc.yaml`` (cross-hole
travel times + a surface DC line, 80 x 40 cells of 2.5 m); its training
config is ``tt_dc_small.yaml`` beside it and ``weights/README.md`` gives the
exact commands, the sample count and the learning curve numbers.
"""

from __future__ import annotations

from pathlib import Path

from .network import FusionNetwork

__all__ = ["WEIGHTS", "SHIPPED", "shipped_network_path", "shipped_network"]

WEIGHTS = Path(__file__).parent / "weights"
#: name -> (network file, training config)
SHIPPED = {"tt_dc_small": ("tt_dc_small.pt", "tt_dc_small.yaml")}


def shipped_network_path(name: str = "tt_dc_small") -> Path:
    """Path of a shipped network file (one of :data:`SHIPPED`)."""
    if name not in SHIPPED:
        raise ValueError(f"name must be one of {sorted(SHIPPED)}, got {name!r}")
    path = WEIGHTS / SHIPPED[name][0]
    if not path.is_file():
        raise FileNotFoundError(f"the shipped fusion network {path} is missing from this "
                                f"installation (reinstall jointinv; setup.cfg package_data)")
    return path


def shipped_network(name: str = "tt_dc_small") -> FusionNetwork:
    """The shipped network ``name``, loaded on the CPU in eval mode."""
    return FusionNetwork.load(shipped_network_path(name))

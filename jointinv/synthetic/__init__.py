"""Synthetic models without downloads: velocity families, random fields, initial models.

- :func:`velocity_model` — seeded models in the OpenFWI families (``flatvel``,
  ``curvevel``, ``flatfault``, ``curvefault``) and a Marmousi-like ``marmousi``;
  :func:`random_structure` gives the underlying geological units, so other
  properties can share the structure.
- :func:`gaussian_random_field` — Matérn Gaussian random fields, for texture
  and for the latent input of a deep-image-prior U-Net.
- Initial-model builders for inversions: :func:`smoothed_model`,
  :func:`smoothed_1d_model`, :func:`homogeneous_model`,
  :func:`linear_gradient_model` and :func:`perturbed_model`.
"""

from .initial_models import (
    homogeneous_model,
    linear_gradient_model,
    perturbed_model,
    smoothed_1d_model,
    smoothed_model,
)
from .random_fields import gaussian_random_field, matern_correlation
from .structure import Fault, Fold, layer_units, water_mask
from .velocity_models import FAMILIES, Structure, random_structure, velocity_model

__all__ = [
    "FAMILIES",
    "Fault",
    "Fold",
    "Structure",
    "gaussian_random_field",
    "homogeneous_model",
    "layer_units",
    "linear_gradient_model",
    "matern_correlation",
    "perturbed_model",
    "random_structure",
    "smoothed_1d_model",
    "smoothed_model",
    "velocity_model",
    "water_mask",
]

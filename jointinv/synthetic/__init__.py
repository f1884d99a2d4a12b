"""Synthetic models without downloads: velocity families, random fields, initial models.

- :func:`velocity_model` — seeded models in the OpenFWI families (``flatvel``,
  ``curvevel``, ``flatfault``, ``curvefault``) and a Marmousi-like ``marmousi``;
  :func:`random_structure` gives the underlying geological units, so other
  properties can share the structure.
- :func:`gaussian_random_field` — Matérn Gaussian random fields, for texture
  and for the latent input of a deep-image-prior U-Net.
- Shared-structure earths for training learned couplings: a family in
  :data:`FAMILIES_SHARED` draws a :class:`UnitModel` (layers, faults, dikes,
  blocks, channels, lenses, unconformities) and :func:`draw_sample` paints
  any number of properties on it, deterministically per sample index.
- :func:`overthrust_model` — an Overthrust-like model: layers repeated by
  ramp-flat thrust faults (:class:`Thrust`), velocity 2000–6000 m/s.
- Initial-model builders for inversions: :func:`smoothed_model`,
  :func:`smoothed_1d_model`, :func:`homogeneous_model`,
  :func:`linear_gradient_model` and :func:`perturbed_model`.
"""

from .families import FAMILIES_SHARED
from .initial_models import (
    homogeneous_model,
    linear_gradient_model,
    perturbed_model,
    smoothed_1d_model,
    smoothed_model,
)
from .overthrust import Thrust, overthrust_model, overthrust_units
from .petrophysics import DEFAULT_PROPERTIES, DEFAULT_RANGES, check_properties, paint_units
from .random_fields import gaussian_random_field, matern_correlation
from .shared_samples import (
    FAMILY_ENTRY_POINT_GROUP,
    available_families,
    draw_sample,
    draw_units,
    load_family,
)
from .structure import Fault, Fold, layer_units, water_mask
from .units import UnitModel
from .velocity_models import FAMILIES, Structure, random_structure, velocity_model

__all__ = [
    "DEFAULT_PROPERTIES",
    "DEFAULT_RANGES",
    "FAMILIES",
    "FAMILIES_SHARED",
    "FAMILY_ENTRY_POINT_GROUP",
    "Fault",
    "Fold",
    "Structure",
    "Thrust",
    "UnitModel",
    "available_families",
    "check_properties",
    "draw_sample",
    "draw_units",
    "gaussian_random_field",
    "homogeneous_model",
    "layer_units",
    "linear_gradient_model",
    "load_family",
    "matern_correlation",
    "overthrust_model",
    "overthrust_units",
    "paint_units",
    "perturbed_model",
    "random_structure",
    "smoothed_1d_model",
    "smoothed_model",
    "velocity_model",
    "water_mask",
]

"""The built-in ``fusion`` case: a held-out sample of the shipped network's training family.

The shipped network (``weights/tt_dc_small.pt``) only knows the grid, survey,
noise and geology family of its dataset config (``weights/tt_dc_small_dataset.yaml``:
80 x 40 cells of 2.5 m, 33 x 33 cross-hole rays with 2 % noise, a
33-electrode dipole-dipole line with 3 % noise, family ``mixed``). The case
is sample :data:`HELD_OUT_INDEX` of that config, built exactly as the dataset
builder builds a sample (true models, seeded noise, data-fitted homogeneous
starts); the training store holds samples 0-110 of seed 0, so the case is of
the training family but was never trained on. It is not a test of
generalisation: ``examples/fusion_study.py`` runs the out-of-family geologies.
"""

from __future__ import annotations

import warnings

from ..cases import Case
from ..dataset.config import load_dataset_config
from ..dataset.sample import derived_seed, draw_true_models, homogeneous_fit, survey_spec
from ..physics_spec import build_grid, build_operator
from .shipped import WEIGHTS

__all__ = ["HELD_OUT_INDEX", "fusion_case"]

#: Sample index of the case (the study's held-out in-family samples are 1990-1999).
HELD_OUT_INDEX = 1997
_CONFIG = WEIGHTS / "tt_dc_small_dataset.yaml"


def fusion_case(seed: int = 0) -> dict:
    """``{"traveltime": Case, "dcr": Case}``: held-out sample 1997 of the shipped network's family.

    Parameters
    ----------
    seed : int
        The dataset config's seed: 0 gives the sample the dataset builder
        would make as index 1997 (``examples/fusion_study.py --held-out
        1997``); another seed draws another geology of the family and other
        noise (never in the training store, which is seed 0, samples 0-110).

    Returns
    -------
    dict
        Two :class:`jointinv.cases.Case` on the 80 x 40 grid of 2.5 m cells:
        velocity [m/s] from cross-hole travel times [s] and log10
        resistivity [log10 ohm m] from a surface dipole-dipole line [V/A];
        starts are the best-fitting homogeneous models.
    """
    config = {**load_dataset_config(_CONFIG), "seed": seed}
    grid = build_grid(config["grid"])
    true_models = draw_true_models(config, grid, HELD_OUT_INDEX)
    cases = {}
    for key, entry in config["physics"].items():
        with warnings.catch_warnings():
            # data simulated on the mesh that inverts them, as in the training set:
            # the coarse-mesh discretisation error is no data error here
            warnings.filterwarnings("ignore", message="the DC simulation mesh has")
            operator = build_operator(grid, survey_spec(config, grid, key, HELD_OUT_INDEX),
                                      f"physics.{key}.spec")
        data = operator.simulate(true_models[key], **entry["noise"],
                                 seed=derived_seed(seed, HELD_OUT_INDEX, key, "noise"))
        initial = homogeneous_fit(operator, data, config["properties"][key]["range"])
        cases[key] = Case(name=f"fusion-{key}", operator=operator, true_model=true_models[key],
                          initial_model=initial, data=data,
                          description=f"held-out sample {HELD_OUT_INDEX} (seed {seed}) of the "
                                      f"shipped fusion network's training family 'mixed', "
                                      f"{operator.property}")
    return cases

"""Training config of the fusion network: defaults and validation before any work.

``loss.data_consistency`` (see :mod:`jointinv.fusion.data_consistency`)
adds ``w * mean max(chi^2/N - 1, 0)`` of the output under each physics;
physics in ``data_consistency_linearised`` use their linearisation at the
recovered model (the DC line: about 1 s per exact simulation and gradient,
2 s once per sample linearised); ``data_consistency_physics`` limits the term
to some physics (e.g. ``[traveltime]``: exact and cheap, where a linearised
DC term misjudges models far from the recovered one).

A config is a mapping (usually YAML, ``jointinv train CONFIG.yaml --store S --output O``);
every key is optional::

    network: {depth: 3, base_channels: 16, norm: batch, activation: relu}
    residual: true              # the U-Net predicts a correction of the input models
    coverage: true              # P coverage maps join the P models as input channels
    clamp_inputs: true          # clamp input models to the store config's property ranges
    samples: null               # use the first N complete samples of the store (all: null)
    validation_fraction: 0.15   # share of the samples held out (seeded split)
    flip: true                  # random left-right flips (symmetric surveys only)
    batch_size: 16
    epochs: 60
    learning_rate: 0.001
    weight_decay: 0.0
    loss:
      weights: {traveltime: 1.0, dcr: 1.0}   # per-property MSE weights (default 1)
      cross_gradient: 0.0                    # weight of the output cross-gradient term
      cross_gradient_eps: 0.1
      data_consistency: 0.0                  # weight of the data-misfit term of the output
      data_consistency_linearised: []        # physics simulated by their linearisation
      data_consistency_physics: null         # physics the term covers (null: all)
    early_stopping: {patience: 15, min_delta: 0.0}
    seed: 0
"""

from __future__ import annotations

import copy
import numbers
from pathlib import Path

import yaml

from ..networks.unet import ACTIVATIONS, NORMS, UPSAMPLES

__all__ = ["DEFAULT_TRAINING_CONFIG", "TrainingConfigError", "load_training_config",
           "validate_training_config"]

DEFAULT_TRAINING_CONFIG = {
    "network": {"depth": 3, "base_channels": 16, "norm": "batch", "activation": "relu",
                "upsample": "transpose"},
    "residual": True,
    "coverage": True,
    "clamp_inputs": True,
    "samples": None,
    "validation_fraction": 0.15,
    "flip": True,
    "batch_size": 16,
    "epochs": 60,
    "learning_rate": 1e-3,
    "weight_decay": 0.0,
    "loss": {"weights": {}, "cross_gradient": 0.0, "cross_gradient_eps": 0.1,
             "data_consistency": 0.0, "data_consistency_linearised": [],
             "data_consistency_physics": None},
    "early_stopping": {"patience": 15, "min_delta": 0.0},
    "seed": 0,
}


class TrainingConfigError(ValueError):
    """A training config that cannot work; the message names the key."""


def _number(where, value, kind=float, low=None, high=None, low_open=False):
    integral = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not (integral if kind is int else isinstance(value, numbers.Real)
            and not isinstance(value, bool)):
        raise TrainingConfigError(f"{where} must be {'an integer' if kind is int else 'a number'},"
                                  f" got {value!r}")
    value = kind(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    if too_low or (high is not None and value > high):
        bracket = "(" if low_open else "["
        raise TrainingConfigError(f"{where} must be in {bracket}{low}, "
                                  f"{'inf' if high is None else high}], got {value}")
    return value


def _bool(where, value):
    if not isinstance(value, bool):
        raise TrainingConfigError(f"{where} must be true or false, got {value!r}")
    return value


def _merge(where, given, defaults):
    if not isinstance(given, dict):
        raise TrainingConfigError(f"{where} must be a mapping, got {type(given).__name__}")
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise TrainingConfigError(f"{where or 'config'} has unknown keys {unknown}; "
                                  f"allowed: {sorted(defaults)}")
    return {**copy.deepcopy(defaults), **copy.deepcopy(given)}


def validate_training_config(config: dict | None) -> dict:
    """The config with defaults filled in, every value checked.

    Raises
    ------
    TrainingConfigError
        An unknown key or a value of the wrong type or outside its range (the
        message names the key and the range).
    """
    config = _merge("", config or {}, DEFAULT_TRAINING_CONFIG)
    network = _merge("network", config["network"], DEFAULT_TRAINING_CONFIG["network"])
    network["depth"] = _number("network.depth", network["depth"], int, 1, 6)
    network["base_channels"] = _number("network.base_channels", network["base_channels"], int,
                                       1, 256)
    for name, allowed in (("norm", NORMS), ("activation", tuple(ACTIVATIONS)),
                          ("upsample", UPSAMPLES)):
        if network[name] not in allowed:
            raise TrainingConfigError(f"network.{name} must be one of {list(allowed)}, "
                                      f"got {network[name]!r}")
    config["network"] = network
    for name in ("residual", "coverage", "clamp_inputs", "flip"):
        config[name] = _bool(name, config[name])
    if config["samples"] is not None:
        config["samples"] = _number("samples", config["samples"], int, 2)
    config["validation_fraction"] = _number("validation_fraction",
                                            config["validation_fraction"], float, 0.0, 0.9,
                                            low_open=True)
    config["batch_size"] = _number("batch_size", config["batch_size"], int, 1)
    config["epochs"] = _number("epochs", config["epochs"], int, 1)
    config["learning_rate"] = _number("learning_rate", config["learning_rate"], float, 0.0,
                                      low_open=True)
    config["weight_decay"] = _number("weight_decay", config["weight_decay"], float, 0.0)
    loss = _merge("loss", config["loss"], DEFAULT_TRAINING_CONFIG["loss"])
    if not isinstance(loss["weights"], dict):
        raise TrainingConfigError(f"loss.weights must map physics keys to weights, "
                                  f"got {loss['weights']!r}")
    loss["weights"] = {str(k): _number(f"loss.weights.{k}", v, float, 0.0)
                       for k, v in loss["weights"].items()}
    loss["cross_gradient"] = _number("loss.cross_gradient", loss["cross_gradient"], float, 0.0)
    loss["cross_gradient_eps"] = _number("loss.cross_gradient_eps", loss["cross_gradient_eps"],
                                         float, 0.0, low_open=True)
    loss["data_consistency"] = _number("loss.data_consistency", loss["data_consistency"],
                                       float, 0.0)
    linearised = loss["data_consistency_linearised"]
    if not isinstance(linearised, (list, tuple)) or not all(isinstance(k, str)
                                                            for k in linearised):
        raise TrainingConfigError(f"loss.data_consistency_linearised must be a list of physics "
                                  f"keys, got {linearised!r}")
    loss["data_consistency_linearised"] = sorted(set(linearised))
    covered = loss["data_consistency_physics"]
    if covered is not None:
        if not isinstance(covered, (list, tuple)) or not covered or \
                not all(isinstance(k, str) for k in covered):
            raise TrainingConfigError(f"loss.data_consistency_physics must be null (all "
                                      f"physics) or a non-empty list of physics keys, "
                                      f"got {covered!r}")
        loss["data_consistency_physics"] = sorted(set(covered))
        if not loss["data_consistency"]:
            raise TrainingConfigError(f"loss.data_consistency_physics {sorted(set(covered))} "
                                      f"needs loss.data_consistency > 0")
    if loss["data_consistency_linearised"] and not loss["data_consistency"]:
        raise TrainingConfigError(f"loss.data_consistency_linearised "
                                  f"{loss['data_consistency_linearised']} needs "
                                  f"loss.data_consistency > 0")
    if not loss["data_consistency"]:
        # added after the first shipped network: left out while off, so the hash of a
        # config written before them (stored in that network) stays the same
        del loss["data_consistency"], loss["data_consistency_linearised"]
    if loss.get("data_consistency_physics", 0) is None:
        del loss["data_consistency_physics"]  # the default, left out for the same reason
    config["loss"] = loss
    stopping = _merge("early_stopping", config["early_stopping"],
                      DEFAULT_TRAINING_CONFIG["early_stopping"])
    stopping["patience"] = _number("early_stopping.patience", stopping["patience"], int, 1)
    stopping["min_delta"] = _number("early_stopping.min_delta", stopping["min_delta"], float,
                                    0.0)
    config["early_stopping"] = stopping
    config["seed"] = _number("seed", config["seed"], int, 0)
    return config


def load_training_config(config) -> dict:
    """A validated config from a mapping, a YAML path or None (all defaults)."""
    if isinstance(config, (str, Path)):
        path = Path(config)
        if not path.is_file():
            raise TrainingConfigError(f"training config {path} does not exist")
        with open(path) as stream:
            config = yaml.safe_load(stream) or {}
    return validate_training_config(config)

import re

import numpy as np
import pytest
import yaml

from jointinv.config import load_config, validate_config


def write(tmp_path, config):
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_defaults_fill_a_minimal_config(tmp_path):
    config = load_config(write(tmp_path, {"case": "fault"}))
    assert config["case"] == "fault"
    assert [s["name"] for s in config["strategies"]] == ["independent", "cross_gradient"]


def test_strategy_options_are_typed(tmp_path):
    config = load_config(write(tmp_path, {"strategies": [
        {"name": "cross_gradient", "beta0_ratio": 2, "label": "cg"}]}))
    assert config["strategies"][0] == {"name": "cross_gradient", "label": "cg",
                                       "beta0_ratio": 2.0}
    assert isinstance(config["strategies"][0]["beta0_ratio"], float)


README_EXAMPLE = {"case": "fault", "options": {"max_iterations": 30},
                  "physics": {"dcr": {"alpha_s": 0.001}},
                  "strategies": [{"name": "independent"},
                                 {"name": "cross_gradient", "coupling": {"weight": 0.3}},
                                 {"name": "sequential"}]}


def test_validation_is_idempotent(tmp_path):
    # jointinv compare validates when loading and again in run_comparison
    once = load_config(write(tmp_path, README_EXAMPLE))
    assert validate_config(once) == once
    assert validate_config(validate_config(once)) == once


def test_strategy_options_come_from_the_strategy_signature(monkeypatch):
    import jointinv.strategies as strategies
    from jointinv.config import strategy_settings
    from jointinv.runner import SolverOptions

    def invert_new(setups, *, max_iterations=5, smoothing_passes=2, parameterization=None,
                   **solver_options):
        """A strategy with an option the config module has never heard of."""

    monkeypatch.setitem(strategies.STRATEGIES, "new", invert_new)
    settings = strategy_settings("new")
    assert settings["max_iterations"] == 5 and settings["smoothing_passes"] == 2
    assert settings["beta0_ratio"] == SolverOptions().beta0_ratio  # the solver's options too
    assert "progress" not in settings and "parameterization" not in settings
    config = validate_config({"strategies": [{"name": "new", "smoothing_passes": 3}]})
    assert config["strategies"][0]["smoothing_passes"] == 3
    # typed by the signature's default; still range-checked where the schema knows the name
    with pytest.raises(TypeError, match=re.escape(
            "config strategies[0].smoothing_passes must be of type int, got str")):
        validate_config({"strategies": [{"name": "new", "smoothing_passes": "two"}]})
    with pytest.raises(ValueError, match=re.escape(
            "config strategies[0].max_iterations must be >= 1, got 0")):
        validate_config({"strategies": [{"name": "new", "max_iterations": 0}]})


def test_shared_options_must_fit_a_listed_strategy():
    # coupling is shared with the joint strategies only
    config = validate_config({"options": {"coupling": {"weight": 0.5}}, "strategies": [
        {"name": "independent"}, {"name": "cross_gradient"}]})
    assert config["options"] == {"coupling": {"weight": 0.5}}
    with pytest.raises(ValueError, match=re.escape(
            "config options has unknown keys ['coupling']; allowed: ['batch_seed', 'beta0_ratio'")):
        validate_config({"options": {"coupling": "cross_gradient"},
                         "strategies": [{"name": "independent"}]})


def test_options_the_command_line_or_python_sets_are_refused_by_name():
    with pytest.raises(ValueError, match=re.escape(
            "config options.progress cannot be set in a config: the command line sets it")):
        validate_config({"options": {"progress": False}})
    with pytest.raises(ValueError, match=re.escape(
            "config strategies[0].parameterization cannot be set in a config: it is a torch")):
        validate_config({"strategies": [{"name": "independent", "parameterization": "dip"}]})


def test_schema_lists_every_key_with_type_range_and_default():
    from jointinv.config import SCHEMA, schema_text

    text = schema_text()
    assert "| physics.*.chi_factor | float | > 0 | 1.0 |" in text
    assert "| cooling_factor | float | >= 1 | 2.0* |" in text
    for key in SCHEMA:  # every schema key is listed (strategy options under their strategy)
        assert f"| {key.removeprefix('options.')} |" in text


@pytest.mark.parametrize("config,error,message", [
    ({"cases": "dike"}, ValueError, "config (top level) has unknown keys ['cases']"),
    ({"case": "basin"}, ValueError,
     "config case: must be one of the built-in cases ['dike', 'fault', 'fusion']"),
    ({"seed": "zero"}, TypeError, "config seed must be of type int, got str"),
    ({"options": {"max_iter": 3}}, ValueError, "config options has unknown keys ['max_iter']"),
    ({"options": {"max_iterations": 2.5}}, TypeError,
     "config options.max_iterations must be of type int"),
    ({"physics": {"gravity": {}}}, ValueError, "config physics has unknown keys ['gravity']"),
    ({"physics": {"dcr": {"alpha_s": "big"}}}, TypeError,
     "config physics.dcr.alpha_s must be of type float"),
    ({"strategies": []}, TypeError, "config strategies must be a non-empty list"),
    ({"strategies": [{"name": "learned"}]}, ValueError,
     "config strategies[0].name must be one of ['cross_gradient', 'fusion', 'independent', "
     "'joint', 'joint_total_variation', 'sequential']"),
    ({"strategies": [{"name": "cross_gradient", "coupling": "mutual_information"}]},
     ValueError, "config strategies[0].coupling: coupling kind must be one of"),
    ({"strategies": [{"name": "cross_gradient", "coupling": {"weight": -1}}]},
     ValueError, "config strategies[0].coupling: coupling weight must be a finite number >= 0"),
    ({"strategies": [{"name": "sequential", "coupling": {"wieght": 1}}]},
     TypeError, "config strategies[0].coupling: coupling has unknown keys ['wieght']"),
    ({"strategies": [{"name": "independent"}, {"name": "independent"}]}, ValueError,
     "config strategies need distinct labels"),
    ({"velocity_units": "ft/s"}, ValueError,
     "config velocity_units must be one of ['m/s', 'km/s'], got 'ft/s'"),
    # ranges: the key path and the allowed range
    ({"physics": {"dcr": {"alpha_s": -1}}}, ValueError,
     "config physics.dcr.alpha_s must be >= 0, got -1.0"),
    ({"physics": {"traveltime": {"chi_factor": 0}}}, ValueError,
     "config physics.traveltime.chi_factor must be > 0, got 0.0"),
    ({"physics": {"dcr": {"beta": 0}}}, ValueError, "config physics.dcr.beta must be > 0"),
    ({"options": {"cooling_rate": 0}}, ValueError,
     "config options.cooling_rate must be >= 1, got 0"),
    ({"options": {"solver": "sgd"}}, ValueError,
     "config options.solver must be one of ['gauss_newton', 'adam', 'lbfgs'], got 'sgd'"),
    ({"options": {"lr": 0}}, ValueError, "config options.lr must be > 0, got 0.0"),
    ({"seed": -1}, ValueError, "config seed must be in [0, 9223372036854775807], got -1"),
    ({"options": {"max_iterations": 0}}, ValueError,
     "config options.max_iterations must be >= 1, got 0"),
    ({"options": {"beta0_ratio": -1}}, ValueError,
     "config options.beta0_ratio must be > 0, got -1.0"),
    ({"options": {"cooling_factor": 0}}, ValueError,
     "config options.cooling_factor must be >= 1, got 0.0"),
    ({"options": {"cg_max_iterations": 2.5}}, TypeError,
     "config options.cg_max_iterations must be of type int, got float (2.5)"),
    ({"options": {"beta0_ratio": float("nan")}}, ValueError,
     "config options.beta0_ratio must be > 0, got nan"),
    ({"strategies": [{"name": "cross_gradient", "coupling_iterations": 3}]}, ValueError,
     "config strategies[0] has unknown keys ['coupling_iterations']; allowed: "
     "['batch_seed', 'beta0_ratio'"),
    ({"strategies": [{"name": "sequential", "coupling_iterations": 0}]}, ValueError,
     "config strategies[0].coupling_iterations must be >= 1, got 0"),
    ({"strategies": [{"name": "joint", "regularization": "tv"}]}, ValueError,
     "config strategies[0].regularization must be one of ['separate', 'joint_total_variation', "
     "'joint_minimum_gradient_support']"),
    ({"strategies": [{"name": "joint", "edge_contrast": 0}]}, ValueError,
     "config strategies[0].edge_contrast must be > 0, got 0.0"),
    ({"options": {"hold_iterations": -1}}, ValueError,
     "config options.hold_iterations must be >= 0, got -1"),
    ({"strategies": [{"name": "cross_gradient", "coupling_wieght": 1}]}, ValueError,
     "config strategies[0] has unknown keys ['coupling_wieght']; allowed: "),
    ({"strategies": [{"name": "sequential", "max_iter": 1}]}, ValueError,
     "config strategies[0] has unknown keys ['max_iter']"),
    ({"physics": {"dcr": {"sensitivity_weighting": 1}}}, TypeError,
     "config physics.dcr.sensitivity_weighting must be of type bool, got int"),
])
def test_bad_configs_are_rejected_clearly(tmp_path, config, error, message):
    with pytest.raises(error, match=re.escape(message)):
        load_config(write(tmp_path, config))


def test_missing_files(tmp_path):
    with pytest.raises(ValueError, match="config file .* does not exist"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ValueError, match="config true_models_file .*models.npz' does not exist"):
        load_config(write(tmp_path, {"true_models_file": "models.npz"}))
    np.savez(tmp_path / "models.npz", traveltime=np.ones((20, 40)))
    config = load_config(write(tmp_path, {"true_models_file": "models.npz"}))
    assert config["true_models_file"] == str(tmp_path / "models.npz")


def test_invalid_yaml(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("case: [dike\n")
    with pytest.raises(ValueError, match="is not valid YAML"):
        load_config(path)
    with pytest.raises(ValueError, match="has unknown keys"):
        validate_config({"strategy": "independent"})


def test_lr_schedule_is_a_checked_option():
    config = validate_config({"options": {"solver": "adam", "lr_schedule": "cosine"},
                              "strategies": [{"name": "independent"}]})
    assert config["options"]["lr_schedule"] == "cosine"
    with pytest.raises(ValueError, match=re.escape(
            "config options.lr_schedule must be one of ['constant', 'cosine'], got 'cos'")):
        validate_config({"options": {"lr_schedule": "cos"},
                         "strategies": [{"name": "independent"}]})

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
        {"name": "cross_gradient", "coupling_weight": 2, "label": "cg"}]}))
    assert config["strategies"][0]["options"] == {"coupling_weight": 2.0}
    assert isinstance(config["strategies"][0]["options"]["coupling_weight"], float)


@pytest.mark.parametrize("config,error,message", [
    ({"cases": "dike"}, ValueError, "config (top level) has unknown keys ['cases']"),
    ({"case": "basin"}, ValueError, "config case must be one of ['dike', 'fault']"),
    ({"seed": "zero"}, TypeError, "config seed must be of type int, got str"),
    ({"options": {"max_iter": 3}}, ValueError, "config options has unknown keys ['max_iter']"),
    ({"options": {"max_iterations": 2.5}}, TypeError,
     "config options.max_iterations must be of type int"),
    ({"physics": {"gravity": {}}}, ValueError, "config physics has unknown keys ['gravity']"),
    ({"physics": {"dcr": {"alpha_s": "big"}}}, TypeError,
     "config physics.dcr.alpha_s must be of type float"),
    ({"strategies": []}, TypeError, "config strategies must be a non-empty list"),
    ({"strategies": [{"name": "fusion"}]}, ValueError,
     "config strategies[0].name must be one of ['cross_gradient', 'independent', 'sequential']"),
    ({"strategies": [{"name": "cross_gradient", "coupling": "mutual_information"}]},
     ValueError, "config strategies[0].coupling must be one of"),
    ({"strategies": [{"name": "independent"}, {"name": "independent"}]}, ValueError,
     "config strategies need distinct labels"),
    ({"velocity_units": "ft/s"}, ValueError, "config velocity_units must be 'm/s' or 'km/s'"),
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

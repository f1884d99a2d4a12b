"""The shipped fusion network: present, small, and the product of the config beside it."""

from pathlib import Path

import yaml

from jointinv.dataset.builder import _stored_config
from jointinv.dataset.config import load_dataset_config
from jointinv.fusion import config_hash, load_training_config, shipped_network
from jointinv.fusion.shipped import SHIPPED, WEIGHTS

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_network_matches_its_training_config():
    network_file, config_file = SHIPPED["tt_dc_small"]
    assert (WEIGHTS / network_file).stat().st_size <= 5 * 2**20
    network = shipped_network()
    description = network.description()
    config = load_training_config(WEIGHTS / config_file)
    assert description["config"] == config
    assert description["config_hash"] == config_hash(config)
    assert network.keys == ["traveltime", "dcr"]
    assert network.properties == ["velocity", "log10 resistivity"]
    assert network.grid == {"nx": 80, "nz": 40, "dx": 2.5, "dz": 2.5}
    assert network.channels == ["model:traveltime", "model:dcr", "coverage:traveltime",
                                "coverage:dcr"]


def test_shipped_network_was_trained_on_the_dataset_config_beside_it():
    trained_on = load_dataset_config(WEIGHTS / "tt_dc_small_dataset.yaml")
    store = shipped_network().info["store"]
    assert store["config_hash"] == config_hash(_stored_config(trained_on))
    readme = (WEIGHTS / "README.md").read_text()
    assert "python -m jointinv.fusion train jointinv/fusion/weights/tt_dc_small.yaml" in readme
    assert yaml.safe_load((WEIGHTS / SHIPPED["tt_dc_small"][1]).read_text())["samples"] == \
        shipped_network().info["n_samples"]


def test_default_dataset_config_differs_only_in_coverage_probes():
    """The shipped network's survey, noise, family and inversion are the default config's;
    the default's coverage maps are exact where the network saw 8 and 4 random probes."""
    trained_on = _stored_config(load_dataset_config(WEIGHTS / "tt_dc_small_dataset.yaml"))
    default = _stored_config(load_dataset_config(ROOT / "examples" / "dataset" /
                                                 "joint_tt_dc.yaml"))
    for config in (trained_on, default):
        for entry in config["physics"].values():
            entry.pop("coverage_probes")
    assert trained_on == default


def test_study_training_configs_are_valid_and_differ_from_the_shipped_one_as_they_say():
    """The fusion study's ablation configs (examples/fusion/*.yaml) load, and each differs
    from the shipped config only in what its name says."""
    folder = Path(__file__).resolve().parents[2] / "examples" / "fusion"
    shipped = load_training_config(WEIGHTS / "tt_dc_small.yaml")
    expected = {"tt_dc_base8": {"network"}, "tt_dc_base32": {"network"},
                "tt_dc_small_250": {"samples"}, "tt_dc_small_tt_consistency": {"loss"},
                "tt_dc_small_33": {"samples"}, "tt_dc_converged": {"samples"},
                # ablations of the first shipped version, trained on 111 samples
                "tt_dc_small_no_coverage": {"coverage", "samples"},
                "tt_dc_small_cross_gradient_loss": {"loss", "samples"}}
    assert sorted(expected) == sorted(path.stem for path in folder.glob("*.yaml"))
    for name, changed in expected.items():
        config = load_training_config(folder / f"{name}.yaml")
        differing = {key for key in shipped if config[key] != shipped[key]}
        assert differing == changed, (name, differing)

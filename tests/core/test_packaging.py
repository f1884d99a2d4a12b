"""Installed import names: everything under ``jointinv``, nothing generic at the top."""

import configparser
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_every_package_folder_is_listed_in_setup_cfg():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    folders = {".".join(path.parent.relative_to(ROOT).parts)
               for path in (ROOT / "jointinv").rglob("__init__.py")}
    expected = folders | {"jointinv.physics", "jointinv.networks"}
    assert listed == expected
    mapping = config["options"]["package_dir"]
    assert "jointinv.physics = physics" in mapping and "jointinv.networks = networks" in mapping


def test_a_users_physics_py_does_not_break_the_built_in_plugins(tmp_path):
    """A script next to its own physics.py and networks.py (common names) still works."""
    for name in ("physics", "networks"):
        (tmp_path / f"{name}.py").write_text("raise ImportError('the user module was imported')\n")
    (tmp_path / "script.py").write_text(textwrap.dedent("""
        import numpy as np
        import torch
        import jointinv
        from jointinv.networks import UNet

        grid = jointinv.Grid(nx=4, nz=4, dx=1.0, dz=1.0)
        tomo = jointinv.create_physics("traveltime", grid, [[0.0, 1.5]], [[4.0, 2.5]])
        print(float(tomo(torch.full(grid.shape, 2.0, dtype=torch.float64))[0]))
        print(type(UNet(in_channels=1, out_channels=1)).__name__)
    """))
    completed = subprocess.run([sys.executable, "script.py"], cwd=tmp_path, capture_output=True,
                               text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    time, network = completed.stdout.split()
    assert abs(float(time) - (4.0**2 + 1.0**2) ** 0.5 / 2.0) < 1e-12 and network == "UNet"

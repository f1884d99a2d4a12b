"""Every example script imports: the names it takes from the package and from the
other examples resolve.

A study script that imports a name another example no longer defines fails
only when someone runs it; importing each one here finds it at once (the
scripts do their work under ``if __name__ == "__main__"``, which an import
skips).
"""

import importlib.util
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))


def test_there_are_examples():
    assert len(SCRIPTS) >= 10


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_example_imports(script, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))  # the studies import each other
    spec = importlib.util.spec_from_file_location(f"example_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)

"""Every fenced block of README.md runs (or is checked) against the code, with tiny
iteration counts injected, so the README cannot drift from working code."""

import functools
import re
import shlex
from pathlib import Path

import pytest
import yaml

import jointinv
import jointinv.strategies
from jointinv.cli import build_parser, main

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"^```(\w*)\n(.*?)^```", README.read_text(), re.S | re.M)


def blocks(language):
    return [text for lang, text in BLOCKS if lang == language]


def test_every_block_is_covered():
    # a new kind of block needs a test here
    assert {lang for lang, _ in BLOCKS} <= {"bash", "python", "text", "yaml", "ini"}
    assert len(blocks("yaml")) >= 1 and len(blocks("python")) >= 3


def test_bash_blocks_name_make_targets_that_exist():
    makefile = (README.parent / "Makefile").read_text()
    for text in blocks("bash"):
        for line in text.splitlines():
            target = line.split("#")[0].split()
            assert target[:1] == ["make"], line
            assert re.search(rf"^{target[1]}:", makefile, re.M), f"no make target: {line}"


def test_command_lines_parse():
    """Every ``jointinv ...`` line of the text blocks, with each ``[--option a|b]``
    alternative, is accepted by the parser."""
    parser = build_parser()
    placeholders = {"DIR": "out", "N": "2", "CONFIG.yaml": "study.yaml"}
    lines = [line.split("#")[0].strip() for text in blocks("text")
             for line in text.splitlines() if line.startswith("jointinv ")]
    assert len(lines) >= 3
    for line in lines:
        base = [placeholders.get(w, w) for w in shlex.split(line.split("[")[0])[1:]]
        _parses(parser, base)
        for group in re.findall(r"\[([^\]]+)\]", line):
            option, *value = group.split()
            for choice in (value[0].split("|") if value else [None]):
                extra = [placeholders.get(choice, choice)] if choice else []
                _parses(parser, [*base, option, *extra])


def _parses(parser, argv):
    try:
        parser.parse_args(argv)
    except SystemExit as exit_:  # --version and --help exit 0 after printing
        assert exit_.code == 0, f"README command does not parse: jointinv {' '.join(argv)}"


@pytest.fixture
def tiny_runs(monkeypatch, tmp_path):
    """One iteration and no progress bars in every inversion the README starts."""
    def tiny(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            return function(*args, **{**kwargs, "max_iterations": 1, "progress": False})
        return wrapper

    monkeypatch.setattr(jointinv, "invert", tiny(jointinv.invert))
    monkeypatch.setattr(jointinv.strategies, "run_strategy",
                        tiny(jointinv.strategies.run_strategy))
    monkeypatch.chdir(tmp_path)


def test_python_blocks_run(tiny_runs):
    """The blocks run in order in one namespace, as a reader's session would."""
    namespace = {}
    for index, text in enumerate(blocks("python")):
        exec(compile(text, f"README.md python block {index}", "exec"), namespace)


def test_yaml_blocks_run_through_jointinv_compare(tmp_path, capsys):
    for index, text in enumerate(blocks("yaml")):
        config = yaml.safe_load(text)
        config.setdefault("options", {})["max_iterations"] = 1
        path = tmp_path / f"study{index}.yaml"
        path.write_text(yaml.safe_dump(config))
        output = tmp_path / f"run{index}"
        assert main(["compare", str(path), "--output", str(output), "--quiet"]) == 0, \
            capsys.readouterr().err
        out = capsys.readouterr().out
        for strategy in config["strategies"]:
            assert f"| {strategy.get('label', strategy['name'])} |" in out
        assert (output / "metrics.csv").exists() and not (output / "INCOMPLETE").exists()


def test_ini_block_uses_the_entry_point_group_of_setup_cfg():
    setup_cfg = (README.parent / "setup.cfg").read_text()
    for text in blocks("ini"):
        group = re.search(r"^(jointinv\.\w+) =", text, re.M).group(1)
        assert f"\n{group} =\n" in setup_cfg
        assert re.search(r"^    \w+ = [\w.]+:\w+$", text, re.M)

# Set-up and main jobs. `make demo` and `make test` work on a fresh clone:
# they create .venv, install jointinv with its test extra (and the example
# gravity plugin), then run.
PYTHON ?= python3
VENV ?= .venv
# A CPU build of torch; override (e.g. TORCH_SPEC=torch) for a GPU build.
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.jointinv-installed

.PHONY: setup demo test lint benchmarks clean

# The example third-party plugin, installed after jointinv so that the shared
# plugin test (tests/test_all_physics.py) covers it through its entry point.
GRAVITY_PLUGIN := examples/plugins/jointinv-gravity

$(STAMP): setup.cfg pyproject.toml $(GRAVITY_PLUGIN)/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python -m pip install --quiet -e $(GRAVITY_PLUGIN)
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/jointinv demo --overwrite

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check jointinv physics networks tests examples benchmarks

benchmarks: $(STAMP)
	$(BIN)/python benchmarks/traveltime.py
	$(BIN)/python benchmarks/dcresistivity.py
	$(BIN)/python benchmarks/acoustic.py

clean:
	rm -rf $(VENV) build *.egg-info jointinv-output

# Set-up and main jobs. `make demo` and `make test` work on a fresh clone:
# they create .venv, install jointinv with its test extra, then run.
PYTHON ?= python3
VENV ?= .venv
# A CPU build of torch; override (e.g. TORCH_SPEC=torch) for a GPU build.
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.jointinv-installed

.PHONY: setup demo test lint benchmarks clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/jointinv demo

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

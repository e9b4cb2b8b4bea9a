# Two commands do all the set-up on a fresh machine with Python 3.11 and make:
#   make demo   creates .venv, installs gradfit with what the demo needs, runs the tutorial
#   make test   same .venv plus the test and optional dependencies, runs the whole suite
#   make bench  the side-by-side benchmark (benchmarks/README.md); BENCH_ARGS picks a subset
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The demo needs only gradfit's own dependencies (NumPy, pyarrow, Typer, rich, matplotlib).
# setup.py builds the C summary kernel, so a change to it reinstalls.
$(VENV)/.demo-installed: pyproject.toml setup.py src/gradfit/engines/_summary.c src/gradfit/engines/_summary_kernel.h | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test,frames,torch,sklearn,learn,dask]"
	touch $@

# The peers of the benchmark: PyTorch pinned (a local CPU wheel), scikit-learn, Dask.
$(VENV)/.bench-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	touch $@

demo: $(VENV)/.demo-installed
	$(BIN)/gradfit demo --out .

test: $(VENV)/.demo-installed $(VENV)/.test-installed
	$(BIN)/python -m pytest -q

BENCH_ARGS ?=
bench: $(VENV)/.demo-installed $(VENV)/.bench-installed
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache tutorial.png

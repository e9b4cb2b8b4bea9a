# Two commands do all the set-up on a fresh machine with Python 3.11 and make:
#   make demo   creates .venv, installs gradfit with what the demo needs, runs the tutorial
#   make test   installs the system packages the suite needs (see below), the same .venv plus the
#               test and optional dependencies, and runs the whole suite
#   make test-fast  the same set-up, and the suite without the tests marked slow (those that start
#               processes, a Dask cluster or a browser, or read large real data): under a minute
#   make bench  the side-by-side benchmark (benchmarks/README.md); BENCH_ARGS picks a subset
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
KERNEL := setup.py src/gradfit/engines/_summary.c src/gradfit/engines/_summary_kernel.h src/gradfit/_rules.c src/gradfit/_float64.h

.PHONY: demo test test-fast bench clean system-packages

# A Python without its venv module (Debian's python3 without python3-venv) leaves a half-made .venv
# that the next run would take for a finished one: remove it so the next run says the same thing.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

# The demo needs only gradfit's own dependencies (NumPy, pyarrow, Typer, rich, matplotlib) and no
# system package: the C summary kernel is optional (setup.py), NumPy does the same sums without it.
# setup.py builds the kernel, so a change to it reinstalls.
$(VENV)/.demo-installed: pyproject.toml $(KERNEL) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The suite also checks that the kernel was built, so the compiler is installed before gradfit is.
$(VENV)/.test-installed: pyproject.toml $(KERNEL) | system-packages $(BIN)/python
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test,frames,torch,sklearn,learn,dask]"
	touch $@

# The peers of the benchmark: PyTorch pinned (a local CPU wheel), scikit-learn, Dask.
$(VENV)/.bench-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	touch $@

# The system packages the suite needs, by their Debian names: chromium drives the browser tests of
# the HTML report (they run /usr/bin/chromium, never `playwright install`), fonts-noto-cjk lets it
# render Chinese, gcc builds the C summary kernel (without a compiler the build silently falls back
# to NumPy). Each is checked by what the suite uses, so a run with everything present costs a few
# milliseconds; what is missing is installed where we can (root or passwordless sudo, and apt-get;
# without the recommended extras, which a headless browser does not use), otherwise make stops at
# once with the command to run. `env` after sudo, because sudo drops DEBIAN_FRONTEND.
system-packages:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	fc-list :lang=zh family 2>/dev/null | grep -q . || \
	    dpkg-query -W -f='$${Status}' fonts-noto-cjk 2>/dev/null | grep -q 'ok installed' || \
	    missing="$$missing fonts-noto-cjk"; \
	command -v cc >/dev/null 2>&1 || missing="$$missing gcc"; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" -eq 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	else sudo=none; fi; \
	if [ "$$sudo" = none ] || ! command -v apt-get >/dev/null 2>&1; then \
	    echo "make test needs these system packages, which are missing:$$missing" >&2; \
	    echo "(chromium for the browser tests, fonts-noto-cjk for Chinese, gcc for the C kernel)." >&2; \
	    echo "Install them, then run make test again:" >&2; \
	    echo "    sudo apt-get update && sudo apt-get install -y$$missing" >&2; \
	    echo "(Debian names; elsewhere install the same with your package manager: the browser" >&2; \
	    echo "tests run /usr/bin/chromium.)" >&2; \
	    exit 1; \
	fi; \
	echo "Installing the system packages the test suite needs:$$missing (apt-get, about a minute)"; \
	$$sudo apt-get update -qq && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends$$missing >/dev/null

demo: $(VENV)/.demo-installed
	$(BIN)/gradfit demo --out .

test: $(VENV)/.test-installed
	$(BIN)/python -m pytest -q

test-fast: $(VENV)/.test-installed
	$(BIN)/python -m pytest -q -m "not slow"

BENCH_ARGS ?=
bench: $(VENV)/.demo-installed $(VENV)/.bench-installed
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache tutorial.png

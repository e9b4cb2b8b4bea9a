"""The command line starts within a few imports of NumPy: what a command does not need is not imported.

Checked by module presence in a fresh interpreter (``sys.modules``), never by a clock; the times are in
benchmarks/startup.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")
HEAVY = ("pandas", "scipy", "matplotlib", "torch", "dask", "distributed", "sklearn", "polars", "pyarrow.dataset",
         "pyarrow.compute", "plotly", "sympy")

PROGRAM = """
import json, sys
from gradfit.cli import main
loaded = {}
loaded["import gradfit.cli"] = [m for m in HEAVY if m in sys.modules]
for name, args in COMMANDS:
    try:
        code = main(args)
    except SystemExit as exc:          # --help
        code = exc.code
    assert code == 0, (name, code)
    loaded[name] = [m for m in HEAVY if m in sys.modules]
print(json.dumps(loaded))
"""


def _loaded(commands) -> dict:
    program = f"HEAVY = {HEAVY!r}\nCOMMANDS = {commands!r}\n" + PROGRAM
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": SRC})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_small_fit_and_its_predictions_import_nothing_heavy(tmp_path):
    """pyarrow.csv reads the file (pyarrow.dataset would import pandas), NumPy solves the small problem's
    θ* (scipy.linalg: only beyond 64 columns), the writer needs no pyarrow.compute."""
    data = tmp_path / "small.csv"
    data.write_text("x,y\n1,3\n2,5\n3,7\n")
    model = tmp_path / "m.json"
    loaded = _loaded([("fit", ["fit", str(data), "--x", "x", "--y", "y", "-q", "--model", str(model)]),
                      ("predict", ["predict", str(model), str(data), "--keep", "y", "-q"])])
    assert loaded == {"import gradfit.cli": [], "fit": [], "predict": []}


@pytest.mark.slow
def test_help_imports_nothing_heavy():
    loaded = _loaded([("--help", ["--help"]), ("fit --help", ["fit", "--help"])])
    assert loaded == {"import gradfit.cli": [], "--help": [], "fit --help": []}


@pytest.mark.slow
def test_the_demo_imports_matplotlib_for_its_figure_and_nothing_else_heavy(tmp_path):
    loaded = _loaded([("demo", ["demo", "--out", str(tmp_path)])])
    assert loaded["demo"] == ["matplotlib"]

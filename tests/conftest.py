"""Shared fixtures: run the CLI in-process or as a real subprocess, and small data files."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from patience import patience

from gradfit.cli import main


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys):
    """Run ``gradfit ARGS...`` in-process; returns exit code, stdout and stderr."""

    def run(*args) -> CliResult:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def run_gradfit(*args, cwd=None) -> CliResult:
    """Run ``python -m gradfit ARGS...`` as a separate process (exit codes, no traceback)."""
    proc = subprocess.run([sys.executable, "-m", "gradfit", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=patience(300))
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def tutorial_csv(tmp_path) -> Path:
    """The tutorial's three training rows as a CSV file."""
    path = tmp_path / "tutorial.csv"
    path.write_text("x,y\n1,3\n2,5\n3,7\n")
    return path


def objective(engine: str, X, y, *, loss: str = "mse", fit_intercept: bool = True, sample_weight=None, **kw):
    """An engine's objective over arrays, built the way ``fit`` builds it."""
    import numpy as np

    from gradfit.data.arrays import XY, default_feature_names
    from gradfit.engines import make_objective
    from gradfit.loss import Loss

    X = np.asarray(X, dtype=np.float64)
    data = XY(X, np.asarray(y, dtype=np.float64), default_feature_names(X.shape[1]))
    weight = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    return make_objective(engine, data, Loss(loss, fit_intercept, weight), **kw)

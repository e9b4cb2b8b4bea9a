"""Small things users reach for: a progress bar in Python and Jupyter, `fit --json` for scripts, the torch
engine without PyTorch's warning about read-only arrays."""

from __future__ import annotations

import json
import sys
import types
import warnings

import numpy as np
import pytest

import gradfit
from gradfit.training import progress


def slow_data(n=200):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 2))
    return X, X @ [1.0, -1.0] + rng.normal(size=n)


def test_progress_true_writes_lines_when_stderr_is_not_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)
    monkeypatch.setattr(progress, "LINE_EVERY_S", 0.0)
    gradfit.fit(*slow_data(), lr=0.01, iters=30, tol=None, progress=True)
    err = capsys.readouterr().err
    assert "descending: iteration 30 of 30 (100 %)" in err


def test_no_progress_unless_asked(monkeypatch, capsys):
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)
    monkeypatch.setattr(progress, "LINE_EVERY_S", 0.0)
    gradfit.fit(*slow_data(), lr=0.01, iters=30, tol=None)
    assert capsys.readouterr().err == ""


def test_progress_in_jupyter_without_ipywidgets_updates_one_line_in_place(monkeypatch, capsys):
    """A Jupyter kernel (IPython's ZMQInteractiveShell), no ipywidgets: display(..., display_id=True) and update."""
    shown = []

    class Handle:
        def update(self, text):
            shown.append(("update", text))

    def display(text, display_id=False):
        shown.append(("display", text))
        return Handle()

    class ZMQInteractiveShell:
        pass

    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: ZMQInteractiveShell()
    ipython.display = types.ModuleType("IPython.display")
    ipython.display.display = display
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", ipython.display)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)           # not installed
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)
    monkeypatch.setattr(progress, "REFRESH_S", 0.0)
    assert progress.in_jupyter()
    gradfit.fit(*slow_data(), lr=0.01, iters=20, tol=None, progress=True)
    assert shown[0][0] == "display" and {kind for kind, _ in shown[1:]} == {"update"}
    assert "iteration 20 of 20" in shown[-1][1]
    assert capsys.readouterr().err == ""


def test_fit_json_gives_the_results_to_scripts(cli, tmp_path):
    (tmp_path / "train.csv").write_text("a,b,y\n1,0,3\n2,1,5.5\n3,0,7\n4,1,9.5\n5,0,11\n")
    (tmp_path / "test.csv").write_text("a,b,y\n6,1,13.5\n")
    common = ["fit", tmp_path / "train.csv", "--x", "a", "--x", "b", "--y", "y", "--test", tmp_path / "test.csv"]
    res = cli(*common, "--json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    text = cli(*common).out
    assert f"w[a] = {doc['weights']['a']!r}" in text and f"b = {doc['bias']!r}" in text
    assert doc["converged"] is True and doc["stop_reason"] == "tol" and doc["rows"] == 5
    assert doc["features"] == ["a", "b"] and doc["metrics"]["r2"] == pytest.approx(1.0)
    assert doc["test_metrics"]["r2"] is None            # one test row: R² undefined, null rather than NaN
    both = cli(*common, "--json", "--summary")
    assert both.code == 2 and "--json" in both.err


def test_the_torch_engine_does_not_leak_pytorchs_read_only_warning():
    pytest.importorskip("torch")
    X, y = slow_data(20)
    X.flags.writeable = False
    y.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = gradfit.fit(X, y, engine="torch", lr=0.1, iters=5, tol=None)
    assert r.engine == "torch"

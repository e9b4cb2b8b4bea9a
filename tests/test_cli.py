"""The command line: help that teaches, light imports, progress bar, quiet mode."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from gradfit.training import progress
from gradfit.descent import LoopState


def test_help_lists_the_commands_and_exit_codes(cli):
    res = cli("--help")
    assert res.code == 0
    for word in ("demo", "fit", "predict", "Exit codes", "diverged"):
        assert word in res.out


def test_fit_help_explains_every_option(cli):
    res = cli("fit", "--help")
    for flag in ("--lr", "--iters", "--tol", "--loss", "--init", "--engine", "--quiet", "--model", "--dtype"):
        assert flag in res.out
    assert "certified" in res.out and "relative change" in res.out


@pytest.mark.slow
def test_cli_import_stays_light():
    code = ("import sys, gradfit.cli; heavy = [m for m in ('torch', 'dask', 'plotly', 'matplotlib', 'pandas', "
            "'polars', 'sympy', 'scipy', 'sklearn') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


class Terminal(io.StringIO):
    def isatty(self):
        return True


def _states(n):
    for k in range(1, n + 1):
        yield LoopState(k, n, None, 1.0 / k, None, 0.1, None)


def test_progress_bar_appears_on_a_terminal_for_slow_runs(monkeypatch):
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)
    monkeypatch.setattr(progress, "REFRESH_S", 0.0)
    stream = Terminal()
    with progress.ProgressBar(stream=stream) as bar:
        for state in _states(50):
            bar(state)
    assert "descending" in stream.getvalue()


def test_progress_bar_stays_off_when_quiet_or_piped(monkeypatch):
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)
    monkeypatch.setattr(progress, "REFRESH_S", 0.0)
    quiet, piped = Terminal(), io.StringIO()
    for bar in (progress.ProgressBar(enabled=False, stream=quiet), progress.ProgressBar(stream=piped)):
        with bar:
            for state in _states(50):
                bar(state)
    assert quiet.getvalue() == "" and piped.getvalue() == ""


def test_quiet_fit_prints_results_but_no_notes(cli, tutorial_csv, tmp_path):
    res = cli("fit", tutorial_csv, "--x", "x", "--y", "y", "--model", tmp_path / "m.json", "--quiet")
    assert res.code == 0 and "w = " in res.out and res.err == ""
    loud = cli("fit", tutorial_csv, "--x", "x", "--y", "y", "--model", tmp_path / "m.json")
    assert "Model saved" in loud.err

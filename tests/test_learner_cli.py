"""The learner commands: explain, descend, report, and --plot on demo, fit, explain and descend."""

from __future__ import annotations

import pytest

from conftest import run_gradfit


@pytest.mark.slow
def test_explain_defaults_to_the_tutorial_and_prints_plain_text_when_piped():
    r = run_gradfit("explain")
    assert r.code == 0, r.err
    assert "Loss(1, 0) = (1×1+0−3)² + (1×2+0−5)² + (1×3+0−7)² = 29" in r.out
    assert "w₁ = 1 + 0.01×40 = 1.4" in r.out
    assert "\x1b[" not in r.out  # no terminal colours in a pipe


def test_explain_in_chinese_as_markdown(cli):
    r = cli("explain", "--lang", "zh", "--format", "markdown")
    assert r.code == 0
    assert r.out.startswith("# 梯度下降") and "## 二、第一步" in r.out and "= -40" in r.out


def test_explain_a_file_as_html(cli, tutorial_csv):
    r = cli("explain", tutorial_csv, "--x", "x", "--y", "y", "--lr", "0.01", "--loss", "sse", "--init", "1,0",
            "--iters", "1000", "--tol", "none", "--format", "html")
    assert r.code == 0
    assert r.out.startswith("<!DOCTYPE html>") and "Loss(1, 0) = (1×1+0−3)²" in r.out


def test_explain_a_diverging_run_explains_it_and_exits_3(cli):
    r = cli("explain", "--lr", "0.1")
    assert r.code == 3
    assert "Stopped after" in r.out and "diverged" in r.out
    assert "error: Gradient descent diverged" in r.err and "Traceback" not in r.err


def test_explain_bad_options_are_clear(cli, tutorial_csv):
    assert "Unknown language 'fr'" in cli("explain", "--lang", "fr").err
    assert "Unknown format 'pdf'" in cli("explain", "--format", "pdf").err
    r = cli("explain", tutorial_csv)
    assert r.code == 2 and "--x COL" in r.err
    r = cli("explain", "--x", "x")
    assert r.code == 2 and "give the file too" in r.err


def test_descend_prints_every_step(cli):
    r = cli("descend", "x**2", "--start", "0.5", "--lr", "0.1", "--steps", "20")
    assert r.code == 0
    assert "f'(x) = 2*x" in r.out and "x₁ = 0.5 − 0.1×1 = 0.4,   f = 0.16" in r.out
    assert r.out.count("\n  ") >= 22
    r = cli("descend", "x**2 + y**2", "--start", "1,1", "--lr", "0.1")
    assert r.code == 0
    assert "∂f/∂x = 2*x" in r.out and "(x₁, y₁) = (1, 1) − 0.1×(2, 2) = (0.8, 0.8)" in r.out


@pytest.mark.slow
def test_descend_refuses_unsafe_code_without_running_it(tmp_path):
    marker = tmp_path / "hacked"
    r = run_gradfit("descend", f'__import__("os").system("touch {marker}")', "--start", "1")
    assert r.code == 2 and "does not accept" in r.err and "Traceback" not in r.err
    assert not marker.exists()


@pytest.mark.slow
def test_plot_option_writes_pngs(cli, tmp_path, tutorial_csv):
    r = cli("descend", "x**2 + y**2", "--start", "1,1", "--plot", tmp_path / "d")
    assert r.code == 0 and (tmp_path / "d" / "descend-surface.png").stat().st_size > 1000
    r = cli("demo", "--out", tmp_path, "--plot", tmp_path / "demo", "--lang", "zh")
    assert r.code == 0 and "第一步" in r.out and "已保存的图像" in r.err
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == [
        "tutorial-contours.png", "tutorial-fit.png", "tutorial-loss.png", "tutorial-surface.png"]
    r = cli("fit", tutorial_csv, "--x", "x", "--y", "y", "--plot", tmp_path / "fit", "--quiet")
    assert r.code == 0 and (tmp_path / "fit" / "fit-contours.png").exists()
    r = cli("explain", "--plot", tmp_path / "explain")
    assert r.code == 0 and (tmp_path / "explain" / "explain-loss.png").exists()


def test_report_command_writes_one_self_contained_file(cli, tmp_path):
    out = tmp_path / "report.html"
    r = cli("report", "--out", out, "--lang", "zh")
    assert r.code == 0
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>") and 'lang="zh"' in text
    assert "<script src" not in text and "<link" not in text  # nothing loaded from elsewhere
    assert "Plotly.newPlot" in text and "损失函数" in text


def test_explain_tutorial_without_intercept_starts_at_w_1(cli):
    r = cli("explain", "--no-intercept")
    assert r.code == 0
    assert "Loss(1) = (1×1−3)² + (1×2−5)² + (1×3−7)² = 29" in r.out and "∂Loss/∂b" not in r.out


@pytest.mark.slow
def test_importing_gradfit_loads_no_heavy_dependency():
    import subprocess
    import sys

    heavy = ("sympy", "plotly", "torch", "matplotlib", "playwright")
    code = f"import gradfit, sys; print([m for m in {heavy!r} if m in sys.modules])"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "[]"

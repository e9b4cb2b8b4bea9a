"""The learner's "why": the bound derived with the run's eigenvalues, κ and the iterations it costs (checked
against an independent computation), standardizing, momentum, check-yourself questions, the warm-up's
divergence, ASCII numbers, Chinese without English, and consoles that cannot print every character."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
from patience import patience

import gradfit
from gradfit import datasets
from gradfit.messages import EN, ZH
from gradfit.outputs.explain import conditioning as cd
from gradfit.outputs.explain import explain


@pytest.fixture(scope="module")
def tutorial_run():
    d = datasets.tutorial()
    return gradfit.fit(d.x_train, d.y_train, lr=0.01, iters=1000, tol=None, init=(1, 0), loss="sse",
                       engine="python")


def tutorial_iterates(lr=0.01, iters=1000):
    """The tutorial's loop in plain Python floats: an independent reference for the measured counts."""
    xs, ys, w, b, out = [1, 2, 3], [3, 5, 7], 1.0, 0.0, [(1.0, 0.0)]
    for _ in range(iters):
        dw = db = 0.0
        for x, y in zip(xs, ys):
            dw += 2 * (w * x + b - y) * x
            db += 2 * (w * x + b - y)
        w, b = w - lr * dw, b - lr * db
        out.append((w, b))
    return out


def test_eigenvalues_kappa_and_iterations_match_an_independent_computation(tutorial_run):
    # H = 2·AᵀA = [[28, 12], [12, 6]]: trace 34, determinant 24, so h = 17 ± √265
    h_min, h_max = 17 - math.sqrt(265), 17 + math.sqrt(265)
    c = cd.of(tutorial_run)
    assert c.h == pytest.approx([h_min, h_max], rel=1e-12)
    assert c.kappa == pytest.approx(h_max / h_min, rel=1e-12)
    assert c.h[-1] == pytest.approx(tutorial_run.lambda_max, rel=1e-12)   # the fit's own h_max
    rho = 1 - 0.01 * h_min
    for eps in cd.EPSILONS:
        assert c.predicted[eps] == pytest.approx(math.log(1 / eps) / -math.log(rho), rel=1e-9)
    # measured: the first k with ‖θ_k − θ*‖ ≤ ε·‖θ₀ − θ*‖ (θ* = (2, 1)), from the plain-Python loop
    errors = [math.hypot(w - 2, b - 1) for w, b in tutorial_iterates()]
    first = next(k for k, e in enumerate(errors) if e <= 1e-2 * errors[0])
    assert c.measured[1e-2] == first
    assert c.measured[1e-8] is None                      # not reached within 1000 iterations
    assert first <= c.predicted[1e-2]                    # the prediction is an upper bound

    text = explain(tutorial_run, compare=False).text()
    assert "κ = h_max/h_min = 33.2788/0.721179 = 46.145" in text
    assert re.search(rf"\b0\.01\s+{math.ceil(c.predicted[1e-2])}\s+{first}\b", text)
    assert "not within 1000" in text
    assert "This run did not converge" in text


def test_the_bound_is_derived_with_the_runs_eigenvalues_and_factors(tutorial_run):
    text = explain(tutorial_run, compare=False).text()
    assert "(1 − λ·hᵢ)" in text and "2/h_max" in text and "λ_max" not in text
    assert "H = [28, 12]" in text
    h_min, h_max = 17 - math.sqrt(265), 17 + math.sqrt(265)
    assert f"{h_min:.6g}  {1 - 0.01 * h_min:.6g}" in text
    assert f"{h_max:.6g}  {1 - 0.01 * h_max:.6g}" in text


@pytest.mark.slow
def test_standardizing_is_compared_and_advised_for_an_uncentred_feature(tmp_path, cli):
    rng = np.random.default_rng(0)
    area = rng.uniform(40, 200, 60)
    price = 23.7 + 3 * area + rng.normal(0, 10, 60)
    csv = tmp_path / "houses.csv"
    csv.write_text("area,price\n" + "\n".join(f"{a!r},{p!r}" for a, p in zip(area.tolist(), price.tolist())))
    r = cli("explain", csv, "--x", "area", "--y", "price", "--iters", "1000")
    assert r.code == 0
    assert "This run did not converge" in r.out
    X = np.column_stack([area, np.ones_like(area)])
    h = np.linalg.eigvalsh(2 / 60 * X.T @ X)          # the default loss is the mean
    kappa = h[-1] / h[0]
    assert f"κ falls from {kappa:.4g} to 1" in r.out
    assert "gradfit explain --standardize" in r.out
    r = cli("explain", csv, "--x", "area", "--y", "price", "--standardize")
    assert r.code == 0 and "standardized features" in r.out
    assert "Measured on the data as given" in r.out


def test_momentum_factor_matches_the_decay_of_a_simulated_heavy_ball_run():
    h = np.array([0.5, 20.0])
    lr, mu = 0.05, 0.6
    e, v = np.array([1.0, 1.0]), np.zeros(2)
    norms = []
    for _ in range(400):
        v = mu * v + h * e
        e = e - lr * v
        norms.append(np.abs(e).max())
    measured = (norms[-1] / norms[-101]) ** (1 / 100)
    assert cd.momentum_rate(lr, mu, h) == pytest.approx(measured, rel=1e-3)
    lr_best, mu_best, factor = cd.best_momentum(h)
    assert cd.momentum_rate(lr_best, mu_best, h) == pytest.approx(factor, rel=1e-6)
    k = math.sqrt(h[1] / h[0])
    assert factor == pytest.approx((k - 1) / (k + 1))


def test_momentum_section_uses_the_runs_numbers_when_it_used_momentum():
    r = gradfit.fit([1, 2, 3], [3, 5, 7], lr=0.01, iters=300, init=(1.0, 0.0), loss="sse", optimizer="momentum",
                    momentum=0.5, tol=None)
    text = explain(r, compare=False).text()
    factor = cd.momentum_rate(0.01, 0.5, cd.of(r).h)
    assert f"μ = 0.5 and λ = 0.01: its factor per step is {factor:.8g}" in text
    plain = explain(gradfit.fit([1, 2, 3], [3, 5, 7], lr=0.01, iters=100, init=(1.0, 0.0), loss="sse", tol=None))
    assert "This run used plain gradient descent. The same data with heavy-ball momentum" in plain.text()


def test_check_yourself_questions_come_from_the_run_and_answers_at_the_end(tutorial_run):
    text = explain(tutorial_run, compare=False).text()
    questions, answers = text.split("9. Check yourself")[1].split("\nAnswers\n")
    assert "∂Loss/∂w = -40 at the start w₀ = 1" in questions and "1.4" not in questions
    assert "w₁ = 1 − 0.01 × (-40) = 1.4." in answers
    assert "Those below 2/h_max = 0.0601: 0.018, 0.054. The others (0.066, 0.18) diverge." in answers
    html = explain(tutorial_run, compare=False).html()
    assert html.count("<details>") == 5


def english_words() -> set[str]:
    """Words of the catalogue's English side that its Chinese side never uses (so: prose, not names)."""
    zh = set(re.findall(r"[A-Za-z]{3,}", " ".join(ZH.values()).lower()))
    words = set()
    for text in EN.values():
        words |= set(re.findall(r"[A-Za-z]{3,}", text.lower()))
    return words - zh - {"gradfit", "loss", "exact", "auto"}


def test_chinese_outputs_carry_no_english_word_of_the_catalogue(tutorial_run, tmp_path):
    from gradfit.outputs.report import render_report

    banned = english_words()
    assert {"the", "iterations", "converge", "why", "step"} <= banned
    text = explain(tutorial_run, lang="zh").text()   # (programs, with --code, are code: not checked)
    found = {w for w in re.findall(r"[A-Za-z]{3,}", text.lower()) if w in banned}
    assert not found, found
    page = render_report(tutorial_run, lang="zh", source="教程的数据集")
    # the programs are code (identifiers such as model.bias stay): only their comments are in Chinese
    comments = re.findall(r"# ([^\n]*)", "".join(re.findall(r'<pre class="code">(.*?)</pre>', page, flags=re.S)))
    assert len(comments) >= 3 and all(re.search("[\u4e00-\u9fff]", c) for c in comments)
    page = re.sub(r'<pre class="code">.*?</pre>', " ", page, flags=re.S)
    visible = re.sub(r"<script.*?</script>|<style.*?</style>|<math.*?</math>|<[^>]+>", " ", page, flags=re.S)
    found = {w for w in re.findall(r"[A-Za-z]{3,}", visible.lower()) if w in banned}
    assert not found, found


def test_numbers_are_plain_ascii_so_they_can_be_pasted_back(tutorial_run):
    text = explain(tutorial_run).text()
    assert not re.search(r"(^|[=(,:\s])−\d", text, flags=re.M)
    assert "= -40" in text and "-9.21281" in text


@pytest.mark.parametrize("lang, words", [("en", ["|-1.2| > 1", "λ < 2/f'' = 1"]), ("zh", ["|-1.2| > 1", "λ < 2/f'' = 1"])])
def test_descend_says_why_a_warm_up_diverges(cli, lang, words):
    r = cli("descend", "x**2", "--start", "0.5", "--lr", "1.1", "--steps", "8", "--lang", lang)
    assert r.code == 0
    for w in words:
        assert w in r.out
    quiet = cli("descend", "x**2", "--start", "0.5", "--lr", "0.1", "--steps", "8", "--lang", lang)
    assert "|1 − λ" not in quiet.out and "f''(" not in quiet.out
    two = cli("descend", "x**2 + 3*y**2", "--start", "1,1", "--lr", "0.4", "--steps", "5")
    assert "h_max = 6" in two.out and "λ < 2/h_max = 0.3333333333" in two.out


def test_report_is_written_for_a_diverged_run(cli, tmp_path):
    out = tmp_path / "diverged.html"
    r = cli("report", "--lr", "0.1", "--out", out)
    assert r.code == 3 and out.exists()
    page = out.read_text()
    assert "gradfit report: the tutorial&#x27;s data set" in page and "diverged" in page


def test_zh_report_title_is_all_chinese(cli, tmp_path):
    out = tmp_path / "zh.html"
    r = cli("report", "--lang", "zh", "--out", out)
    assert r.code == 0 and "报告已保存到" in r.err
    title = re.search(r"<title>(.*?)</title>", out.read_text()).group(1)
    assert title == "gradfit 报告：教程的数据集"


@pytest.mark.parametrize("encoding", ["gbk", "ascii"])
@pytest.mark.slow
def test_a_console_that_cannot_encode_a_character_gets_a_readable_fallback(tmp_path, encoding):
    env = {**__import__("os").environ, "PYTHONIOENCODING": encoding}
    proc = subprocess.run([sys.executable, "-m", "gradfit", "demo", "--lang", "zh", "--out", str(tmp_path)],
                          capture_output=True, env=env, timeout=patience(300))
    assert proc.returncode == 0, proc.stderr
    assert b"Traceback" not in proc.stderr
    out = proc.stdout.decode(encoding)
    assert "w = 2.000148389025502" in out
    if encoding == "gbk":
        assert "梯度" in out and "Loss(w, b) = sum_i (w*x_i + b - y_i)^2" in out
    else:
        assert "Gradient" in out and "cannot show Chinese" in proc.stderr.decode("ascii")


@pytest.mark.slow
def test_zh_figures_find_a_cjk_font_and_draw_every_glyph(tutorial_run, tmp_path):
    from gradfit.outputs import plots

    assert plots.cjk_family(), "install a CJK font: apt-get install fonts-noto-cjk"
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*[Gg]lyph.*missing")
        paths = plots.save_fit_plots(tutorial_run, tmp_path, lang="zh")
    assert len(paths) == 4


@pytest.mark.parametrize("kwargs", [dict(loss="sse"), dict(loss="mse", fit_intercept=False), dict(loss="mse")])
def test_every_formula_is_typeset_offline_in_html_and_markdown(kwargs):
    from latex2mathml.converter import convert

    from gradfit.outputs.explain.document import Math

    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 1 if kwargs["loss"] == "sse" else 3))
    r = gradfit.fit(X, X.sum(axis=1) + 1, lr=0.01, iters=30, tol=None, **kwargs)
    e = explain(r, compare=False)
    tex = [t for s in e.document.sections for b in s.blocks if isinstance(b, Math) and b.tex for t in b.tex]
    assert len(tex) >= 10
    for t in tex:
        assert "merror" not in convert(t), t
    html = e.html()
    assert html.count("<math") == len(tex) and "<script" not in html
    markdown = e.markdown()
    assert markdown.count("$$") >= 2 * 8 and r"\frac{\partial \mathrm{Loss}}" in markdown


def test_the_restarts_replayed_on_the_quadratic_are_those_of_the_run():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)) * [1, 10, 100] + [0, 50, 0]
    y = X @ [1.0, 0.5, 0.02] + 3 + rng.normal(0, 0.1, 200)
    seen = []

    def collect(state):   # the loop's own momentum state: t back to 1 is a restart
        if state.rule_state.t == 1.0 and state.iteration > 1:
            seen.append(state.iteration)

    for kwargs in ({"optimizer": "accelerated"}, {"optimizer": "accelerated", "standardize": False, "iters": 3000}):
        seen.clear()
        r = gradfit.fit(X, y, callbacks=(collect,), **kwargs)
        assert r.optimizer == "accelerated"
        assert cd.restarts(r) == seen and seen
        text = explain(r, compare=False).text()
        assert f"the momentum restarted {len(seen)} times, at iterations {seen[0]}, " in text


def test_chinese_warm_up_and_demo_carry_no_english_word_of_the_catalogue(cli, tmp_path):
    banned = english_words()
    for args in (["descend", "x**2", "--start", "0.5", "--lr", "1.1", "--steps", "8"],
                 ["demo", "--out", tmp_path], ["explain", "--lr", "0.1"]):
        r = cli(*args, "--lang", "zh")
        text = re.sub(r"\S*/\S*", " ", r.out)           # file paths are the user's
        found = {w for w in re.findall(r"[A-Za-z]{3,}", (text + r.err.removeprefix("error:")).lower()) if w in banned}
        assert not found, (args, found)


def test_a_report_with_many_features_has_no_playground(tmp_path):
    from gradfit.outputs.report import PLAY_MAX_PARAMETERS, report_data

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, PLAY_MAX_PARAMETERS))
    r = gradfit.fit(X, X.sum(axis=1), iters=50, tol=None)
    assert report_data(r)["play"] is None

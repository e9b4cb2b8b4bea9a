"""The explanation of a run: the tutorial's numbers, in English and Chinese, in every format."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import gradfit
from gradfit import datasets
from gradfit.errors import ConfigError
from gradfit.outputs import compare
from gradfit.outputs.explain import analysis, explain


@pytest.fixture(scope="module")
def tutorial_run():
    d = datasets.tutorial()
    return gradfit.fit(d.x_train, d.y_train, lr=0.01, iters=1000, tol=None, init=(1, 0), loss="sse",
                       engine="python")


TUTORIAL_LINES = [
    "Loss(1, 0) = (1×1+0−3)² + (1×2+0−5)² + (1×3+0−7)² = 29",
    "∂Loss/∂w = 2×(1×1+0−3)×1 + 2×(1×2+0−5)×2 + 2×(1×3+0−7)×3 = -40",
    "∂Loss/∂b = 2×(1×1+0−3) + 2×(1×2+0−5) + 2×(1×3+0−7) = -18",
    "w₁ = 1 + 0.01×40 = 1.4",
    "b₁ = 0 + 0.01×18 = 0.18",
    "Loss(1.4, 0.18) = 12.9612",
    "w* = 2 ",
    "b* = 1 ",
    "2/h_max ≈ 0.0601",
    "f(4) = 9.00025623296825",
]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_tutorial_numbers_appear_in_both_languages(tutorial_run, lang):
    text = explain(tutorial_run, lang=lang, test=([4], [9])).text()
    for line in TUTORIAL_LINES:
        assert line in text, line


def test_chinese_uses_the_textbook_terms(tutorial_run):
    text = explain(tutorial_run, lang="zh").text()
    for term in ("损失函数", "梯度", "学习率", "步长", "链式法则", "偏导数", "最小二乘"):
        assert term in text
    assert "The derivation" not in text


def test_sections_come_in_order(tutorial_run):
    text = explain(tutorial_run).text()
    titles = ["1. The derivation", "2. The first step", "3. The iterations", "4. The result",
              "5. The learning rate", "6. Checked by PyTorch"]
    positions = [text.index(t) for t in titles]
    assert positions == sorted(positions)
    derivation = text[positions[0]:positions[1]]
    for formula in ("f(x) = w·x + b", "Lᵢ(w, b) = (f(xᵢ) − yᵢ)²", "∂Loss/∂w = Σᵢ 2(w·xᵢ + b − yᵢ)·xᵢ",
                    "w ← w − λ·∂Loss/∂w", "chain rule"):
        assert formula in derivation


def test_iteration_table_is_log_spaced_and_read_from_history(tutorial_run):
    assert analysis.chosen_iterations(tutorial_run.history) == [*range(11), 20, 50, 100, 200, 500, 1000]
    table = explain(tutorial_run, compare=False).document.sections[2].blocks[-1]
    assert table.header == ["k", "Loss", "w", "b", "∂Loss/∂w", "∂Loss/∂b"]
    assert table.rows[1][:4] == ["1", "12.9612", "1.4", "0.18"]
    assert table.rows[-1][0] == "1000"


def test_learning_rate_section_shows_a_run_just_above_the_bound_diverging(tutorial_run):
    assert compare.rate_just_above(tutorial_run.stable_lr) == 0.061
    text = explain(tutorial_run).text()
    assert "λ = 0.061" in text
    assert "It diverges" in text
    section = explain(tutorial_run).document.sections[4]
    last_loss = float(section.blocks[-2].rows[-1][1].replace("−", "-"))
    assert last_loss > 1e12 * 29


def test_autograd_gradient_matches_the_hand_derived_one(tutorial_run):
    assert analysis.autograd_gradient(tutorial_run) == pytest.approx([-40.0, -18.0], abs=1e-12)
    text = explain(tutorial_run).text()
    assert "They agree" in text
    assert "-40       -40" in text


def test_explanation_reads_the_result_and_does_not_retrain(tutorial_run, monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("explain re-ran training")

    monkeypatch.setattr(compare, "descend", refuse)
    monkeypatch.setattr(importlib.import_module("gradfit.problem"), "descend", refuse)
    monkeypatch.setattr(importlib.import_module("gradfit.fit"), "fit_data", refuse)
    assert "= 29" in explain(tutorial_run, compare=False).text()


def test_mean_loss_several_features_and_many_rows_use_vector_form_and_ellipsis():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    y = X @ [1.0, 2.0, -1.0] + 0.5
    result = gradfit.fit(X, y, lr=0.1, iters=300)
    text = explain(result).text()
    assert "∇Loss = (2/n)·Aᵀ(Aθ − y)" in text
    assert "θ₀ = (w[x1], w[x2], w[x3], b) = (0, 0, 0, 0)" in text
    assert "… (40 terms)" in text
    assert "(1/40)×[" in text
    optimum = analysis.exact_optimum(result)
    assert optimum == pytest.approx([1.0, 2.0, -1.0, 0.5])


def test_no_intercept_explains_w_only():
    result = gradfit.fit([1, 2, 3], [2, 4, 6], lr=0.01, iters=50, loss="sse", fit_intercept=False)
    text = explain(result, compare=False).text()
    assert "f(x) = w·x\n" in text
    assert "∂Loss/∂b" not in text
    assert "Loss(0) = (0×1−2)² + (0×2−4)² + (0×3−6)² = 56" in text


def test_markdown_and_html_escape_user_names():
    X = [[1.0, 0.5], [2.0, 0.1], [3.0, 0.7], [4.0, 0.2]]
    result = gradfit.fit(X, [3, 5, 7, 9], feature_names=["<b>x</b>", "z"], iters=20, optimizer="gd", standardize=False)
    html = explain(result, compare=False).html()
    assert "<b>x</b>" not in html and "w[&lt;b&gt;x&lt;/b&gt;]" in html
    assert html.startswith("<!DOCTYPE html>") and "<h2>1. The derivation</h2>" in html
    assert "<pre>θ₀ = " in html
    markdown = explain(result, compare=False).markdown()
    outside_code = "".join(markdown.split("```")[0::2])   # inside fences, Markdown shows text as is
    assert "<b>" not in outside_code and "\\<b\\>" in outside_code
    assert markdown.startswith("# ") and "```text" in markdown and "|---:|" in markdown
    fragment = explain(result, compare=False)._repr_html_()
    assert fragment.startswith("<style>") and "<!DOCTYPE" not in fragment


def test_unknown_language_is_a_config_error(tutorial_run):
    with pytest.raises(ConfigError, match="Unknown language 'fr'.*en, zh"):
        explain(tutorial_run, lang="fr")


def test_fit_result_renders_in_jupyter(tutorial_run):
    html = tutorial_run._repr_html_()
    assert "<table" in html and "2.000148389025502" in html and "0.9996626768662412" in html


def test_rich_rendering_for_a_terminal(tutorial_run):
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), force_terminal=True, width=200, record=True)
    explain(tutorial_run, compare=False).print(console)
    assert "\x1b[" in console.file.getvalue()  # colours on a terminal
    assert "Loss(1, 0) = (1×1+0−3)² + (1×2+0−5)² + (1×3+0−7)² = 29" in console.export_text()


def test_without_torch_the_autograd_section_says_how_to_install_it(tutorial_run, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    text = explain(tutorial_run, compare=False).text()
    assert "PyTorch is not installed" in text and "pip install 'gradfit[torch]'" in text


def test_catalogues_have_the_same_keys_and_placeholders():
    import string

    from gradfit.messages import EN, ZH

    assert set(EN) == set(ZH)
    fields = lambda text: {f for _, f, _, _ in string.Formatter().parse(text) if f}  # noqa: E731
    for key in EN:
        assert fields(EN[key]) == fields(ZH[key]), key


def test_chinese_vector_form_has_no_english_words():
    import re

    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 2))
    result = gradfit.fit(X, X @ [1.0, 1.0], lr=0.1, iters=50)
    text = explain(result, lang="zh", compare=False).text()
    assert "共 30 项" in text and "共 30 行" in text
    prose = [line for line in text.splitlines() if line and not line.startswith("  ") and "=" not in line
             and not line.startswith("-")]
    for line in prose:
        assert not re.search(r"\b(the|and|of|rows|terms)\b", line), line


def test_extra_runs_are_shortened_on_big_data_and_still_show_divergence(tutorial_run, monkeypatch):
    monkeypatch.setattr(compare, "RERUN_BUDGET", 300)  # as if the data were 100× larger
    run = compare.rerun(tutorial_run, 0.061)
    assert run.n_iter == 100 and run.diverged
    assert run.history.loss[-1] > 100 * run.history.loss[0]


def test_first_step_of_a_nesterov_run_is_the_plain_gradient_step_and_says_so():
    import gradfit

    r = gradfit.fit([1, 2, 3], [3, 5, 7], lr=0.01, iters=50, init=(1.0, 0.0), loss="sse", optimizer="nesterov",
                    momentum=0.9, tol=None)
    text = gradfit.explain(r, compare=False).text()
    assert "nesterov" in text
    assert "w₁ = 1 + 0.01×40 = 1.4" in text and "12.9612" in text


@pytest.mark.parametrize("lang, phrase", [("en", "standardized features"), ("zh", "标准化")])
def test_a_standardized_run_says_why_its_first_step_is_not_worked_by_hand(lang, phrase):
    import numpy as np

    import gradfit

    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2)) * [1, 100]
    r = gradfit.fit(X, X @ [1.0, 0.02] + 3, standardize=True, iters=200, tol=None)
    text = gradfit.explain(r, lang=lang, compare=False).text()
    assert phrase in text
    assert "w₁ =" not in text


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_preconditioned_run_is_taught_with_the_plain_step_on_its_hessian(lang):
    """The default steps by λ = 1 in the metric of the Hessian; the lessons on the bound and the rates are worked
    at the plain rule's λ = 1/h_max on the same Hessian (never "λ = 1 = 1.59 × 2/h_max", which reads as diverging)."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 3)) * [1.0, 3.0, 0.5]
    y = X @ [1.0, -2.0, 0.5] + 1.0 + rng.normal(size=60)
    r = gradfit.fit(X, y)
    assert r.optimizer == "preconditioned" and r.lr == 1.0
    text = explain(r, lang=lang).text()
    plain = 1 / r.lambda_max
    assert f"λ = {plain:.10g} = 0.5 × 2/h_max" in text
    assert "H⁻¹·∇Loss(θ)" in text
    assert f"λ = 1 = " not in text

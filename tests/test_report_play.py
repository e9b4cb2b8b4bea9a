"""The report's playground, typeset maths, Chinese glyphs and check-yourself answers, in a real headless
Chromium (the same driver as tests/test_report_browser.py), offline."""

from __future__ import annotations

import io

import numpy as np
import pytest

from gradfit import datasets, fit
from gradfit.errors import DivergenceError
from gradfit.outputs.report import write_report

from test_report_browser import browser, open_offline  # noqa: F401  (the fixture and the offline opener)

pytestmark = pytest.mark.slow          # a real browser: left out of make test-fast


def tutorial_fit(lr=0.01, iters=1000, **options):
    d = datasets.tutorial()
    try:
        return fit(d.x_train, d.y_train, lr=lr, iters=iters, tol=None, init=(1, 0), loss="sse", engine="python",
                   **options)
    except DivergenceError as exc:
        return exc.result


def python_iterates(lr, mu, steps):
    """gradfit's own run at these settings: plain descent, or heavy-ball momentum (PyTorch's convention)."""
    options = {"optimizer": "momentum", "momentum": mu} if mu else {}
    return np.array(tutorial_fit(lr, steps, **options).history.theta)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    d = datasets.tutorial()
    path = tmp_path_factory.mktemp("play") / "report.html"
    return write_report(tutorial_fit(), path, test=(d.x_test, d.y_test), source="tutorial")


@pytest.mark.parametrize("lr, mu", [(0.03, 0.0), (0.05, 0.5), (0.0601, 0.0), (0.061, 0.0), (0.1, 0.3)])
def test_the_browsers_iterates_equal_gradfits_at_the_same_settings(browser, report, lr, mu):  # noqa: F811
    page, seen = open_offline(browser, report)
    js = np.array(page.evaluate(f"gradfitDescend({lr}, {mu}, 60).thetas"), dtype=float)
    py = python_iterates(lr, mu, 60)
    k = min(len(js), len(py))
    assert k >= 10
    scale = np.abs(py[:k]).max(axis=1, keepdims=True)
    assert np.abs(js[:k] - py[:k]) / scale == pytest.approx(0, abs=1e-10)
    assert seen["errors"] == [] and seen["network"] == []
    page.close()


def test_the_sliders_re_run_descent_and_cross_into_divergence(browser, report):  # noqa: F811
    page, seen = open_offline(browser, report)
    body = lambda key: page.evaluate(f"document.body.dataset.{key}")  # noqa: E731
    assert body("playStatus") == "converges" and float(body("playLr")) == 0.01   # the run's own λ to start
    drawn = page.evaluate("document.getElementById('play-path-chart').data[1].x")
    assert drawn[1] == pytest.approx(1.4)                                       # w₁ of the tutorial
    slider = page.locator("#play-lr")
    page.evaluate("const s = document.getElementById('play-lr'); s.value = '0.99';"
                  "s.dispatchEvent(new Event('input'))")
    assert body("playStatus") == "converges"
    slider.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")                                      # 0.99 → 1.005 × 2/h_max
    assert body("playStatus") == "diverges"
    assert "diverges" in page.locator("#play-status").inner_text()
    lr, mu = float(body("playLr")), float(body("playMu"))
    xs = page.evaluate("document.getElementById('play-path-chart').data[1].x")
    py = python_iterates(lr, mu, len(xs) - 1)[:, 0]
    assert np.allclose(xs[:len(py)], py[:len(xs)], rtol=1e-10)                # the drawn path is gradfit's run
    losses = page.evaluate("document.getElementById('play-loss-chart').data[0].y")
    assert losses[-1] > losses[0]                                               # the divergent side, visible
    page.evaluate("const m = document.getElementById('play-mu'); m.value = '0.5';"
                  "m.dispatchEvent(new Event('input'))")
    assert body("playStatus") == "converges"       # momentum 0.5 moves the bound to 2(1 + μ)/h_max
    assert float(body("playMu")) == 0.5
    assert seen["errors"] == [] and seen["network"] == []
    page.close()


def test_a_diverged_runs_report_opens_with_its_playground_on_the_divergent_side(browser, tmp_path):  # noqa: F811
    page, seen = open_offline(browser, write_report(tutorial_fit(0.1), tmp_path / "diverged.html"))
    assert page.evaluate("document.body.dataset.playStatus") == "diverges"
    assert seen["errors"] == [] and seen["network"] == []
    page.close()


def test_maths_is_typeset_as_mathml_offline(browser, report):  # noqa: F811
    page, seen = open_offline(browser, report)
    assert page.locator("math").count() >= 10
    box = page.evaluate("(() => { const f = document.querySelector('math mfrac');"
                        "const r = f.getBoundingClientRect(); return [r.width, r.height]; })()")
    assert box[0] > 5 and box[1] > 20        # a built-up fraction, two lines high: typeset, not raw text
    assert seen["network"] == []
    page.close()


def test_check_yourself_answers_open_on_a_click(browser, report):  # noqa: F811
    page, seen = open_offline(browser, report)
    details = page.locator("#explanation details").first
    assert not details.locator("p").is_visible()
    details.locator("summary").click()
    assert details.locator("p").inner_text() == "w₁ = 1 − 0.01 × (-40) = 1.4."
    page.close()


def test_plotly_axes_have_no_si_suffixes(browser, report):  # noqa: F811
    page, seen = open_offline(browser, report)
    ticks = page.evaluate("Array.from(document.querySelectorAll('#loss-chart .ytick text, #rates-chart .ytick text,"
                          " #play-loss-chart .ytick text')).map(t => t.textContent)")
    assert ticks and not any(ch in "".join(ticks) for ch in "µmkMGT")
    every = page.evaluate("Array.from(document.querySelectorAll('.js-plotly-plot text')).map(t => t.textContent)")
    assert any("1e-" in t for t in every)                       # exponents as a user can paste them back
    assert not any("\u2212" in t for t in every)
    before = page.evaluate("document.body.dataset.playLr")
    page.evaluate("const s = document.getElementById('play-lr'); s.value = '1.2'; s.dispatchEvent(new Event('input'))")
    page.wait_for_function(f"document.body.dataset.playLr !== '{before}'")   # replay() has redrawn the charts
    every = page.evaluate("Array.from(document.querySelectorAll('.js-plotly-plot text')).map(t => t.textContent)")
    assert not any("\u2212" in t for t in every)               # also after the charts are redrawn
    page.close()


def test_chinese_is_drawn_with_glyphs_not_boxes(browser, tmp_path):  # noqa: F811
    from PIL import Image

    d = datasets.tutorial()
    path = write_report(tutorial_fit(), tmp_path / "zh.html", lang="zh", test=(d.x_test, d.y_test), source="教程")
    page, seen = open_offline(browser, path)
    page.evaluate("""for (const [id, ch] of [['g1', '梯'], ['g2', '度'], ['g3', '\\u0378'], ['g4', '\\u0379']]) {
        const s = document.createElement('span'); s.id = id; s.textContent = ch;
        s.style.fontSize = '40px'; document.body.prepend(s); }""")
    shot = lambda i: np.asarray(Image.open(io.BytesIO(page.locator(f"#g{i}").screenshot())).convert("L"))  # noqa: E731
    # Two different unassigned code points draw the same box; two Chinese characters must differ.
    assert shot(3).shape == shot(4).shape and np.array_equal(shot(3), shot(4))
    a, b = shot(1), shot(2)
    assert a.shape != b.shape or not np.array_equal(a, b)
    assert a.std() > 20
    page.close()


def test_a_standardized_runs_playground_descends_where_the_run_did(browser, tmp_path):  # noqa: F811
    rng = np.random.default_rng(4)
    X = rng.normal(size=(40, 2)) * [1, 30] + [5, 200]
    y = X @ [2.0, 0.1] + 1 + rng.normal(0, 0.1, 40)
    r = fit(X, y, standardize=True, lr=0.2, iters=40, tol=None)
    page, seen = open_offline(browser, write_report(r, tmp_path / "standardized.html"))
    assert page.evaluate("document.body.dataset.playStatus") == "converges"
    js = np.array(page.evaluate("gradfitDescend(0.2, 0, 40).thetas"))
    py = np.array(r.history.theta)
    assert np.allclose(js, py, rtol=1e-9, atol=1e-9 * np.abs(py).max())
    assert seen["errors"] == [] and seen["network"] == []
    page.close()

"""The HTML report in a real headless Chromium (Debian's package, driven by Playwright), offline."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from gradfit import datasets, fit
from gradfit.outputs.report import write_report
from patience import patience

pytestmark = pytest.mark.slow          # a real browser: left out of make test-fast

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--no-first-run",
        "--disable-default-apps", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "the browser tests need Debian's chromium: apt-get install chromium (see .ci/run)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield browser
        browser.close()


def open_offline(browser, path: Path):
    """Open the file with every non-file request aborted; collect requests and console errors."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(patience(60) * 1000)     # page loads and waits: a bound for a hang, scaled to the load
    seen = {"network": [], "errors": []}

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            seen["network"].append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda msg: seen["errors"].append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_function("document.body.dataset.iteration !== undefined")
    return page, seen


def tutorial_report(tmp_path, lang="en") -> Path:
    d = datasets.tutorial()
    result = fit(d.x_train, d.y_train, lr=0.01, iters=1000, tol=None, init=(1, 0), loss="sse", engine="python")
    return write_report(result, tmp_path / f"report-{lang}.html", lang=lang, test=(d.x_test, d.y_test),
                        source="tutorial data set")


def test_report_loads_offline_without_errors_and_draws_every_chart(browser, tmp_path):
    page, seen = open_offline(browser, tutorial_report(tmp_path))
    for chart in ("fit-chart", "surface-chart", "loss-chart", "rates-chart"):
        assert page.locator(f"#{chart} .main-svg").count() >= 1, chart
        assert page.evaluate(f"document.getElementById('{chart}').data.length") >= 2, chart
    assert page.locator("#fit-chart .scatterlayer .trace").count() == 3  # training points, line, test point
    assert page.locator("#surface-chart .contourlayer .contour").count() >= 1
    rates = page.evaluate("document.getElementById('rates-chart').data.map(t => t.name)")
    assert len(rates) == 4 and "diverged" in rates[-1] and not any("diverged" in r for r in rates[:3])
    assert "= 29" in page.locator("#explanation").inner_text()
    assert seen["errors"] == []
    assert seen["network"] == []
    page.close()


def test_moving_the_slider_changes_the_iteration_line_and_point(browser, tmp_path):
    page, seen = open_offline(browser, tutorial_report(tmp_path))
    label = page.locator("#iteration-label")
    assert label.inner_text().startswith("Iteration 0 ")
    line_before = page.evaluate("document.getElementById('fit-chart').data[1].y")
    point_before = page.evaluate("document.getElementById('surface-chart').data[3].x[0]")
    slider = page.locator("#iteration-slider")
    slider.focus()
    page.keyboard.press("ArrowRight")
    assert label.inner_text().startswith("Iteration 1 ")
    assert "w = 1.4, b = 0.18" in label.inner_text()
    page.keyboard.press("End")
    assert page.evaluate("document.body.dataset.iteration") == "1000"
    line_after = page.evaluate("document.getElementById('fit-chart').data[1].y")
    point_after = page.evaluate("document.getElementById('surface-chart').data[3].x[0]")
    assert line_after != line_before and point_after != point_before
    assert point_after == pytest.approx(2.000148389025502)
    page.keyboard.press("Home")
    page.locator("#play").click()                     # play walks through the iterations by itself
    page.wait_for_function("Number(document.body.dataset.iteration) >= 3", timeout=patience(30) * 1000)
    page.locator("#play").click()
    assert seen["errors"] == [] and seen["network"] == []
    page.close()


def test_screenshot_is_not_blank(browser, tmp_path):
    from PIL import Image

    page, seen = open_offline(browser, tutorial_report(tmp_path, lang="zh"))
    png = page.screenshot(full_page=False)
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert image.shape[:2] == (900, 1280)
    assert image.std() > 20                                  # not one flat colour
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 50  # text, lines and colours drawn
    assert "迭代次数" in page.locator("#iteration-label").inner_text()
    assert seen["errors"] == [] and seen["network"] == []
    page.close()


def test_user_provided_names_are_escaped(browser, tmp_path):
    evil = '<img src=x onerror="document.title=1">'
    csv = tmp_path / "data.csv"
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = X @ [1.0, -2.0, 0.5] + 3
    header = f'"{evil.replace(chr(34), chr(34) * 2)}",b2,c3,target'
    csv.write_text(header + "\n" + "\n".join(",".join(map(repr, [*r, t])) for r, t in zip(X.tolist(), y.tolist())))
    from gradfit.data import load_xy

    data = load_xy(csv, [evil, "b2", "c3"], "target")
    result = fit(data, None, iters=200)
    path = write_report(result, tmp_path / "evil.html", source=f"{evil}.csv")
    text = path.read_text()
    assert evil not in text
    page, seen = open_offline(browser, path)
    assert page.locator("img").count() == 0
    assert page.title() != "1"
    assert seen["errors"] == [] and seen["network"] == []
    page.close()


def test_one_parameter_model_has_no_surface_and_still_works(browser, tmp_path):
    result = fit([1, 2, 3], [3, 5, 7], lr=0.01, iters=200, tol=None, loss="sse", fit_intercept=False)
    page, seen = open_offline(browser, write_report(result, tmp_path / "w-only.html"))
    assert page.locator("#surface-chart").count() == 0
    page.locator("#iteration-slider").focus()
    page.keyboard.press("End")
    assert page.evaluate("document.body.dataset.iteration") == "200"
    assert seen["errors"] == [] and seen["network"] == []
    page.close()


def test_penalized_report_draws_the_coefficient_path(browser, tmp_path):
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    result = fit(X[:, :4] * 10, y, penalty="l1", alpha=1.0, optimizer="gd", standardize=False, engine="numpy",
                 feature_names=["age", "sex", "bmi", "bp"])
    path = write_report(result, tmp_path / "lasso.html", lang="zh", source="diabetes")
    page, seen = open_offline(browser, path)
    assert page.locator("#path-chart .main-svg").count() >= 1
    names = page.evaluate("document.getElementById('path-chart').data.map(t => t.name)")
    assert names[:4] == ["age", "sex", "bmi", "bp"] and names[-1] == "本次运行的 α"
    xs = page.evaluate("document.getElementById('path-chart').data[0].x")
    assert xs[0] > 10 > 0.1 > xs[-1]                        # the path spans α = 1 by ten either side
    assert page.evaluate("document.getElementById('path-chart').layout.xaxis.type") == "log"
    assert "惩罚项做了什么" in page.locator("#explanation").inner_text()
    assert seen["errors"] == [] and seen["network"] == []
    page.close()

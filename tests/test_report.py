"""The report's content without a browser: self-contained, escaped, the data the charts draw."""

from __future__ import annotations

import json
import re
import sys

import pytest

from gradfit import datasets, fit
from gradfit.errors import ConfigError
from gradfit.outputs.report import render_report, report_data


@pytest.fixture(scope="module")
def tutorial_run():
    d = datasets.tutorial()
    return fit(d.x_train, d.y_train, lr=0.01, iters=1000, tol=None, init=(1, 0), loss="sse", engine="python")


def test_report_is_one_file_with_everything_inside(tutorial_run):
    page = render_report(tutorial_run, source="tutorial")
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", page)
    assert page.count("<script") == 3  # plotly, the data, the charts
    payload = json.loads(re.search(r'id="gradfit-data">(.*?)</script>', page, re.S).group(1))
    assert payload["frames"][1]["theta"] == [1.4, 0.18]


def test_rates_compare_three_stable_runs_and_one_diverging(tutorial_run):
    rates = report_data(tutorial_run)["rates"]
    assert [r["diverged"] for r in rates] == [False, False, False, True]
    assert rates[-1]["lr"] == pytest.approx(0.061)
    assert rates[0]["loss"][-1] < rates[0]["loss"][0]


def test_json_cannot_close_its_script_element():
    name = "</script><script>alert(1)//"
    result = fit([[1.0], [2.0], [3.0]], [3, 5, 7], feature_names=[name], iters=10)
    page = render_report(result, source="</script>")
    assert name not in page
    data = page.split('id="gradfit-data">')[1].split("</script>")[0]
    assert "<" not in data and ">" not in data
    assert json.loads(data)["x_name"] == "&lt;/script&gt;&lt;script&gt;alert(1)//"
    assert "<title>gradfit report: &lt;/script&gt;</title>" in page


def test_without_plotly_the_error_names_the_extra(tutorial_run, monkeypatch):
    monkeypatch.setitem(sys.modules, "plotly", None)
    monkeypatch.setitem(sys.modules, "plotly.offline", None)
    with pytest.raises(ConfigError, match=r"gradfit\[learn\]"):
        render_report(tutorial_run)

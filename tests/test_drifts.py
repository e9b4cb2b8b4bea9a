"""The drifts of issue 19: places that re-derived what was fitted and said something else. Each test failed
before its fix: the JSON called a Huber fit "mse", plots sent a Huber fit to a refit the option rules refuse,
GDRegressor warned twice, the autograd check differentiated the squared loss whatever was fitted, and three
modules judged "singular" by three thresholds."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import gradfit
from gradfit import ConfigError
from gradfit.loss import curvature, singular_below
from gradfit.messages import message
from gradfit.outputs import plots
from gradfit.outputs.explain import analysis, conditioning

EPSILON = 1.5


def contaminated(n=60, seed=1):
    """Three features, a line plus small noise, and a few rows pushed far off it (what Huber's loss is for)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = X @ [2.0, -1.0, 0.5] + 3.0 + 0.3 * rng.normal(size=n)
    y[:6] += 25.0
    return X, y


def huber_fit(**options):
    X, y = contaminated()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gradfit.ConvergenceWarning)
        return gradfit.fit(X, y, loss="huber", epsilon=EPSILON, iters=300, **options)


# --- 2. the loss the outputs name is the loss that was fitted --------------------------------

def test_fit_json_text_and_model_metadata_name_the_huber_loss(cli, tmp_path):
    X, y = contaminated()
    path = tmp_path / "train.csv"
    np.savetxt(path, np.c_[X, y], delimiter=",", header="a,b,c,y", comments="", fmt="%.17g")
    common = ["fit", path, "--x", "a", "--x", "b", "--x", "c", "--y", "y", "--loss", "huber",
              "--epsilon", EPSILON, "--iters", 300]
    doc = json.loads(cli(*common, "--json").out)
    assert doc["loss"] == "huber" and doc["epsilon"] == EPSILON
    assert "loss huber" in cli(*common).out
    cli(*common, "--model", tmp_path / "model.json")
    metadata = json.loads((tmp_path / "model.json").read_text())["metadata"]
    assert metadata["loss"] == "huber" and metadata["epsilon"] == EPSILON


def test_the_results_html_table_names_the_huber_loss():
    assert "<td style='text-align:right'>huber</td>" in huber_fit()._repr_html_()


# --- 3. a fit without θ* is told what draws, not sent to a refit that is refused ---------------

def test_the_loss_surface_of_a_huber_fit_says_why_and_what_draws_instead(tmp_path):
    r = huber_fit()
    with pytest.raises(ConfigError) as info:
        plots.loss_contours(r)
    said = str(info.value)
    assert "huber" in said and "loss_curve" in said and "refit with solver='exact'" not in said
    with pytest.raises(ConfigError, match="huber"):      # what the old message advised is refused
        gradfit.fit(*contaminated(), loss="huber", solver="exact")
    assert plots.loss_curve(r) is not None and plots.fit_figure(r) is not None
    assert [p.name for p in plots.save_fit_plots(r, tmp_path)] == ["fit-fit.png", "fit-loss.png"]


def test_an_l1_fit_without_an_optimum_is_not_sent_to_solver_exact():
    X, y = contaminated()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gradfit.ConvergenceWarning)
        r = gradfit.fit(X, y, penalty="l1", alpha=0.1, iters=50)
    with pytest.raises(ConfigError, match="L1 penalty") as info:
        plots.loss_contours(r)
    assert "refit with solver='exact'" not in str(info.value)


def test_a_squared_loss_fit_past_the_limit_is_sent_to_solver_exact_which_then_draws(monkeypatch):
    import importlib

    X, y = contaminated()
    # θ* is not computed unasked past the limit (the numpy engine: the summary's would know it for free)
    monkeypatch.setattr(importlib.import_module("gradfit.problem"), "EXACT_REFERENCE_LIMIT", X.size - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gradfit.ConvergenceWarning)
        r = gradfit.fit(X, y, iters=5, engine="numpy")
    assert r.theta_exact is None
    with pytest.raises(ConfigError, match="refit with solver='exact'"):
        plots.loss_contours(r)
    assert plots.loss_contours(gradfit.fit(X, y, solver="exact")) is not None


def test_the_loss_surface_is_labelled_in_the_language_asked_for():
    r = gradfit.fit([1, 2, 3], [3, 5, 7], lr=0.01, iters=100, tol=None, init=(1, 0), loss="sse", engine="python")
    for lang in ("en", "zh"):
        ax = plots.loss_surface(r, lang=lang).axes[0]
        assert ax.get_zlabel() == message("plot.loss", lang)
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [message("plot.path", lang),
                                                                      message("plot.optimum", lang)]
    assert message("plot.loss", "zh") != message("plot.loss", "en")


# --- 4. one warning for a run that stopped short ------------------------------------------------

def test_a_gdregressor_fit_that_stops_short_warns_once_as_scikit_learn_expects():
    from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning

    X, y = contaminated()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gradfit.GDRegressor(iters=5, lr=0.01).fit(X, y)
    said = [w for w in caught if issubclass(w.category, (gradfit.ConvergenceWarning, SklearnConvergenceWarning))]
    assert len(said) == 1
    assert issubclass(said[0].category, gradfit.ConvergenceWarning)
    assert issubclass(said[0].category, SklearnConvergenceWarning)
    assert "iteration limit (5)" in str(said[0].message)


def test_a_fit_that_stops_short_warns_once():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gradfit.fit(*contaminated(), iters=5, lr=0.01)
    assert [issubclass(w.category, gradfit.ConvergenceWarning) for w in caught] == [True]


# --- 5. the autograd check differentiates the loss that was fitted --------------------------

@pytest.mark.parametrize("options", [{}, {"penalty": "l2", "alpha": 0.3}, {"sample_weight": "ramp"}],
                         ids=["huber", "huber+l2", "huber, weighted"])
def test_autograd_differentiates_the_huber_loss_and_agrees_with_the_hand_gradient(options):
    pytest.importorskip("torch")
    X, y = contaminated()
    if options.get("sample_weight") == "ramp":
        options = {"sample_weight": np.linspace(0.5, 2.0, len(y))}
    start = (1.0, 0.0, 0.0, 3.0)   # some residuals inside ε, some beyond: both pieces of the loss count
    outside = np.abs(X @ start[:3] + start[3] - y) > EPSILON
    assert 0 < outside.mean() < 1
    r = huber_fit(init=start, **options)
    by_hand = analysis.first_step(r).gradient0
    by_autograd = analysis.autograd_gradient(r)
    np.testing.assert_allclose(by_autograd, by_hand, rtol=1e-12, atol=1e-12 * np.abs(by_hand).max())
    squared = gradfit.fit(X, y, init=start, iters=1, tol=None, lr=1e-3, **options)
    assert np.abs(analysis.first_step(squared).gradient0 - by_hand).max() > 0.1   # Huber's gradient, not r²'s
    assert message("autograd.agree") in str(gradfit.explain(r))


# --- one threshold of "singular" -------------------------------------------------------------

@pytest.mark.parametrize("size", [2, 5, 40])
def test_fit_and_the_explanation_judge_a_singular_hessian_alike(size):
    # An eigenvalue just above size·ε·h_max: once 1e-15·h_max zeroed it in the explanation while fit counted it.
    small = 2 * singular_below(1.0, size)
    H = np.diag(np.append(np.ones(size - 1), small))
    assert curvature(H).rank == np.count_nonzero(conditioning.eigenvalues(H)) == size
    H[-1, -1] = singular_below(1.0, size) / 2
    assert curvature(H).rank == np.count_nonzero(conditioning.eigenvalues(H)) == size - 1


# --- the divergence message and the constant-column warning, from the catalogue ----------------

def test_the_divergence_message_comes_from_the_catalogue_in_both_languages():
    from gradfit.fit import divergence_message

    with pytest.raises(gradfit.DivergenceError) as info:
        gradfit.fit([[1], [2], [3]], [1, 2, 3.5], lr=1.0, iters=50, tol=None)
    result = info.value.result
    assert str(info.value) == divergence_message(result, "en")
    assert str(info.value).startswith("Gradient descent diverged: after") and "lr='auto' (--lr auto)" in str(info.value)
    zh = divergence_message(result, "zh")
    assert zh.startswith("梯度下降发散了") and f"{result.lr:g}" in zh and f"{result.stable_lr:.3g}" in zh


def test_the_constant_column_warning_comes_from_the_catalogue():
    X = np.c_[np.arange(6.0), np.full(6, 2.0)]
    with pytest.warns(gradfit.GradfitWarning) as caught:
        gradfit.fit(X, 2 * np.arange(6.0), standardize=True)
    expected = message("warn.constant_column", unit=message("warn.column"), names="'x2'")
    assert expected.startswith("Constant column 'x2' cannot") and expected in [str(w.message) for w in caught]
    zh = message("warn.constant_column", "zh", unit=message("warn.column", "zh"), names="'x2'")
    assert zh.startswith("常数列 'x2'")

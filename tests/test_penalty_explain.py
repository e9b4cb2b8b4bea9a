"""What the penalty does, as explain, the figures and the report show it: every number checked against an
independent computation (scikit-learn's Lasso, Ridge, lasso_path; our own soft-threshold and eigen-decomposition)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Lasso, LinearRegression, Ridge, lasso_path

import gradfit
from gradfit.errors import ConfigError
from gradfit.messages import EN, ZH
from gradfit.outputs import compare
from gradfit.outputs.explain import penalty as P

NAMES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s5"]


@pytest.fixture(scope="module")
def diabetes():
    """scikit-learn's diabetes, 8 columns standardized (so that plain ISTA converges in a few hundred steps)."""
    data = load_diabetes(as_frame=True, scaled=False)
    X = data.frame[NAMES].to_numpy(dtype=float)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X, data.target.to_numpy(dtype=float)


def learner_fit(X, y, **kw):
    """As explain's learner fit runs it: plain gradient descent (ISTA for L1) on the data as given."""
    return gradfit.fit(X, y, feature_names=NAMES, optimizer="gd", standardize=False, engine="numpy", tol=1e-12,
                       iters=20000, **kw)


def own_soft_threshold(z, t):
    return np.array([(abs(v) - t) * (1 if v > 0 else -1) if abs(v) > t else 0.0 for v in z])


@pytest.fixture(scope="module")
def lasso_run(diabetes):
    X, y = diabetes
    return learner_fit(X, y, penalty="l1", alpha=2.0)


def test_lasso_zeros_match_scikit_learn_and_the_reason_is_shown(diabetes, lasso_run):
    X, y = diabetes
    sk = Lasso(alpha=2.0, tol=1e-14, max_iter=100_000).fit(X, y)
    assert np.allclose(lasso_run.model.weights, sk.coef_, rtol=1e-6, atol=1e-6)
    zc = P.zero_check(lasso_run)
    sk_zero = [f"w[{n}]" for n, c in zip(NAMES, sk.coef_) if c == 0]
    assert 0 < len(sk_zero) < len(NAMES)
    assert [f"w[{n}]" for n, z in zip(NAMES, zc.zero) if z] == sk_zero
    assert zc.holds.all()
    # the rule, independently: at 0 the data's pull (2/n)·Xᵀr is at most τ = c·α = 2·2; elsewhere exactly τ
    r = X @ sk.coef_ + sk.intercept_ - y
    pull = 2 / len(y) * X.T @ r
    assert np.all(np.abs(pull[sk.coef_ == 0]) <= 4 + 1e-6)
    assert np.allclose(np.abs(pull[sk.coef_ != 0]), 4, atol=1e-5)
    text = gradfit.explain(lasso_run, compare=False).text()
    assert "What the penalty does" in text
    assert f"{len(sk_zero)} of {len(NAMES)} coefficients are exactly 0: {', '.join(sk_zero)}." in text


def test_the_soft_threshold_step_is_one_of_the_run_and_recomputed_independently(diabetes, lasso_run):
    X, y = diabetes
    step = P.threshold_step(lasso_run)
    assert step.of_run and step.recorded is not None
    h = lasso_run.history
    i = h.iteration.index(step.k)
    theta = np.asarray(h.theta[i])
    A = np.column_stack([X, np.ones(len(y))])
    gradient = 2 / len(y) * A.T @ (A @ theta - y)           # the data part's gradient, by hand
    z = theta - lasso_run.lr * gradient
    t = lasso_run.lr * 2 * 2.0                               # λ·c·α·ρ, c = 2 for the mean loss
    expected = np.append(own_soft_threshold(z[:-1], t), z[-1])  # the intercept is not thresholded
    assert np.allclose(step.step, expected, rtol=1e-12, atol=1e-12)
    assert np.allclose(np.asarray(h.theta[i + 1]), expected, rtol=1e-12, atol=1e-12)
    # the step shown is the one where a weight is cut to exactly 0
    cut = (np.abs(z[:-1]) <= t) & (z[:-1] != 0)
    assert cut.any()
    text = gradfit.explain(lasso_run, compare=False).text()
    assert f"from k = {step.k} to k = {step.k + 1}" in text
    assert P.num(z[int(np.argmax(cut))]) in text and P.num(t) in text


@pytest.mark.parametrize("alpha", [0.3, 5.0])
def test_ridge_shrinkage_in_the_eigenbasis_matches_scikit_learn(diabetes, alpha):
    X, y = diabetes
    run = learner_fit(X, y, penalty="l2", alpha=alpha)
    ls = LinearRegression().fit(X, y)
    sh = P.shrinkage(run, compare.unpenalized(run))
    assert np.allclose(sh.w_ls, ls.coef_, rtol=1e-9)
    ridge = Ridge(alpha=alpha * len(y), tol=1e-14).fit(X, y)   # Ridge's α multiplies ‖r‖², not 1/(2n)·‖r‖²
    assert np.allclose(sh.predicted, ridge.coef_, rtol=1e-9)
    # the factors, independently: h of 2/n·XcᵀXc and κ = 2α
    Xc = X - X.mean(axis=0)
    h = np.linalg.eigvalsh(2 / len(y) * Xc.T @ Xc)
    assert np.allclose(sh.h, h) and np.allclose(sh.factor, h / (h + 2 * alpha))
    text = gradfit.explain(run, compare=False).text()
    assert "Ridge shrinks" in text
    for value in h / (h + 2 * alpha):
        assert P.num(value, 6) in text
    for value in ls.coef_:
        assert P.num(value, 6) in text


def test_objective_written_out_adds_up_to_the_runs_loss(diabetes):
    X, y = diabetes
    run = learner_fit(X, y, penalty="elasticnet", alpha=0.5, l1_ratio=0.3)
    w, b = np.asarray(run.model.weights), run.model.bias
    r = X @ w + b - y
    by_hand = (r @ r / len(y), 2 * 0.5 * 0.3 * np.abs(w).sum(), 2 * 0.5 * 0.7 / 2 * w @ w)
    assert np.isclose(sum(by_hand), run.loss, rtol=1e-12)
    text = gradfit.explain(run, compare=False).text()
    assert f"Loss(θ) = {' + '.join(P.num(v) for v in by_hand)} = {P.num(sum(by_hand))}" in text


def test_the_path_is_scikit_learns_lasso_path(diabetes, lasso_run):
    X, y = diabetes
    alphas, thetas = compare.penalty_path(lasso_run, count=12)
    assert alphas[0] > 2.0 * 10 > 2.0 / 10 > alphas[-1]
    assert np.all(thetas[0, :-1] == 0)                     # at α_max every weight is 0
    _, coefs, _ = lasso_path(X - X.mean(axis=0), y - y.mean(), alphas=alphas, tol=1e-14, max_iter=100_000)
    assert np.allclose(thetas[:, :-1], coefs.T, rtol=1e-6, atol=1e-6)


def _english_sentences(text_of_zh: str) -> list[str]:
    """Every catalogue sentence (a run of 12+ characters between placeholders) whose en and zh differ,
    found in the Chinese text."""
    found = []
    for key, en in EN.items():
        if ZH.get(key) == en:
            continue
        for fragment in re.split(r"\{[^}]*\}", en):
            fragment = fragment.strip(" .,:;()")
            if re.search(r"[A-Za-z]{3,}[ ,'’-]+[A-Za-z]{2,}[ ,'’-]+[A-Za-z]{2,}", fragment) and fragment in text_of_zh:
                found.append(f"{key}: {fragment}")
    return found


@pytest.mark.parametrize("penalty", ["l1", "l2", "elasticnet"])
def test_chinese_explanation_has_no_english_sentence(diabetes, penalty):
    X, y = diabetes
    run = gradfit.fit(X[:, :4], y, optimizer="gd", standardize=False, engine="numpy", penalty=penalty, alpha=1.0)
    text = gradfit.explain(run, lang="zh").text()
    assert "惩罚项做了什么" in text and "What the penalty does" not in text
    assert _english_sentences(text) == []


@pytest.mark.slow
def test_path_figure_is_written_with_the_others(diabetes, lasso_run, tmp_path):
    from gradfit.outputs.plots import save_fit_plots

    paths = save_fit_plots(lasso_run, tmp_path, prefix="run", lang="zh")
    path = tmp_path / "run-path.png"
    assert path in paths
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    plain = gradfit.fit(*diabetes, engine="numpy")
    (tmp_path / "plain").mkdir()
    assert not any(p.name.endswith("-path.png") for p in save_fit_plots(plain, tmp_path / "plain"))


@pytest.mark.slow
def test_cli_explain_and_report_take_the_penalty(diabetes, tmp_path):
    import pandas as pd
    from typer.testing import CliRunner

    from gradfit.cli import app

    X, y = diabetes
    pd.DataFrame(np.column_stack([X[:, :4], y]), columns=[*NAMES[:4], "y"]).to_csv(tmp_path / "d.csv", index=False)
    args = [str(tmp_path / "d.csv"), "--x", "age", "--x", "sex", "--x", "bmi", "--x", "bp", "--y", "y"]
    out = CliRunner().invoke(app, ["explain", *args, "--penalty", "l1", "--alpha", "3", "--plot",
                                   str(tmp_path / "figs"), "--lang", "zh"])
    assert out.exit_code == 0, out.output
    assert "惩罚项做了什么" in out.output and "软阈值" in out.output
    assert (tmp_path / "figs" / "explain-path.png").exists()
    out = CliRunner().invoke(app, ["report", *args, "--penalty", "l2", "--alpha", "0.5", "--out",
                                   str(tmp_path / "r.html")])
    assert out.exit_code == 0, out.output
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'id="path-chart"' in page and '"path":{"alphas":' in page and "Ridge shrinks" in page
    out = CliRunner().invoke(app, ["fit", *args, "--penalty", "elasticnet", "--alpha", "1", "--plot",
                                   str(tmp_path / "fitfigs")])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "fitfigs" / "fit-path.png").read_bytes()[:4] == b"\x89PNG"
    out = CliRunner().invoke(app, ["explain", *args, "--penalty", "l1", "--alpha", "-1"])
    assert out.exit_code != 0 and isinstance(out.exception, ConfigError) and "--alpha" in str(out.exception)


def test_summary_refuses_a_penalized_or_huber_fit(diabetes):
    X, y = diabetes
    for options in ({"penalty": "l2", "alpha": 1.0}, {"penalty": "l1", "alpha": 1.0}, {"loss": "huber"}):
        result = gradfit.fit(X, y, engine="numpy", **options)
        with pytest.raises(ConfigError, match="do not hold for this fit"):
            result.summary()
    assert "std err" in str(gradfit.fit(X, y, engine="numpy", solver="exact").summary())


def test_a_run_not_taking_istas_steps_shows_istas_fixed_point_at_its_result(diabetes):
    X, y = diabetes
    run = gradfit.fit(X, y, penalty="l1", alpha=2.0, engine="numpy", tol=1e-12)   # FISTA on standardized data
    step = P.threshold_step(run)
    assert not step.of_run and step.recorded is None
    assert np.allclose(step.step, run.model.theta, rtol=1e-7, atol=1e-7)       # the optimum is S's fixed point
    text = gradfit.explain(run, compare=False).text()
    assert "descended on standardized coordinates" in text


def test_autograd_checks_the_gradient_with_the_l2_part(diabetes):
    pytest.importorskip("torch")
    from gradfit.outputs.explain import analysis as an

    X, y = diabetes
    run = gradfit.fit(X[:, :3], y, penalty="elasticnet", alpha=0.7, optimizer="gd", standardize=False,
                      engine="numpy", init=(1, 2, 3, 4), iters=50, tol=None)
    by_hand = 2 / len(y) * np.column_stack([X[:, :3], np.ones(len(y))]).T @ (X[:, :3] @ [1, 2, 3] + 4 - y)
    by_hand[:3] += 2 * 0.7 * 0.5 * np.array([1, 2, 3])       # κ·w, κ = c·α·(1 − ρ)
    assert np.allclose(an.autograd_gradient(run), by_hand, rtol=1e-12)
    assert np.allclose(an.first_step(run).gradient0, by_hand, rtol=1e-12)


@pytest.mark.parametrize("standardize", [False, True])
def test_the_quadratic_of_why_and_the_playground_has_the_l2_curvature(diabetes, standardize):
    from gradfit.outputs.explain import conditioning as cd

    X, y = diabetes
    run = gradfit.fit(X[:, :3] * 20, y, penalty="l2", alpha=0.7, optimizer="gd", standardize=standardize,
                      engine="numpy", init=(1, 2, 3, 4), iters=50, tol=None)
    H, g0, theta0 = cd.descended_quadratic(run)
    assert np.isclose(np.linalg.eigvalsh(H).max(), run.lambda_max, rtol=1e-12)   # the run's own h_max
    if not standardize:
        assert np.allclose(H @ theta0 + g0, run.history.gradient[0], rtol=1e-12, atol=1e-9)

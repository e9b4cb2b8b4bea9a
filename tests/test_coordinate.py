"""Coordinate descent on the Gram matrix: scikit-learn's paths and ElasticNet, gradfit.fit's optimum, ridge, the
duality gap, and screening that never drops a coordinate the KKT check keeps."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import ElasticNet, LassoCV, Ridge, enet_path

import gradfit
from gradfit import ConfigError, coordinate
from gradfit.data.standardize import Standardizer
from gradfit.engines.stats import StatsObjective, fold_of, fold_summaries, summarize
from gradfit.loss import Loss
from real_data import load

PARITY = 1e-8
DATA = ("diabetes", "longley", "macrodata")


def relative(a, b) -> float:
    return float(np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max())


def quadratic(data, fit_intercept=True):
    summary = summarize([(data.X, data.y)])
    return summary, coordinate.from_summary(summary, Loss(fit_intercept=fit_intercept))


@pytest.fixture(params=["C", "NumPy"])
def kernel(request, monkeypatch):
    """Every test that takes it runs with the C loop and with the NumPy fallback."""
    if request.param == "NumPy":
        monkeypatch.setattr(coordinate, "_path_c", None)
    elif coordinate._path_c is None:      # pragma: no cover - only where no compiler was found
        pytest.skip("gradfit._rules is not built here")
    return request.param


def sk_path(X, y, alphas, l1_ratio):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # the ConvergenceWarning of scikit-learn's own looser steps
        return enet_path(X, y, l1_ratio=l1_ratio, alphas=alphas, precompute=True, tol=1e-12, max_iter=10**6)[1].T


def penalty_scale(summary, data, scale):
    return None if scale == "given" else Standardizer.from_summary(summary, data.feature_names, True).scale


# longley on the given scale: GNP's α_max leaves the others at 0 for three decades of α; on glmnet's standardized
# scale every column enters within them
PATHS = [("diabetes", "given"), ("macrodata", "given"), ("longley", "standardized"), ("diabetes", "standardized")]


@pytest.mark.parametrize("name, scale", PATHS)
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_the_path_equals_scikit_learns_enet_path_with_the_gap_below_tol_at_every_alpha(name, scale, l1_ratio):
    data = load(name)
    summary, q = quadratic(data)
    u = penalty_scale(summary, data, scale)
    path = coordinate.path(q, l1_ratio=l1_ratio, scale=u, n_alphas=100, tol=1e-12, max_iter=10**7)
    assert np.all(path.converged) and np.all(path.gaps <= path.tol)
    top = np.abs(q.c / (1 if u is None else u)).max() / l1_ratio
    assert path.alphas[0] == pytest.approx(top, rel=1e-14)                 # α_max: the first is all 0
    assert not np.any(path.coefs[0]) and np.count_nonzero(path.coefs[-1]) >= 4
    u = 1.0 if u is None else u
    Xc, yc = (data.X - data.X.mean(axis=0)) / u, data.y - data.y.mean()     # glmnet's scale: w·u on X/u
    sk = sk_path(Xc, yc, path.alphas, l1_ratio) / u
    assert relative(path.coefs, sk) < PARITY


@pytest.mark.parametrize("name", DATA)
def test_the_alpha_grid_is_scikit_learns(name):
    data = load(name)
    _, q = quadratic(data)
    Xc, yc = data.X - data.X.mean(axis=0), data.y - data.y.mean()
    for l1_ratio in (1.0, 0.3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            alphas = enet_path(Xc, yc, l1_ratio=l1_ratio, alphas=20, eps=1e-2, max_iter=1)[0]
        assert coordinate.alpha_grid(q, l1_ratio, n_alphas=20, eps=1e-2) == pytest.approx(alphas, rel=1e-12)


@pytest.mark.parametrize("name", DATA)
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_one_alpha_with_an_intercept_equals_elasticnet(name, l1_ratio, kernel):
    data = load(name)
    summary, q = quadratic(data)
    alpha = 0.05 * coordinate.alpha_max(q, l1_ratio)
    fit = coordinate.path(q, [alpha], l1_ratio, tol=1e-12, max_iter=10**6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-12, max_iter=10**6).fit(data.X, data.y)
    w = fit.coefs[0]
    assert fit.converged[0] and relative(w, sk.coef_) < PARITY
    assert coordinate.intercept(summary, w) == pytest.approx(sk.intercept_, rel=PARITY)


def test_without_an_intercept_the_moments_about_zero(kernel):
    data = load("diabetes")
    summary, q = quadratic(data, fit_intercept=False)
    assert np.allclose(q.G, data.X.T @ data.X / len(data.y), rtol=1e-12) and q.yy == pytest.approx(
        data.y @ data.y / len(data.y), rel=1e-12)
    path = coordinate.path(q, l1_ratio=0.7, n_alphas=20, tol=1e-12, max_iter=10**6)
    assert relative(path.coefs, sk_path(data.X, data.y, path.alphas, 0.7)) < PARITY
    assert coordinate.intercept(summary, path.coefs[-1], fit_intercept=False) == 0.0


@pytest.mark.parametrize("penalty, l1_ratio", [("l1", 1.0), ("elasticnet", 0.5)])
@pytest.mark.parametrize("scale", ["given", "standardized"])
@pytest.mark.parametrize("reduction", ["mse", "sse"])
def test_gradfits_objective_has_the_same_optimum_as_gradfit_fit(penalty, l1_ratio, scale, reduction):
    """gradfit.fit(penalty=…, alpha=…) minimises penalty_factor·P: the same α gives the same w and b."""
    data = load("diabetes")
    summary = summarize([(data.X, data.y)])
    loss = Loss(reduction)
    q = coordinate.from_summary(summary, loss)
    u = None if scale == "given" else Standardizer.from_summary(summary, data.feature_names, True).scale
    alpha = 0.02 * coordinate.alpha_max(q, l1_ratio, u)
    fit = coordinate.path(q, [alpha], l1_ratio, u, tol=1e-14, max_iter=10**6)
    result = gradfit.fit(data.X, data.y, penalty=penalty, alpha=alpha, l1_ratio=l1_ratio if l1_ratio < 1 else None,
                         penalty_scale=scale, loss=reduction, tol=1e-11)
    w = fit.coefs[0]
    assert fit.converged[0] and 0 < np.count_nonzero(w) < len(w) or l1_ratio < 1
    assert relative(result.model.weights, w) < PARITY
    assert result.model.bias == pytest.approx(coordinate.intercept(summary, w), rel=PARITY)
    # gradfit's penalized loss is penalty_factor·P, so its optimum's value is that multiple of P(w*)
    tau, kappa = coordinate.penalty_weights(alpha, l1_ratio, u, q.d)
    factor = loss.penalty_factor(len(data.y))
    sse = float(np.sum((data.X @ w + coordinate.intercept(summary, w) - data.y) ** 2))
    gradfits = sse * loss.scale(len(data.y)) + factor * (tau @ np.abs(w) + 0.5 * (kappa * w) @ w)
    assert gradfits == pytest.approx(factor * coordinate.objective(q, w, tau, kappa), rel=1e-10)


@pytest.mark.parametrize("name", DATA)
def test_l2_alone_is_ridges_solution(name):
    data = load(name)
    summary, q = quadratic(data)
    alphas = coordinate.alpha_grid(q, 0.0, n_alphas=5, eps=1e-4)
    path = coordinate.path(q, alphas, l1_ratio=0.0)
    n = len(data.y)
    for alpha, w, gap in zip(path.alphas, path.coefs, path.gaps):
        sk = Ridge(alpha=alpha * n, solver="cholesky").fit(data.X, data.y)   # ‖r‖² + α_R‖w‖²: α_R = n·α
        assert relative(w, sk.coef_) < PARITY
        assert abs(gap) <= 1e-10 * q.yy                               # the ridge dual's gap at the exact answer
    assert np.all(path.n_iter == 0)


def test_at_alpha_max_and_above_every_weight_is_zero_with_no_gap(kernel):
    _, q = quadratic(load("diabetes"))
    top = coordinate.alpha_max(q, 0.5)
    path = coordinate.path(q, [2 * top, top], 0.5, tol=1e-12)
    assert not np.any(path.coefs) and np.all(np.abs(path.gaps) <= 1e-12 * q.yy)
    below = coordinate.path(q, [0.99 * top], 0.5, tol=1e-12)
    assert np.count_nonzero(below.coefs[0]) == 1


def test_the_gap_bounds_the_distance_to_the_optimum_when_the_penalty_is_strongly_convex(kernel):
    data = load("macrodata")
    _, q = quadratic(data)
    alpha = 1e-3 * coordinate.alpha_max(q, 0.5)
    tau, kappa = coordinate.penalty_weights(alpha, 0.5, None, q.d)
    optimum = coordinate.path(q, [alpha], 0.5, tol=1e-14, max_iter=10**7).coefs[0]
    mu = float(np.linalg.eigvalsh(q.G + np.diag(kappa))[0])
    for sweeps in (1, 3, 10, 30):
        rough = coordinate.path(q, [alpha], 0.5, tol=1e-14, max_iter=sweeps)
        assert not rough.converged[0]
        distance = float(np.linalg.norm(rough.coefs[0] - optimum))
        assert 0 < distance <= coordinate.distance_bound(rough.gaps[0], mu)
        suboptimality = coordinate.objective(q, rough.coefs[0], tau, kappa) - coordinate.objective(q, optimum, tau,
                                                                                                  kappa)
        assert suboptimality <= rough.gaps[0] * (1 + 1e-9)


def test_cv_errors_from_fold_summaries_equal_lassocv():
    """The lead's cv integration in small: every fold's path from the total minus the fold, its held-out error
    exact from the fold's summary — scikit-learn's LassoCV with the same folds and α."""
    data = load("diabetes")
    folds, n = 5, len(data.y)
    parts = fold_summaries([(data.X, data.y)], folds, seed=0)
    total = summarize([(data.X, data.y)])
    alphas = coordinate.alpha_grid(coordinate.from_summary(total), 1.0, n_alphas=30)
    mse = np.empty((len(alphas), folds))
    for k, part in enumerate(parts):
        training = total.minus(part)
        path = coordinate.path(coordinate.from_summary(training), alphas, 1.0, tol=1e-12, max_iter=10**6)
        held_out = StatsObjective(part, Loss("mse"))
        for i, w in enumerate(path.coefs):
            mse[i, k] = held_out.loss_and_gradient(np.append(w, coordinate.intercept(training, w)))[0]
    fold = fold_of(np.arange(n), folds, 0)
    cv = [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(folds)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = LassoCV(alphas=alphas, cv=cv, tol=1e-15, max_iter=10**6).fit(data.X, data.y)
    assert relative(mse, sk.mse_path_) < PARITY


def test_the_c_loop_and_the_numpy_fallback_take_the_same_path(monkeypatch):
    """The same steps, but sums in another order (BLAS, the C loop; the extrapolation's small solve): where an
    extrapolation is taken may differ, so the sweeps agree roughly and the answers within the gaps."""
    if coordinate._path_c is None:      # pragma: no cover
        pytest.skip("gradfit._rules is not built here")
    _, q = quadratic(load("macrodata"))
    c = coordinate.path(q, l1_ratio=0.8, n_alphas=15, tol=1e-12, max_iter=10**5)
    monkeypatch.setattr(coordinate, "_path_c", None)
    numpy = coordinate.path(q, l1_ratio=0.8, n_alphas=15, tol=1e-12, max_iter=10**5)
    assert np.all(c.converged) and np.all(numpy.converged)
    assert relative(c.coefs, numpy.coefs) < PARITY
    assert 0.5 < numpy.n_iter.sum() / c.n_iter.sum() < 2


def test_anderson_extrapolation_saves_sweeps_and_never_changes_the_answer(monkeypatch):
    monkeypatch.setattr(coordinate, "_path_c", None)
    _, q = quadratic(load("diabetes"))
    accelerated = coordinate.path(q, l1_ratio=1.0, n_alphas=20, tol=1e-10, max_iter=10**6)
    monkeypatch.setattr(coordinate, "anderson", lambda *args: None)
    plain = coordinate.path(q, l1_ratio=1.0, n_alphas=20, tol=1e-10, max_iter=10**6)
    assert np.all(accelerated.converged) and np.all(plain.converged)
    assert relative(accelerated.coefs, plain.coefs) < PARITY
    assert accelerated.n_iter.sum() * 3 < plain.n_iter.sum()


# --- screening -------------------------------------------------------------------------------------------------

@st.composite
def designs(draw):
    """Random designs: d up to twice n, some columns copies or combinations of others, scales from 1e-2 to 1e2."""
    n = draw(st.integers(3, 25))
    d = draw(st.integers(1, 30))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * 10.0 ** rng.uniform(-2, 2, d) + rng.uniform(-5, 5, d)
    for j in range(1, d):
        if rng.random() < 0.25:                  # an exact copy, a multiple, or a combination of earlier columns
            k = rng.integers(0, j, size=2)
            X[:, j] = X[:, k[0]] * rng.uniform(-3, 3) + (X[:, k[1]] if rng.random() < 0.5 else 0.0)
    y = X[:, : max(1, d // 3)] @ rng.standard_normal(max(1, d // 3)) + rng.standard_normal(n)
    l1_ratio = draw(st.sampled_from([1.0, 0.9, 0.5, 0.1]))
    return X, y, l1_ratio, draw(st.booleans())


def check_screening(design, max_iter):
    X, y, l1_ratio, standardized = design
    summary = summarize([(X, y)])
    q = coordinate.from_summary(summary)
    u = Standardizer.from_summary(summary, [str(j) for j in range(X.shape[1])], True).scale if standardized else None
    screened = coordinate.path(q, None, l1_ratio, u, n_alphas=12, eps=1e-3, tol=1e-11, max_iter=max_iter)
    full = coordinate.path(q, screened.alphas, l1_ratio, u, tol=1e-11, max_iter=max_iter, screen=False)
    scale = np.abs(q.c).max() + np.abs(q.G).max() * np.abs(screened.coefs).max() + 1e-300
    for alpha, w, gap, w_full, gap_full in zip(screened.alphas, screened.coefs, screened.gaps, full.coefs, full.gaps):
        tau, kappa = coordinate.penalty_weights(alpha, l1_ratio, u, q.d)
        held_out = w == 0
        correlation = np.abs(q.c - q.G @ w)
        # KKT at every coordinate left at 0: 0 is optimal there (up to rounding in G·w)
        assert np.all(correlation[held_out] <= tau[held_out] + 1e-9 * scale)
        # the screened answer is as good as the unscreened one: equal objective within the gaps
        p, p_full = coordinate.objective(q, w, tau, kappa), coordinate.objective(q, w_full, tau, kappa)
        assert abs(p - p_full) <= max(gap, gap_full) + 1e-12 * q.yy


@settings(max_examples=60, deadline=None)
@given(designs())
def test_screening_never_drops_a_coordinate_the_kkt_check_keeps(design):
    check_screening(design, max_iter=10**5)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(designs())
def test_screening_never_drops_a_coordinate_the_kkt_check_keeps_in_the_numpy_fallback(monkeypatch, design):
    monkeypatch.setattr(coordinate, "_path_c", None)
    check_screening(design, max_iter=300)


def test_strong_set_and_kkt_violations_are_the_rule_and_its_safety_net():
    _, q = quadratic(load("diabetes"))
    top = coordinate.alpha_max(q)
    w, Gw = np.zeros(q.d), np.zeros(q.d)
    tau, _ = coordinate.penalty_weights(0.5 * top, 1.0, None, q.d)
    tau_before, _ = coordinate.penalty_weights(top, 1.0, None, q.d)
    kept = coordinate.strong_set(q, w, Gw, tau, tau_before)          # |cⱼ| ≥ 2·0.5·α_max − α_max = 0: everything
    assert np.array_equal(kept, np.arange(q.d))
    tau_before, _ = coordinate.penalty_weights(0.6 * top, 1.0, None, q.d)
    kept = coordinate.strong_set(q, w, Gw, tau, tau_before)          # |cⱼ| ≥ 0.4·α_max
    assert np.array_equal(kept, np.flatnonzero(np.abs(q.c) >= 0.4 * top))
    dropped = np.setdiff1d(np.arange(q.d), kept)
    violators = coordinate.kkt_violations(q, Gw, tau, dropped)       # at w = 0: |cⱼ| > 0.5·α_max
    assert np.array_equal(violators, dropped[np.abs(q.c[dropped]) > 0.5 * top])


def test_bad_arguments_say_what_to_give():
    _, q = quadratic(load("diabetes"))
    with pytest.raises(ConfigError, match="l1_ratio"):
        coordinate.path(q, l1_ratio=1.5)
    with pytest.raises(ConfigError, match="max_iter"):
        coordinate.path(q, max_iter=0)
    with pytest.raises(ConfigError, match="alphas"):
        coordinate.path(q, [1.0, -1.0])
    with pytest.raises(ConfigError, match="huber"):
        coordinate.from_summary(summarize([(np.eye(3), np.ones(3))]), Loss(huber=1.0))
    assert math.isinf(coordinate.distance_bound(1.0, 0.0))


def test_the_module_docstrings_example_runs():
    import doctest

    assert doctest.testmod(coordinate).failed == 0


def test_more_columns_than_rows_a_constant_column_and_a_warm_start(kernel):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((8, 20))
    X[:, 3] = 2.5                                              # constant: centred away, Gⱼⱼ = 0
    y = X[:, 0] - 2 * X[:, 1] + 0.1 * rng.standard_normal(8)
    summary, q = quadratic(type("D", (), {"X": X, "y": y})())
    path = coordinate.path(q, l1_ratio=0.9, n_alphas=30, eps=1e-2, tol=1e-12, max_iter=10**6)
    assert np.all(path.converged) and not np.any(path.coefs[:, 3])
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    assert relative(path.coefs, sk_path(Xc, yc, path.alphas, 0.9)) < PARITY
    # warm-started at the answer, the last α needs no more than one sweep and stays put
    again = coordinate.path(q, path.alphas[-1:], 0.9, tol=1e-12, max_iter=10**6, coef_init=path.coefs[-1])
    assert again.n_iter[0] <= 1 and relative(again.coefs[0], path.coefs[-1]) < PARITY


def test_a_constant_target_gives_zero_weights_everywhere(kernel):
    X = np.arange(12.0).reshape(6, 2) ** 1.5
    summary, q = quadratic(type("D", (), {"X": X, "y": np.full(6, 3.0)})())
    path = coordinate.path(q, l1_ratio=1.0, n_alphas=5)
    assert not np.any(path.coefs) and np.all(path.converged)
    assert coordinate.intercept(summary, path.coefs[0]) == pytest.approx(3.0)


def test_a_weighted_summary_gives_elasticnet_with_sample_weight():
    from gradfit.engines.stats import Summary

    data = load("diabetes")
    weight = np.random.default_rng(3).uniform(0.2, 3.0, len(data.y))
    Z = np.column_stack([data.X, data.y])
    mean = weight @ Z / weight.sum()
    centred = Z - mean
    summary = Summary(weight.sum(), mean, (centred * weight[:, None]).T @ centred)   # n = Σ sᵢ
    q = coordinate.from_summary(summary)
    alpha = 0.03 * coordinate.alpha_max(q, 0.5)
    w = coordinate.path(q, [alpha], 0.5, tol=1e-13, max_iter=10**6).coefs[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = ElasticNet(alpha=alpha, l1_ratio=0.5, tol=1e-13, max_iter=10**6).fit(data.X, data.y, sample_weight=weight)
    assert relative(w, sk.coef_) < PARITY
    assert coordinate.intercept(summary, w) == pytest.approx(sk.intercept_, rel=PARITY)


def test_the_c_loop_refuses_arrays_of_the_wrong_shape_or_type():
    if coordinate._path_c is None:      # pragma: no cover
        pytest.skip("gradfit._rules is not built here")
    d, k = 3, 2
    good = dict(G=np.eye(d), c=np.ones(d), tau=np.ones(d), kappa=np.zeros(d), alphas=np.ones(k), w=np.zeros(d),
                Gw=np.zeros(d), coefs=np.zeros((k, d)), gaps=np.zeros(k), iters=np.zeros(k))

    def call(**changed):
        a = good | changed
        coordinate._path_c(a["G"], a["c"], a["tau"], a["kappa"], a["alphas"], 1.0, a["w"], a["Gw"], a["coefs"],
                           a["gaps"], a["iters"], 10, 1.0, 1e-12, True)
        return a

    assert np.allclose(call()["coefs"], 0.0)             # α = 1 ≥ α_max = maxⱼ |cⱼ|/τⱼ = 1: w = 0
    with pytest.raises(ValueError, match="d×d"):
        call(G=np.eye(d + 1))
    with pytest.raises(ValueError, match="d×d"):
        call(coefs=np.zeros((k + 1, d)))
    with pytest.raises(TypeError, match="float64"):
        call(c=np.ones(d, dtype=np.float32))
    with pytest.raises((ValueError, BufferError)):
        call(w=np.zeros(2 * d)[::2])                    # not contiguous


# --- the default of gradfit.fit and gradfit.cv for an L1 part ------------------------------------

@pytest.mark.parametrize("penalty, l1_ratio", [("l1", 1.0), ("elasticnet", 0.5)])
@pytest.mark.parametrize("fraction", [0.5, 0.05, 0.001])
def test_fit_with_an_l1_part_is_coordinate_descent_certified_and_equal_to_elasticnet(penalty, l1_ratio, fraction):
    """Issue 20: longley's elastic net took 11.2 s by FISTA; the default is now glmnet's coordinate descent on the
    summary, certified, equal to scikit-learn's ElasticNet at a tight tolerance."""
    from sklearn.linear_model import ElasticNet

    sm = pytest.importorskip("statsmodels.api")
    data = sm.datasets.longley.load_pandas()
    X, y = data.exog.to_numpy(dtype=float), data.endog.to_numpy(dtype=float)
    top = np.max(np.abs((X - X.mean(0)).T @ (y - y.mean()))) / len(y) / l1_ratio
    alpha = fraction * top
    options = {"l1_ratio": l1_ratio} if penalty == "elasticnet" else {}
    r = gradfit.fit(X, y, penalty=penalty, alpha=alpha, **options)
    assert r.optimizer == "coordinate" and r.converged and r.gap_bound <= 1e-8
    peer = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-14, max_iter=1_000_000).fit(X, y)
    reference = np.append(peer.coef_, peer.intercept_)
    assert np.max(np.abs(r.model.theta - reference)) <= 1e-8 * np.max(np.abs(reference))
    zeros = peer.coef_ == 0
    assert np.all(np.asarray(r.model.weights)[zeros] == 0)      # the lasso's zeros are exact zeros


def test_coordinate_descent_is_refused_where_it_cannot_serve_the_run(tmp_path):
    X = np.arange(40.0).reshape(20, 2) % 7
    y = X @ [1.0, -1.0] + 0.5
    with pytest.raises(gradfit.ConfigError, match="checkpoint"):
        gradfit.fit(X, y, penalty="l1", alpha=0.1, optimizer="coordinate", checkpoint=tmp_path / "c.json")
    # the default with a checkpoint falls back to the accelerated (FISTA) rule, which can be checkpointed
    r = gradfit.fit(X, y, penalty="l1", alpha=0.1, checkpoint=tmp_path / "c.json", every=10)
    assert r.optimizer == "accelerated"

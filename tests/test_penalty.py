"""Penalties: l2 (a gradient term), l1 and elasticnet (proximal steps), in scikit-learn's scaling, on every engine."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sklearn.linear_model import ElasticNet, Lasso, Ridge

import gradfit
from gradfit import ConfigError
from real_data import load, relative_error

PARITY = 1e-8          # the bar: scikit-learn's answer to 1e-8, relative (max-norm)
SETS = ("diabetes", "stackloss", "statecrime", "r_swiss", "r_attitude", "r_lifecyclesavings")


def alpha_max(X, y, l1_ratio=1.0) -> float:
    """The least α at which the lasso's coefficients are all 0 (scikit-learn's and glmnet's path start)."""
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    return float(np.abs(Xc.T @ yc).max() / (len(y) * max(l1_ratio, 1e-3)))


def reference(penalty, alpha, l1_ratio, X, y) -> np.ndarray:
    """scikit-learn's θ = [w, b] of the same objective, run to its own tightest tolerance."""
    n = len(y)
    model = {"l2": lambda: Ridge(alpha=alpha * n, solver="svd"),   # Ridge's objective has no 1/(2n)
             "l1": lambda: Lasso(alpha=alpha, tol=1e-15, max_iter=10**6),
             "elasticnet": lambda: ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-15, max_iter=10**6)}[penalty]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    return np.append(model.coef_, model.intercept_)


def quiet_fit(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gradfit.GradfitWarning)
        return gradfit.fit(*args, **kw)


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("penalty, l1_ratio", [("l2", None), ("l1", None), ("elasticnet", 0.3)])
@pytest.mark.parametrize("fraction", [0.3, 0.01])
@pytest.mark.slow
def test_the_penalized_fit_equals_scikit_learn(name, penalty, l1_ratio, fraction):
    data = load(name)
    alpha = fraction * alpha_max(data.X, data.y, 1.0 if l1_ratio is None else l1_ratio)
    result = quiet_fit(data.X, data.y, penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, tol=1e-10)
    assert result.converged
    assert result.loss_spec.penalty.kind == penalty
    theta = reference(penalty, alpha, l1_ratio or (1.0 if penalty == "l1" else 0.0), data.X, data.y)
    assert relative_error(result.model.theta, theta) < PARITY
    if penalty != "l2":   # the lasso's zeros are exact zeros (the soft-threshold), where scikit-learn's are
        assert np.array_equal(np.array(result.model.weights) == 0, theta[:-1] == 0)


@pytest.mark.parametrize("reduction", ["sse", "mse"])
def test_the_minimiser_does_not_depend_on_the_reduction(reduction):
    data = load("diabetes")
    result = quiet_fit(data.X, data.y, penalty="l1", alpha=0.5, loss=reduction, tol=1e-10)
    assert relative_error(result.model.theta, reference("l1", 0.5, 1.0, data.X, data.y)) < PARITY


def test_ridge_with_sample_weights_equals_scikit_learn():
    data = load("r_swiss")
    weight = np.random.default_rng(1).uniform(0.5, 2, len(data.y))
    result = quiet_fit(data.X, data.y, sample_weight=weight, penalty="elasticnet", alpha=0.05, l1_ratio=0.5,
                       tol=1e-10)
    sk = ElasticNet(alpha=0.05, l1_ratio=0.5, tol=1e-15, max_iter=10**6).fit(data.X, data.y, sample_weight=weight)
    assert relative_error(result.model.theta, np.append(sk.coef_, sk.intercept_)) < PARITY


def test_solver_exact_is_ridges_closed_form_in_memory_and_from_the_summary(tmp_path):
    import pandas as pd

    data = load("diabetes")
    alpha = 0.02
    theta = reference("l2", alpha, 0.0, data.X, data.y)
    result = quiet_fit(data.X, data.y, penalty="l2", alpha=alpha, solver="exact")
    assert result.stop_reason.value == "exact" and relative_error(result.model.theta, theta) < 1e-12
    path = tmp_path / "diabetes.parquet"
    pd.DataFrame(np.column_stack([data.X, data.y]), columns=[*data.feature_names, "y"]).to_parquet(path)
    scan = gradfit.open_files(str(path), list(data.feature_names), "y")
    streamed = quiet_fit(scan, penalty="l2", alpha=alpha, solver="exact", engine="stream")
    assert streamed.engine == "stream" and relative_error(streamed.model.theta, theta) < 1e-10


@pytest.mark.slow
def test_penalty_scale_standardized_is_glmnets_convention():
    """glmnet penalizes the coefficients of the standardized features: the lasso on z = (x − m)/s, mapped back."""
    data = load("diabetes")
    m, s = data.X.mean(axis=0), data.X.std(axis=0)
    sk = Lasso(alpha=0.3, tol=1e-15, max_iter=10**6).fit((data.X - m) / s, data.y)
    w = sk.coef_ / s
    expected = np.append(w, sk.intercept_ - m @ w)
    for standardize in (True, False):
        result = quiet_fit(data.X, data.y, penalty="l1", alpha=0.3, penalty_scale="standardized", tol=1e-10,
                           standardize=standardize, **({} if standardize else {"lr": "auto", "optimizer": "accelerated"}))
        assert relative_error(result.model.theta, expected) < 1e-7
    given_scale = quiet_fit(data.X, data.y, penalty="l1", alpha=0.3, tol=1e-10)
    assert relative_error(given_scale.model.theta, expected) > 1e-3   # the two conventions differ


# --- every engine against numpy ------------------------------------------------------------------

CASES = [("l2", 0.05, None), ("l1", 0.2, None), ("elasticnet", 0.1, 0.6)]


@pytest.mark.parametrize("penalty, alpha, l1_ratio", CASES)
@pytest.mark.slow
def test_every_in_memory_engine_equals_numpy(penalty, alpha, l1_ratio):
    data = load("r_swiss")
    options = dict(penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, tol=1e-10)
    base = quiet_fit(data.X, data.y, engine="numpy", **options).model.theta
    for engine in ("python", "stats", "torch"):
        result = quiet_fit(data.X, data.y, engine=engine, **options)
        assert result.engine == engine and result.converged
        assert relative_error(result.model.theta, base) < 1e-9, engine


@pytest.mark.parametrize("penalty, alpha, l1_ratio", CASES)
@pytest.mark.slow
def test_streamed_files_equal_numpy(penalty, alpha, l1_ratio, tmp_path):
    import pandas as pd

    rng = np.random.default_rng(3)
    n, d = 30_000, 5
    X = rng.normal(size=(n, d)) * [1, 10, 0.1, 3, 1] + [0, 50, -2, 0, 7]
    y = X @ [1.0, 0.05, 0.0, -0.3, 0.0] + 4 + rng.normal(size=n)
    columns = [f"x{j}" for j in range(d)]
    for i in range(3):   # several files, several row groups, a column left unused
        rows = slice(i * n // 3, (i + 1) * n // 3)
        frame = pd.DataFrame(X[rows], columns=columns).assign(y=y[rows], unused=1.0)
        frame.to_parquet(tmp_path / f"part{i}.parquet", row_group_size=3_000)
    options = dict(penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, tol=1e-11)
    base = quiet_fit(X, y, engine="numpy", **options).model.theta
    streamed = quiet_fit(gradfit.open_files(str(tmp_path), columns, "y"), engine="stream", **options)
    assert streamed.engine == "stream" and relative_error(streamed.model.theta, base) < 1e-9


@pytest.mark.slow
def test_the_dask_engine_equals_numpy():
    import dask.array as da
    import distributed

    rng = np.random.default_rng(4)
    X = rng.normal(size=(20_000, 4)) * [1, 5, 0.2, 1] + [3, 0, 1, -1]
    y = X @ [2.0, 0.0, 1.0, -0.5] + 1 + rng.normal(size=len(X))
    options = dict(penalty="elasticnet", alpha=0.1, l1_ratio=0.7, tol=1e-11)
    base = quiet_fit(X, y, engine="numpy", **options).model.theta
    with distributed.LocalCluster(processes=False, n_workers=2, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        result = quiet_fit(da.from_array(X, chunks=(5_000, 4)), da.from_array(y, chunks=5_000), scheduler=client,
                           **options)
    assert result.engine == "dask" and relative_error(result.model.theta, base) < 1e-9


@pytest.mark.parametrize("penalty, alpha, l1_ratio", [("l2", 0.5, None), ("l1", 0.5, None), ("elasticnet", 0.5, 0.6)])
@pytest.mark.slow
def test_minibatch_sgd_approaches_the_penalized_optimum(penalty, alpha, l1_ratio):
    data = load("r_swiss")
    X, y = (data.X - data.X.mean(axis=0)) / data.X.std(axis=0), data.y - data.y.mean()
    base = quiet_fit(X, y, penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, tol=1e-10).model.theta
    sgd = dict(optimizer="sgd", lr=0.1, learning_rate="invscaling", power_t=0.6, batch_size=4, epochs=1000, tol=None)
    result = quiet_fit(X, y, penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, **sgd)
    assert relative_error(result.model.theta, base) < 0.03
    unpenalized = quiet_fit(X, y, **sgd).model.theta
    assert relative_error(unpenalized, base) > 0.2     # the penalty changed what SGD converges to


# --- the certificate ------------------------------------------------------------------------------

@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), penalty=st.sampled_from(["l2", "l1", "elasticnet"]),
       fraction=st.floats(0.01, 0.9), tol=st.sampled_from([1e-3, 1e-5, 1e-8]))
def test_the_certified_gap_bounds_the_distance_to_the_optimum(seed, penalty, fraction, tol):
    rng = np.random.default_rng(seed)
    n, d = 200, 6
    X = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * rng.uniform(0.1, 10, d) + rng.normal(0, 5, d)
    y = X @ (rng.normal(size=d) * (rng.uniform(size=d) < 0.5)) + rng.normal(size=n)
    ratio = {"l2": 0.0, "l1": 1.0, "elasticnet": 0.5}[penalty]
    alpha = fraction * alpha_max(X, y, ratio if ratio else 1.0)
    result = quiet_fit(X, y, penalty=penalty, alpha=alpha, l1_ratio=0.5 if penalty == "elasticnet" else None,
                       tol=tol)
    exact = reference(penalty, alpha, ratio, X, y)
    theta = result.model.theta
    assert result.converged and result.gap_bound <= tol
    assert np.abs(theta - exact).max() / np.abs(theta).max() <= result.gap_bound * (1 + 1e-6) + 1e-13


# --- the faces and bad input ----------------------------------------------------------------------

@pytest.mark.slow
def test_gdregressor_takes_the_penalty_and_passes_check_estimator():
    from sklearn.utils.estimator_checks import check_estimator

    data = load("diabetes")
    model = gradfit.GDRegressor(penalty="l1", alpha=0.3, tol=1e-10).fit(data.X, data.y)
    assert relative_error(np.append(model.coef_, model.intercept_), reference("l1", 0.3, 1.0, data.X, data.y)) < PARITY
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(gradfit.GDRegressor(penalty="elasticnet", alpha=0.01, l1_ratio=0.5, iters=2000))


def test_the_cli_fits_a_lasso(tmp_path, cli):
    import pandas as pd

    data = load("diabetes")
    path = tmp_path / "diabetes.csv"
    pd.DataFrame(np.column_stack([data.X, data.y]), columns=[*data.feature_names, "y"]).to_csv(path, index=False)
    x_flags = [a for name in data.feature_names for a in ("--x", name)]
    out = cli("fit", str(path), *x_flags, "--y", "y", "--penalty", "l1", "--alpha", "0.3", "--tol", "1e-12",
              "--model", str(tmp_path / "m.json"))
    assert out.code == 0, out.err
    model = gradfit.load_model(tmp_path / "m.json")
    assert relative_error(model.theta, reference("l1", 0.3, 1.0, data.X, data.y)) < PARITY
    assert "--l1-ratio" in cli("fit", "--help").out


@pytest.mark.parametrize("options, names", [
    ({"penalty": "l2", "alpha": -1}, "alpha"),
    ({"penalty": "elasticnet", "l1_ratio": 1.5}, "l1_ratio"),
    ({"penalty": "l1", "l1_ratio": 0.5}, "l1_ratio"),
    ({"penalty": "none", "alpha": 0.1}, "alpha"),
    ({"penalty": "ridge"}, "penalty"),
    ({"penalty_scale": "standardized"}, "penalty_scale"),
    ({"penalty": "l1", "solver": "exact"}, "solver"),
    ({"penalty": "l1", "optimizer": "momentum"}, "optimizer"),
])
def test_bad_penalty_options_are_refused_with_the_option_named(options, names):
    with pytest.raises(ConfigError, match=names):
        gradfit.fit([[1.0], [2.0], [3.0]], [3.0, 5.0, 7.0], **options)


def test_bad_penalty_flags_exit_2(tutorial_csv, cli):
    out = cli("fit", str(tutorial_csv), "--x", "x", "--y", "y", "--penalty", "l1", "--alpha", "-2")
    assert out.code == 2 and "alpha" in out.err and "Traceback" not in out.err


def test_the_result_carries_the_penalty():
    result = quiet_fit([[1.0], [2.0], [3.0], [4.0]], [3.0, 5.1, 6.9, 9.2], alpha=0.1)
    spec = result.loss_spec.penalty
    assert (spec.kind, spec.alpha, spec.l1_ratio, spec.scale) == ("l2", 0.1, 0.0, "given")
    assert result.options["penalty"] == "l2"


@pytest.mark.parametrize("optimizer", ["accelerated", "gd"])
def test_a_resumed_lasso_ends_with_exactly_the_uninterrupted_parameters(tmp_path, optimizer):
    """FISTA's and ISTA's state (previous iterate, its gradient, t) is checkpointed: the resumed run is bit-exact."""
    data = load("r_swiss")
    options = dict(penalty="elasticnet", alpha=0.2, l1_ratio=0.8, optimizer=optimizer, tol=None)
    if optimizer == "gd":
        options["lr"] = "auto"
    whole = quiet_fit(data.X, data.y, iters=300, **options)
    path = tmp_path / "run.json"
    quiet_fit(data.X, data.y, iters=120, checkpoint=path, every=120, **options)
    resumed = quiet_fit(data.X, data.y, iters=300, resume=path, **options)
    assert resumed.model.theta.tolist() == whole.model.theta.tolist()


def test_summary_is_refused_for_a_penalized_fit(tutorial_csv, cli):
    out = cli("fit", str(tutorial_csv), "--x", "x", "--y", "y", "--penalty", "l2", "--alpha", "0.1", "--summary")
    assert out.code == 2 and "--summary" in out.err


def test_the_fit_line_and_model_file_name_the_penalty(tmp_path, tutorial_csv, cli):
    import json

    out = cli("fit", str(tutorial_csv), "--x", "x", "--y", "y", "--penalty", "elasticnet", "--alpha", "0.1",
              "--l1-ratio", "0.3", "--model", str(tmp_path / "m.json"))
    assert out.code == 0 and "elasticnet penalty (alpha 0.1, l1_ratio 0.3)" in out.out
    meta = json.loads((tmp_path / "m.json").read_text())["metadata"]
    assert (meta["penalty"], meta["alpha"], meta["l1_ratio"]) == ("elasticnet", 0.1, 0.3)

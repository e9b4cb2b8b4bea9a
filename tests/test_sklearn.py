"""GDRegressor against scikit-learn's own estimator checks, in Pipeline/GridSearchCV, and on diabetes."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("statsmodels")

import statsmodels.api as sm  # noqa: E402
from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from gradfit import ConfigError, params  # noqa: E402
from gradfit.sklearn import ESTIMATOR_PARAMS, GDRegressor  # noqa: E402

# Every check scikit-learn ships is its own test; none is expected to fail. (The array-API check
# skips itself unless SCIPY_ARRAY_API is set, as it does for scikit-learn's own estimators.)
EXPECTED_FAILED_CHECKS: dict[str, str] = {}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([GDRegressor(iters=300)], expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS)
@pytest.mark.slow
def test_scikit_learn_estimator_check(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)   # shipped inside scikit-learn: no download


def test_diabetes_with_standardization_and_auto_rate_reaches_lstsq_and_statsmodels(diabetes):
    X, y = diabetes
    model = GDRegressor(standardize=True, lr="auto", iters=10_000, tol=None).fit(X, y)
    theta = np.append(model.coef_, model.intercept_)
    lstsq = np.linalg.lstsq(np.column_stack([X, np.ones(len(y))]), y, rcond=None)[0]
    ols = sm.OLS(y, sm.add_constant(X, prepend=False)).fit().params
    np.testing.assert_allclose(theta, lstsq, rtol=1e-6)
    np.testing.assert_allclose(theta, ols, rtol=1e-6)


def test_constructor_parameters_are_the_params_table(diabetes):
    names = set(GDRegressor().get_params())
    assert names == set(ESTIMATOR_PARAMS) | {"warm_start"}
    assert set(ESTIMATOR_PARAMS) == set(params.PARAMS) - {"dropna", "test_fraction"}
    assert all(GDRegressor().get_params()[n] == params.PARAMS[n].default for n in ESTIMATOR_PARAMS)


@pytest.mark.parametrize("name,value", [("lr", -1.0), ("momentum", 1.5), ("optimizer", "adam"), ("batch_size", 0)])
def test_invalid_hyper_parameters_are_refused_at_fit_with_the_tables_message(diabetes, name, value):
    X, y = diabetes
    with pytest.raises(ConfigError, match=f"Invalid value for {name}"):
        GDRegressor(**{name: value}).fit(X[:50], y[:50])


@pytest.mark.slow
def test_works_in_a_pipeline_and_grid_search(diabetes):
    X, y = diabetes
    pipe = make_pipeline(StandardScaler(), GDRegressor(iters=2000))
    search = GridSearchCV(pipe, {"gdregressor__optimizer": ["gd", "nesterov"], "gdregressor__loss": ["mse", "sse"]}, cv=3)
    search.fit(X, y)
    assert search.best_score_ > 0.4
    assert search.best_estimator_.predict(X[:3]).shape == (3,)


def test_fitted_attributes_follow_scikit_learn(diabetes):
    pd = pytest.importorskip("pandas")
    X, y = diabetes
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    model = GDRegressor(standardize=True, optimizer="accelerated", iters=50)
    with pytest.warns(ConvergenceWarning, match="not converge"):
        model.fit(frame, y)
    assert model.coef_.shape == (10,) and isinstance(model.intercept_, float)
    assert model.n_iter_ == 50 and len(model.loss_curve_) == 51
    assert model.n_features_in_ == 10 and list(model.feature_names_in_) == list(frame.columns)
    assert model.loss_curve_[-1] < model.loss_curve_[0]


def test_warm_start_continues_where_the_last_fit_stopped(diabetes):
    X, y = diabetes
    once = GDRegressor(standardize=True, optimizer="gd", iters=400, tol=None).fit(X, y)
    twice = GDRegressor(standardize=True, optimizer="gd", iters=200, tol=None, warm_start=True)
    twice.fit(X, y).fit(X, y)     # tol=None asks for a fixed count: no warning, as SGDRegressor
    np.testing.assert_allclose(twice.coef_, once.coef_, rtol=1e-9)


@pytest.mark.slow
def test_partial_fit_over_chunks_approaches_the_full_fit(diabetes):
    X, y = diabetes
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    model = GDRegressor(batch_size=16, learning_rate="invscaling", seed=3)
    for epoch in range(40):
        for chunk in np.array_split(np.arange(len(y)), 4):
            model.partial_fit(Z[chunk], y[chunk])
    exact = np.linalg.lstsq(np.column_stack([Z, np.ones(len(y))]), y, rcond=None)[0]
    assert model.n_iter_ == 160 and model.t_ == 40 * sum(-(-len(c) // 16) for c in np.array_split(np.arange(len(y)), 4))
    assert model.score(Z, y) > 0.99 * (1 - np.sum((Z @ exact[:-1] + exact[-1] - y) ** 2) / np.sum((y - y.mean()) ** 2))

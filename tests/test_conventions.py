"""Conventions scikit-learn users rely on: sparse X (CSR/CSC), float32 in → float32 out, one target."""

from __future__ import annotations

import numpy as np
import pytest

sp = pytest.importorskip("scipy.sparse")

import gradfit  # noqa: E402
from gradfit.data.arrays import SparseXY  # noqa: E402
from gradfit.errors import ConfigError, DataError  # noqa: E402
from gradfit.sklearn import GDRegressor  # noqa: E402


def _sparse_problem(n=4000, d=25, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.08, format="csr", random_state=seed) * 5.0
    y = X @ rng.normal(size=d) + 3.0 + 0.05 * rng.normal(size=n)
    return X, y


def _lstsq(X, y):
    return np.linalg.lstsq(np.column_stack([X, np.ones(len(y))]), y, rcond=None)[0]


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.slow
def test_sparse_x_fits_by_sparse_products_and_equals_the_dense_answer(fmt):
    X, y = _sparse_problem()
    result = gradfit.fit(X.asformat(fmt), y)
    assert result.engine == "stats" and isinstance(result.data, SparseXY)
    assert sp.issparse(result.data.X)          # never made dense
    expected = _lstsq(X.toarray(), y)
    np.testing.assert_allclose(result.model.theta, expected, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(result.model.predict(X[:5]), X[:5].toarray() @ expected[:-1] + expected[-1],
                               rtol=1e-8)
    exact = gradfit.fit(X.asformat(fmt), y, solver="exact")
    np.testing.assert_allclose(exact.model.theta, expected, rtol=1e-10, atol=1e-12)


def test_sparse_x_with_a_held_out_set_and_bad_values():
    X, y = _sparse_problem()
    result = gradfit.fit(X, y, test=(X[:200], y[:200]))
    assert result.test_metrics["r2"] > 0.99
    bad = X.copy()
    bad.data[7] = np.nan
    with pytest.raises(DataError, match="sparse.*NaN"):
        gradfit.fit(bad, y)
    bad.data[7] = 1e200
    with pytest.raises(DataError, match="too large to square"):
        gradfit.fit(bad, y)
    with pytest.raises(ConfigError, match="toarray"):
        gradfit.fit(X, y, optimizer="sgd", lr=0.01)
    with pytest.raises(ConfigError, match="toarray"):
        gradfit.fit(X, y, engine="numpy")


def test_sparse_x_with_sample_weights_equals_the_dense_weighted_fit():
    X, y = _sparse_problem(n=500)
    w = np.random.default_rng(3).uniform(0.5, 2.0, 500)
    on_sparse = gradfit.fit(X, y, sample_weight=w, solver="exact")
    dense = gradfit.fit(X.toarray(), y, sample_weight=w, solver="exact")
    np.testing.assert_allclose(on_sparse.model.theta, dense.model.theta, rtol=1e-10)


def test_a_one_hot_pipeline_on_real_data_matches_linear_regression():
    from sklearn.compose import ColumnTransformer
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    X, y = load_diabetes(return_X_y=True)
    # sex and the (discrete) s4 one-hot encoded, sparse; the rest as they are: what a pipeline hands on
    encode = ColumnTransformer([("onehot", OneHotEncoder(drop="first", min_frequency=10), [1, 7])],
                               remainder="passthrough", sparse_threshold=1.0)
    Z = encode.fit_transform(X)
    assert sp.issparse(Z)
    ours = make_pipeline(encode, GDRegressor()).fit(X, y)
    # LinearRegression on the dense matrix: on a sparse one it runs lsqr, itself only good to ~1e-5
    reference = LinearRegression().fit(Z.toarray(), y)
    np.testing.assert_allclose(ours.predict(X), reference.predict(Z.toarray()), rtol=1e-8)
    np.testing.assert_allclose(ours[-1].coef_, reference.coef_, rtol=1e-6)


def test_float32_in_gives_float32_out_as_scikit_learn():
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5, 3.0], dtype=np.float32) + 1).astype(np.float32)
    model = GDRegressor().fit(X, y)
    reference = Ridge(alpha=0.0).fit(X, y)
    assert model.coef_.dtype == reference.coef_.dtype == np.float32
    assert model.predict(X).dtype == reference.predict(X).dtype == np.float32
    assert np.asarray(model.intercept_).dtype == np.float32
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-5)
    assert GDRegressor().fit(X.astype(np.float64), y).coef_.dtype == np.float64


def test_several_targets_are_refused_with_what_to_do():
    X = np.random.default_rng(0).normal(size=(20, 2))
    Y = np.column_stack([X @ [1.0, 2.0], X @ [3.0, 4.0]])
    with pytest.raises(DataError, match="one target at a time.*per column"):
        gradfit.fit(X, Y)
    with pytest.raises(ValueError, match="1d array"):
        GDRegressor().fit(X, Y)

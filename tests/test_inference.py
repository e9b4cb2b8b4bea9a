"""The inference summary against statsmodels OLS/WLS on real data (diabetes), to 1e-6 relative."""

from __future__ import annotations

import numpy as np
import pytest

sm = pytest.importorskip("statsmodels.api")
datasets = pytest.importorskip("sklearn.datasets")

import gradfit  # noqa: E402
from gradfit import DataError  # noqa: E402

RTOL = 1e-6


@pytest.fixture(scope="module")
def diabetes():
    return datasets.load_diabetes(return_X_y=True)


def assert_matches_statsmodels(summary, reference):
    # statsmodels puts the constant last with prepend=False, as gradfit does (θ = [w, b]).
    np.testing.assert_allclose(summary.coef, reference.params, rtol=RTOL)
    np.testing.assert_allclose(summary.std_err, reference.bse, rtol=RTOL)
    np.testing.assert_allclose(summary.t, reference.tvalues, rtol=RTOL)
    np.testing.assert_allclose(summary.p_value, reference.pvalues, rtol=RTOL)
    np.testing.assert_allclose(np.column_stack([summary.ci_low, summary.ci_high]), reference.conf_int(0.05), rtol=RTOL)
    for ours, theirs in [(summary.r2, reference.rsquared), (summary.adj_r2, reference.rsquared_adj),
                         (summary.f_statistic, reference.fvalue), (summary.f_p_value, reference.f_pvalue),
                         (summary.residual_std_error, np.sqrt(reference.scale)),
                         (summary.condition_number, reference.condition_number)]:
        assert ours == pytest.approx(theirs, rel=RTOL)


@pytest.mark.parametrize("solver", ["exact", "gd"])
@pytest.mark.slow
def test_summary_matches_statsmodels_ols_on_diabetes(diabetes, solver):
    X, y = diabetes
    r = gradfit.fit(X, y, solver=solver, standardize=True, iters=10_000, tol=None)
    reference = sm.OLS(y, sm.add_constant(X, prepend=False)).fit()
    assert_matches_statsmodels(r.summary(), reference)


def test_weighted_summary_matches_statsmodels_wls(diabetes):
    X, y = diabetes
    weight = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    r = gradfit.fit(X, y, sample_weight=weight, solver="exact")
    reference = sm.WLS(y, sm.add_constant(X, prepend=False), weights=weight).fit()
    assert_matches_statsmodels(r.summary(), reference)


def test_summary_without_intercept_matches_statsmodels(diabetes):
    X, y = diabetes
    r = gradfit.fit(X[:, :4], y, fit_intercept=False, solver="exact")
    reference = sm.OLS(y, X[:, :4]).fit()
    assert_matches_statsmodels(r.summary(), reference)


def test_summary_table_names_every_coefficient(diabetes):
    X, y = diabetes
    names = [f"f{j}" for j in range(10)]
    text = str(gradfit.fit(X, y, feature_names=names, solver="exact").summary())
    for label in [*names, "const", "std err", "P>|t|", "R²", "adjusted R²", "F(10, 431)", "condition number"]:
        assert label in text


def test_summary_needs_more_rows_than_parameters():
    with pytest.warns(gradfit.errors.GradfitWarning, match="only 3 rows"):
        r = gradfit.fit([[1, 2, 3], [2, 1, 0], [0, 1, 1]], [1, 2, 3], iters=10)
    with pytest.raises(DataError, match="more rows than parameters"):
        r.summary()

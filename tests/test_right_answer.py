"""Issue 10's remaining parts: the certificate when the optimum is not unique, predict by name, zero weights.

- A Hessian singular by structure (a constant column beside the intercept, more features than rows): the
  least-squares optima form an affine set. The default run reaches one of them, the certificate bounds the
  distance to the nearest (μ = the smallest positive eigenvalue), the run is called converged, and the
  verdict says that only the predictions are determined.
- A Hessian singular only to working precision (one column a multiple of another, or collinear to 1e-8 —
  AᵀA cannot tell them apart, the data can): no certificate, so not "converged", and the warning says why.
- ``model.predict(frame)`` matches the frame's columns to the model's features by name.
- Rows of weight 0 are absent from the inference, as in R's ``lm`` (n, degrees of freedom, σ², F, p).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradfit
from gradfit.errors import DataError


def _fit_quietly(X, y, **options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = gradfit.fit(X, y, **options)
    return result, [w.category for w in caught]


def _design(X):
    return np.column_stack([X, np.ones(len(X))])


def _distance_to_the_optimum_set(theta, X, y):
    """‖θ − θ*‖ for the optimum θ* nearest θ: θ − θ* lies in range(AᵀA) and AᵀA(θ − θ*) = ∇, so θ − θ* = (AᵀA)⁺∇."""
    A = _design(X)
    gradient = A.T @ (A @ theta - y)
    return float(np.linalg.norm(np.linalg.pinv(A.T @ A, rcond=1e-13) @ gradient))


def _singular_designs():
    rng = np.random.default_rng(7)
    n = 60
    x1, x2 = rng.normal(10, 3, n), rng.normal(-4, 0.5, n)
    y = 3 * x1 - 2 * x2 + 7 + rng.normal(0, 1, n)
    yield "a column of ones beside the intercept", np.column_stack([np.ones(n), x1, x2]), y
    X = rng.normal(size=(6, 10)) * rng.uniform(0.1, 100, 10) + rng.uniform(-50, 50, 10)
    yield "more features than rows", X, rng.normal(size=6)


SINGULAR = list(_singular_designs())


@pytest.mark.parametrize("label, X, y", SINGULAR, ids=[s[0] for s in SINGULAR])
def test_a_singular_hessian_still_gets_a_certificate_that_holds(label, X, y):
    result, categories = _fit_quietly(X, y)
    assert not result.identified and result.rank < X.shape[1] + 1
    assert result.converged, result.verdict()
    assert not any(issubclass(c, gradfit.ConvergenceWarning) for c in categories)
    theta = np.asarray(result.model.theta)
    bound = result.gap_bound * np.abs(theta).max()
    assert _distance_to_the_optimum_set(theta, X, y) <= bound * (1 + 1e-6) + 1e-12
    assert result.gap_bound <= 1e-8
    # the predictions are what the data determine: those of any least-squares solution
    reference = _design(X) @ np.linalg.lstsq(_design(X), y, rcond=None)[0]
    assert np.abs(result.model.predict(X) - reference).max() <= 1e-6 * np.abs(reference).max()


def test_the_verdict_says_the_coefficients_are_not_determined():
    _, X, y = SINGULAR[0]
    result, _ = _fit_quietly(X, y)
    text = result.verdict()
    assert "not the only one" in text and f"rank {result.rank} of {X.shape[1] + 1}" in text
    assert "Hessian 的秩是" in result.verdict(lang="zh")


@pytest.mark.parametrize("delta", [0.0, 1e-9])
def test_columns_collinear_to_working_precision_are_not_called_converged(delta):
    rng = np.random.default_rng(5)
    x1, x2 = rng.normal(10, 3, 60), rng.normal(-4, 0.5, 60)
    X = np.column_stack([x1, x2, 2 * x1 + delta * rng.normal(size=60)])
    result, categories = _fit_quietly(X, 3 * x1 - 2 * x2 + 7 + rng.normal(0, 1, 60))
    assert not result.converged and result.gap_bound == float("inf")
    assert any(issubclass(c, gradfit.ConvergenceWarning) for c in categories)
    assert "singular to working precision" in result.verdict()
    assert "solver='exact'" in result.verdict() and "--solver exact" in result.verdict(voice="cli")


def test_a_full_rank_fit_is_identified():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    result, _ = _fit_quietly(X, X @ [1.0, 2.0, 3.0])
    assert result.identified and result.rank is None
    assert "not the only one" not in result.verdict()


def test_cli_fit_with_a_constant_column_exits_0(cli, tmp_path):
    _, X, y = SINGULAR[0]
    csv = tmp_path / "d.csv"
    np.savetxt(csv, np.column_stack([X, y]), delimiter=",", header="one,a,b,y", comments="", fmt="%.17g")
    run = cli("fit", csv, "--x", "one", "--x", "a", "--x", "b", "--y", "y", "--model", tmp_path / "m.json")
    assert run.code == 0, run.err


# --- predict by name ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def named_model():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"size": rng.uniform(50, 200, 30), "age": rng.uniform(0, 40, 30),
                          "rooms": rng.integers(1, 6, 30).astype(float)})
    y = 1000 * frame["size"] - 500 * frame["age"] + 3000 * frame["rooms"] + 20000
    return gradfit.fit(frame, y).model, frame


def test_predict_matches_reordered_columns_by_name(named_model):
    model, frame = named_model
    expected = model.predict(frame)
    reordered = frame[["rooms", "size", "age"]]
    np.testing.assert_array_equal(model.predict(reordered), expected)
    manual = frame.to_numpy() @ np.asarray(model.weights) + model.bias
    np.testing.assert_allclose(expected, manual, rtol=1e-12)


def test_predict_ignores_extra_columns(named_model):
    model, frame = named_model
    wider = frame.assign(colour=1.0, postcode=99.0)[["postcode", "age", "colour", "size", "rooms"]]
    np.testing.assert_array_equal(model.predict(wider), model.predict(frame))


def test_predict_names_the_missing_column(named_model):
    model, frame = named_model
    with pytest.raises(DataError, match="'age'"):
        model.predict(frame.drop(columns="age"))


def test_predict_refuses_a_frame_that_names_a_column_twice(named_model):
    pd = pytest.importorskip("pandas")
    model, frame = named_model
    doubled = pd.concat([frame, frame[["age"]]], axis=1)
    with pytest.raises(DataError, match="more than once"):
        model.predict(doubled)


def test_predict_of_a_polars_frame_by_name(named_model):
    pl = pytest.importorskip("polars")
    model, frame = named_model
    reordered = pl.from_pandas(frame[["age", "rooms", "size"]])
    np.testing.assert_array_equal(model.predict(reordered), model.predict(frame))


# --- zero weights are absent from the inference (R's lm) -------------------------------------

def test_rows_of_weight_zero_are_absent_from_the_inference():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(11)
    n = 40
    X = rng.normal(size=(n, 2))
    y = X @ [1.5, -2.0] + 4 + rng.normal(size=n)
    weight = rng.uniform(0.5, 2.0, n)
    weight[::4] = 0.0                                    # ten rows of weight 0
    result = gradfit.fit(X, y, sample_weight=weight, solver="exact")
    table = result.summary()
    keep = weight > 0
    reference = sm.WLS(y[keep], sm.add_constant(X[keep], prepend=False), weights=weight[keep]).fit()
    assert table.n_rows == keep.sum() == 30
    assert table.df_resid == reference.df_resid == 27
    np.testing.assert_allclose(table.std_err, reference.bse, rtol=1e-8)
    np.testing.assert_allclose(table.p_value, reference.pvalues, rtol=1e-6)
    assert table.f_statistic == pytest.approx(reference.fvalue, rel=1e-8)
    assert table.r2 == pytest.approx(reference.rsquared, rel=1e-10)


def test_a_diverging_streamed_sgd_is_told_to_use_lr_auto_and_that_advice_works(tmp_path):
    """lr='auto' for mini-batch SGD needs the longest row: on streamed data one more pass finds it."""
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(100, 5, 500), rng.normal(0, 0.01, 500)])
    path = tmp_path / "d.csv"
    np.savetxt(path, np.column_stack([X, X @ [2, 300] + 5]), delimiter=",", header="a,b,y", comments="", fmt="%.17g")
    scan = gradfit.open_files(path, ["a", "b"], "y")
    with pytest.raises(gradfit.DivergenceError) as info:
        gradfit.fit(scan, engine="stream", optimizer="sgd", lr=0.01)
    assert "lr='auto'" in str(info.value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gradfit.ConvergenceWarning)   # SGD on these columns is slow, not wrong
        advised = gradfit.fit(scan, engine="stream", optimizer="sgd", lr="auto", epochs=5)
    assert advised.stop_reason is not gradfit.descent.Stop.DIVERGED and np.isfinite(advised.model.theta).all()


def test_an_sgd_run_that_stops_short_says_to_raise_the_epochs_not_the_iterations():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 2)) * [1.0, 50.0] + 20.0
    y = X @ [1.0, 0.1] + rng.normal(size=400)
    with pytest.warns(gradfit.ConvergenceWarning, match=r"epoch limit \(2\).*Raise epochs"):
        r = gradfit.fit(X, y, optimizer="sgd", epochs=2, batch_size=16)
    assert "Raise epochs" in r.verdict() and "iters" not in r.verdict()
    assert "增大 epochs" in r.verdict(lang="zh") and "轮数上限" in r.verdict(lang="zh")
    with pytest.warns(gradfit.ConvergenceWarning, match=r"iteration limit \(2\).*Raise iters"):
        gradfit.fit(X, y, optimizer="accelerated", iters=2)

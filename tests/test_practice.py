"""Practitioner mode through the library: tables, standardization, weights, SGD, schedules, the
exact reference, diagnostics, warnings and the shape and missing-value guards."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradfit
from gradfit import ConfigError, DataError, descent, params
from gradfit.loss import Loss, extreme_eigenvalues
from gradfit.data import XY
from gradfit.engines.numpy import NumpyObjective
from gradfit.errors import GradfitWarning


def table(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(50, 10, n), rng.normal(0, 0.01, n), rng.uniform(0, 1000, n)])
    y = X @ [2.0, 300.0, -0.01] + 7 + rng.normal(0, 1, n)
    return X, y


def lstsq(X, y, weight=None):
    A = np.column_stack([X, np.ones(len(y))])
    s = np.ones(len(y)) if weight is None else np.sqrt(weight)
    return np.linalg.lstsq(A * s[:, None], y * s, rcond=None)[0]


# --- tables and names ----------------------------------------------------------------------

def test_feature_names_of_pandas_and_polars_frames_are_carried_into_the_model(tmp_path):
    pd, pl = pytest.importorskip("pandas"), pytest.importorskip("polars")
    X, y = table()
    columns = {"age": X[:, 0], "dose": X[:, 1], "income": X[:, 2]}
    for frame, target in [(pd.DataFrame(columns), pd.Series(y, name="price")),
                          (pl.DataFrame(columns), pl.Series("price", y))]:
        r = gradfit.fit(frame, target, solver="exact")
        assert r.model.feature_names == ("age", "dose", "income") and r.model.target_name == "price"
        assert "income" in str(r.model) and "income" in str(r.summary())
        gradfit.save_model(r.model, tmp_path / "m.json")
        assert gradfit.load_model(tmp_path / "m.json").feature_names == ("age", "dose", "income")


def test_torch_tensors_are_accepted_as_data():
    torch = pytest.importorskip("torch")
    X, y = table()
    r = gradfit.fit(torch.tensor(X), torch.tensor(y).view(-1, 1), solver="exact")
    np.testing.assert_allclose(r.model.theta, lstsq(X, y), rtol=1e-9)
    assert r.engine == "torch"   # tensors stay with PyTorch under engine "auto"
    assert gradfit.fit(torch.tensor(X), torch.tensor(y), engine="numpy", iters=3).engine == "numpy"


def test_a_categorical_column_is_named_with_a_suggestion_to_encode_it():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"size": [1.0, 2, 3, 4], "city": pd.Categorical(["a", "b", "a", "c"])})
    with pytest.raises(DataError, match="Column 'city'.*not numeric.*one-hot"):
        gradfit.fit(frame, [1, 2, 3, 4])


# --- shape guards and missing values -------------------------------------------------------

def test_y_as_a_column_is_accepted_and_x_as_a_flat_vector_is_one_feature():
    r = gradfit.fit(np.array([1.0, 2, 3]), np.array([[3.0], [5], [7]]), solver="exact")
    assert r.model.weights == pytest.approx((2.0,)) and r.model.bias == pytest.approx(1.0)


@pytest.mark.parametrize("X,y,message", [
    (np.ones((4, 2)), np.ones((4, 2)), r"y must be one value per row.*\(4, 2\)"),
    (np.ones((2, 2, 2)), np.ones(2), "X must be 2-D"),
    (np.ones((4, 2)), np.ones(3), "X has 4 rows but y has 3"),
    (np.ones((4, 2)), np.ones((1, 4)), r"y must be one value per row.*\(1, 4\)"),
])
def test_shapes_that_would_broadcast_silently_are_refused(X, y, message):
    with pytest.raises(DataError, match=message):
        gradfit.fit(X, y)


def test_missing_values_are_counted_per_column_or_dropped():
    X = np.array([[1, np.nan], [2, 1], [np.nan, np.nan], [4, 3], [5, 5], [6, 2], [7, 9], [8, 1]], dtype=float)
    y = np.array([3, 5, 7, np.nan, 11.0, 12, 16, 15])
    with pytest.raises(DataError) as info:
        gradfit.fit(X, y)
    message = str(info.value)
    assert "'x1' has 1 missing value" in message and "'x2' has 2 missing values" in message
    assert "'y' has 1 missing value" in message and "--dropna" in message
    r = gradfit.fit(X, y, dropna=True, solver="exact")
    assert r.data.n_rows == 5
    np.testing.assert_allclose(r.model.theta, lstsq(X[[1, 4, 5, 6, 7]], y[[1, 4, 5, 6, 7]]), rtol=1e-12)


# --- standardization -----------------------------------------------------------------------

@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.slow
def test_standardized_descent_reports_coefficients_on_the_original_scale(fit_intercept):
    X, y = table()
    r = gradfit.fit(X, y, standardize=True, fit_intercept=fit_intercept, optimizer="nesterov", iters=5000, tol=None)
    exact = lstsq(X, y) if fit_intercept else np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(r.model.theta, exact, rtol=1e-8)
    np.testing.assert_allclose(r.history.theta[-1], r.model.theta)   # the history is on the original scale too
    # On the original scale the same budget gets nowhere near: that is why standardization exists.
    raw = gradfit.fit(X, y, fit_intercept=fit_intercept, optimizer="nesterov", iters=5000, tol=None, standardize=False)
    assert raw.param_gap > 100 * r.param_gap


def test_standardized_history_gradients_are_the_gradients_on_the_original_scale():
    X, y = table()
    r = gradfit.fit(X, y, standardize=True, iters=5, tol=None)
    objective = NumpyObjective(X, y, Loss("mse"))
    for theta, grad in zip(r.history.theta, r.history.gradient):
        np.testing.assert_allclose(grad, objective.loss_and_gradient(theta)[1], rtol=1e-7, atol=1e-9)


def test_a_constant_column_is_named_not_divided_by_zero():
    X, y = table()
    X = np.column_stack([X, np.full(len(y), 3.0)])
    with pytest.warns(GradfitWarning, match="Constant column 'x4'"):
        r = gradfit.fit(X, y, standardize=True, optimizer="nesterov", iters=3000, tol=None)
    assert r.constant_features == ("x4",)
    assert r.model.weights[3] == 0.0 and all(math.isfinite(w) for w in r.model.theta)
    np.testing.assert_allclose(r.model.theta[[0, 1, 2, 4]], lstsq(X[:, :3], y), rtol=1e-8)


# --- sample weights ------------------------------------------------------------------------

@pytest.mark.parametrize("engine", ["python", "numpy"])
@pytest.mark.parametrize("loss", ["sse", "mse"])
def test_integer_weights_equal_repeated_rows(engine, loss):
    X, y = np.array([[1.0], [2], [3], [4]]), np.array([3.0, 5.5, 6.5, 9.2])
    weight = np.array([1, 3, 2, 1])
    kw = dict(engine=engine, loss=loss, iters=200, tol=None, optimizer="gd", standardize=False)
    weighted = gradfit.fit(X, y, sample_weight=weight, **kw)
    repeated = gradfit.fit(np.repeat(X, weight, axis=0), np.repeat(y, weight), **kw)
    np.testing.assert_allclose(weighted.history.theta, repeated.history.theta, rtol=1e-10, atol=1e-12)
    assert weighted.lambda_max == pytest.approx(repeated.lambda_max, rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), loss=st.sampled_from(["sse", "mse"]), fit_intercept=st.booleans())
def test_python_and_numpy_engines_agree_with_weights(seed, loss, fit_intercept):
    rng = np.random.default_rng(seed)
    X, y, weight = rng.normal(size=(8, 2)), rng.normal(size=8), rng.uniform(0, 3, size=8)
    a, b = (gradfit.fit(X, y, sample_weight=weight, engine=e, loss=loss, fit_intercept=fit_intercept, iters=30, tol=None,
                        optimizer="gd", standardize=False) for e in ("python", "numpy"))
    np.testing.assert_allclose(a.history.theta, b.history.theta, rtol=1e-10, atol=1e-13)


def test_weighted_fit_reaches_weighted_least_squares():
    X, y = table()
    weight = np.random.default_rng(1).uniform(0.1, 5, size=len(y))
    r = gradfit.fit(X, y, sample_weight=weight, standardize=True, optimizer="nesterov", iters=5000, tol=None)
    np.testing.assert_allclose(r.model.theta, lstsq(X, y, weight), rtol=1e-8)


def test_negative_weights_are_refused():
    with pytest.raises(DataError, match="negative"):
        gradfit.fit([1, 2, 3], [3, 5, 7], sample_weight=[1, -1, 1])


# --- mini-batch SGD, schedules, stopping ---------------------------------------------------

def test_iter_batches_covers_every_row_once_per_epoch_in_a_seeded_order():
    X = np.arange(20.0).reshape(10, 2)
    objective = NumpyObjective(X, np.arange(10.0), Loss("mse"))
    orders = []
    for seed in (7, 7, 8):
        batches = list(objective.iter_batches(3, np.random.default_rng(seed)))
        assert [len(b[1]) for b in batches] == [3, 3, 3, 1]
        rows = np.concatenate([b[1] for b in batches])
        assert sorted(rows.tolist()) == list(range(10))
        orders.append(rows.tolist())
    assert orders[0] == orders[1] != orders[2]


def test_sgd_is_reproducible_with_a_seed_and_settles_with_invscaling():
    X, y = table(200)
    runs = [gradfit.fit(X, y, optimizer="sgd", standardize=True, batch_size=8, epochs=60, learning_rate="invscaling",
                        power_t=0.5, seed=s, tol=None) for s in (1, 1, 2)]
    assert runs[0].model == runs[1].model != runs[2].model
    assert runs[0].n_updates == 60 * 25 and runs[0].n_iter == 60
    assert runs[0].param_gap < 1e-2
    assert "epoch" in runs[0].verdict()


def test_auto_rate_for_sgd_is_safe_with_single_rows_on_badly_scaled_data():
    X, y = table(100)
    r = gradfit.fit(X, y, optimizer="sgd", batch_size=1, epochs=5, tol=None)
    assert math.isfinite(r.loss) and r.loss < r.history.loss[0]


def test_learning_rate_schedules_use_scikit_learn_names():
    assert descent.learning_rate_schedule("constant", 0.5)(100) == 0.5
    invscaling = descent.learning_rate_schedule("invscaling", 0.5, power_t=0.5)
    assert [invscaling(t) for t in (1, 4, 16)] == [0.5, 0.25, 0.125]


def test_n_iter_no_change_waits_for_that_many_quiet_iterations():
    X, y = table()
    kwargs = dict(standardize=True, tol=1e-6, iters=10_000, optimizer="accelerated")
    one, five = gradfit.fit(X, y, n_iter_no_change=1, **kwargs), gradfit.fit(X, y, n_iter_no_change=5, **kwargs)
    assert one.converged and five.converged and five.n_iter >= one.n_iter + 4
    changes = [descent.relative_change(a, b) for a, b in zip(five.history.loss, five.history.loss[1:])]
    assert all(c <= 1e-6 for c in changes[-5:])


# --- the exact reference, gaps and verdict ---------------------------------------------------

def test_exact_solver_is_the_least_squares_optimum():
    X, y = table()
    r = gradfit.fit(X, y, solver="exact")
    np.testing.assert_allclose(r.model.theta, lstsq(X, y), rtol=1e-10)   # lstsq keeps ~12 digits here; exact, all
    assert r.n_iter == 0 and r.converged and r.param_gap == 0.0 and "Exact" in r.verdict()


def test_history_records_the_gap_to_the_exact_optimum_per_iteration():
    X, y = table()
    r = gradfit.fit(X, y, standardize=True, iters=300, tol=None)
    h = r.history
    assert len(h.loss_gap) == len(h.param_gap) == len(h) == 301
    assert h.loss_gap == pytest.approx([loss - r.loss_exact for loss in h.loss])
    assert all(a >= b - 1e-9 for a, b in zip(h.loss_gap, h.loss_gap[1:]))   # GD with 1/L never increases the loss
    assert h.param_gap[0] == pytest.approx(1.0) and h.param_gap[-1] < 1e-3


def test_verdicts_say_converged_limit_or_diverged_with_what_to_change():
    X, y = table()
    assert gradfit.fit(X, y).verdict().startswith("Converged after")
    with pytest.warns(gradfit.ConvergenceWarning, match="iters"):
        short = gradfit.fit(X, y, iters=20, optimizer="gd", standardize=False)
    limit, flags = short.verdict(), short.verdict(voice="cli")
    assert "Did not converge" in limit and "standardize=True" in limit and "of the exact optimum" in limit
    assert "--standardize" in flags and "--iters" in flags and "--solver exact" in flags
    with pytest.raises(gradfit.DivergenceError) as info:
        gradfit.fit([1, 2, 3], [3, 5, 7], lr=0.1, loss="sse")
    assert info.value.result.verdict().startswith("Diverged") and "lr='auto'" in info.value.result.verdict()
    assert "--lr auto" in info.value.result.verdict(voice="cli")


# --- warnings: the fit still runs ------------------------------------------------------------

def test_near_collinear_features_are_named_and_the_fit_still_runs():
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(3, 50))
    X = np.column_stack([a, b, c, a + 2 * b + 1e-6 * rng.normal(size=50)])
    with pytest.warns(GradfitWarning, match=r"'x1', 'x2', 'x4' are \(nearly\) collinear"):
        r = gradfit.fit(X, a + c, iters=50)
    assert math.isfinite(r.loss)


def test_more_features_than_rows_warns_and_still_fits():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(5, 8)), rng.normal(size=5)
    with pytest.warns(GradfitWarning, match="8 features but only 5 rows"):
        r = gradfit.fit(X, y, iters=3000, tol=None)
    np.testing.assert_allclose(r.model.predict(X), y, atol=1e-6)   # interpolates, as any optimum does


def test_well_conditioned_data_give_no_warning():
    X, y = table()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gradfit.fit(X, y, standardize=True)


# --- the automatic learning rate -------------------------------------------------------------

def test_auto_rate_converges_on_badly_scaled_data_without_tuning():
    X, y = table()
    r = gradfit.fit(X * 1e6, y, iters=200, tol=None, optimizer="accelerated")
    assert r.lr == pytest.approx(1 / r.lambda_max) and not r.diverged
    assert all(a >= b - 1e-6 * a for a, b in zip(r.history.loss, r.history.loss[1:]))


@pytest.mark.slow
def test_lanczos_for_many_features_agrees_with_the_eigendecomposition():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(700, 600))
    H = A.T @ A
    low, high = extreme_eigenvalues(H)
    eigenvalues = np.linalg.eigvalsh(H)
    assert high == pytest.approx(float(eigenvalues[-1]), rel=1e-9)
    assert low == pytest.approx(float(eigenvalues[0]), rel=1e-6)


# --- held-out metrics and the params table -----------------------------------------------------

def test_test_fraction_holds_out_a_seeded_part_and_reports_its_metrics():
    X, y = table(100)
    a, b = (gradfit.fit(X, y, test_fraction=0.25, seed=4, solver="exact") for _ in range(2))
    assert a.data.n_rows == 75 and a.test_data.n_rows == 25
    assert a.test_metrics == b.test_metrics and set(a.test_metrics) == {"mse", "rmse", "mae", "r2"}
    assert gradfit.fit(X, y, test_fraction=0.25, seed=5, solver="exact").test_metrics != a.test_metrics


def test_a_test_set_gives_test_metrics():
    X, y = table(100)
    r = gradfit.fit(X[:80], y[:80], test=(X[80:], y[80:]), solver="exact")
    prediction = r.model.predict(X[80:])
    assert r.test_metrics["mse"] == pytest.approx(np.mean((prediction - y[80:]) ** 2))


def _invalid_values(p: params.Param):
    if p.kind == "choice":
        return ["no-such-choice", 3]
    if p.kind == "bool":
        return ["yes", 2]
    if p.kind == "floats":
        return [[1.0, float("nan")], "ab"]
    bad = ["not-a-number", float("nan")] if p.kind == "float" else ["x", 1.5]
    if p.low is not None:
        bad.append(p.low - 1)
    if p.high is not None:
        bad.append(p.high + 1)
    return bad


@pytest.mark.parametrize("name", list(params.PARAMS))
def test_every_parameter_of_the_table_refuses_invalid_values(name):
    for value in _invalid_values(params.PARAMS[name]):
        with pytest.raises(ConfigError, match=f"Invalid value for {name}"):
            gradfit.fit([1, 2, 3], [3, 5, 7], **{name: value})


def test_inconsistent_options_are_config_errors():
    with pytest.raises(ConfigError, match="python engine"):
        gradfit.fit([1, 2, 3], [3, 5, 7], optimizer="sgd", engine="python")
    with pytest.raises(ConfigError, match="weights"):
        gradfit.fit([1, 2, 3], [3, 5, 7], optimizer="sgd", sample_weight=[1, 2, 1])
    with pytest.raises(ConfigError, match="not both"):
        gradfit.fit([1, 2, 3, 4], [3, 5, 7, 9], test=([5], [11]), test_fraction=0.5)
    with pytest.raises(TypeError, match="learning_rat"):
        gradfit.fit([1, 2, 3], [3, 5, 7], learning_rat="constant")


def test_fit_accepts_validated_data():
    data = XY(np.array([[1.0], [2], [3]]), np.array([3.0, 5, 7]), ("x",))
    assert gradfit.fit(data, solver="exact").model.weights == pytest.approx((2.0,))


def test_a_schedule_continues_from_earlier_updates():
    from gradfit.fit import fit_data

    data = XY(np.array([[1.0], [2], [3]]), np.array([3.0, 5, 7]), ("x",))
    r = fit_data(data, lr=0.01, loss="sse", iters=1, tol=None, init=(1.0, 0.0), learning_rate="invscaling",
                 power_t=0.5, updates_before=3)
    np.testing.assert_allclose(r.history.theta[1], [1 + 0.01 / 2 * 40, 0 + 0.01 / 2 * 18], rtol=1e-15)

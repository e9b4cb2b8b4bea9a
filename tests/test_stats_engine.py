"""The stats engine: one pass to a mergeable summary, then the numpy engine's iterates from it."""

from __future__ import annotations

import numpy as np
import pytest
from strd import (LONGLEY_CERTIFIED, LONGLEY_R2, LONGLEY_X, LONGLEY_Y, digits, exact_least_squares,
                  filip_like)

import gradfit
from conftest import objective as make_objective
from gradfit import exact
from gradfit.data.arrays import XY
from gradfit.engines import STATS_MIN_ROWS, choose_engine
from gradfit.engines.stats import StatsObjective, Summary, array_blocks, summarize
from gradfit.exact import OPTIMUM_DIGITS
from gradfit.loss import Loss, extreme_eigenvalues
from gradfit.metrics import from_sse


def tree_merge(summaries):
    """Merge pairwise, level by level (the shape of the Dask engine's tree reduction)."""
    while len(summaries) > 1:
        pairs = [summaries[i:i + 2] for i in range(0, len(summaries), 2)]
        summaries = [p[0].merge(p[1]) if len(p) == 2 else p[0] for p in pairs]
    return summaries[0]


def lambda_max(objective):
    return extreme_eigenvalues(objective.loss.hessian(objective.gram(), objective.n_rows))[1]


RTOL = 1e-9  # stats against numpy, float64


def shifted_data(n=3000, seed=0):
    """Columns with large means and different scales: what centring is for."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)) * [1.0, 10.0, 0.1] + [1e3, -50.0, 7.0]
    y = X @ [0.5, -2.0, 30.0] + 4.0 + rng.standard_normal(n)
    return X, y


def rel_err(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


@pytest.mark.parametrize("loss", ["sse", "mse"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_every_iterate_matches_the_numpy_engine(loss, fit_intercept, momentum):
    X, y = shifted_data()
    opts = dict(iters=300, tol=None, loss=loss, fit_intercept=fit_intercept, momentum=momentum, standardize=False,
                optimizer="gd")
    reference = gradfit.fit(X, y, engine="numpy", **opts)
    stats = gradfit.fit(X, y, engine="stats", **opts)
    assert stats.engine == "stats" and stats.lr == pytest.approx(reference.lr, rel=RTOL)
    ref_theta, theta = np.array(reference.history.theta)[1:], np.array(stats.history.theta)[1:]
    assert rel_err(theta, ref_theta) < RTOL
    assert rel_err(stats.history.loss, reference.history.loss) < RTOL
    assert stats.metrics["r2"] == pytest.approx(reference.metrics["r2"], rel=1e-12)


def test_summaries_merge_to_the_summary_of_the_whole():
    X, y = shifted_data(5000)
    whole = Summary.of_block(X, y)
    sequential = summarize(array_blocks(X, y, rows=333))
    tree = tree_merge([Summary.of_block(Xb, yb) for Xb, yb in array_blocks(X, y, rows=700)])
    for merged in (sequential, tree):
        assert merged.n == whole.n
        np.testing.assert_allclose(merged.mean, whole.mean, rtol=1e-13)
        np.testing.assert_allclose(merged.M, whole.M, rtol=1e-11)


def test_lambda_max_and_loss_match_the_numpy_engine():
    X, y = shifted_data()
    stats = make_objective("stats", X, y, loss="mse", fit_intercept=True)
    numpy = make_objective("numpy", X, y, loss="mse", fit_intercept=True)
    assert lambda_max(stats) == pytest.approx(lambda_max(numpy), rel=1e-12)
    theta = np.array([0.4, -1.0, 20.0, 3.0])
    (loss_s, grad_s), (loss_n, grad_n) = stats.loss_and_gradient(theta), numpy.loss_and_gradient(theta)
    assert loss_s == pytest.approx(loss_n, rel=1e-12)
    np.testing.assert_allclose(grad_s, grad_n, rtol=1e-10)


def test_longley_optimum_and_r2_match_the_certified_values():
    objective = StatsObjective.from_arrays(LONGLEY_X, LONGLEY_Y, Loss("sse"))
    theta = exact.from_summary(objective.summary, True, objective.rescan)
    assert digits(theta, LONGLEY_CERTIFIED) >= 11       # NIST's log relative error, worst coefficient
    sse = objective.loss_and_gradient(theta)[0]
    assert from_sse(sse, objective.n_rows, objective.summary.M[-1, -1])["r2"] == pytest.approx(LONGLEY_R2, rel=1e-11)


def test_ill_conditioned_polynomial_takes_the_qr_pass():
    X, y = filip_like(degree=7)
    certified = exact_least_squares(X, y)
    objective = StatsObjective.from_arrays(X, y, Loss("sse"))
    assert exact.expected_digits(objective.summary.M) < OPTIMUM_DIGITS   # the co-moments alone would keep ~3 digits
    # without a second pass there is no trusted answer
    assert exact.from_summary(objective.summary, True, objective.rescan, second_pass=False) is None
    with pytest.warns(gradfit.GradfitWarning, match="second, QR-based pass"):
        theta = exact.from_summary(objective.summary, True, objective.rescan)
    assert digits(theta, certified) >= 7                      # QR keeps what lstsq keeps


def test_stats_fit_over_a_stream_skips_the_second_pass_for_its_diagnostics(tmp_path):
    import warnings

    import pyarrow as pa
    import pyarrow.parquet as pq

    from gradfit.data.files import open_files

    X, y = filip_like(degree=7)
    pq.write_table(pa.table({f"x{j}": X[:, j] for j in range(X.shape[1])} | {"y": y}), tmp_path / "f.parquet")
    scan = open_files(str(tmp_path / "f.parquet"), [f"x{j}" for j in range(X.shape[1])], "y")
    with warnings.catch_warnings():
        warnings.simplefilter("error", gradfit.GradfitWarning)   # no QR pass, so no warning about one
        r = gradfit.fit(scan, None, engine="stream", iters=5, tol=None)
    assert r.theta_exact is None and r.param_gap is None
    with pytest.warns(gradfit.GradfitWarning, match="QR-based pass"):
        exact = gradfit.fit(open_files(str(tmp_path / "f.parquet"), [f"x{j}" for j in range(X.shape[1])], "y"),
                            None, engine="stream", solver="exact")
    assert digits(exact.model.theta, exact_least_squares(X, y)) >= 7


def test_auto_chooses_stats_for_full_batch_runs_over_many_rows():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((STATS_MIN_ROWS, 2)), rng.standard_normal(STATS_MIN_ROWS)
    data = XY(X, y, ("a", "b"))
    assert choose_engine(data) == "stats"
    assert choose_engine(XY(X[:100], y[:100], ("a", "b"))) == "numpy"
    assert choose_engine(data, dtype="float32") == "numpy"
    assert choose_engine(data, optimizer="sgd") == "numpy"
    assert choose_engine(data, weighted=True) == "numpy"
    assert gradfit.fit(X, y, iters=5).engine == "stats"


def test_stats_refuses_float32():
    with pytest.raises(gradfit.ConfigError, match="float64"):
        gradfit.fit([1, 2, 3], [3, 5, 7], engine="stats", dtype="float32")

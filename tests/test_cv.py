"""One-pass cross-validation along a regularization path: the folds' summaries, the path, scikit-learn's CV errors."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import ElasticNetCV, LassoCV, Ridge

import gradfit
from gradfit import ConfigError
from gradfit.data.files import Scan
from gradfit.engines.stats import fold_of, fold_summaries, summarize
from real_data import load

PARITY = 1e-8


def splits(n: int, folds: int, seed: int = 0):
    """gradfit's folds as scikit-learn's (train, test) index pairs."""
    fold = fold_of(np.arange(n), folds, seed)
    return [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(folds)]


def relative(a, b) -> float:
    return float(np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max())


def test_folds_are_a_seeded_hash_of_the_row_index():
    rows = np.arange(100_000)
    fold = fold_of(rows, 5, seed=0)
    assert set(np.unique(fold)) == set(range(5))
    assert np.abs(np.bincount(fold) / len(rows) - 0.2).max() < 0.01          # balanced
    assert np.array_equal(fold[1234:5678], fold_of(rows[1234:5678], 5, 0))  # the row's position alone decides
    assert (fold_of(rows, 5, seed=1) != fold).mean() > 0.7                  # another seed, other folds


def test_the_training_summary_is_the_total_minus_the_fold():
    data = load("macrodata")
    parts = fold_summaries([(data.X[:100], data.y[:100]), (data.X[100:], data.y[100:])], 4, seed=3)
    total = summarize([(data.X, data.y)])
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)
    assert merged.n == total.n and relative(merged.M, total.M) < 1e-12
    for (train, _), part in zip(splits(len(data.y), 4, 3), parts):
        direct = summarize([(data.X[train], data.y[train])])
        rest = total.minus(part)
        assert rest.n == direct.n and relative(rest.mean, direct.mean) < 1e-12 and relative(rest.M, direct.M) < 1e-10


@pytest.mark.parametrize("name", ["diabetes", "statecrime", "r_swiss"])
@pytest.mark.slow
def test_lasso_cv_errors_equal_lassocv(name):
    data = load(name)
    result = gradfit.cv(data.X, data.y, penalty="l1", alphas=30, folds=5, tol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = LassoCV(alphas=result.alphas, cv=splits(len(data.y), 5), tol=1e-15, max_iter=10**6).fit(data.X, data.y)
    assert np.allclose(sk.alphas_, result.alphas, rtol=1e-15)
    assert relative(result.mse_path, sk.mse_path_) < PARITY
    assert result.alpha_min == sk.alpha_ == result.alpha
    assert relative(result.mse_se, sk.mse_path_.std(axis=1, ddof=1) / np.sqrt(5)) < 1e-6
    best = np.argmin(result.mse_mean)
    assert result.alpha_1se == result.alphas[np.flatnonzero(result.mse_mean <= result.mse_mean[best]
                                                            + result.mse_se[best])[0]] >= result.alpha_min
    # the path starts where every weight is 0, as scikit-learn's own grid does
    assert np.allclose(result.alphas[0], LassoCV(alphas=30, cv=3).fit(data.X, data.y).alphas_[0], rtol=1e-12)


@pytest.mark.slow
def test_elasticnet_cv_errors_equal_elasticnetcv():
    data = load("diabetes")
    result = gradfit.cv(data.X, data.y, penalty="elasticnet", l1_ratio=0.4, alphas=20, folds=4, seed=7, tol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = ElasticNetCV(l1_ratio=0.4, alphas=result.alphas, cv=splits(len(data.y), 4, 7), tol=1e-15,
                          max_iter=10**6).fit(data.X, data.y)
    assert relative(result.mse_path, sk.mse_path_) < PARITY and result.alpha_min == sk.alpha_


def test_ridge_cv_errors_equal_ridge_fold_by_fold():
    data = load("stackloss")
    result = gradfit.cv(data.X, data.y, penalty="l2", alphas=[10.0, 1.0, 0.1, 0.01], folds=3)
    for k, (train, test) in enumerate(splits(len(data.y), 3)):
        for i, alpha in enumerate(result.alphas):   # Ridge's objective has no 1/(2n): its alpha is n_train·α
            model = Ridge(alpha=alpha * len(train), solver="svd").fit(data.X[train], data.y[train])
            mse = np.mean((model.predict(data.X[test]) - data.y[test]) ** 2)
            assert abs(result.mse_path[i, k] - mse) <= PARITY * mse


@pytest.mark.slow
def test_the_model_at_the_chosen_alpha_is_the_penalized_fit():
    data = load("diabetes")
    for select in ("min", "1se"):
        result = gradfit.cv(data.X, data.y, penalty="l1", alphas=20, select=select, tol=1e-10)
        assert result.alpha == (result.alpha_min if select == "min" else result.alpha_1se)
        direct = gradfit.fit(data.X, data.y, penalty="l1", alpha=result.alpha, tol=1e-10)
        assert relative(result.model.theta, direct.model.theta) < 1e-8
        assert result.result.loss_spec.penalty.alpha == result.alpha
    assert result.coef_path.shape == (20, 11) and not np.any(result.coef_path[0, :-1])


def _parquet_parts(tmp_path, X, y, files=3):
    names = [f"x{j}" for j in range(X.shape[1])]
    for i in range(files):
        rows = slice(i * len(y) // files, (i + 1) * len(y) // files)
        pd.DataFrame(X[rows], columns=names).assign(y=y[rows], unused=0.5).to_parquet(
            tmp_path / f"part{i}.parquet", row_group_size=2_000)
    return names


def test_a_streamed_cv_reads_the_data_exactly_once(tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(20_000, 6)) * [1, 3, 0.5, 1, 2, 1] + [0, 10, 0, -5, 0, 1]
    y = X @ [1.0, 0.0, 2.0, 0.0, -0.5, 0.0] + 3 + rng.normal(size=len(X))
    names = _parquet_parts(tmp_path, X, y)
    reads, rows = [], []
    original = Scan.column_batches

    def counted(self, *args, **kw):
        reads.append(args)
        for block in original(self, *args, **kw):
            rows.append(len(block["y"]))
            yield block

    monkeypatch.setattr(Scan, "column_batches", counted)
    streamed = gradfit.cv(gradfit.open_files(str(tmp_path), names, "y"), penalty="l1", alphas=15, folds=5)
    assert len(reads) == 1 and sum(rows) == len(y)          # one pass, every row read once
    assert streamed.result.engine == "stream"
    in_memory = gradfit.cv(X, y, penalty="l1", alphas=15, folds=5)
    assert relative(streamed.mse_path, in_memory.mse_path) < 1e-10
    assert relative(streamed.model.theta, in_memory.model.theta) < 1e-9


@pytest.mark.slow
def test_a_dask_cv_equals_the_in_memory_one():
    import dask.array as da
    import distributed

    rng = np.random.default_rng(5)
    X = rng.normal(size=(12_000, 4)) + [1, 0, 2, 0]
    y = X @ [1.0, 0.0, -1.0, 0.5] + rng.normal(size=len(X))
    in_memory = gradfit.cv(X, y, penalty="elasticnet", l1_ratio=0.5, alphas=10, folds=4)
    with distributed.LocalCluster(processes=False, n_workers=2, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        on_dask = gradfit.cv(da.from_array(X, chunks=(2_500, 4)), da.from_array(y, chunks=2_500), penalty="elasticnet",
                             l1_ratio=0.5, alphas=10, folds=4, scheduler=client)
    assert on_dask.result.engine == "dask" and on_dask.fold_sizes == in_memory.fold_sizes
    assert relative(on_dask.mse_path, in_memory.mse_path) < 1e-10


@pytest.mark.slow
def test_the_cli_cross_validates(tmp_path, cli):
    data = load("diabetes")
    path = tmp_path / "d.csv"
    pd.DataFrame(np.column_stack([data.X, data.y]), columns=[*data.feature_names, "y"]).to_csv(path, index=False)
    x_flags = [a for name in data.feature_names for a in ("--x", name)]
    out = cli("fit", str(path), *x_flags, "--y", "y", "--penalty", "l1", "--cv", "5", "--alphas", "12",
              "--model", str(tmp_path / "m.json"))
    assert out.code == 0, out.err
    expected = gradfit.cv(data.X, data.y, penalty="l1", alphas=12, folds=5)
    assert f"{expected.alpha_min:.6g}" in out.out and "one pass" in out.out
    assert relative(gradfit.load_model(tmp_path / "m.json").theta, expected.model.theta) < 1e-12
    assert "--cv" in cli("fit", "--help").out


@pytest.mark.parametrize("options, named", [
    ({"penalty": "l1", "folds": 1}, "folds"),
    ({"penalty": "l1", "alphas": 0}, "alphas"),
    ({"penalty": "l1", "alphas": [0.1, -1]}, "alphas"),
    ({"penalty": "l1", "select": "best"}, "select"),
    ({}, "penalty"),
    ({"penalty": "l1", "alpha": 0.1}, "alpha"),
    ({"penalty": "l1", "lr": 0.1}, "lr"),
    ({"penalty": "l1", "engine": "numpy"}, "engine"),
    ({"penalty": "l1", "loss": "huber"}, "huber"),
])
def test_bad_cv_options_are_refused(options, named):
    with pytest.raises(ConfigError, match=named):
        gradfit.cv(np.arange(40.0).reshape(20, 2), np.arange(20.0), **options)


def test_cv_flags_that_do_not_apply_exit_2(tutorial_csv, cli):
    out = cli("fit", str(tutorial_csv), "--x", "x", "--y", "y", "--cv", "3")
    assert out.code == 2 and "--penalty" in out.err

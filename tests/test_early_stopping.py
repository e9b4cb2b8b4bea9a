"""Early stopping on a held-out fraction: scikit-learn's early_stopping, validation_fraction, n_iter_no_change."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradfit
from gradfit import ConfigError
from gradfit.data.arrays import as_xy, split
from sklearn.datasets import load_diabetes


def load(_name):
    """scikit-learn's diabetes data as it ships (features scaled), where SGD's learning rate 0.01 is stable."""
    from types import SimpleNamespace

    X, y = load_diabetes(return_X_y=True)
    return SimpleNamespace(X=X, y=y, feature_names=tuple(f"x{j}" for j in range(X.shape[1])))

SGD = dict(optimizer="sgd", lr=0.01, epochs=300, tol=1e-3, n_iter_no_change=5, seed=0)


def test_sgd_stops_early_on_the_held_out_rows():
    data = load("diabetes")
    with warnings.catch_warnings():
        warnings.simplefilter("error", gradfit.ConvergenceWarning)    # a deliberate stop: no warning
        result = gradfit.fit(data.X, data.y, early_stopping=True, **SGD)
    assert result.stop_reason.value == "early" and result.stopped_early and not result.converged
    assert 5 < result.n_iter < 300
    assert result.n_rows == len(data.y) - round(0.1 * len(data.y))   # the held-out rows were not trained on
    assert "Stopped early" in result.verdict() and "提前停止" in result.verdict(lang="zh")


def test_the_run_is_the_plain_run_on_the_training_rows_stopped_where_the_validation_error_stalled():
    data = load("diabetes")
    result = gradfit.fit(data.X, data.y, early_stopping=True, validation_fraction=0.2, **SGD)
    train, held_out = split(as_xy(data.X, data.y), 0.2, SGD["seed"] + 1)
    errors = []

    def record(state):
        w, b = state.theta[:-1], state.theta[-1]
        errors.append(np.mean((held_out.X @ w + b - held_out.y) ** 2))

    plain = gradfit.fit(train.X, train.y, callbacks=(record,), **{**SGD, "epochs": result.n_iter, "tol": None})
    assert plain.model.theta.tolist() == result.model.theta.tolist()
    best = [min(errors[:k + 1]) for k in range(len(errors))]
    stale = 0
    for k in range(1, len(errors)):   # the rule, recomputed: no improvement by tol for 5 epochs ends the run
        stale = 0 if errors[k] < best[k - 1] * (1 - SGD["tol"]) else stale + 1
        assert (stale >= 5) == (k == len(errors) - 1)


def test_the_cli_takes_early_stopping(tutorial_csv, cli, tmp_path):
    data = load("diabetes")
    import pandas as pd

    path = tmp_path / "d.csv"
    pd.DataFrame(np.column_stack([data.X, data.y]), columns=[*data.feature_names, "y"]).to_csv(path, index=False)
    x_flags = [a for name in data.feature_names for a in ("--x", name)]
    out = cli("fit", str(path), *x_flags, "--y", "y", "--early-stopping", "--validation-fraction", "0.2",
              "--optimizer", "sgd", "--lr", "0.01", "--epochs", "300", "--tol", "1e-3", "--n-iter-no-change", "5")
    assert out.code == 0 and "Stopped early" in out.out
    assert "--validation-fraction" in cli("fit", "--help").out


@pytest.mark.parametrize("options, named", [
    ({"validation_fraction": 0.2}, "validation_fraction"),
    ({"early_stopping": True, "validation_fraction": 1.5}, "validation_fraction"),
    ({"early_stopping": True, "solver": "exact"}, "solver"),
])
def test_bad_early_stopping_options_are_refused(options, named):
    with pytest.raises(ConfigError, match=named):
        gradfit.fit(np.arange(60.0).reshape(30, 2), np.arange(30.0), **options)


def test_gdregressor_stops_early():
    data = load("diabetes")
    model = gradfit.GDRegressor(early_stopping=True, **SGD).fit(data.X, data.y)
    assert model.stop_reason_.value == "early" and model.n_iter_ < 300

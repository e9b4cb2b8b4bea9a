"""loss="huber": scikit-learn's SGDRegressor objective, checked against scipy.optimize on the same objective."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

import gradfit
from gradfit import ConfigError
from real_data import load

AGREE = 1e-6   # the bar against an independent minimiser


def objective(X, y, epsilon, alpha=0.0, l1_ratio=0.0):
    """SGDRegressor's objective: mean of ½r² (|r| ≤ ε) or ε|r| − ½ε², plus α·(ρ‖w‖₁ + (1 − ρ)/2·‖w‖²)."""
    def value_and_gradient(theta):
        w, b = theta[:-1], theta[-1]
        r = X @ w + b - y
        rho = np.where(np.abs(r) <= epsilon, 0.5 * r * r, epsilon * np.abs(r) - 0.5 * epsilon ** 2)
        psi = np.clip(r, -epsilon, epsilon) / len(y)
        value = rho.mean() + alpha * (l1_ratio * np.abs(w).sum() + (1 - l1_ratio) / 2 * w @ w)
        return value, np.append(X.T @ psi + alpha * (1 - l1_ratio) * w, psi.sum())
    return value_and_gradient


def scipy_optimum(X, y, epsilon, alpha=0.0) -> np.ndarray:
    f = objective(X, y, epsilon, alpha)
    start = np.append(np.zeros(X.shape[1]), np.median(y))
    return minimize(f, start, jac=True, method="L-BFGS-B",
                    options=dict(gtol=1e-14, ftol=1e-17, maxiter=100_000, maxcor=30)).x


def contaminated(name="diabetes", outliers=25, seed=0):
    data = load(name)
    y = data.y.copy()
    rows = np.random.default_rng(seed).choice(len(y), outliers, replace=False)
    y[rows] += 8 * y.std()
    return data.X, y


def relative(a, b) -> float:
    return float(np.abs(np.asarray(a) - b).max() / np.abs(b).max())


HUBER = dict(loss="huber", tol=1e-15, n_iter_no_change=20, iters=50_000)


@pytest.mark.parametrize("name, epsilon, alpha, engine", [
    ("diabetes", 20.0, 0.0, "numpy"), ("diabetes", 5.0, 0.01, "numpy"), ("r_swiss", 2.0, 0.0, "numpy"),
    ("stackloss", 1.0, 0.05, "numpy"), ("r_swiss", 2.0, 0.0, "torch"), ("stackloss", 1.0, 0.05, "torch")])
@pytest.mark.slow
def test_huber_equals_scipy_on_the_same_objective(name, epsilon, alpha, engine):
    X, y = contaminated(name, outliers=max(len(load(name).y) // 15, 2))
    penalty = {"penalty": "l2", "alpha": alpha} if alpha else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = gradfit.fit(X, y, epsilon=epsilon, engine=engine, **penalty, **HUBER)
    assert result.loss_spec.name == "huber" and result.engine == engine
    assert relative(result.model.theta, scipy_optimum(X, y, epsilon, alpha)) < AGREE


@pytest.mark.slow
def test_a_streamed_huber_fit_takes_a_pass_per_iteration(tmp_path, monkeypatch):
    from gradfit.data.files import Scan

    X, y = contaminated()
    names = [f"x{j}" for j in range(X.shape[1])]
    for i in range(2):
        rows = slice(i * len(y) // 2, (i + 1) * len(y) // 2)
        pd.DataFrame(X[rows], columns=names).assign(y=y[rows]).to_parquet(tmp_path / f"p{i}.parquet",
                                                                          row_group_size=100)
    reads = []
    original = Scan.column_batches

    def counted(self, *args, **kw):
        reads.append(1)
        yield from original(self, *args, **kw)

    monkeypatch.setattr(Scan, "column_batches", counted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = gradfit.fit(gradfit.open_files(str(tmp_path), names, "y"), engine="stream", epsilon=20.0, **HUBER)
    assert result.engine == "stream"
    assert len(reads) >= result.n_iter   # one pass for the summary, then one per evaluation
    assert relative(result.model.theta, scipy_optimum(X, y, 20.0)) < AGREE


@pytest.mark.slow
def test_huber_minibatch_sgd_approaches_the_optimum():
    data = load("r_swiss")
    X = (data.X - data.X.mean(axis=0)) / data.X.std(axis=0)
    y = data.y - np.median(data.y)
    optimum = scipy_optimum(X, y, 3.0)
    result = gradfit.fit(X, y, loss="huber", epsilon=3.0, optimizer="sgd", lr=0.5, learning_rate="invscaling",
                         power_t=0.5, batch_size=8, epochs=2000, tol=None)
    assert relative(result.model.theta, optimum) < 0.01


@pytest.mark.parametrize("options, named", [
    ({"epsilon": 1.0}, "epsilon"),
    ({"loss": "huber", "epsilon": 0}, "epsilon"),
    ({"loss": "huber", "solver": "exact"}, "solver"),
    ({"loss": "huber", "engine": "stats"}, "huber"),
    ({"loss": "huber", "engine": "python"}, "huber"),
])
def test_bad_huber_options_are_refused(options, named):
    with pytest.raises(ConfigError, match=named):
        gradfit.fit([[1.0], [2.0], [3.0]], [3.0, 5.0, 7.0], **options)


def test_the_help_says_a_pass_per_iteration(cli):
    text = " ".join(cli("fit", "--help").out.split())
    assert "huber" in text and "a pass per iteration" in text

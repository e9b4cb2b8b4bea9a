"""Every engine computes the same mathematics: histories compared against the python reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradfit
from conftest import objective as make_objective
from gradfit.loss import extreme_eigenvalues

# Tolerance per dtype, declared once: relative agreement with the python reference.
RTOL = {"float64": 1e-12, "float32": 1e-4}


def assert_close_to_scale(actual, reference, rtol):
    """|actual − reference| ≤ rtol·(largest |reference| in the series): relative to the run's scale,
    so that a loss that converges to 0 is compared by what rounding can do, not digit by digit."""
    actual, reference = np.asarray(actual), np.asarray(reference)
    scale = np.abs(reference).max(axis=0)
    error = np.abs(actual - reference)
    assert np.all(error <= rtol * scale), f"max error {error.max()!r} exceeds {rtol} × scale {scale!r}"


def assert_histories_agree(a, b, rtol):
    assert a.history.iteration == b.history.iteration
    assert_close_to_scale(b.history.loss, a.history.loss, rtol)
    assert_close_to_scale(b.history.theta, a.history.theta, rtol)
    assert_close_to_scale(b.history.gradient, a.history.gradient, rtol)


def test_engines_agree_on_the_tutorial():
    runs = [gradfit.fit([1, 2, 3], [3, 5, 7], lr=0.01, iters=1000, init=(1, 0), loss="sse", tol=None,
                        engine=e) for e in ("python", "numpy")]
    assert_histories_agree(*runs, RTOL["float64"])


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 40), d=st.integers(1, 5), seed=st.integers(0, 2**32 - 1),
       loss=st.sampled_from(["sse", "mse"]), intercept=st.booleans())
def test_python_and_numpy_engines_agree_on_random_data(n, d, seed, loss, intercept):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 10, size=d)
    y = X @ rng.normal(size=d) + rng.normal() + 0.1 * rng.normal(size=n)
    kw = dict(lr="auto", iters=50, tol=None, loss=loss, fit_intercept=intercept, optimizer="gd", standardize=False)
    reference = gradfit.fit(X, y, engine="python", **kw)
    vectorised = gradfit.fit(X, y, engine="numpy", **kw)
    assert_histories_agree(reference, vectorised, RTOL["float64"])


def test_float32_numpy_engine_follows_the_float64_run():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ [1.0, -2.0, 0.5] + 3
    a = gradfit.fit(X, y, engine="numpy", dtype="float64", iters=100, tol=None)
    b = gradfit.fit(X, y, engine="numpy", dtype="float32", iters=100, tol=None)
    np.testing.assert_allclose(b.model.weights, a.model.weights, rtol=RTOL["float32"])
    assert b.history.theta[-1].dtype == np.float64  # history is stored in float64 for comparison


def test_loss_and_gradient_are_the_hand_derived_formulas():
    X, y = np.array([[1.0], [2.0], [3.0]]), np.array([3.0, 5.0, 7.0])
    for engine in ("python", "numpy"):
        objective = make_objective(engine, X, y, loss="sse", fit_intercept=True)
        loss, grad = objective.loss_and_gradient(np.array([1.0, 0.0]))
        assert loss == 29 and grad.tolist() == [-40, -18]
        # the Hessian of Loss is 2·AᵀA; its largest eigenvalue decides the stable learning rate
        hessian = objective.loss.hessian(objective.gram(), objective.n_rows)
        assert extreme_eigenvalues(hessian)[1] == pytest.approx(33.279, abs=1e-3)


def test_python_engine_refuses_float32():
    with pytest.raises(gradfit.ConfigError, match="float32"):
        gradfit.fit([1, 2, 3], [3, 5, 7], engine="python", dtype="float32")

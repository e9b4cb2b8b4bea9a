"""The descent loop: monotone below the stable rate, divergence reported above it, stopping, history."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradfit
from gradfit import descent
from conftest import objective as make_objective

TUTORIAL = dict(iters=1000, init=(1.0, 0.0), loss="sse", tol=None, engine="python")


def test_stable_learning_rate_bound_for_the_tutorial():
    r = gradfit.fit([1, 2, 3], [3, 5, 7], lr=0.01, **TUTORIAL)
    assert r.lambda_max == pytest.approx(33.279, abs=1e-3)
    assert r.stable_lr == pytest.approx(0.0601, abs=1e-4)


@settings(max_examples=25, deadline=None)
@given(fraction=st.floats(0.01, 0.99), seed=st.integers(0, 1000), loss=st.sampled_from(["sse", "mse"]))
def test_loss_never_increases_below_the_stable_bound(fraction, seed, loss):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(30, 2))
    y = X @ [2.0, -1.0] + 0.5 + rng.normal(size=30)
    bound = gradfit.fit(X, y, iters=1, loss=loss, standardize=False, optimizer="gd").stable_lr
    r = gradfit.fit(X, y, lr=fraction * bound, iters=200, tol=None, loss=loss)
    losses = np.array(r.history.loss)
    assert np.all(np.diff(losses) <= 1e-12 * losses[:-1])


@pytest.mark.parametrize("lr", [0.061, 0.1, 1.0])
def test_learning_rate_above_the_bound_is_reported_as_divergence(lr):
    with pytest.raises(gradfit.DivergenceError) as info:
        gradfit.fit([1, 2, 3], [3, 5, 7], lr=lr, **TUTORIAL)
    message = str(info.value)
    assert "diverged" in message and "0.0601" in message
    partial = info.value.result
    assert partial.diverged and partial.history.loss[-1] > partial.history.loss[0]


def test_huge_learning_rate_ends_without_overflow_or_nan_in_the_model():
    with pytest.raises(gradfit.DivergenceError) as info:
        gradfit.fit([1, 2, 3], [3, 5, 7], lr=1e6, **TUTORIAL)
    assert info.value.result.n_iter < 10


def test_slow_divergence_within_few_iterations_is_still_reported():
    # at 0.061 the loss grows by only ~6% per step: ten steps never reach the explosion threshold
    with pytest.raises(gradfit.DivergenceError):
        gradfit.fit([1, 2, 3], [3, 5, 7], lr=0.061, iters=10, init=(1.0, 0.0), loss="sse", tol=None)


def test_tol_stops_when_the_loss_almost_stops_decreasing():
    r = gradfit.fit([1, 1.5, 3], [3, 5, 7], lr=0.01, iters=100_000, init=(1.0, 0.0), loss="sse", tol=1e-10)
    assert r.converged and r.stop_reason == "tol"
    assert r.n_iter < 100_000
    assert descent.relative_change(r.history.loss[-2], r.history.loss[-1]) <= 1e-10
    assert r.model.weights[0] == pytest.approx(24 / 13, rel=1e-4)


def test_without_tol_all_iterations_run():
    r = gradfit.fit([1, 1.5, 3], [3, 5, 7], lr=0.01, iters=3000, tol=None)
    assert r.n_iter == 3000 and r.stop_reason == "max_iter" and not r.converged


def test_history_memory_is_bounded_and_keeps_first_and_last():
    r = gradfit.fit([1, 2, 3], [3, 5, 7], lr=0.01, iters=5000, tol=None, history_cap=100)
    h = r.history
    assert len(h) <= 100
    assert h.iteration[0] == 0 and h.iteration[-1] == 5000
    assert h.iteration == sorted(h.iteration)
    steps = np.diff(h.iteration[:-1])
    assert len(set(steps.tolist())) == 1  # evenly thinned


def test_lr_auto_converges_without_tuning():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(100, 4)) * [1, 10, 100, 0.1]
    y = X @ [1.0, 2.0, 3.0, 4.0] + 5
    r = gradfit.fit(X, y, lr="auto", optimizer="accelerated", iters=200, tol=None)
    assert r.lr == pytest.approx(1 / r.lambda_max)
    assert r.history.loss[-1] < r.history.loss[0]
    # in the metric of the Hessian (the default) every curvature is 1: the step is 1
    d = gradfit.fit(X, y, lr="auto", iters=200, tol=None)
    assert d.optimizer == "preconditioned" and d.lr == 1.0 and d.history.loss[-1] < d.history.loss[0]


def test_momentum_follows_pytorchs_convention():
    objective = make_objective("numpy", np.array([[1.0], [2.0], [3.0]]), np.array([3.0, 5.0, 7.0]),
                               loss="sse", fit_intercept=True)
    out = descent.run(objective, [1.0, 0.0], lr=0.01, max_iter=2, rule=descent.momentum(0.9))
    g0 = np.array([-40.0, -18.0])
    theta1 = np.array([1.0, 0.0]) - 0.01 * g0          # v₁ = g₀
    g1 = objective.loss_and_gradient(theta1)[1]
    theta2 = theta1 - 0.01 * (0.9 * g0 + g1)           # v₂ = μ·v₁ + g₁
    np.testing.assert_array_equal(out.history.theta[1], theta1)
    np.testing.assert_array_equal(out.theta, theta2)
    np.testing.assert_array_equal(out.rule_state.velocity, 0.9 * g0 + g1)
    assert out.rule_state.count == 2


def test_momentum_reaches_the_optimum():
    r = gradfit.fit([1, 2, 3], [3, 5, 7], lr=0.01, momentum=0.9, iters=2000, tol=None, loss="sse")
    assert r.model.weights[0] == pytest.approx(2, abs=1e-6) and r.model.bias == pytest.approx(1, abs=1e-6)


def test_callbacks_see_every_iteration():
    seen = []
    gradfit.fit([1, 2, 3], [3, 5, 7], lr=0.01, iters=7, tol=None, callbacks=[lambda s: seen.append(s.iteration)])
    assert seen == list(range(1, 8))

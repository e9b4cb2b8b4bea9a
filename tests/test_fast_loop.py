"""The descent loop's fast paths (issue 11: ≤ 5 µs an iteration on the summary) give the reference's answers:
the fused accelerated update bit for bit, the C form of the stats objective to rounding, and the certificate's
one-dot shortcut never changes when a run stops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from real_data import load

from gradfit import descent
from gradfit.data.standardize import Standardizer
from gradfit.engines import stats
from gradfit.engines.stats import StatsObjective
from gradfit.loss import Loss
from gradfit.loss import curvature as spectrum


def numpy_form(function, *args):
    """``function(*args)`` with the C extensions switched off: the NumPy forms they replace."""
    fused, summary = descent.fused_accelerated, stats._summary
    descent.fused_accelerated, stats._summary = None, None
    try:
        return function(*args)
    finally:
        descent.fused_accelerated, stats._summary = fused, summary


def test_the_fused_update_is_built_in_this_environment():
    assert descent.fused_accelerated is not None, "gradfit._rules was not built: is a C compiler installed?"


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 40).flatmap(lambda n: st.tuples(
    st.lists(finite, min_size=n, max_size=n), st.lists(finite, min_size=n, max_size=n))),
    st.floats(0, 1), st.floats(0, 1))
@pytest.mark.slow
def test_the_fused_accelerated_update_is_the_numpy_form_bit_for_bit(vectors, beta, beta_next):
    grad, velocity = (np.array(v) for v in vectors)
    fused = descent.momentum_step(grad, velocity, beta, beta_next)
    reference = numpy_form(descent.momentum_step, grad, velocity, beta, beta_next)
    np.testing.assert_array_equal(fused[0], reference[0])
    assert (fused[1] is None) == (reference[1] is None)       # the same restart decision
    if fused[1] is not None:
        np.testing.assert_array_equal(fused[1], reference[1])


def test_the_fused_update_leaves_its_inputs_alone_and_refuses_other_dtypes_to_numpy():
    grad, velocity = np.array([1.0, -2.0, 3.0]), np.array([0.5, 0.5, -0.5])
    before = grad.copy(), velocity.copy()
    descent.momentum_step(grad, velocity, 0.3, 0.4)
    np.testing.assert_array_equal(grad, before[0])
    np.testing.assert_array_equal(velocity, before[1])
    for g, v in ((grad.astype(np.float32), velocity.astype(np.float32)), (grad[::-1], velocity[::-1])):
        got = descent.momentum_step(g, v, 0.3, 0.4)
        want = numpy_form(descent.momentum_step, g, v, 0.3, 0.4)
        np.testing.assert_array_equal(got[1], want[1])
        assert got[1].dtype == want[1].dtype


def standardized_objective(X, y, fit_intercept=True):
    loss = Loss("mse", fit_intercept)
    raw = StatsObjective.from_arrays(X, y, loss)
    names = [f"x{j}" for j in range(X.shape[1])]
    scaler = Standardizer.from_summary(raw.summary, names, fit_intercept)
    objective = raw.standardized(scaler.mean, scaler.scale)
    curvature = spectrum(loss.hessian(objective.gram(), objective.n_rows))
    return objective, curvature, scaler


def test_whole_accelerated_runs_are_bit_identical_with_and_without_the_c_paths():
    data = load("sm_longley")
    X, y = data.X, data.y
    objective, curvature, _ = standardized_objective(X, y)
    lr = 1 / curvature.lambda_max

    def run():
        return descent.run(objective, np.zeros(X.shape[1] + 1), lr=lr, max_iter=400, rule=descent.accelerated())

    fast, reference = run(), numpy_form(run)
    np.testing.assert_allclose(fast.history.thetas, reference.history.thetas, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fast.history.loss, reference.history.loss, rtol=1e-12)
    # the objective's C form rounds differently from NumPy's, so the iterates may differ in the last bits;
    # with the objective's NumPy form in both, the fused update alone must change nothing at all
    summary, stats._summary = stats._summary, None
    try:
        fused_only = run()
    finally:
        stats._summary = summary
    np.testing.assert_array_equal(fused_only.history.thetas, reference.history.thetas)
    np.testing.assert_array_equal(fused_only.history.gradient, reference.history.gradient)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.integers(0, 2**32 - 1), st.booleans(), st.sampled_from(["mse", "sse"]),
       st.floats(-1e3, 1e3))
def test_the_c_objective_equals_the_numpy_formulas(d, seed, fit_intercept, reduction, offset):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3 * d + 5, d)) * rng.uniform(0.1, 10, size=d) + offset
    y = X @ rng.normal(size=d) + rng.normal(size=X.shape[0]) + offset
    objective = StatsObjective.from_arrays(X, y, Loss(reduction, fit_intercept))
    theta = rng.normal(size=d + fit_intercept)
    loss, gradient = objective.loss_and_gradient(theta)
    reference_loss, reference_gradient = numpy_form(objective.loss_and_gradient, theta)
    residual = X @ theta[:d] + (theta[d] if fit_intercept else 0.0) - y
    scale = 1 / len(y) if reduction == "mse" else 1.0
    size = scale * (np.abs(residual) @ np.abs(np.column_stack([X, np.ones(len(y))]))).max()   # |terms| summed
    assert loss == pytest.approx(reference_loss, rel=1e-11, abs=1e-11 * scale * float(y @ y))
    np.testing.assert_allclose(gradient, reference_gradient, rtol=0, atol=1e-10 * size + 1e-300)


def test_the_c_objective_hands_lists_float32_and_strided_parameters_to_numpy():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 4))
    objective = StatsObjective.from_arrays(X, X @ [1.0, 2.0, 3.0, 4.0] + 5, Loss("mse", True))
    theta = rng.normal(size=5)
    want = numpy_form(objective.loss_and_gradient, theta)
    wide = np.zeros(10)
    wide[::2] = theta
    for given_theta in (list(theta), theta.astype(np.float32).astype(np.float64), wide[::2]):
        loss, gradient = objective.loss_and_gradient(given_theta)
        assert loss == pytest.approx(want[0], rel=1e-6)
        np.testing.assert_allclose(gradient, want[1], rtol=1e-5, atol=1e-9)
    with pytest.raises(ValueError):
        objective.loss_and_gradient(np.zeros(7))     # a θ of the wrong size is still refused


def designs():
    """Real data (uncentred, collinear) and hostile synthetic ones, the singular kind included."""
    for name in ("sm_longley", "r_swiss", "macrodata"):
        data = load(name)
        yield name, data.X, data.y
    rng = np.random.default_rng(7)
    X = rng.normal(size=(200, 6)) @ np.diag([1, 10, 100, 1e3, 1e4, 1e5]) + 50
    yield "scaled", X, X @ rng.normal(size=6) + rng.normal(size=200)
    X = np.column_stack([rng.normal(size=(60, 3)), np.full(60, 2.0)])       # a constant column beside b
    yield "singular", X, X[:, :3] @ [1.0, -2.0, 0.5] + 3 + 0.1 * rng.normal(size=60)


@pytest.mark.parametrize("name, X, y", list(designs()), ids=[name for name, *_ in designs()])
@pytest.mark.slow
def test_the_certificate_shortcut_decides_as_the_full_bound_at_every_iteration(name, X, y):
    objective, curvature, scaler = standardized_objective(X, y)
    certificate = descent.Certificate.of(curvature.mu, scaler.matrix())
    assert certificate is not None
    outcome = descent.run(objective, np.zeros(X.shape[1] + 1), lr=1 / curvature.lambda_max, max_iter=12000,
                          rule=descent.accelerated())
    thetas, gradients = outcome.history.thetas, np.array(outcome.history.gradient)
    gaps = [certificate.gap(t, g) for t, g in zip(thetas, gradients)]
    for tol in (1e-2, 1e-5, 1e-8, 1e-12):
        within = certificate.watch(tol)
        decided = [within(t, g) for t, g in zip(thetas, gradients)]
        assert decided == [gap <= tol for gap in gaps], tol
        assert any(decided) or tol == 1e-12      # the run reaches the usual tolerances, so both answers occur


@pytest.mark.parametrize("name, X, y", list(designs())[:3], ids=[name for name, *_ in list(designs())[:3]])
def test_a_run_stops_at_the_first_iteration_the_full_bound_holds(name, X, y):
    objective, curvature, scaler = standardized_objective(X, y)
    certificate = descent.Certificate.of(curvature.mu, scaler.matrix())
    gaps = []

    def full_bound(state):
        gaps.append(certificate.gap(state.theta, state.gradient))

    outcome = descent.run(objective, np.zeros(X.shape[1] + 1), lr=1 / curvature.lambda_max, max_iter=20000,
                          tol=1e-8, rule=descent.accelerated(), certificate=certificate, callbacks=(full_bound,))
    assert outcome.stop_reason is descent.Stop.TOL
    assert gaps[-1] <= 1e-8 and all(gap > 1e-8 for gap in gaps[:-1])

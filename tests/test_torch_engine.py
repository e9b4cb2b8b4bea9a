"""The torch engine: autograd against the hand-derived gradient, iterates against numpy, nn.Linear."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

import gradfit  # noqa: E402
from gradfit import ConfigError, LinearModel  # noqa: E402
from conftest import objective as make_objective  # noqa: E402

RTOL = {"float64": 1e-10, "float32": 1e-4}   # tolerance per dtype, declared once

OPTIMIZERS = ("gd", "momentum", "nesterov", "sgd")


def relative_gap(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def assert_same_iterates(X, y, dtype="float64", **options):
    runs = [gradfit.fit(X, y, engine=engine, dtype=dtype, **options) for engine in ("numpy", "torch")]
    numpy_run, torch_run = runs
    assert numpy_run.history.iteration == torch_run.history.iteration
    assert relative_gap(torch_run.history.theta, numpy_run.history.theta) <= RTOL[dtype]
    assert relative_gap(torch_run.history.loss, numpy_run.history.loss) <= RTOL[dtype]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.slow
def test_torch_iterates_equal_numpy_on_the_tutorial(optimizer):
    assert_same_iterates([[1], [2], [3]], [3, 5, 7], optimizer=optimizer, lr=0.01, loss="sse", init=(1.0, 0.0),
                         iters=1000, epochs=50, batch_size=2, tol=None)


def test_torch_float64_reproduces_the_tutorials_numbers():
    r = gradfit.fit([1, 2, 3], [3, 5, 7], engine="torch", lr=0.01, iters=1000, init=(1.0, 0.0), loss="sse", tol=None)
    assert r.history.loss[0] == 29 and r.history.gradient[0].tolist() == [-40, -18]
    assert r.model.weights[0] == pytest.approx(2.000148389025502, rel=1e-12)
    assert r.model.bias == pytest.approx(0.9996626768662412, rel=1e-12)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(4, 40), d=st.integers(1, 5), seed=st.integers(0, 2**16),
       optimizer=st.sampled_from(OPTIMIZERS), loss=st.sampled_from(["sse", "mse"]),
       fit_intercept=st.booleans(), standardize=st.booleans())
def test_torch_iterates_equal_numpy_on_random_data(n, d, seed, optimizer, loss, fit_intercept, standardize):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 3, size=d)
    y = X @ rng.normal(size=d) + rng.normal(size=n)
    assert_same_iterates(X, y, optimizer=optimizer, loss=loss, fit_intercept=fit_intercept, standardize=standardize,
                         iters=60, epochs=5, batch_size=3, seed=seed, tol=None)


def test_torch_float32_stays_close_to_numpy_float32():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    assert_same_iterates(X, X @ [1.0, -2.0, 0.5] + 1, dtype="float32", iters=100, tol=None)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), loss=st.sampled_from(["sse", "mse"]), fit_intercept=st.booleans(),
       weighted=st.booleans())
def test_autograd_gradient_equals_the_hand_derived_one(seed, loss, fit_intercept, weighted):
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(12, 3)), rng.normal(size=12)
    weight = rng.uniform(0, 2, size=12) if weighted else None
    theta = rng.normal(size=3 + fit_intercept)
    by_hand = make_objective("numpy", X, y, loss=loss, fit_intercept=fit_intercept, sample_weight=weight)
    autograd = make_objective("torch", X, y, loss=loss, fit_intercept=fit_intercept, sample_weight=weight)
    (loss_h, grad_h), (loss_a, grad_a) = by_hand.loss_and_gradient(theta), autograd.loss_and_gradient(theta)
    assert loss_a == pytest.approx(loss_h, rel=1e-12)
    np.testing.assert_allclose(grad_a, grad_h, rtol=1e-10, atol=1e-12)


@pytest.mark.slow
def test_momentum_follows_torch_optim_sgd_step_for_step():
    """gradfit's own momentum rule (numpy engine) against a plain PyTorch training loop."""
    X = torch.tensor([[1.0], [2.0], [3.0]], dtype=torch.float64)
    y = torch.tensor([3.0, 5.0, 7.0], dtype=torch.float64)
    for nesterov in (False, True):
        linear = torch.nn.Linear(1, 1, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.fill_(1.0)
            linear.bias.fill_(0.0)
        optimizer = torch.optim.SGD(linear.parameters(), lr=0.01, momentum=0.9, nesterov=nesterov)
        criterion = torch.nn.MSELoss(reduction="sum")
        for _ in range(50):
            optimizer.zero_grad()
            criterion(linear(X).squeeze(-1), y).backward()
            optimizer.step()
        r = gradfit.fit([1, 2, 3], [3, 5, 7], engine="numpy", lr=0.01, momentum=0.9, nesterov=nesterov, iters=50,
                        init=(1.0, 0.0), loss="sse", tol=None)
        assert r.model.weights[0] == pytest.approx(linear.weight.item(), rel=1e-12)
        assert r.model.bias == pytest.approx(linear.bias.item(), rel=1e-12)


def test_momentum_state_is_torch_optim_sgds_momentum_buffer():
    """gradfit's velocity is the same plain data as torch.optim.SGD's momentum buffer, step for step."""
    from gradfit import descent

    rule = descent.momentum(0.9, nesterov=True)
    state = rule.init(np.zeros(2))
    direction = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([direction], lr=1.0, momentum=0.9, nesterov=True)
    for grad in ([-40.0, -18.0], [10.0, 3.0], [-1.0, 0.5]):
        step, state = rule.update(np.array(grad), state)
        with torch.no_grad():
            direction.zero_()
        direction.grad = torch.tensor(grad, dtype=torch.float64)
        optimizer.step()   # from 0 with lr = 1, the parameter moves to exactly −step
        np.testing.assert_allclose(-direction.detach().numpy(), step, rtol=1e-15)
        np.testing.assert_allclose(optimizer.state[direction]["momentum_buffer"].numpy(), state.velocity, rtol=1e-15)
    assert state.count == 3

def test_a_fitted_model_converts_to_and_from_nn_linear():
    r = gradfit.fit([[1, 2], [2, 1], [3, 5], [4, 4]], [9, 7, 20, 19], feature_names=["a", "b"])
    linear = r.model.to_torch()
    assert isinstance(linear, torch.nn.Linear) and linear.in_features == 2
    x = torch.tensor([[5.0, 6.0]], dtype=torch.float64)
    assert linear(x).item() == pytest.approx(float(r.model.predict([[5, 6]])[0]), rel=1e-15)
    back = LinearModel.from_torch(linear, feature_names=("a", "b"))
    assert back == r.model


def test_cuda_asked_for_where_there_is_none_is_a_clear_config_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the error is for machines without it")
    with pytest.raises(ConfigError, match="cuda.*no CUDA GPU"):
        gradfit.fit([1, 2, 3], [3, 5, 7], engine="torch", device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cuda_iterates_equal_numpy(dtype):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 4))
    y = X @ [1.0, 2.0, -1.0, 0.5] + 3 + 0.1 * rng.normal(size=200)
    a = gradfit.fit(X, y, engine="numpy", dtype=dtype, iters=100, tol=None, optimizer="nesterov")
    b = gradfit.fit(X, y, engine="torch", device="cuda", dtype=dtype, iters=100, tol=None, optimizer="nesterov")
    assert relative_gap(b.history.theta, a.history.theta) <= {"float64": 1e-10, "float32": 1e-3}[dtype]


def test_torch_divergence_is_caught_by_the_shared_loop():
    with pytest.raises(gradfit.DivergenceError, match="2/h_max") as info:
        gradfit.fit([1, 2, 3], [3, 5, 7], engine="torch", lr=0.1, loss="sse", init=(1.0, 0.0))
    assert info.value.result.engine == "torch" and info.value.result.diverged


def test_torch_engine_calls_back_every_iteration_like_the_others():
    seen = []
    gradfit.fit([1, 2, 3], [3, 5, 7], engine="torch", iters=7, tol=None, callbacks=(lambda s: seen.append(s.iteration),))
    assert seen == list(range(1, 8))

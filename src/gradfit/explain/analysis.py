"""The numbers an explanation shows, read from a ``FitResult``: first step, chosen iterations,
the exact optimum, the loss over a plane of two parameters, runs at other learning rates, and
autograd's gradient. Only ``refit`` trains again, on purpose (the learning-rate comparison).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradfit import losses
from gradfit.errors import ConfigError, DivergenceError


def require_data(result):
    if result.data is None:
        raise ConfigError("This result does not carry its training data (FitResult.data is None); "
                          "fit it with gradfit.fit to explain or plot it.")
    return result.data


def fit_intercept(result) -> bool:
    return result.model.fit_intercept


def parameter_names(result) -> list[str]:
    """w, b for one feature (as in the tutorial); w[x1], w[x2], …, b for several."""
    m = result.model
    names = ["w"] if m.n_features == 1 else [f"w[{n}]" for n in m.feature_names]
    return names + (["b"] if m.fit_intercept else [])


def design(result) -> np.ndarray:
    """A = [X 1] (X alone without intercept): the loss is ‖Aθ − y‖² (times 1/n for "mse")."""
    X = np.asarray(require_data(result).X, dtype=np.float64)
    return np.column_stack([X, np.ones(len(X))]) if fit_intercept(result) else X


@dataclass(frozen=True)
class Step:
    theta0: np.ndarray
    loss0: float
    gradient0: np.ndarray
    theta1: np.ndarray
    loss1: float


def first_step(result) -> Step:
    """θ₀, Loss(θ₀), ∇Loss(θ₀), θ₁ and Loss(θ₁), as the history recorded them."""
    h = result.history
    theta0, gradient0 = np.asarray(h.theta[0]), np.asarray(h.gradient[0])
    if len(h) > 1 and h.iteration[1] == 1 and plain_gradient_descent(result):
        theta1, loss1 = np.asarray(h.theta[1]), h.loss[1]
    else:  # thinned away, or another update rule ran: θ₁ = θ₀ − λ·∇Loss(θ₀), one evaluation of the loss
        theta1 = theta0 - result.lr * gradient0
        loss1 = loss_at(result, theta1)
    return Step(theta0, h.loss[0], gradient0, theta1, loss1)


def plain_gradient_descent(result) -> bool:
    """Did the run take the tutorial's step θ ← θ − λ·∇Loss(θ) (not momentum, Nesterov or SGD)?"""
    return getattr(result, "optimizer", "gd") == "gd"


def loss_at(result, theta) -> float:
    data = require_data(result)
    r = losses.residual(data.X, data.y, np.asarray(theta, dtype=np.float64), fit_intercept(result))
    return losses.squared_error(r, result.reduction)


def chosen_iterations(history, per_decade=(1, 2, 5)) -> list[int]:
    """0, 1, 2, …, 10, then 20, 50, 100, 200, 500, 1000, … and the last: log-spaced, as recorded."""
    last = history.iteration[-1]
    wanted = set(range(11)) | {last}
    decade = 10
    while decade <= last:
        wanted |= {m * decade for m in per_decade}
        decade *= 10
    return [k for k in history.iteration if k in wanted]


def index_of(history, k: int) -> int:
    return history.iteration.index(k)


def exact_optimum(result) -> np.ndarray | None:
    """The least-squares θ* (minimum-norm where it is not unique), or None without data."""
    A, y = design(result), np.asarray(result.data.y, dtype=np.float64)
    if A.shape[0] * A.shape[1] <= 10_000_000:
        return np.linalg.lstsq(A, y, rcond=None)[0]
    return np.linalg.lstsq(A.T @ A, A.T @ y, rcond=None)[0]  # normal equations: bounded memory


class QuadraticLoss:
    """Loss(θ) = s·(θᵀGθ − 2cᵀθ + yᵀy) with G = AᵀA, c = Aᵀy: cheap on any grid of θ."""

    def __init__(self, result):
        A, y = design(result), np.asarray(result.data.y, dtype=np.float64)
        self.G, self.c, self.yy = A.T @ A, A.T @ y, float(y @ y)
        self.s = losses.scale(result.reduction, len(y))

    def on_plane(self, theta_ref, i: int, j: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """The loss where θᵢ = u, θⱼ = v (arrays of one shape) and the others stay at ``theta_ref``."""
        t = np.asarray(theta_ref, dtype=np.float64)
        du, dv = u - t[i], v - t[j]
        base = float(t @ self.G @ t - 2 * self.c @ t + self.yy)
        gt = self.G @ t - self.c  # ½·gradient direction at t
        value = (base + 2 * gt[i] * du + 2 * gt[j] * dv + self.G[i, i] * du ** 2
                 + 2 * self.G[i, j] * du * dv + self.G[j, j] * dv ** 2)
        return self.s * np.maximum(value, 0.0)


def moving_pair(result) -> tuple[int, int]:
    """The two parameters that moved most from θ₀ to the result (w, b for the tutorial)."""
    h = result.history
    n = len(h.theta[0])
    if n < 2:
        raise ConfigError("The loss surface needs two parameters; this model has one (no intercept, one feature).")
    if n == 2:
        return 0, 1
    moved = np.abs(np.asarray(h.theta[-1]) - np.asarray(h.theta[0]))
    i, j = sorted(np.argsort(-moved, kind="stable")[:2])
    return int(i), int(j)


def plane_limits(values, optimum_value, margin: float = 0.25) -> tuple[float, float]:
    finite = [v for v in [*values, optimum_value] if v is not None and math.isfinite(v)]
    lo, hi = min(finite), max(finite)
    span = hi - lo or max(abs(hi), 1.0)
    return lo - margin * span, hi + margin * span


def rate_just_above(stable_lr: float) -> float:
    """A round learning rate 1–2 % above 2/λ_max (0.061 for the tutorial's bound 0.0601)."""
    target = 1.015 * stable_lr
    digits = -int(math.floor(math.log10(target))) + 1
    return math.ceil(target * 10 ** digits) / 10 ** digits


REFIT_BUDGET = 50_000_000   # numbers read per extra run (rows × columns × iterations), so big data stay quick


def refit(result, lr: float, iters: int = 500):
    """The same run again with another learning rate; a diverged run is returned, not raised.

    On big data the run is shortened to about ``REFIT_BUDGET`` numbers read (at least 30
    iterations): a run above the stable rate is already visibly growing by then.
    """
    from gradfit.fitting import fit_data

    data = require_data(result)
    iters = max(30, min(iters, REFIT_BUDGET // max(1, data.X.size)))

    try:
        return fit_data(require_data(result), lr=lr, iters=iters, tol=None, init=result.init,
                        loss=result.reduction, engine=result.engine, fit_intercept=fit_intercept(result),
                        dtype="float64", momentum=0.0, nesterov=False, history_cap=10_000)
    except DivergenceError as exc:
        return exc.result


def autograd_gradient(result) -> np.ndarray | None:
    """∇Loss(θ₀) computed by PyTorch's autograd, or None when PyTorch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    data, step = require_data(result), first_step(result)
    X = torch.tensor(np.asarray(data.X, dtype=np.float64))
    y = torch.tensor(np.asarray(data.y, dtype=np.float64))
    d = X.shape[1]
    w = torch.tensor(step.theta0[:d], requires_grad=True)
    b = torch.tensor(step.theta0[d] if fit_intercept(result) else 0.0, requires_grad=fit_intercept(result))
    squared = (X @ w + b - y) ** 2
    loss = squared.sum() if result.reduction == "sse" else squared.mean()
    loss.backward()
    parts = [w.grad.numpy()] + ([b.grad.numpy().reshape(1)] if fit_intercept(result) else [])
    return np.concatenate(parts)

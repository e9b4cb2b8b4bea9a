"""The numbers an explanation shows, read from a ``FitResult``: first step, chosen iterations,
the exact optimum, the loss over a plane of two parameters, and autograd's gradient.

Nothing here trains or solves again: θ* and the Loss (its reduction and sample weights) are the
result's own. Runs at other learning rates come from ``gradfit.outputs.compare``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradfit.errors import ConfigError
from gradfit.exact import design as weighted_design


def require_data(result):
    """The training data as arrays; a clear error for results fitted on data not in memory."""
    if result.data is None:
        raise ConfigError("This result does not carry its training data (FitResult.data is None); "
                          "fit it with gradfit.fit to explain or plot it.")
    if not result.in_memory:
        raise ConfigError(f"This result was fitted on data read in chunks or on a Dask cluster ({result.engine} "
                          "engine); explanations, plots and reports show every row, so they need the data in "
                          "memory: fit with engine='numpy' (--engine numpy) to explain or plot it.")
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


def lesson_lr(result) -> float:
    """The learning rate the lessons on gradient descent (the bound, the rates, the questions) are worked with: the
    run's own for a gradient rule; for a run in the metric of the Hessian (``optimizer="preconditioned"``, λ = 1
    there, where every curvature is 1) the plain rule's step on the same Hessian, λ = 1/h_max."""
    if getattr(result, "optimizer", "gd") == "preconditioned" and result.lambda_max > 0:
        return 1.0 / result.lambda_max
    return result.lr


def loss_at(result, theta) -> float:
    """The run's own Loss (reduction and sample weights) at θ."""
    data = require_data(result)
    return result.loss_spec.value(result.loss_spec.residual(data.X, data.y, np.asarray(theta, dtype=np.float64)))


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


def exact_optimum(result) -> np.ndarray:
    """θ* as the fit stored it (the weighted optimum of a weighted fit)."""
    if result.theta_exact is None:
        spec = result.loss_spec
        why = ("loss 'huber' has no closed-form optimum (solver='exact' solves least squares only)"
               if spec.huber is not None else
               "an L1 penalty has no closed-form optimum (solver='exact' does not take it)" if spec.penalty.l1 > 0 else
               "θ* is computed for data up to 10 million numbers; refit with solver='exact' to get it")
        raise ConfigError(f"The loss surface is drawn around the exact optimum θ*, and this result has none: {why}. "
                          "Its loss curve and fit draw without it (gradfit.outputs.plots.loss_curve and "
                          "fit_figure; --plot DIR draws what can be drawn).")
    return result.theta_exact


class QuadraticLoss:
    """Loss(θ) = s·(θᵀGθ − 2cᵀθ + yᵀSy) + ½Σκⱼθⱼ² + Στⱼ|θⱼ| with G = AᵀSA, c = AᵀSy and the penalty's terms on the
    given scale (``result.problem.terms_original``; none without a penalty): the run's Loss, cheap on any grid of θ."""

    def __init__(self, result):
        data, spec = require_data(result), result.loss_spec
        A = weighted_design(data.X, spec.fit_intercept, spec.sample_weight)
        root_w = 1.0 if spec.sample_weight is None else np.sqrt(spec.sample_weight)
        y = np.asarray(data.y, dtype=np.float64) * root_w
        self.G, self.c, self.yy = A.T @ A, A.T @ y, float(y @ y)
        self.s = spec.scale(len(y))
        problem = getattr(result, "problem", None)
        self.terms = problem.terms_original if problem is not None else None

    def on_plane(self, theta_ref, i: int, j: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """The loss where θᵢ = u, θⱼ = v (arrays of one shape) and the others stay at ``theta_ref``."""
        t = np.asarray(theta_ref, dtype=np.float64)
        du, dv = u - t[i], v - t[j]
        base = float(t @ self.G @ t - 2 * self.c @ t + self.yy)
        gt = self.G @ t - self.c  # ½·gradient direction at t
        value = (base + 2 * gt[i] * du + 2 * gt[j] * dv + self.G[i, i] * du ** 2
                 + 2 * self.G[i, j] * du * dv + self.G[j, j] * dv ** 2)
        smooth = self.s * np.maximum(value, 0.0)
        if self.terms is None:
            return smooth
        kappa, tau = self.terms.curvature, self.terms.threshold
        term = lambda k, x: 0.5 * kappa[k] * x * x + tau[k] * np.abs(x)  # noqa: E731  (coordinate k's share)
        others = self.terms.value(t) - term(i, t[i]) - term(j, t[j])
        return smooth + others + term(i, u) + term(j, v)


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
    r, epsilon = X @ w + b - y, result.loss_spec.huber
    # each row's loss: r², or Huber's r² / 2ε|r| − ε² (twice PyTorch's huber_loss, as the torch engine has it)
    rows = r * r if epsilon is None else 2 * torch.nn.functional.huber_loss(r, torch.zeros_like(r), reduction="none",
                                                                           delta=epsilon)
    weight = result.loss_spec.sample_weight
    if weight is not None:
        rows = torch.tensor(np.asarray(weight, dtype=np.float64)) * rows
    loss = rows.sum() * result.loss_spec.scale(len(data.y))
    if result.loss_spec.penalty.l2 > 0:   # the L2 part is smooth: ½·Σ κⱼ·wⱼ² is in the gradient the run took
        loss = loss + 0.5 * (torch.tensor(result.problem.terms_original.curvature[:d]) * w * w).sum()
    loss.backward()
    parts = [w.grad.numpy()] + ([b.grad.numpy().reshape(1)] if fit_intercept(result) else [])
    return np.concatenate(parts)


def penalty_weights(result) -> np.ndarray:
    """uⱼ: the coefficient the penalty sees is uⱼ·wⱼ (1 on the given scale; the column's standard deviation, as the
    fit computed it, on the standardized one): the run's own, ``result.problem.penalty_weights``."""
    u = result.problem.penalty_weights
    return np.ones(len(result.model.weights)) if u is None else u

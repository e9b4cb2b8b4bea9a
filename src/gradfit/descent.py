"""Descent: update rules, stopping, divergence and the loop that drives any objective.

The loop sees only an *objective*: something with ``loss_and_gradient(θ) -> (loss, ∇)``
(and ``dtype``). It never knows which engine computes it.

Update rules are pairs of pure functions over plain-data state, as in optax::

    state = rule.init(θ)
    step, state = rule.update(gradient, state)
    θ = θ − λ_t·step

One *iteration* is one full-batch update, or — for mini-batch SGD — one epoch: a pass over
every row in a seeded shuffled order (``objective.iter_batches``), one update per batch. The
loss, the stopping rule and the history are evaluated once per iteration, on all the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import numpy as np

# A loss this many times the starting loss means the run is blowing up.
EXPLODE_FACTOR = 1e12


class Rule(NamedTuple):
    """An update rule: ``init(θ) -> state`` and ``update(gradient, state) -> (step, state)``."""

    name: str
    init: Callable[[np.ndarray], tuple]
    update: Callable[[np.ndarray, tuple], tuple[np.ndarray, tuple]]


def gradient_descent() -> Rule:
    """Plain gradient descent: the step is the gradient (θ ← θ − λ·∇Loss). No state."""
    return Rule("gd", lambda theta: (), lambda grad, state: (grad, state))


def momentum(mu: float, nesterov: bool = False) -> Rule:
    """Heavy-ball momentum in PyTorch's convention: ``v = μ·v + g``; ``θ = θ − λ·v``.

    With ``nesterov=True`` the step is ``g + μ·v`` (PyTorch's Nesterov form). The
    velocity ``v`` is the whole state, so a checkpoint that stores it resumes exactly.
    """

    def init(theta):
        return (np.zeros_like(theta),)

    def update(grad, state):
        (velocity,) = state
        velocity = mu * velocity + grad
        step = grad + mu * velocity if nesterov else velocity
        return step, (velocity,)

    return Rule("nesterov" if nesterov else "momentum", init, update)


def learning_rate_schedule(name: str, lr: float, power_t: float = 0.25) -> Callable[[int], float]:
    """λ_t for update t = 1, 2, …, with scikit-learn's names.

    ``constant``: λ_t = λ;  ``invscaling``: λ_t = λ / t^power_t (steps shrink, so SGD's noise
    averages out and it settles at the optimum instead of jittering around it).
    """
    if name == "constant":
        return lambda t: lr
    if name == "invscaling":
        return lambda t: lr / t ** power_t
    raise ValueError(f"unknown learning-rate schedule {name!r}")


@dataclass(frozen=True)
class MiniBatches:
    """Mini-batch SGD: ``size`` rows per update, shuffled each epoch by ``rng``.

    The batch gradient is an unbiased estimate of the full one: the loss's own gradient on the
    batch ("mse": the mean over the batch), scaled by n / |batch| for "sse".
    """

    size: int
    rng: np.random.Generator
    reduction: str
    fit_intercept: bool

    def gradient(self, X_batch, y_batch, theta, n_rows: int) -> np.ndarray:
        from gradfit import losses

        r = losses.residual(X_batch, y_batch, theta, self.fit_intercept)
        grad = losses.gradient(X_batch, r, self.reduction, self.fit_intercept)
        return grad * (n_rows / X_batch.shape[0]) if self.reduction == "sse" else grad


class History:
    """Loss, parameters and gradient per iteration, thinned beyond ``cap`` records.

    Every iteration is kept until ``cap`` is reached; then every other record is dropped
    (the first is always kept) and only every ``stride``-th iteration is recorded from
    then on, so memory stays bounded however long the run. The last iteration is
    always kept.
    """

    def __init__(self, cap: int = 10_000):
        self.cap = max(int(cap), 4)
        self.stride = 1
        self.iteration: list[int] = []
        self.loss: list[float] = []
        self.theta: list[np.ndarray] = []
        self.gradient: list[np.ndarray] = []
        # Distance to the exact least-squares optimum, filled in after the run where it is known.
        self.loss_gap: list[float] = []
        self.param_gap: list[float] = []

    def record(self, k: int, theta, loss: float, grad, *, force: bool = False) -> None:
        if self.iteration and self.iteration[-1] == k:
            return
        if k % self.stride and not force:
            return
        if self.iteration and self.iteration[-1] % self.stride:
            self._pop()  # a forced record that is not on the stride gives way
        self.iteration.append(k)
        self.loss.append(float(loss))
        self.theta.append(np.array(theta, dtype=np.float64))
        self.gradient.append(np.array(grad, dtype=np.float64))
        if len(self.iteration) >= self.cap:
            self._thin()

    def _pop(self):
        for column in (self.iteration, self.loss, self.theta, self.gradient):
            column.pop()

    def _thin(self):
        self.stride *= 2
        keep = [i for i, k in enumerate(self.iteration) if k % self.stride == 0]
        self.iteration = [self.iteration[i] for i in keep]
        self.loss = [self.loss[i] for i in keep]
        self.theta = [self.theta[i] for i in keep]
        self.gradient = [self.gradient[i] for i in keep]

    def __len__(self) -> int:
        return len(self.iteration)

    def as_dict(self) -> dict[str, list]:
        return {
            "iteration": list(self.iteration),
            "loss": list(self.loss),
            "theta": [t.tolist() for t in self.theta],
            "gradient": [g.tolist() for g in self.gradient],
            **({"loss_gap": list(self.loss_gap), "param_gap": list(self.param_gap)} if self.loss_gap else {}),
        }


@dataclass
class LoopState:
    """What a callback sees after each iteration."""

    iteration: int
    max_iter: int
    theta: np.ndarray
    loss: float
    gradient: np.ndarray
    lr: float
    rule_state: Any = ()
    n_updates: int = 0      # parameter updates so far (t of the learning-rate schedule)
    rng: Any = None         # the mini-batch shuffle's numpy Generator, for checkpoints


@dataclass
class Outcome:
    """How the loop ended: the last iterate and why it stopped."""

    theta: np.ndarray
    loss: float
    gradient: np.ndarray
    n_iter: int
    stop_reason: str  # "tol" | "max_iter" | "diverged"
    history: History
    rule_state: Any = field(default=())
    n_updates: int = 0  # parameter updates: n_iter for full batch, batches seen for SGD

    @property
    def converged(self) -> bool:
        return self.stop_reason == "tol"


def relative_change(previous: float, current: float) -> float:
    """|ΔLoss| / |Loss|: how much the loss still moves, relative to its size."""
    if previous == current:
        return 0.0
    return abs(previous - current) / max(abs(previous), abs(current))


def run(
    objective,
    theta0,
    *,
    lr: float,
    max_iter: int,
    tol: float | None = None,
    rule: Rule | None = None,
    callbacks: tuple = (),
    history_cap: int = 10_000,
    schedule: Callable[[int], float] | None = None,
    n_iter_no_change: int = 1,
    batches: MiniBatches | None = None,
    start: int = 0,
    rule_state: Any = None,
    updates_start: int | None = None,
) -> Outcome:
    """Repeat ``θ ← θ − λ_t·step`` until ``max_iter``, the tolerance, or divergence.

    Stops with ``stop_reason="tol"`` when the relative change of the loss has been ``tol`` or
    below for ``n_iter_no_change`` iterations in a row ("until the loss almost stops
    decreasing"), and with ``"diverged"`` as soon as the loss is not finite or has grown past
    ``EXPLODE_FACTOR`` times its starting value. ``schedule(t)`` gives λ_t (default: ``lr``);
    with ``batches`` each iteration is an epoch of mini-batch updates.

    To resume a run, pass the iteration it had completed as ``start`` with its ``θ`` as
    ``theta0``, the rule's ``rule_state`` and (for schedules and SGD) the number of updates
    made as ``updates_start``, with ``batches.rng`` restored: the iterations that follow are
    the same, bit for bit, as those of the uninterrupted run.
    """
    rule = rule or gradient_descent()
    lr_at = schedule or (lambda t: lr)
    # An engine may compute batch gradients itself (torch: autograd); else they come from gradfit.losses.
    batch_gradient = batches and (getattr(objective, "batch_gradient", None) or batches.gradient)
    theta = np.array(theta0, dtype=getattr(objective, "dtype", np.float64))
    state = rule.init(theta) if rule_state is None else rule_state
    loss, grad = objective.loss_and_gradient(theta)
    history = History(history_cap)
    history.record(start, theta, loss, grad)
    explode_at = EXPLODE_FACTOR * loss if loss > 0 else math.inf
    stop_reason, k, quiet_iters = "max_iter", start, 0
    t = start if updates_start is None else updates_start
    if not math.isfinite(loss):
        stop_reason = "diverged"
    with np.errstate(over="ignore", invalid="ignore"):
        while stop_reason == "max_iter" and k < max_iter:
            k += 1
            if batches is None:
                t += 1
                step, state = rule.update(grad, state)
                theta = theta - lr_at(t) * step
            else:
                for X_batch, y_batch in objective.iter_batches(batches.size, batches.rng):
                    t += 1
                    step, state = rule.update(batch_gradient(X_batch, y_batch, theta, objective.n_rows), state)
                    theta = theta - lr_at(t) * step
            previous = loss
            loss, grad = objective.loss_and_gradient(theta)
            history.record(k, theta, loss, grad)
            for callback in callbacks:
                callback(LoopState(k, max_iter, theta, loss, grad, lr_at(t), state, t,
                                   batches.rng if batches is not None else None))
            quiet_iters = quiet_iters + 1 if tol and relative_change(previous, loss) <= tol else 0
            if not math.isfinite(loss) or loss > explode_at:
                stop_reason = "diverged"
            elif quiet_iters >= n_iter_no_change:
                stop_reason = "tol"
    history.record(k, theta, loss, grad, force=True)
    return Outcome(theta, loss, grad, k, stop_reason, history, state, t)

"""Descent: update rules, stopping, divergence and the loop that drives any objective.

The loop sees only an *objective*: something with ``loss_and_gradient(θ) -> (loss, ∇)``
(and ``dtype``). It never knows which engine computes it.

Update rules are pairs of pure functions over plain-data state, as in optax::

    state = rule.init(θ)
    step, state = rule.update(gradient, state)
    θ = θ − λ·step
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
    start: int = 0,
    rule_state: Any = None,
) -> Outcome:
    """Repeat ``θ ← θ − λ·step`` until ``max_iter``, the tolerance, or divergence.

    Stops with ``stop_reason="tol"`` when the relative change of the loss falls to
    ``tol`` or below ("until the loss almost stops decreasing"), and with
    ``"diverged"`` as soon as the loss is not finite or has grown past
    ``EXPLODE_FACTOR`` times its starting value.

    To resume a run, pass the iteration it had completed as ``start`` with its ``θ`` as
    ``theta0`` and the rule's ``rule_state``: the iterations that follow are the same, bit
    for bit, as those of the uninterrupted run.
    """
    rule = rule or gradient_descent()
    theta = np.array(theta0, dtype=getattr(objective, "dtype", np.float64))
    state = rule.init(theta) if rule_state is None else rule_state
    loss, grad = objective.loss_and_gradient(theta)
    history = History(history_cap)
    history.record(start, theta, loss, grad)
    explode_at = EXPLODE_FACTOR * loss if loss > 0 else math.inf
    stop_reason, k = "max_iter", start
    if not math.isfinite(loss):
        stop_reason = "diverged"
    with np.errstate(over="ignore", invalid="ignore"):
        while stop_reason == "max_iter" and k < max_iter:
            k += 1
            step, state = rule.update(grad, state)
            theta = theta - lr * step
            previous = loss
            loss, grad = objective.loss_and_gradient(theta)
            history.record(k, theta, loss, grad)
            for callback in callbacks:
                callback(LoopState(k, max_iter, theta, loss, grad, lr, state))
            if not math.isfinite(loss) or loss > explode_at:
                stop_reason = "diverged"
            elif tol and relative_change(previous, loss) <= tol:
                stop_reason = "tol"
    history.record(k, theta, loss, grad, force=True)
    return Outcome(theta, loss, grad, k, stop_reason, history, state)

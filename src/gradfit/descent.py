"""Descent: update rules, learning-rate schedules, stopping, divergence and the loop that drives any objective.

The loop sees only an *objective* (``gradfit.engines.Objective``): ``loss_and_gradient(θ)``, and
for mini-batch SGD ``iter_batches`` and ``batch_gradient``. It never knows which engine computes them.

Update rules are pairs of pure functions over plain-data state, as in optax::

    state = rule.init(θ)
    step, state = rule.update(gradient, state)
    θ = θ − λ_t·step          (t = state.count, the number of updates made)

The state is a small named tuple (the update count, and a velocity for momentum), so a
checkpoint stores it as JSON and a resumed run continues bit for bit.

One *iteration* is one full-batch update, or — for mini-batch SGD — one epoch: a pass over
every row in a seeded shuffled order, one update per batch. The loss, the stopping rule and the
history are evaluated once per iteration, on all the data.
"""

from __future__ import annotations

import enum
import math
import sys
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import numpy as np

from gradfit.errors import ConfigError

try:
    from gradfit._rules import accelerated as fused_accelerated   # the update in one call; optional, see setup.py
except ImportError:                          # pragma: no cover - only where no compiler was found
    fused_accelerated = None

FLOAT64 = np.dtype(np.float64)

# A loss this many times the starting loss means the run is blowing up.
EXPLODE_FACTOR = 1e12


class Stop(enum.StrEnum):
    """Why a run ended."""

    TOL = "tol"              # the stopping rule was met
    MAX_ITER = "max_iter"    # the iteration (epoch) limit came first
    DIVERGED = "diverged"    # the loss blew up, or grew with a learning rate above 2/h_max
    EXACT = "exact"          # no descent: the exact least-squares solution
    EARLY = "early"          # early stopping: the held-out rows' error stopped improving


# --- update rules ----------------------------------------------------------------------------

class GDState(NamedTuple):
    count: int                     # updates made so far: t of the learning-rate schedule


class MomentumState(NamedTuple):
    count: int
    velocity: np.ndarray           # v in v = μ·v + g


class Rule(NamedTuple):
    """An update rule: ``init(θ, count) -> state`` and ``update(gradient, state) -> (step, state)``."""

    init: Callable[..., tuple]
    update: Callable[[np.ndarray, tuple], tuple[np.ndarray, tuple]]


def gradient_descent() -> Rule:
    """Plain gradient descent: the step is the gradient (θ ← θ − λ·∇Loss)."""
    return Rule(lambda theta, count=0: GDState(count),
                lambda grad, state: (grad, GDState(state.count + 1)))


def momentum(mu: float, nesterov: bool = False) -> Rule:
    """Heavy-ball momentum in PyTorch's convention: ``v = μ·v + g``; ``θ = θ − λ·v``.

    With ``nesterov=True`` the step is ``g + μ·v`` (PyTorch's Nesterov form). The
    velocity ``v`` and the count are the whole state, so a checkpoint that stores them resumes exactly.
    """

    def init(theta, count=0):
        return MomentumState(count, np.zeros_like(theta))

    def update(grad, state):
        velocity = mu * state.velocity + grad
        step = grad + mu * velocity if nesterov else velocity
        return step, MomentumState(state.count + 1, velocity)

    return Rule(init, update)


def preconditioned(P: np.ndarray) -> Rule:
    """Gradient descent in the metric of the Hessian: the step is ``P·∇Loss`` with P = H⁻¹ (θ ← θ − λ·H⁻¹∇).

    For a quadratic loss the step of λ = 1 lands on θ* at once; the next steps correct only rounding (each is an
    iteration of refinement), so the count of iterations no longer depends on the conditioning κ — in the metric
    of H every direction has curvature 1. ``P`` is ``loss.preconditioner(H)``: the pseudo-inverse on the range
    where H is singular, so that from θ₀ = 0 the run reaches the minimum-norm optimum.
    """
    return Rule(lambda theta, count=0: GDState(count),
                lambda grad, state: ((P @ grad).astype(grad.dtype, copy=False), GDState(state.count + 1)))


class AcceleratedState(NamedTuple):
    count: int
    velocity: np.ndarray
    t: float                       # FISTA's t_k: the momentum is β_k = (t_k − 1)/t_{k+1}


def accelerated() -> Rule:
    """Nesterov's accelerated gradient with adaptive (gradient) restart (O'Donoghue & Candès, 2015).

    Written as PyTorch's Nesterov form with a momentum that grows, ``v = β_k·v + g``,
    ``step = g + β_{k+1}·v``, β_k = (t_k − 1)/t_{k+1}, t_{k+1} = (1 + √(1 + 4t_k²))/2: the
    iterate is the look-ahead point where the gradient is taken. When the gradient points
    against the last move (gᵀv < 0, the loss would go up along it) the momentum restarts
    (v = 0, t = 1). On a quadratic with condition number κ this takes about √κ·ln(1/ε)
    steps of 1/L, where plain gradient descent takes κ·ln(1/ε).
    """

    def init(theta, count=0):
        return AcceleratedState(count, np.zeros_like(theta), 1.0)

    def update(grad, state):
        count, velocity, t = state
        t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
        velocity, step = momentum_step(grad, velocity, (t - 1) / t_next,
                                       (t_next - 1) / ((1 + math.sqrt(1 + 4 * t_next * t_next)) / 2))
        if step is None:                          # restart: the momentum carried us uphill
            return grad, AcceleratedState(count + 1, np.zeros_like(velocity), 1.0)
        return step, AcceleratedState(count + 1, velocity, t_next)

    return Rule(init, update)


def momentum_step(grad, velocity, beta: float, beta_next: float):
    """``v = β·v + g`` and ``step = g + β'·v``, or ``(v, None)`` when gᵀv < 0 (the caller restarts).

    In one C call (``gradfit._rules``, the same arithmetic bit for bit) for float64 arrays where it is built:
    at d = 16 the five NumPy operations below cost most of an iteration on the summary.
    """
    if fused_accelerated is not None and grad.dtype == FLOAT64:
        new, step = np.empty(grad.shape), np.empty(grad.shape)
        try:
            return (new, None) if fused_accelerated(grad, velocity, beta, beta_next, new, step) else (new, step)
        except (TypeError, ValueError, BufferError):
            pass                                  # not contiguous float64 arrays: NumPy below
    velocity = velocity * beta                    # the new arrays are updated in place: the same
    velocity += grad                              # arithmetic as β·v + g, half the allocations
    if grad.dot(velocity) < 0:
        return velocity, None
    step = velocity * beta_next
    step += grad
    return velocity, step


class ProximalState(NamedTuple):
    count: int
    previous: np.ndarray           # x_{k−1}, the previous iterate
    previous_gradient: np.ndarray  # ∇f(x_{k−1})
    t: float                       # FISTA's t_k (1 for ISTA, and after a restart)


class ProximalRule(NamedTuple):
    """A proximal-gradient rule: ``init(θ, count) -> state``, ``update(θ, ∇f(θ), λ, state, prox) -> (θ, state)``.

    For a loss f + g with g = Σ τⱼ|θⱼ| (the L1 part of a penalty) a gradient step on f is followed by
    g's proximal step, the soft-threshold ``prox(v, λ)``.
    """

    init: Callable[..., tuple]
    update: Callable[..., tuple[np.ndarray, tuple]]


def proximal(accelerate: bool) -> ProximalRule:
    """ISTA (``accelerate=False``): x ← prox(x − λ·∇f(x)); FISTA with adaptive restart (Beck & Teboulle 2009;
    O'Donoghue & Candès 2015) when ``accelerate``::

        y = x_k + β_k·(x_k − x_{k−1}),   β_k = (t_k − 1)/t_{k+1},  t_{k+1} = (1 + √(1 + 4t_k²))/2
        x_{k+1} = prox(y − λ·∇f(y))
        restart (t = 1, no momentum next) when (y − x_{k+1})ᵀ(x_{k+1} − x_k) > 0

    f is quadratic, so ∇f is affine and ∇f(y) = ∇f(x_k) + β_k·(∇f(x_k) − ∇f(x_{k−1})): one gradient per
    iteration, taken at the iterate x_k that the loop records (sparse, where the certificate is computed).
    """

    def init(theta, count=0):
        theta = np.asarray(theta, dtype=np.float64)
        return ProximalState(count, theta.copy(), np.zeros_like(theta), 1.0)

    def update(theta, grad, lr, state, prox):
        if accelerate and state.count:
            t_next = (1 + math.sqrt(1 + 4 * state.t * state.t)) / 2
            beta = (state.t - 1) / t_next
        else:
            t_next, beta = 1.0, 0.0
        y = theta + beta * (theta - state.previous)
        grad_y = grad + beta * (grad - state.previous_gradient)
        new = prox(y - lr * grad_y, lr)
        if accelerate and (y - new) @ (new - theta) > 0:   # restart: the momentum carried us uphill
            t_next = 1.0
        return new, ProximalState(state.count + 1, np.asarray(theta), np.asarray(grad), t_next)

    return ProximalRule(init, update)


def proximal_rule_for(optimizer: str, momentum_: float = 0.0, nesterov: bool = False):
    """The rule for a penalty with an L1 part: FISTA for ``accelerated``, ISTA for ``gd``; ``sgd`` keeps its rule
    and soft-thresholds after each mini-batch step (proximal SGD)."""
    if optimizer in ("momentum", "nesterov") or momentum_ or nesterov:
        raise ConfigError(f"penalty 'l1' and 'elasticnet' descend by proximal steps: optimizer must be one of "
                          f"'accelerated' (FISTA), 'gd' (ISTA) or 'sgd' (proximal SGD), without momentum; got "
                          f"optimizer={optimizer!r}" + (f", momentum={momentum_:g}" if momentum_ else "") + ".")
    if optimizer == "accelerated":
        return proximal(True)
    if optimizer == "gd":
        return proximal(False)
    return rule_for(optimizer)


class Penalized:
    """An objective with a penalty's terms (``loss.PenaltyTerms``) added: the loss gains ½Σκθ² + Σ τ|θ|, the
    gradient the smooth part κ∘θ; the L1 part is the proximal rule's. Every engine runs unchanged under it."""

    def __init__(self, objective, terms):
        self.objective, self.terms = objective, terms

    def __getattr__(self, name):
        return getattr(self.objective, name)

    def loss_and_gradient(self, theta):
        loss, grad = self.objective.loss_and_gradient(theta)
        return loss + self.terms.value(theta), grad + self.terms.gradient(theta).astype(grad.dtype)

    def batch_gradient(self, batch, theta):
        grad = self.objective.batch_gradient(batch, theta)
        return grad + self.terms.gradient(theta).astype(grad.dtype)


def rule_for(optimizer: str, momentum_: float = 0.0, nesterov: bool = False) -> Rule:
    """The update rule of ``optimizer`` (accelerated, gd, momentum, nesterov, sgd) with ``momentum``/``nesterov``.

    ``momentum`` and ``nesterov`` with ``optimizer="gd"`` or ``"sgd"`` add momentum to those;
    ``optimizer="momentum"``/``"nesterov"`` use μ = 0.9 unless ``momentum`` says otherwise.
    """
    if nesterov and not momentum_ and optimizer != "nesterov":
        raise ConfigError("nesterov=True needs momentum > 0 (for example momentum=0.9).")
    if optimizer == "accelerated":
        if momentum_ or nesterov:
            raise ConfigError("optimizer='accelerated' sets its own momentum (Nesterov with restarts); leave momentum "
                              "and nesterov out, or choose optimizer='momentum' or 'nesterov'.")
        return accelerated()
    mu = momentum_ or (0.9 if optimizer in ("momentum", "nesterov") else 0.0)
    if not mu:
        return gradient_descent()
    return momentum(mu, nesterov or optimizer == "nesterov")


def state_to_dict(state) -> dict:
    """A rule's state as plain JSON-ready data."""
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in state._asdict().items()}


def state_from_dict(rule: Rule, theta: np.ndarray, doc: dict):
    """The rule's state from ``state_to_dict``'s data, checked against the rule and θ (ValueError if it does not fit)."""
    template = rule.init(np.asarray(theta, dtype=np.float64))
    if not isinstance(doc, dict) or set(doc) != set(template._fields):
        raise ValueError(f"the update rule's state needs the fields {', '.join(template._fields)}")
    values = {}
    for name, example in template._asdict().items():
        value = doc[name]
        if isinstance(example, np.ndarray):
            try:
                value = np.array(value, dtype=np.float64)
            except (TypeError, ValueError, OverflowError):
                value = np.empty(0)      # not numbers: refused just below
            if value.shape != example.shape or not np.isfinite(value).all():
                raise ValueError(f"'{name}' must hold {example.size} finite numbers")
        elif isinstance(example, float):
            if not (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
                    and value >= 1):
                raise ValueError(f"'{name}' must be a number ≥ 1")
            value = float(value)
        elif not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**62):
            raise ValueError(f"'{name}' must be a count")
        values[name] = value
    return type(template)(**values)


def learning_rate_schedule(name: str, lr: float, power_t: float = 0.25) -> Callable[[int], float]:
    """λ_t for update t = 1, 2, …, with scikit-learn's names.

    ``constant``: λ_t = λ;  ``invscaling``: λ_t = λ / t^power_t (steps shrink, so SGD's noise
    averages out and it settles at the optimum instead of jittering around it).
    """
    if name == "constant":
        return lambda t: lr
    if name == "invscaling":
        return lambda t: lr / t ** power_t
    raise ConfigError(f"unknown learning-rate schedule {name!r}; choose constant or invscaling.")


# --- stopping and divergence -------------------------------------------------------------------

def relative_change(previous: float, current: float) -> float:
    """|ΔLoss| / |Loss|: how much the loss still moves, relative to its size."""
    if previous == current:
        return 0.0
    return abs(previous - current) / max(abs(previous), abs(current))


class Certificate(NamedTuple):
    """The stopping rule that proves convergence, for a quadratic loss with Hessian eigenvalues ≥ μ > 0.

    ‖θ − θ*‖ ≤ ‖∇L(θ)‖ / μ, θ* the optimum nearest θ (the only one, unless the Hessian is singular: μ is
    then its smallest positive eigenvalue, see ``loss.Curvature``); the parameters reported are ``to_original @ θ``, so
    ‖θ_orig − θ*_orig‖ ≤ ‖to_original‖₂·‖∇L(θ)‖/μ, and relative to ‖θ_orig‖_∞ that bounds the
    largest relative error of any coefficient.
    """

    mu: float
    to_original: np.ndarray          # θ on the reported scale = to_original @ θ (identity without standardizing)
    norm: float                      # ‖to_original‖₂
    terms: Any = None                # a penalty's PenaltyTerms with an L1 part: the bound uses the least subgradient

    @classmethod
    def of(cls, mu: float, to_original: np.ndarray, terms=None) -> "Certificate | None":
        """None where the Hessian is singular (μ = 0): then no bound exists.

        With a penalty, μ is the smallest eigenvalue of the Hessian of the smooth part (the L2 term
        included), and for an L1 part the gradient is replaced by the least-norm subgradient s of the whole
        loss: strong convexity gives ⟨s, θ − θ*⟩ ≥ μ‖θ − θ*‖², so ‖θ − θ*‖ ≤ ‖s‖/μ still holds.
        """
        if not mu > 0:
            return None
        return cls(mu, to_original, float(np.linalg.norm(to_original, 2)),
                   terms if terms is not None and terms.proximal else None)

    def watch(self, tol: float) -> Callable[[np.ndarray, np.ndarray], bool]:
        """``within(θ, ∇) = gap(θ, ∇) ≤ tol`` for the iterates of one run, cheap while far from it.

        The gap is at least ‖∇‖/(μ·‖θ‖₂) (‖Tθ‖_∞ ≤ ‖T‖₂·‖θ‖₂), and ‖θ‖₂ ≤ R + ‖∇‖/μ for any R ≥ ‖θ*‖₂:
        so ‖∇‖·(1 − tol) > tol·μ·R proves "not within" from ‖∇‖² alone, one dot product an iteration.
        R = min over the iterates checked in full of ‖θ‖ + ‖∇‖/μ (≥ ‖θ*‖ by the certificate itself; the steps
        of a run stay in the Hessian's range, so θ* is the same optimum for all of them). "Within" is only ever
        decided by the full bound: the shortcut changes what an iteration costs, never when a run stops.
        """
        if self.terms is not None:              # with an L1 part the bound uses the least subgradient
            return lambda theta, grad: self.gap(theta, grad) <= tol
        mu, slack = self.mu, 1.0 - tol
        reach = math.inf                        # R, an upper bound on ‖θ*‖₂ (none yet)

        def within(theta, grad) -> bool:
            nonlocal reach
            squared = float(grad.dot(grad))
            if slack > 0 and squared * slack * slack > (tol * mu * reach) ** 2:
                return False
            norm = math.sqrt(float(theta.dot(theta)))
            reach = min(reach, (norm + math.sqrt(squared) / mu) * (1 + 1e-9))   # margin for rounding
            if squared > (tol * mu * norm) ** 2:
                return False
            return self.gap(theta, grad, squared) <= tol

        return within

    def gap(self, theta, grad, squared: float | None = None) -> float:
        """The certified bound on maxⱼ|θⱼ − θⱼ*| / maxⱼ|θⱼ| (∞ when θ = 0); ``squared`` is ‖∇‖² if known."""
        size = float(np.maximum.reduce(np.abs(self.to_original.dot(theta)))) if len(theta) else 0.0
        if self.terms is not None:
            grad = self.terms.subgradient(np.asarray(theta, dtype=np.float64), np.asarray(grad, dtype=np.float64))
            squared = None
        distance = self.norm * math.sqrt(float(grad @ grad) if squared is None else squared) / self.mu
        return distance / size if size > 0 else (0.0 if distance == 0 else math.inf)


def explosion_limit(loss0: float) -> float:
    """The largest loss that has not blown up: ``EXPLODE_FACTOR`` times the start (any finite loss if the
    start is 0); a loss above it, infinite or NaN fails ``loss <= limit``."""
    return min(EXPLODE_FACTOR * loss0, sys.float_info.max) if loss0 > 0 else sys.float_info.max


def diverging(loss: float, loss0: float, lr: float, stable_lr: float) -> bool:
    """Growing, with a learning rate at or above 2/h_max: it would blow up given more iterations."""
    return loss > loss0 and lr >= stable_lr


# --- the loop ----------------------------------------------------------------------------------

class History:
    """Loss, parameters and gradient per iteration, thinned beyond ``cap`` records.

    Every iteration is kept until ``cap`` is reached; then every other record is dropped
    (the first is always kept) and only every ``stride``-th iteration is recorded from
    then on, so memory stays bounded however long the run. The last iteration is
    always kept.

    The records live in preallocated arrays (grown by doubling up to ``cap`` rows), so recording an
    iteration is four stores and no new Python objects; ``iteration``, ``loss``, ``theta`` and
    ``gradient`` read them as lists (and assigning such a list rewrites the records).
    """

    def __init__(self, cap: int = 10_000):
        self.cap = max(int(cap), 4)
        self.stride = 1
        self._n = 0                                   # records held
        self._last = -1                               # the iteration of the last record
        self._rows = 0                                # records the arrays can hold before they grow
        self._k = np.empty(0, dtype=np.int64)
        self._loss = np.empty(0)
        self._theta = self._gradient = None           # (rows, p) float64, allocated at the first record
        self._lists: dict[str, list] = {}
        # Distance to the exact least-squares optimum, filled in after the run where it is known — or, where the
        # optimum is computed only when asked for (``pending_gaps``), on the first read of either.
        self._loss_gap: list[float] = []
        self._param_gap: list[float] = []
        self.pending_gaps: Callable[[], None] | None = None

    def record(self, k: int, theta, loss: float, grad, *, force: bool = False) -> None:
        n = self._n
        if (k % self.stride and not force) or (n and self._last == k):
            return
        if n and self._last % self.stride:
            n -= 1                     # a forced record that is not on the stride gives way
        if n == self._rows:
            self._grow(n, np.shape(theta)[0], np.shape(grad)[0])
        self._k[n], self._loss[n] = k, loss
        self._theta[n] = theta
        self._gradient[n] = grad
        self._n, self._last = n + 1, k
        if self._lists:
            self._lists.clear()
        if n + 1 >= self.cap:
            self._thin()

    def _grow(self, n: int, p_theta: int, p_grad: int) -> None:
        rows = min(max(2 * self._rows, 64), self.cap)
        k, loss, theta, grad = (np.empty(rows, dtype=np.int64), np.empty(rows), np.empty((rows, p_theta)),
                                np.empty((rows, p_grad)))
        if self._theta is not None:
            k[:n], loss[:n], theta[:n], grad[:n] = self._k[:n], self._loss[:n], self._theta[:n], self._gradient[:n]
        self._k, self._loss, self._theta, self._gradient, self._rows = k, loss, theta, grad, rows

    def _thin(self):
        self.stride *= 2
        keep = np.flatnonzero(self._k[:self._n] % self.stride == 0)
        m = keep.shape[0]
        for column in (self._k, self._loss, self._theta, self._gradient):
            column[:m] = column[keep]
        self._n = m
        self._last = int(self._k[m - 1])
        self._lists.clear()

    def _column(self, name: str) -> list:
        if name not in self._lists:
            n = self._n
            if name in ("iteration", "loss"):
                self._lists[name] = (self._k if name == "iteration" else self._loss)[:n].tolist()
            else:
                rows = (self._theta if name == "theta" else self._gradient)
                self._lists[name] = [] if rows is None else list(rows[:n].copy())
        return self._lists[name]

    def _assign(self, name: str, values) -> None:
        values = list(values)
        n = self._n
        if len(values) != n:
            raise ValueError(f"the history holds {n} records, not {len(values)}")
        if not n:
            return
        if name == "iteration":
            self._k[:n] = values
            self._last = int(self._k[n - 1])
        elif name == "loss":
            self._loss[:n] = values
        else:
            rows = np.array(values, dtype=np.float64)
            attribute = "_theta" if name == "theta" else "_gradient"
            buffer = getattr(self, attribute)
            if buffer[:n].shape != rows.shape:          # another width: a new buffer of the same capacity
                buffer = np.empty((buffer.shape[0], *rows.shape[1:]))
                setattr(self, attribute, buffer)
            buffer[:n] = rows
        self._lists.clear()

    def _gaps(self, name: str) -> list[float]:
        if self.pending_gaps is not None:
            pending, self.pending_gaps = self.pending_gaps, None
            pending()
        return getattr(self, name)

    def _set_gaps(self, name: str, values) -> None:
        self.pending_gaps = None
        setattr(self, name, list(values))

    loss_gap = property(lambda self: self._gaps("_loss_gap"), lambda self, v: self._set_gaps("_loss_gap", v))
    param_gap = property(lambda self: self._gaps("_param_gap"), lambda self, v: self._set_gaps("_param_gap", v))
    iteration = property(lambda self: self._column("iteration"), lambda self, v: self._assign("iteration", v))
    loss = property(lambda self: self._column("loss"), lambda self, v: self._assign("loss", v))
    theta = property(lambda self: self._column("theta"), lambda self, v: self._assign("theta", v))
    gradient = property(lambda self: self._column("gradient"), lambda self, v: self._assign("gradient", v))

    @property
    def thetas(self) -> np.ndarray:
        """The recorded parameters as one (records × parameters) array (a view: do not write)."""
        return self._theta[:self._n] if self._theta is not None else np.empty((0, 0))

    def transform(self, theta_matrix: np.ndarray, gradient_matrix: np.ndarray) -> None:
        """Rewrite the records (to the original scale), in place: θ ← A·θ and ∇ ← B·∇, one product each."""
        n = self._n
        if n:
            self._theta[:n] = self._theta[:n] @ np.asarray(theta_matrix).T
            self._gradient[:n] = self._gradient[:n] @ np.asarray(gradient_matrix).T
            self._lists.clear()

    def __len__(self) -> int:
        return self._n


@dataclass
class LoopState:
    """What a callback sees after each iteration."""

    iteration: int
    max_iter: int
    theta: np.ndarray
    loss: float
    gradient: np.ndarray
    lr: float
    rule_state: Any
    rng: Any = None         # the mini-batch shuffle's numpy Generator, for checkpoints
    quiet: int = 0          # iterations in a row that met the stopping rule so far (for checkpoints)
    loss0: float = math.nan  # the run's starting loss, which divergence is measured against (for checkpoints)


@dataclass
class Outcome:
    """How the loop ended: the last iterate and why it stopped."""

    theta: np.ndarray
    loss: float
    gradient: np.ndarray
    n_iter: int
    stop_reason: Stop
    history: History
    rule_state: Any


@dataclass(frozen=True)
class MiniBatches:
    """Mini-batch SGD: ``size`` rows per update, shuffled each epoch by ``rng``."""

    size: int
    rng: np.random.Generator


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
    stable_lr: float = math.inf,
    certificate: Certificate | None = None,
    quiet_start: int = 0,
    loss0: float | None = None,
    prox: Callable[[np.ndarray, float], np.ndarray] | None = None,
    monitor: Callable[[np.ndarray], float] | None = None,
) -> Outcome:
    """Repeat ``θ ← θ − λ_t·step`` until ``max_iter``, the tolerance, or divergence.

    Stops with ``Stop.TOL`` when the ``certificate`` proves the parameters within ``tol`` of the
    optimum (relative); without one, when the relative change of the loss has been ``tol`` or below
    for ``n_iter_no_change`` iterations in a row ("until the loss almost stops decreasing"); and with
    ``Stop.DIVERGED`` as soon as the loss blows up (above ``explosion_limit``, or NaN) — or, at the end,
    when it has grown with a learning rate at or above ``stable_lr`` = 2/h_max. ``schedule(t)`` gives λ_t
    (default: ``lr``); with ``batches`` each iteration is an epoch of mini-batch updates.

    To resume a run, pass the iteration it had completed as ``start`` with its ``θ`` as
    ``theta0`` and the rule's ``rule_state``, with ``batches.rng`` restored, and the ``quiet``
    count and ``loss0`` its callbacks saw: the iterations that follow are the same, bit for bit,
    as those of the uninterrupted run (and a run that had already met its stopping rule stops).

    ``prox(θ, λ)`` is the proximal step of a penalty's L1 part: a ``ProximalRule`` (ISTA, FISTA) applies
    it in its update; mini-batch SGD applies it after each mini-batch step.

    ``monitor(θ)`` is the error on held-out rows (early stopping): the run stops with ``Stop.EARLY`` once it
    has not improved by more than ``tol`` (relative) for ``n_iter_no_change`` iterations in a row; the
    loss's own change no longer stops it (the certificate still does).
    """
    rule = rule or gradient_descent()
    lr_at = schedule or (lambda t: lr)
    constant = schedule is None         # the common case: no call per iteration for λ
    proximal = batches is None and isinstance(rule, ProximalRule)
    theta = np.array(theta0, dtype=objective.dtype)
    state = rule.init(theta) if rule_state is None else rule_state
    loss, grad = objective.loss_and_gradient(theta)
    loss0 = loss if loss0 is None else loss0
    limit = explosion_limit(loss0)
    history = History(history_cap)
    history.record(start, theta, loss, grad)
    stop, k, quiet_iters = Stop.MAX_ITER, start, quiet_start
    best, stale = (monitor(theta), 0) if monitor is not None else (math.inf, 0)
    if not math.isfinite(loss):
        stop = Stop.DIVERGED
    elif quiet_iters >= n_iter_no_change:       # resumed after the stopping rule was met: nothing left to do
        stop = Stop.TOL
    # The names the loop calls, bound once: at small d each iteration costs a few microseconds, and
    # looking them up again every iteration would be a sizeable part of that.
    update, evaluate, record = rule.update, objective.loss_and_gradient, history.record
    within = certificate.watch(tol) if certificate is not None and tol else None
    by_loss = bool(tol) and certificate is None and monitor is None    # the loss-change rule
    running = Stop.MAX_ITER
    with np.errstate(over="ignore", invalid="ignore"):
        while stop is running and k < max_iter:
            k += 1
            if proximal:
                theta, state = update(theta, grad, lr_at(state.count + 1), state, prox)
            elif batches is None:
                step, state = update(grad, state)
                theta = theta - (lr if constant else lr_at(state.count)) * step
            else:
                for batch in objective.iter_batches(batches.size, batches.rng):
                    step, state = update(objective.batch_gradient(batch, theta), state)
                    theta = theta - lr_at(state.count) * step
                    if prox is not None:
                        theta = prox(theta, lr_at(state.count))
            previous = loss
            loss, grad = evaluate(theta)
            record(k, theta, loss, grad)
            if monitor is not None:
                error = monitor(theta)
                stale = 0 if error < best - (tol or 0.0) * abs(best) else stale + 1
                best = min(best, error)
            if within is not None:
                quiet_iters = quiet_iters + 1 if within(theta, grad) else 0
            elif by_loss:
                quiet_iters = quiet_iters + 1 if relative_change(previous, loss) <= tol else 0
            else:
                quiet_iters = 0
            if callbacks:
                loop_state = LoopState(k, max_iter, theta, loss, grad, lr_at(state.count), state,
                                       batches.rng if batches is not None else None, quiet_iters, loss0)
                for callback in callbacks:
                    callback(loop_state)
            if not loss <= limit:               # blown up: above the limit, or NaN
                stop = Stop.DIVERGED
            elif quiet_iters >= n_iter_no_change:
                stop = Stop.TOL
            elif monitor is not None and stale >= n_iter_no_change:
                stop = Stop.EARLY
    if stop is not Stop.DIVERGED and diverging(loss, loss0, lr, stable_lr):
        stop = Stop.DIVERGED
    history.record(k, theta, loss, grad, force=True)
    return Outcome(theta, loss, grad, k, stop, history, state)

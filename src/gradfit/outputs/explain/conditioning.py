"""Why a run converged fast, slowly or not at all: the Hessian's eigenvalues h, the condition number
κ = h_max/h_min, and what a step of λ (and a momentum μ) does along each eigenvector.

The loss is a quadratic with Hessian H = 2s·AᵀA (s = 1 for the sum, 1/n for the mean). In H's
eigenbasis the error e = θ − θ* splits into independent directions, and a gradient step
θ ← θ − λ·∇Loss(θ) multiplies the i-th by (1 − λ·hᵢ)::

    e_{k+1} = (I − λH)·e_k      ⇒      e_k,i = (1 − λ·hᵢ)^k · e_0,i

It shrinks only where |1 − λ·hᵢ| < 1, i.e. for every direction when λ < 2/h_max; and the slowest
direction, max|1 − λ·hᵢ| (at λ = 1/h_max: 1 − 1/κ), sets the pace: about κ·ln(1/ε) iterations to
divide the error by 1/ε. Everything here is read from the result's data and history: nothing trains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradfit.loss import singular_below
from gradfit.outputs.explain import analysis as an

EPSILONS = (1e-2, 1e-4, 1e-8)      # error reductions for which iterations are predicted and measured


def hessian(result, standardized: bool = False) -> np.ndarray:
    """H = 2s·AᵀA of the run's Loss (sample weights included): of the data as given, or of their
    standardized columns z = (x − mean)/sd (``standardized=True``, gradfit's ``standardize=True``)."""
    from gradfit.data.standardize import Standardizer
    from gradfit.exact import design as weighted_design

    data, spec = an.require_data(result), result.loss_spec
    X = np.asarray(data.X, dtype=np.float64)
    if standardized:   # the run's own scaler; for a run on the columns as given, the one standardizing would use
        scaler = result.problem.scaler or Standardizer.fit(X, data.feature_names, spec.fit_intercept,
                                                           spec.sample_weight)
        X = scaler.transform(X)
    A = weighted_design(X, spec.fit_intercept, spec.sample_weight)
    return 2 * spec.scale(len(data.y)) * (A.T @ A)


def descended_quadratic(result) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H, g₀, θ₀) of the quadratic the run descended — on standardized columns for a standardized run:
    ∇Loss(θ) = H·θ + g₀ there, and θ₀ is the run's start in those coordinates."""
    from gradfit.exact import design as weighted_design

    data, spec, problem = an.require_data(result), result.loss_spec, result.problem
    X = np.asarray(data.X, dtype=np.float64)
    theta0 = np.asarray(result.init, dtype=np.float64)
    if problem.scaler is not None:
        X, theta0 = problem.scaler.transform(X), problem.scaler.to_standardized(theta0)
    A = weighted_design(X, spec.fit_intercept, spec.sample_weight)
    root_w = 1.0 if spec.sample_weight is None else np.sqrt(spec.sample_weight)
    y = np.asarray(data.y, dtype=np.float64) * root_w
    scale = 2 * spec.scale(len(data.y))
    H = scale * (A.T @ A)
    if problem.terms is not None:   # the L2 part is quadratic too: ½·Σ κⱼ·θⱼ² in the descended coordinates
        H = H + np.diag(problem.terms.curvature)
    return H, -scale * (A.T @ y), theta0


def restarts(result) -> list[int]:
    """The iterations at which the accelerated rule restarted its momentum (gᵀv < 0), found by replaying
    the rule (``gradfit.descent.accelerated``) on the run's own quadratic, where it is exact."""
    from gradfit.descent import accelerated

    H, g0, theta = descended_quadratic(result)
    rule = accelerated()
    state = rule.init(theta)
    found = []
    for k in range(1, result.n_iter + 1):
        step, state = rule.update(H @ theta + g0, state)
        theta = theta - result.lr * step
        if state.t == 1.0 and k > 1:
            found.append(k)
    return found


def eigenvalues(H: np.ndarray) -> np.ndarray:
    """h₁ ≤ … ≤ h_d, computed (numpy.linalg.eigvalsh); rounding noise (``loss.singular_below``, as ``fit`` judges
    a singular Hessian) is set to 0."""
    h = np.linalg.eigvalsh(H)
    return np.where(h > singular_below(max(float(h[-1]), 0.0), len(h)), h, 0.0) if len(h) else h


def condition_number(h: np.ndarray) -> float:
    """κ = h_max / h_min (∞ for a singular Hessian)."""
    return float(h[-1] / h[0]) if h[0] > 0 else math.inf


def factors(lr: float, h: np.ndarray) -> np.ndarray:
    """1 − λ·hᵢ: what one gradient step multiplies the error along each eigenvector by."""
    return 1 - lr * np.asarray(h, dtype=np.float64)


def rate(lr: float, h: np.ndarray) -> float:
    """max|1 − λ·hᵢ|: the slowest direction's factor (≥ 1: no convergence)."""
    return float(np.abs(factors(lr, h)).max())


def momentum_rate(lr: float, mu: float, h: np.ndarray, nesterov: bool = False) -> float:
    """The factor per step of heavy-ball (or Nesterov) momentum along the slowest direction.

    Along an eigenvector with curvature h the pair (e, v) follows v ← μ·v + h·e, e ← e − λ·(step):
    heavy ball steps by v, Nesterov (PyTorch's form) by h·e + μ·v. The factor is the spectral
    radius of that 2×2 matrix, the largest over the directions."""
    worst = 0.0
    for hi in np.asarray(h, dtype=np.float64):
        if nesterov:
            M = np.array([[1 - lr * hi * (1 + mu), -lr * mu * mu], [hi, mu]])
        else:
            M = np.array([[1 - lr * hi, -lr * mu], [hi, mu]])
        worst = max(worst, float(np.abs(np.linalg.eigvals(M)).max()))
    return worst


def iterations_for(factor: float, epsilon: float) -> float:
    """k with factor^k = ε: ln(1/ε) / ln(1/factor) (∞ when the factor is 1 or more)."""
    if not factor < 1:
        return math.inf
    if factor <= 0:
        return 1.0
    return math.log(1 / epsilon) / -math.log(factor)


def best_momentum(h: np.ndarray) -> tuple[float, float, float]:
    """Polyak's heavy-ball optimum on a quadratic: λ = 4/(√h_max + √h_min)², μ = ((√κ − 1)/(√κ + 1))²,
    factor (√κ − 1)/(√κ + 1) per step — about √κ/2·ln(1/ε) iterations instead of κ/2·ln(1/ε)."""
    low, high = math.sqrt(max(float(h[0]), 0.0)), math.sqrt(float(h[-1]))
    lr = 4 / (high + low) ** 2
    factor = (high - low) / (high + low)
    return lr, factor * factor, factor


def measured_iterations(result, epsilon: float) -> int | None:
    """The first recorded k with ‖θ_k − θ*‖ ≤ ε·‖θ₀ − θ*‖ (None: not within the run)."""
    if result.theta_exact is None:
        return None
    h, star = result.history, np.asarray(result.theta_exact, dtype=np.float64)
    start = float(np.linalg.norm(np.asarray(h.theta[0]) - star))
    if start == 0:
        return 0
    for k, theta in zip(h.iteration, h.theta):
        error = float(np.linalg.norm(np.asarray(theta) - star))
        if math.isfinite(error) and error <= epsilon * start:
            return k
    return None


def slowest_feature(result) -> str | None:
    """The parameter that weighs most in the slowest eigenvector (the direction of h_min)."""
    values, vectors = np.linalg.eigh(hessian(result))
    names = an.parameter_names(result)
    return names[int(np.argmax(np.abs(vectors[:, 0])))] if len(names) > 1 else None


@dataclass(frozen=True)
class Conditioning:
    """The numbers of the 'why' sections, for one run."""

    h: np.ndarray                 # eigenvalues of the Hessian that was descended
    h_raw: np.ndarray             # of the data as given
    h_standardized: np.ndarray | None   # of the standardized columns (None: nothing to standardize)
    lr: float
    factors: np.ndarray           # 1 − λ·hᵢ
    rate: float                   # max|1 − λ·hᵢ|
    kappa: float
    kappa_raw: float
    kappa_standardized: float | None
    predicted: dict               # ε → predicted iterations at the run's λ
    measured: dict                # ε → measured iterations (None: not within the run)

    @property
    def converges(self) -> bool:
        return self.rate < 1


def of(result) -> Conditioning:
    h_raw = eigenvalues(hessian(result))
    has_features = result.model.n_features > 0 and np.asarray(an.require_data(result).X).size > 0
    h_std = eigenvalues(hessian(result, standardized=True)) if has_features else None
    h = h_std if result.standardized and h_std is not None else h_raw
    lr = float(an.lesson_lr(result))
    r = rate(lr, h)
    return Conditioning(h, h_raw, h_std, lr, factors(lr, h), r, condition_number(h), condition_number(h_raw),
                        None if h_std is None else condition_number(h_std),
                        {e: iterations_for(r, e) for e in EPSILONS},
                        {e: measured_iterations(result, e) for e in EPSILONS})

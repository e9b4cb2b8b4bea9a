"""L1 and elastic net by cyclic coordinate descent on the Gram matrix (glmnet's "covariance updates").

The penalized least-squares problem, in scikit-learn's scaling (``ElasticNet``; ``gradfit.loss.Penalty``)::

    P(w) = 1/(2W)·‖y − Xw − b‖² + Σⱼ τⱼ·|wⱼ| + ½·Σⱼ κⱼ·wⱼ²        τⱼ = α·ρ·uⱼ,  κⱼ = α·(1 − ρ)·uⱼ²

(W = n, or Σ sᵢ with sample weights; ρ = l1_ratio; uⱼ the penalty's scale: 1 on the given scale, the column's
standard deviation on glmnet's standardized one). With an intercept, b = ȳ − x̄·w and the rows are centred, so
P depends on the data only through a small quadratic, which a one-pass summary holds::

    P(w) = ½·wᵀGw − cᵀw + ½·yy + Σⱼ τⱼ|wⱼ| + ½·Σⱼ κⱼwⱼ²
    G = XᵀX/W,  c = Xᵀy/W,  yy = yᵀy/W                           (X, y centred when there is an intercept)

Each coordinate step minimises P exactly along wⱼ, and keeps the gradient up to date with column j of G — O(d)
per coordinate, never a pass over the rows::

    z  = cⱼ − (Gw)ⱼ + Gⱼⱼ·wⱼ                     (the correlation of xⱼ with the partial residual)
    wⱼ ← S(z, τⱼ) / (Gⱼⱼ + κⱼ)                   (S: soft-thresholding, S(z, τ) = sign(z)·max(|z| − τ, 0))
    Gw ← Gw + Δwⱼ·G[:, j]

Every ``ANDERSON`` sweeps an Anderson extrapolation of the last iterates (skglm's) is tried and kept where it
lowers P: on collinear columns, where cyclic sweeps crawl, it saves 10–200× of them. ``path`` walks α from α_max
(where every w is 0) down, each α warm-started from the last; the sequential strong rule (Tibshirani et al. 2012)
guesses which wⱼ stay 0, and the KKT check ``|cⱼ − (Gw)ⱼ| ≤ τⱼ`` on every coordinate left out brings back any it
guessed wrong, so screening never changes the answer. The stopping rule
is the duality gap (scikit-learn's ``enet_coordinate_descent_gram``): gap ≥ P(w) − P(w*), and with μ the least
eigenvalue of G + diag(κ), ‖w − w*‖ ≤ √(2·gap/μ) (``distance_bound``).

gradfit's objective (``gradfit.loss.Loss`` with its penalty) is ``loss.penalty_factor(W)·P(w)`` for either
reduction ("mse": 2·P, "sse": 2W·P): the same minimiser, and its gap is the same factor times this one.

>>> import numpy as np
>>> q = Quadratic(G=np.array([[1.0, 0.5], [0.5, 1.0]]), c=np.array([1.0, 0.4]), yy=1.5)
>>> fit = path(q, alphas=[0.1], l1_ratio=1.0)
>>> [round(float(v), 6) for v in fit.coefs[0]], bool(fit.gaps[0] <= fit.tol)
([0.9, 0.0], True)

The loop over α runs in one C call (``gradfit._rules.enet_path``) where it is built — per α a Python loop costs
more than all its sweeps on a small problem — else in ``_path_numpy`` (the same steps, the functions below).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from gradfit.errors import ConfigError
from gradfit.loss import Loss

try:
    from gradfit._rules import enet_path as _path_c   # the loop over α in one call; optional, see setup.py
except ImportError:                                  # pragma: no cover - only where no compiler was found
    _path_c = None

TOL = 1e-4            # scikit-learn's: the gap stops below tol·yy (yy = ‖y − ȳ‖²/W)
MAX_ITER = 1000       # sweeps per α, as scikit-learn's max_iter
EPS = 1e-3            # the path's last α is eps·α_max (scikit-learn's and glmnet's default)
RIDGE_RATIO = 1e-3    # α_max for ρ = 0 is taken at this ρ (scikit-learn, glmnet)
ANDERSON = 5          # sweeps per Anderson extrapolation (skglm's K; _rules.c's ANDERSON)


class Quadratic(NamedTuple):
    """The least-squares part ½·wᵀGw − cᵀw + ½·yy, per unit of weight (G = XᵀX/W, c = Xᵀy/W, yy = yᵀy/W)."""

    G: np.ndarray     # (d, d)
    c: np.ndarray     # (d,)
    yy: float

    @property
    def d(self) -> int:
        return self.c.shape[0]


class Path(NamedTuple):
    """The solution at each α (descending), its duality gap, the sweeps it took and whether gap ≤ tol."""

    alphas: np.ndarray      # (k,)
    coefs: np.ndarray       # (k, d): w on the scale of G's columns
    gaps: np.ndarray        # (k,): P(w) − D(θ) ≥ P(w) − P(w*), in P's scale
    n_iter: np.ndarray      # (k,): sweeps over the working set, KKT re-solves included
    converged: np.ndarray   # (k,): gap ≤ tol
    tol: float              # the absolute gap the stopping rule asked for: tol·yy


def from_summary(summary, loss: Loss = Loss()) -> Quadratic:
    """The quadratic of a ``gradfit.engines.stats.Summary`` (n, means z̄, centred co-moments M of z = [x, y]).

    With an intercept the centred co-moments are the quadratic: G = Mxx/n, c = Mxy/n, yy = Myy/n (then
    b = ȳ − x̄·w, ``intercept``). Without one, the moments about 0: G = (Mxx + n·x̄x̄ᵀ)/n, and so on. Sample
    weights: a summary whose n is Σ sᵢ and whose means and co-moments are weighted (stats builds none yet) gives
    the weighted problem, scikit-learn's ``sample_weight``, unchanged. ``loss`` says only whether there is an
    intercept: the reduction ("mse"/"sse") scales gradfit's objective, not its minimiser.
    """
    if loss.huber is not None:
        raise ConfigError("coordinate descent on a summary needs the squared loss, not loss 'huber'.")
    d, n = summary.d, float(summary.n)
    M = np.asarray(summary.M, dtype=np.float64)
    if not loss.fit_intercept:
        M = M + n * np.outer(summary.mean, summary.mean)
    return Quadratic(M[:d, :d] / n, M[:d, d] / n, float(M[d, d]) / n)


def intercept(summary, w: np.ndarray, fit_intercept: bool = True) -> float:
    """b = ȳ − x̄·w (0 without an intercept)."""
    d = summary.d
    return float(summary.mean[d] - summary.mean[:d] @ w) if fit_intercept else 0.0


def penalty_weights(alpha: float, l1_ratio: float, scale=None, d: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(τ, κ): τⱼ = α·ρ·uⱼ (the weight of |wⱼ|) and κⱼ = α·(1 − ρ)·uⱼ² (of ½wⱼ²), u = ``scale`` (d ones if None) —
    ``PenaltyTerms.of`` on the given coordinates, per unit of weight (its terms divided by 2W·loss.scale(W))."""
    u = np.ones(d) if scale is None else np.abs(np.asarray(scale, dtype=np.float64))
    return alpha * l1_ratio * u, alpha * (1.0 - l1_ratio) * u * u


def alpha_max(q: Quadratic, l1_ratio: float = 1.0, scale=None) -> float:
    """The least α at which w = 0 is optimal: maxⱼ |cⱼ| / (ρ·uⱼ) (ρ at least 10⁻³, as for ``_alphas`` in cv)."""
    u = np.ones(q.d) if scale is None else np.abs(np.asarray(scale, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(u > 0, np.abs(q.c) / u, 0.0)
    return float(ratio.max(initial=0.0)) / max(l1_ratio, RIDGE_RATIO)


def alpha_grid(q: Quadratic, l1_ratio: float = 1.0, scale=None, n_alphas: int = 100, eps: float = EPS) -> np.ndarray:
    """``n_alphas`` α log-spaced from α_max down to eps·α_max (scikit-learn's ``_alpha_grid``, glmnet's λ)."""
    top = alpha_max(q, l1_ratio, scale)
    if not top > 0:
        return np.zeros(n_alphas)       # y is uncorrelated with every column: w = 0 throughout
    return top * np.logspace(0, math.log10(eps), n_alphas)


def objective(q: Quadratic, w: np.ndarray, tau: np.ndarray, kappa: np.ndarray) -> float:
    """P(w) = ½·wᵀGw − cᵀw + ½·yy + Σ τ|w| + ½·Σ κw²."""
    return float(0.5 * w @ (q.G @ w) - q.c @ w + 0.5 * q.yy + tau @ np.abs(w) + 0.5 * (kappa * w) @ w)


def duality_gap(q: Quadratic, w: np.ndarray, Gw: np.ndarray, tau: np.ndarray, kappa: np.ndarray) -> float:
    """P(w) − D(θ) ≥ P(w) − P(w*), for the dual point θ = s·R (R = y − Xw, the residual of the problem with the
    L2 term written as extra rows; s = min(1, minⱼ τⱼ/|ρⱼ|) makes θ feasible): scikit-learn's formulation A, whose
    ``½(1 + s²)·‖R‖² + Σ τ|w| − s·(yy − cᵀw)`` is rearranged so that yy (the total sum of squares, which can
    dwarf the gap by 10¹² and more) cancels exactly instead of in rounding::

        ρⱼ = cⱼ − (Gw)ⱼ − κⱼwⱼ      (the correlation of xⱼ with the residual: |ρⱼ| ≤ τⱼ at the optimum)
        gap = Σⱼ (τⱼ|wⱼ| − wⱼρⱼ) + ½(1 − s²)·wᵀρ + ½(1 − s)²·(yy − cᵀw)

    Without an L1 part (every τ = 0), the ridge dual at θ = R (formulation B), which is then
    ``Σⱼ ρⱼ²/(2κⱼ)``. Coordinates with τⱼ = 0 are left out of s (gradfit's penalties have none but the ridge's)."""
    rho = q.c - Gw - kappa * w
    if not np.any(tau > 0):
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.where(kappa > 0, rho * rho / (2 * kappa), 0.0).sum())
    penalized = tau > 0
    dual_norm = float(np.max(np.abs(rho[penalized]) / tau[penalized]))
    s = 1.0 if dual_norm <= 1.0 else 1.0 / dual_norm
    correlation = float(w @ rho)
    return float(tau @ np.abs(w) - correlation + 0.5 * (1 - s * s) * correlation
                 + 0.5 * (1 - s) ** 2 * (q.yy - q.c @ w))


def distance_bound(gap: float, mu: float) -> float:
    """‖w − w*‖ ≤ √(2·gap/μ) when P is μ-strongly convex (μ = least eigenvalue of G + diag κ); inf if μ = 0."""
    return math.sqrt(2 * max(gap, 0.0) / mu) if mu > 0 else math.inf


def strong_set(q: Quadratic, w: np.ndarray, Gw: np.ndarray, tau: np.ndarray, tau_before: np.ndarray) -> np.ndarray:
    """The sequential strong rule: keep j where wⱼ ≠ 0 or |cⱼ − (Gw)ⱼ| ≥ 2τⱼ(α) − τⱼ(α_before), w the solution
    at α_before. A guess: ``kkt_violations`` catches what it drops wrongly."""
    return np.flatnonzero((w != 0) | (np.abs(q.c - Gw) >= 2 * tau - tau_before))


def kkt_violations(q: Quadratic, Gw: np.ndarray, tau: np.ndarray, outside: np.ndarray) -> np.ndarray:
    """The coordinates of ``outside`` (held at wⱼ = 0) where 0 is not optimal: |cⱼ − (Gw)ⱼ| > τⱼ."""
    return outside[np.abs(q.c[outside] - Gw[outside]) > tau[outside]]


def path(q: Quadratic, alphas=None, l1_ratio: float = 1.0, scale=None, *, n_alphas: int = 100, eps: float = EPS,
         tol: float = TOL, max_iter: int = MAX_ITER, coef_init=None, screen: bool = True) -> Path:
    """The solutions along α (descending; ``alphas``, or ``n_alphas`` of ``alpha_grid``), each warm-started
    from the last (the first from ``coef_init``, else 0), stopped when the duality gap ≤ tol·yy.

    ``scale`` is the penalty's u (None: 1, the given scale). ``screen`` runs the strong rule and the KKT check;
    without it every sweep covers every coordinate (the same answer, slower when most wⱼ are 0). An α with no
    L1 part (ρ = 0, or α = 0) is ridge's (or least squares') exact solution, ``ridge``.
    """
    if not 0.0 <= l1_ratio <= 1.0:
        raise ConfigError(f"Invalid value for l1_ratio: {l1_ratio!r}; expected a number in [0, 1].")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ConfigError(f"Invalid value for max_iter: {max_iter!r}; expected an integer ≥ 1.")
    d = q.d
    if alphas is None:
        alphas = alpha_grid(q, l1_ratio, scale, n_alphas, eps)
    alphas = np.ascontiguousarray(np.sort(np.asarray(alphas, dtype=np.float64).ravel())[::-1])
    if not np.all(np.isfinite(alphas)) or (len(alphas) and alphas[-1] < 0):
        raise ConfigError(f"Invalid value for alphas: {alphas!r}; expected numbers ≥ 0.")
    tau_unit, kappa_unit = penalty_weights(1.0, l1_ratio, scale, d)
    lasso = int(np.count_nonzero(alphas > 0)) if np.any(tau_unit > 0) else 0   # the α with an L1 part: the first
    w = np.zeros(d) if coef_init is None else np.array(coef_init, dtype=np.float64)
    Gw = q.G @ w
    coefs, gaps = np.empty((len(alphas), d)), np.empty(len(alphas))
    n_iter = np.zeros(len(alphas))
    absolute = tol * q.yy
    before = max(alpha_max(q, l1_ratio, scale), alphas[0] if len(alphas) else 0.0)   # the strong rule's α_{k−1}
    if lasso:
        run = _path_numpy if _path_c is None else _path_c
        run(q.G, q.c, tau_unit, kappa_unit, alphas[:lasso], before, w, Gw, coefs[:lasso], gaps[:lasso],
            n_iter[:lasso], int(max_iter), float(q.yy), float(absolute), bool(screen))
    for k in range(lasso, len(alphas)):
        tau, kappa = alphas[k] * tau_unit, alphas[k] * kappa_unit
        coefs[k] = w = ridge(q, kappa)
        gaps[k] = duality_gap(q, w, q.G @ w, tau, kappa)
    return Path(alphas, coefs, gaps, n_iter.astype(np.int64), gaps <= absolute, absolute)


def _path_numpy(G, c, tau_unit, kappa_unit, alphas, before, w, Gw, coefs, gaps, n_iter, max_iter, yy, tol, screen):
    """``path``'s loop over α > 0 (``gradfit._rules.enet_path`` where it is built; the same steps)."""
    q = Quadratic(G, c, yy)
    tau_before = before * tau_unit
    for k, alpha in enumerate(alphas):
        tau, kappa = alpha * tau_unit, alpha * kappa_unit
        active = strong_set(q, w, Gw, tau, tau_before) if screen else np.arange(q.d)
        n_iter[k], gaps[k] = solve(q, tau, kappa, w, Gw, active, max_iter, tol)
        coefs[k] = w
        tau_before = tau


def solve(q: Quadratic, tau, kappa, w, Gw, active, max_iter: int, tol: float) -> tuple[int, float]:
    """Sweeps over the working set ``active``, grown by the KKT check until no coordinate outside it wants to move,
    then the gap of the whole problem (Gw recomputed first, so that rounding drift in its updates cannot fake it):
    again until the gap ≤ ``tol`` (absolute), a sweep changes nothing (the gap is then at its rounding floor), or
    ``max_iter`` sweeps. w and Gw are updated in place; returns (sweeps made, gap)."""
    d, done = q.d, 0
    inside = np.zeros(d, dtype=bool)
    inside[active] = True
    while True:
        made, _, stalled = sweeps(q, tau, kappa, w, Gw, np.flatnonzero(inside), max(max_iter - done, 1), tol)
        done += made
        violators = kkt_violations(q, Gw, tau, np.flatnonzero(~inside))
        if violators.size:
            inside[violators] = True
            continue
        Gw[:] = q.G @ w
        gap = duality_gap(q, w, Gw, tau, kappa)
        if stalled or done >= max_iter or gap <= tol:
            return done, gap


def sweeps(q: Quadratic, tau, kappa, w, Gw, active, max_sweeps: int, tol: float) -> tuple[int, float, bool]:
    """Cyclic sweeps over ``active``, each coordinate step an exact minimisation (w, Gw updated in place), every
    ``ANDERSON`` sweeps an extrapolation (``anderson``), until the gap of the problem restricted to ``active`` is
    ≤ ``tol``, a sweep changes nothing, or ``max_sweeps``: (sweeps made, that gap, whether a sweep changed nothing)."""
    G, c = q.G, q.c
    restricted = Quadratic(G[np.ix_(active, active)], c[active], q.yy)
    gap, done = math.inf, 0
    slots = [w[active].copy()]
    while done < max_sweeps:
        done += 1
        changed = False
        for j in active:
            curvature = G[j, j] + kappa[j]
            if curvature == 0:
                continue
            old = w[j]
            z = c[j] - Gw[j] + G[j, j] * old                  # xⱼ·(partial residual)
            new = math.copysign(max(abs(z) - tau[j], 0.0), z) / curvature
            if new != old:
                Gw += (new - old) * G[j]        # Gw += Δwⱼ·G[:, j] (row j: G is symmetric)
                w[j] = new
                changed = True
        gap = duality_gap(restricted, w[active], Gw[active], tau[active], kappa[active])
        if gap <= tol:
            break
        if not changed:
            return done, gap, True
        slots.append(w[active].copy())
        if len(slots) == ANDERSON + 1:
            anderson(q, tau, kappa, w, Gw, active, np.array(slots))
            slots = [w[active].copy()]
    return done, gap, False


def anderson(q: Quadratic, tau, kappa, w, Gw, active, slots: np.ndarray) -> None:
    """Anderson extrapolation of the last sweeps (skglm, Bertrand & Massias 2021): the affine combination
    Σ cᵢ·slotsᵢ₊₁ (Σ cᵢ = 1) whose combined steps Σ cᵢ·(slotsᵢ₊₁ − slotsᵢ) are least, taken (w, Gw in place) only
    where it lowers P — so it can only help."""
    steps = np.diff(slots, axis=0)
    C = steps @ steps.T
    try:
        z = np.linalg.solve(C, np.ones(len(C)))
    except np.linalg.LinAlgError:
        return
    if not np.all(np.isfinite(z)) or z.sum() == 0:
        return
    x = w.copy()                         # w is 0 outside the working set, and so is x
    x[active] = (z / z.sum()) @ slots[1:]
    if objective(q, x, tau, kappa) < objective(q, w, tau, kappa):
        Gw += (x[active] - w[active]) @ q.G[active]
        w[:] = x


def ridge(q: Quadratic, kappa: np.ndarray) -> np.ndarray:
    """argmin ½wᵀGw − cᵀw + ½Σκw²: (G + diag κ)w = c, the least-norm solution where it is singular."""
    H = q.G + np.diag(kappa)
    try:
        return np.linalg.solve(H, q.c) if np.all(kappa > 0) else np.linalg.lstsq(H, q.c, rcond=None)[0]
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(H, q.c, rcond=None)[0]

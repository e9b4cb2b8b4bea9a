"""θ*: the exact least-squares optimum, the one place that solves for it.

``solve`` works on arrays in memory; ``from_summary`` on the stats engine's one-pass summary,
taking further passes over the data (``rescan``) only where the summary keeps too few digits.
Everything that shows an optimum (explain, plots, report, the gaps in the history) reads the
θ* that ``fit`` stored in the result, never solves again.
"""

from __future__ import annotations

import math
import warnings
from typing import Callable, Iterable

import numpy as np

from gradfit.errors import GradfitWarning

OPTIMUM_DIGITS = 9       # below this many expected digits the optimum takes the QR pass
EPS = np.finfo(np.float64).eps


def design(X: np.ndarray, fit_intercept: bool, sample_weight=None) -> np.ndarray:
    """A = [X 1] (or X), rows scaled by √sᵢ with sample weights, so that Loss ∝ ‖Aθ − y‖²."""
    A = np.column_stack([X, np.ones(X.shape[0])]) if fit_intercept else np.asarray(X, dtype=np.float64)
    return A if sample_weight is None else A * np.sqrt(sample_weight)[:, None]


def solve(X, y, *, fit_intercept: bool = True, sample_weight=None) -> np.ndarray:
    """θ* = argmin Σ sᵢ (xᵢ·w + b − yᵢ)² (the minimum-norm one when not unique)."""
    A = design(np.asarray(X, dtype=np.float64), fit_intercept, sample_weight)
    b = np.asarray(y, dtype=np.float64)
    b = b if sample_weight is None else b * np.sqrt(sample_weight)
    return np.linalg.lstsq(A, b, rcond=None)[0]


def from_summary(summary, fit_intercept: bool, rescan: Callable[[], Iterable] | None = None,
                 second_pass: bool = True) -> np.ndarray | None:
    """θ* from the count, means and co-moments of ``[x, y]``; a QR pass (``rescan``) when ill-conditioned.

    With ``second_pass=False`` an ill-conditioned problem gives ``None`` rather than reading
    the data again (the caller then does without the reference).
    """
    d, n = summary.d, summary.n
    xbar, ybar, M = summary.mean[:d], summary.mean[d], summary.M
    if not fit_intercept:
        # Without the bias the raw (uncentred) products are the ones to solve.
        G = M[:d, :d] + n * np.outer(xbar, xbar)
        return solve_equilibrated(G, M[:d, d] + n * xbar * ybar)
    digits = expected_digits(M)
    if digits >= OPTIMUM_DIGITS or rescan is None:
        w = solve_equilibrated(M[:d, :d], M[:d, d])
    elif not second_pass:
        return None
    else:
        warnings.warn(
            f"The features are ill-conditioned: solved from the one-pass summary, the exact optimum would "
            f"keep only about {max(digits, 0):.0f} correct digits, so gradfit took a second, QR-based pass "
            "over the data for it.", GradfitWarning, stacklevel=2)
        R = qr_factor(rescan(), summary.mean)
        w = np.linalg.lstsq(R[:-1, :-1], R[:-1, -1], rcond=None)[0]
    return np.append(w, ybar - xbar @ w)


def qr_factor(blocks: Iterable[tuple[np.ndarray, np.ndarray]], mean: np.ndarray) -> np.ndarray:
    """TSQR: the R-factor of the rows ``[x − x̄, y − ȳ]``, one block at a time.

    ``[R; block] = Q·R'`` keeps ``R'ᵀR' = RᵀR + blockᵀblock`` without ever forming a
    product of the data with itself, so the condition number is not squared.
    """
    R = np.zeros((0, mean.shape[0]))
    for X, y in blocks:
        Z = np.column_stack([X, y]) - mean
        R = np.linalg.qr(np.vstack([R, Z]), mode="r")
    return R


def solve_equilibrated(M: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """w from ``M·w = rhs``, the columns scaled to unit diagonal first (equilibration)."""
    diag = np.diag(M)
    s = 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0))
    return s * np.linalg.lstsq(M * np.outer(s, s), rhs * s, rcond=None)[0]


def condition_number(M: np.ndarray) -> float:
    """Condition number of the equilibrated co-moment matrix of the features."""
    Mxx = M[:-1, :-1]
    diag = np.diag(Mxx)
    if not diag.size:
        return 1.0
    if (diag <= 0).any():
        return math.inf
    s = 1.0 / np.sqrt(diag)
    return float(np.linalg.cond(Mxx * np.outer(s, s)))


def expected_digits(M: np.ndarray) -> float:
    """Digits the optimum keeps when solved from the co-moments: −log10(κ(M)·ε), κ(M) = κ(Xc)²."""
    kappa = condition_number(M)
    return -math.log10(kappa * EPS) if math.isfinite(kappa) else 0.0


# --- how far a run is from θ* -------------------------------------------------------------

def param_gap(theta, theta_star) -> float:
    """‖θ − θ*‖ / ‖θ*‖ (the plain distance when θ* = 0)."""
    distance = float(np.linalg.norm(np.asarray(theta) - theta_star))
    size = float(np.linalg.norm(theta_star))
    return distance / size if size > 0 else distance


def record_gaps(history, theta_star, loss_star: float) -> None:
    """Fill the history's loss and parameter gaps, one per recorded iteration."""
    history.loss_gap = [loss - loss_star for loss in history.loss]
    history.param_gap = [param_gap(t, theta_star) for t in history.theta]

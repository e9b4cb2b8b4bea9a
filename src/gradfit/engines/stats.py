"""The stats engine: one pass reduces the data to a small summary; every iteration is O(d²).

For the squared loss the data enter the loss only through the count ``n``, the means
``z̄`` and the centred co-moments ``M = Σᵢ (zᵢ − z̄)(zᵢ − z̄)ᵀ`` of the augmented rows
``z = [x, y]``. Writing ``c = x̄·w + b − ȳ`` (the mean residual)::

    Loss(θ)  = [w, −1]ᵀ M [w, −1] + n·c²
    ∂Loss/∂w = 2·(Mxx·w − Mxy) + 2·n·c·x̄
    ∂Loss/∂b = 2·n·c

(each divided by n for "mse"). Within a pass the rows are summed about a shift near their
mean (``summarize``); summaries of two passes or partitions merge exactly (Chan, Golub &
LeVeque's parallel update, ``Summary.merge``), so the same reduction runs over arrays in
memory, over a stream of file chunks, and as a Dask tree reduction. Centring keeps the
digits that large column means would cost a plain Gram matrix (the Longley data).

The co-moments square the condition number of the centred features. Gradient descent
only needs ``M·v``, which is as accurate as the numpy engine's ``Xᵀr``; the exact
optimum is solved from ``M`` when its (equilibrated) condition number leaves at least
``OPTIMUM_DIGITS`` digits, and otherwise from a second, QR-based pass over the data
(TSQR: the R-factor of the centred rows, merged by stacking two R's and factoring again),
which does not square it. benchmarks/README.md has the measurements behind this.

The pass itself runs in a small C kernel (``_summary.c``) that reads each row once, shifting
and multiplying it while it is in the cache; where the kernel is not built, NumPy does the
same arithmetic (a shifted copy and a ``syrk`` per block), a few times slower.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np

from gradfit import losses
from gradfit.errors import GradfitWarning

try:
    from gradfit.engines import _summary    # the C kernel; optional, see setup.py
except ImportError:                         # pragma: no cover - only where no compiler was found
    _summary = None

BLOCK_ROWS = 4096        # rows per block: the block's products stay in cache
OPTIMUM_DIGITS = 9       # below this many expected digits the optimum takes the QR pass
KERNEL_MAX_D = 200       # above this many features BLAS's blocked syrk outruns the C kernel (measured)
EPS = np.finfo(np.float64).eps

Blocks = Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]]  # a fresh pass over (X, y) blocks


@dataclass(frozen=True)
class Summary:
    """Count, means and centred co-moments of the rows ``z = [x, y]``."""

    n: int
    mean: np.ndarray     # (d+1,)
    M: np.ndarray        # (d+1, d+1)

    @classmethod
    def of_block(cls, X, y) -> "Summary":
        X = np.asarray(X, dtype=np.float64)
        n, d = X.shape
        Z = np.empty((n, d + 1))
        Z[:, :d] = X
        Z[:, d] = y
        mean = np.ones(n) @ Z / n if n else np.zeros(d + 1)   # a gemv: faster than Z.mean(axis=0)
        Z -= mean
        return cls(n, mean, Z.T @ Z)

    def merge(self, other: "Summary") -> "Summary":
        """Chan–Golub–LeVeque: M = Ma + Mb + δδᵀ·na·nb/n with δ = z̄b − z̄a."""
        if not other.n:
            return self
        if not self.n:
            return other
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.n / n)
        M = self.M + other.M + np.outer(delta, delta) * (self.n * other.n / n)
        return Summary(n, mean, M)

    @property
    def d(self) -> int:
        return self.mean.shape[0] - 1


def summarize(blocks: Iterable[tuple[np.ndarray, np.ndarray]]) -> Summary:
    """One pass over ``(X, y)`` blocks of any size.

    Within a pass the rows are shifted by ``K``, the mean of the first ``BLOCK_ROWS`` rows, and
    ``S = Σ (z − K)(z − K)ᵀ`` and ``s = Σ (z − K)`` are summed; then ``z̄ = K + s/n`` and
    ``M = S − n·(s/n)(s/n)ᵀ``. With ``K`` near the mean the correction is small, so this keeps
    the digits of per-block centring at a fraction of its cost.
    """
    n, shift, S, s = 0, None, None, None
    for X, y in blocks:
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
        m, d = X.shape
        if shift is None:
            if not m:
                continue
            shift = Summary.of_block(X[:BLOCK_ROWS], y[:BLOCK_ROWS]).mean
            S, s = np.zeros((d + 1, d + 1)), np.zeros(d + 1)
        accumulate(X, y, shift, S, s)
        n += m
    if shift is None or not n:
        raise ValueError("no rows to summarize")
    delta = s / n
    return Summary(n, shift + delta, S - n * np.outer(delta, delta))


def accumulate(X: np.ndarray, y: np.ndarray, shift: np.ndarray, S: np.ndarray, s: np.ndarray) -> None:
    """``S += Σ (z − K)(z − K)ᵀ`` and ``s += Σ (z − K)`` over the rows ``z = [x, y]``, ``K = shift``."""
    if _summary is not None and X.shape[1] <= KERNEL_MAX_D:
        if X.flags.c_contiguous and y.flags.c_contiguous:
            _summary.accumulate(X, y, shift, S, s)
        else:                                   # strided: contiguous copies, a block at a time
            for Xb, yb in array_blocks(X, y):
                _summary.accumulate(np.ascontiguousarray(Xb), np.ascontiguousarray(yb), shift, S, s)
        return
    m, d = X.shape
    Z, ones = np.empty((min(m, BLOCK_ROWS), d + 1)), np.ones(min(m, BLOCK_ROWS))
    for Xb, yb in array_blocks(X, y):         # a fused subtract-and-copy, one syrk, one gemv per block
        Zb = Z[:Xb.shape[0]]
        np.subtract(Xb, shift[:d], out=Zb[:, :d])
        np.subtract(yb, shift[d], out=Zb[:, d])
        S += Zb.T @ Zb
        s += ones[:Xb.shape[0]] @ Zb


def tree_merge(summaries: list[Summary]) -> Summary:
    """Merge pairwise, level by level (the shape of a Dask tree reduction)."""
    while len(summaries) > 1:
        pairs = [summaries[i:i + 2] for i in range(0, len(summaries), 2)]
        summaries = [p[0].merge(p[1]) if len(p) == 2 else p[0] for p in pairs]
    return summaries[0]


def array_blocks(X: np.ndarray, y: np.ndarray, rows: int = BLOCK_ROWS):
    """``(X, y)`` in blocks of ``rows`` rows (views, no copies)."""
    for start in range(0, X.shape[0], rows):
        yield X[start:start + rows], y[start:start + rows]


# --- the exact optimum -----------------------------------------------------------------------

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


def solve_triangular(R: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """w from ``R·w = rhs`` (least squares, so a rank-deficient R still gives an answer)."""
    return np.linalg.lstsq(R, rhs, rcond=None)[0]


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


# --- the objective ---------------------------------------------------------------------------

class StatsObjective:
    """Loss and gradient from a ``Summary``; ``rescan`` gives a second pass for the optimum."""

    name = "stats"
    dtype = np.float64

    def __init__(self, summary: Summary, *, reduction: str, fit_intercept: bool, rescan: Blocks | None = None):
        self.summary, self.reduction, self.fit_intercept = summary, reduction, fit_intercept
        self.rescan = rescan
        self.n_rows = summary.n
        d = summary.d
        self.xbar, self.ybar = summary.mean[:d], summary.mean[d]
        self.Mxx, self.Mxy, self.Myy = summary.M[:d, :d], summary.M[:d, d], summary.M[d, d]
        self.scale = losses.scale(reduction, summary.n)

    @classmethod
    def from_arrays(cls, X, y, *, reduction: str, fit_intercept: bool) -> "StatsObjective":
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
        return cls(summarize([(X, y)]), reduction=reduction, fit_intercept=fit_intercept,
                   rescan=lambda: array_blocks(X, y))

    def _split(self, theta):
        d = self.xbar.shape[0]
        return theta[:d], (theta[d] if self.fit_intercept else 0.0)

    def loss_and_gradient(self, theta) -> tuple[float, np.ndarray]:
        w, b = self._split(np.asarray(theta, dtype=np.float64))
        n = self.n_rows
        c = self.xbar @ w + b - self.ybar                      # mean residual
        Mw = self.Mxx @ w - self.Mxy                           # Σ (xᵢ − x̄)·rᵢ
        loss = max(w @ Mw - (w @ self.Mxy - self.Myy), 0.0) + n * c * c
        grad_w = 2 * Mw + 2 * n * c * self.xbar
        grad = np.append(grad_w, 2 * n * c) if self.fit_intercept else grad_w
        return loss * self.scale, grad * self.scale

    def loss(self, theta) -> float:
        return self.loss_and_gradient(theta)[0]

    def gradient(self, theta) -> np.ndarray:
        return self.loss_and_gradient(theta)[1]

    def gram(self) -> np.ndarray:
        """AᵀA with A = [X 1], rebuilt from the summary: Σxxᵀ = Mxx + n·x̄x̄ᵀ."""
        n, xbar = self.n_rows, self.xbar
        G = self.Mxx + n * np.outer(xbar, xbar)
        if not self.fit_intercept:
            return G
        return np.block([[G, n * xbar[:, None]], [n * xbar[None, :], np.array([[float(n)]])]])

    def hessian_max_eigenvalue(self) -> float:
        return losses.largest_eigenvalue(losses.hessian_from_gram(self.gram(), self.reduction, self.n_rows))

    def expected_digits(self) -> float:
        """Digits the optimum keeps when solved from the co-moments: −log10(κ(M)·ε), κ(M) = κ(Xc)²."""
        kappa = condition_number(self.summary.M)
        return -math.log10(kappa * EPS) if math.isfinite(kappa) else 0.0

    def optimum(self, second_pass: bool = True) -> np.ndarray | None:
        """The exact least-squares θ* = [w*, b*]: from the co-moments, or a QR pass when ill-conditioned.

        With ``second_pass=False`` an ill-conditioned problem gives ``None`` rather than reading
        the data again (the caller then does without the reference).
        """
        if not self.fit_intercept:
            # Without the bias the raw (uncentred) products are the ones to solve.
            G = self.gram()
            rhs = self.Mxy + self.n_rows * self.xbar * self.ybar
            return solve_equilibrated(G, rhs)
        digits = self.expected_digits()
        if digits >= OPTIMUM_DIGITS or self.rescan is None:
            w = solve_equilibrated(self.Mxx, self.Mxy)
        elif not second_pass:
            return None
        else:
            warnings.warn(
                f"The features are ill-conditioned: solved from the one-pass summary, the exact optimum would "
                f"keep only about {max(digits, 0):.0f} correct digits, so gradfit took a second, QR-based pass "
                "over the data for it.", GradfitWarning, stacklevel=2)
            R = qr_factor(self.rescan(), self.summary.mean)
            w = solve_triangular(R[:-1, :-1], R[:-1, -1])
        return np.append(w, self.ybar - self.xbar @ w)

    def metrics(self, theta) -> dict[str, float]:
        """MSE, RMSE and R² = 1 − Σr²/Σ(y − ȳ)², from the summary (no pass over the data)."""
        sse = self.loss(theta) / self.scale
        mse = sse / self.n_rows
        r2 = 1.0 - sse / self.Myy if self.Myy > 0 else math.nan
        return {"mse": mse, "rmse": math.sqrt(mse), "r2": r2}

"""Standardization: descend on well-scaled features, report on the original scale.

With intercept each feature becomes ``z = (x − m) / s`` (mean m, standard deviation s); the
model ``f = w_z·z + b_z`` is the same line as ``f = w·x + b`` with::

    w = w_z / s          b = b_z − Σⱼ w_z,ⱼ·mⱼ / sⱼ

so ``θ = M·θ_z`` for a constant matrix ``M``; gradients map back as ``∇θ = M⁻ᵀ·∇θ_z``.
Without intercept features are only scaled (``s`` = root mean square), since centring would
change the model. A constant column cannot be scaled: it keeps ``s = 1`` and is named.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from gradfit.errors import GradfitWarning

# Standardized features whose condition number exceeds this are called near-collinear.
COLLINEAR_CONDITION = 1e3
# The collinearity check looks at a seeded sample of this many rows at most (it is a warning, not a fit).
COLLINEAR_SAMPLE_ROWS = 100_000


@dataclass(frozen=True)
class Standardizer:
    mean: np.ndarray
    scale: np.ndarray
    fit_intercept: bool
    constant: tuple[str, ...] = ()   # columns that could not be scaled

    @classmethod
    def fit(cls, X: np.ndarray, names, fit_intercept: bool, sample_weight=None) -> "Standardizer":
        """Means and standard deviations of the columns (weighted like the loss, so that a weight of 2
        standardizes exactly as a repeated row does)."""
        if fit_intercept:
            mean = np.average(X, axis=0, weights=sample_weight)
            scale = np.sqrt(np.average((X - mean) ** 2, axis=0, weights=sample_weight))
            flat = scale <= 1e-12 * np.maximum(np.abs(mean), 1.0)
        else:
            mean = np.zeros(X.shape[1])
            scale = np.sqrt(np.average(X * X, axis=0, weights=sample_weight))
            flat = scale == 0
        scale = np.where(flat, 1.0, scale)
        return cls(mean, scale, fit_intercept, tuple(n for n, f in zip(names, flat) if f))

    @classmethod
    def from_summary(cls, summary, names, fit_intercept: bool) -> "Standardizer":
        """The same, from a one-pass summary's count, means and centred co-moments (no pass over the rows)."""
        d, n = summary.d, summary.n
        mean = summary.mean[:d]
        variance = np.diag(summary.M)[:d] / n
        if fit_intercept:
            scale = np.sqrt(np.maximum(variance, 0.0))
            flat = scale <= 1e-12 * np.maximum(np.abs(mean), 1.0)
        else:
            scale = np.sqrt(np.maximum(variance, 0.0) + mean * mean)
            mean, flat = np.zeros(d), scale == 0
        scale = np.where(flat, 1.0, scale)
        return cls(mean, scale, fit_intercept, tuple(n for n, f in zip(names, flat) if f))

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean) / self.scale

    def matrix(self) -> np.ndarray:
        """M with θ = M·θ_z (original parameters from standardized ones)."""
        d = self.mean.shape[0]
        M = np.diag(np.append(1.0 / self.scale, 1.0) if self.fit_intercept else 1.0 / self.scale)
        if self.fit_intercept:
            M[d, :d] = -self.mean / self.scale
        return M

    def to_standardized(self, theta) -> np.ndarray:
        """θ_z = M⁻¹·θ, written out (w_z = w·s, b_z = b + m·w) so that a weight that is 0 stays exactly 0."""
        theta = np.asarray(theta, dtype=np.float64)
        d = len(self.scale)
        theta_z = theta.copy()
        theta_z[:d] = theta[:d] * self.scale
        if self.fit_intercept:
            theta_z[d] = theta[d] + self.mean @ theta[:d]
        return theta_z


# --- conditioning of the features ------------------------------------------------------------

def warn_about_features(X: np.ndarray, names, fit_intercept: bool) -> None:
    """Warn (the fit still runs) when there are more parameters than rows, or near-collinear features."""
    n, d = X.shape
    if not _underdetermined(n, d, fit_intercept):
        _warn_collinear(collinear_features(X, names, fit_intercept))


def warn_about_summary(summary, names, fit_intercept: bool) -> None:
    """``warn_about_features`` from a one-pass summary's co-moments (every row, no pass of its own)."""
    n, d = summary.n, summary.d
    if not _underdetermined(n, d, fit_intercept):
        # A column the standardization calls constant (scale ≤ 1e-12·max(|mean|, 1)) is left out here too.
        flat = 1e-12 * np.maximum(np.abs(summary.mean[:d]), 1.0) * np.sqrt(n) if fit_intercept else 0.0
        _warn_collinear(collinear_from_comoments(comoments_of_summary(summary, fit_intercept), names, flat))


def _underdetermined(n: int, d: int, fit_intercept: bool) -> bool:
    if d + fit_intercept <= n:
        return False
    warnings.warn(
        f"X has {d} feature{'s' * (d != 1)} but only {n} rows: the least-squares solution is not unique. "
        "The fit still runs and reaches one of the optima (from a zero start, the one of smallest "
        "norm); coefficients, standard errors and p-values are not meaningful. Add rows or drop features.",
        GradfitWarning, stacklevel=5)
    return True


def _warn_collinear(involved) -> None:
    if involved:
        warnings.warn(
            f"Features {', '.join(repr(n) for n in involved)} are (nearly) collinear: one is almost a "
            "linear combination of the others, so their coefficients are poorly determined and gradient "
            "descent converges slowly along that direction. The fit still runs; consider dropping one of "
            "them, or --standardize.", GradfitWarning, stacklevel=5)


def comoments_of_summary(summary, fit_intercept: bool) -> np.ndarray:
    """The features' co-moments the collinearity check looks at: centred (Σ (x − x̄)(x − x̄)ᵀ) with an
    intercept, raw (Σ xxᵀ = M + n·x̄x̄ᵀ) without one."""
    d = summary.d
    C = summary.M[:d, :d]
    if fit_intercept:
        return C
    xbar = summary.mean[:d]
    return C + summary.n * np.outer(xbar, xbar)


def collinear_features(X: np.ndarray, names, fit_intercept: bool) -> list[str]:
    """Names of the features in the near-null directions of the standardized design (empty if none)."""
    if X.shape[0] > COLLINEAR_SAMPLE_ROWS:
        X = X[:: X.shape[0] // COLLINEAR_SAMPLE_ROWS]   # evenly spaced rows: cheap and deterministic
    Z = X - X.mean(axis=0) if fit_intercept else X
    return collinear_from_comoments(Z.T @ Z, names)


def collinear_from_comoments(C: np.ndarray, names, flat=0.0) -> list[str]:
    """``collinear_features`` from the features' co-moment matrix ``C = ZᵀZ`` (Z the centred, or raw, columns);
    columns whose norm is at most ``flat`` count as constant."""
    norms = np.sqrt(np.maximum(np.diag(C), 0.0))
    keep = norms > flat                      # a constant column is reported by standardization
    if keep.sum() < 2:
        return []
    # The correlation matrix D⁻¹CD⁻¹ (D the columns' norms): its eigenvalues are the squared singular
    # values of the standardized design; a condition of 1e3 is 1e6 there, far from rounding.
    R = C[np.ix_(keep, keep)] / np.outer(norms[keep], norms[keep])
    eigenvalues, V = np.linalg.eigh(R)
    weak = eigenvalues < eigenvalues[-1] / COLLINEAR_CONDITION**2
    if not weak.any():
        return []
    loading = np.abs(V[:, weak]).max(axis=1)
    kept_names = [n for n, k in zip(names, keep) if k]
    return [n for n, v in zip(kept_names, loading) if v >= 0.1]

"""The squared-error loss and its hand-derived gradient: the one place that knows "sse" from "mse".

With ``A = [X 1]`` (a column of ones for the bias), ``θ = [w, b]`` and the residual
``r = Aθ − y``::

    Loss(θ)   = Σᵢ rᵢ²            (reduction "sse", the tutorial's)   or  (1/n)·Σᵢ rᵢ²  ("mse")
    ∂Loss/∂w  = Σᵢ 2·rᵢ·xᵢ = 2·Xᵀr                                   (chain rule: ∂L/∂f · ∂f/∂w)
    ∂Loss/∂b  = Σᵢ 2·rᵢ    = 2·Σr
    Hessian   = 2·AᵀA                                               (constant: the loss is quadratic)

With sample weights ``sᵢ`` every sum is weighted: ``Loss = Σᵢ sᵢ·rᵢ²`` (divided by ``Σᵢ sᵢ``
for "mse", so that a weight of 2 counts exactly like a repeated row), ``∇ = 2·Aᵀ(s∘r)``,
``Hessian = 2·AᵀSA``.

Gradient descent on a quadratic converges exactly when ``λ < 2 / h_max(Hessian)``.
The python engine spells the same sums out as the tutorial's loops.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from gradfit.model import split


class Reduction(enum.StrEnum):
    SSE = "sse"   # Σ rᵢ², the tutorial's
    MSE = "mse"   # (1/n)·Σ rᵢ²


@dataclass(frozen=True)
class Loss:
    """What is minimised: the reduction, whether θ holds a bias, and the rows' weights."""

    reduction: Reduction = Reduction.MSE
    fit_intercept: bool = True
    sample_weight: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "reduction", Reduction(self.reduction))

    @property
    def is_sum(self) -> bool:
        return self.reduction is Reduction.SSE

    def total_weight(self, n_rows: int) -> float:
        """n, or Σ sᵢ with sample weights: what "mse" divides by."""
        return n_rows if self.sample_weight is None else float(np.sum(self.sample_weight))

    def scale(self, n_rows: int) -> float:
        """The factor in front of the sum: 1 for "sse", 1/n for "mse" (n = Σ weights when weighted)."""
        return 1.0 if self.is_sum else 1.0 / self.total_weight(n_rows)

    def residual(self, X: np.ndarray, y: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """r = Xw + b − y."""
        w, b = split(theta, self.fit_intercept)
        return X @ w + b - y if self.fit_intercept else X @ w - y

    def value(self, r: np.ndarray, weight=None) -> float:
        """Loss = Σ r² (or its mean); Σ s·r² (or / Σ s) with sample weights."""
        weight = self.sample_weight if weight is None else weight
        total = float(r @ r) if weight is None else float((weight * r) @ r)
        return total * self.scale(r.shape[0])

    def gradient(self, X: np.ndarray, r: np.ndarray) -> np.ndarray:
        """∂Loss/∂w = 2·Xᵀr, ∂Loss/∂b = 2·Σr (r weighted by s; each divided by n or Σ s for "mse")."""
        sr = r if self.sample_weight is None else self.sample_weight * r
        grad_w = 2 * (X.T @ sr)
        grad = np.append(grad_w, 2 * sr.sum()) if self.fit_intercept else grad_w
        return grad * self.scale(r.shape[0])

    def batch_gradient(self, X_batch, y_batch, theta, n_rows: int) -> np.ndarray:
        """An unbiased estimate of the full gradient from one mini-batch (unweighted rows).

        "mse": the batch's own mean gradient; "sse": the batch's sum scaled by n / |batch|.
        """
        r = self.residual(X_batch, y_batch, theta)
        grad_w = 2 * (X_batch.T @ r)
        grad = np.append(grad_w, 2 * r.sum()) if self.fit_intercept else grad_w
        return grad * self.batch_factor(n_rows, X_batch.shape[0])

    def batch_factor(self, n_rows: int, batch_rows: int) -> float:
        """What a batch's summed gradient is multiplied by to estimate the full one: n/|B| or 1/|B|."""
        return (n_rows if self.is_sum else 1.0) / batch_rows

    def hessian(self, G: np.ndarray, n_rows: int) -> np.ndarray:
        """Hessian of the loss from the Gram matrix G = AᵀSA: 2·G (divided by n for "mse")."""
        return 2 * G * self.scale(n_rows)

    def row_curvature(self, X: np.ndarray, n_rows: int) -> float:
        """The largest curvature of one row's term, maxᵢ 2‖aᵢ‖², scaled as a mini-batch gradient is."""
        row_norms = np.einsum("ij,ij->i", X, X) + self.fit_intercept
        return 2 * float(row_norms.max()) * (n_rows if self.is_sum else 1.0)


def gram(X: np.ndarray, fit_intercept: bool, sample_weight=None) -> np.ndarray:
    """AᵀA with A = [X 1] (or X alone without intercept), AᵀSA with weights, in float64."""
    X = np.asarray(X, dtype=np.float64)
    SX = X if sample_weight is None else X * np.asarray(sample_weight, dtype=np.float64)[:, None]
    if not fit_intercept:
        return SX.T @ X
    d = X.shape[1]
    G = np.empty((d + 1, d + 1))
    G[:d, :d] = SX.T @ X
    G[:d, d] = G[d, :d] = SX.sum(axis=0)
    G[d, d] = X.shape[0] if sample_weight is None else float(np.sum(sample_weight))
    return G


LANCZOS_FROM = 500   # below this size, a full eigendecomposition is as cheap and exact


def extreme_eigenvalues(H: np.ndarray) -> tuple[float, float]:
    """(h_min, h_max) of a symmetric positive semi-definite matrix (Lanczos, ``eigsh``, when it is large)."""
    if H.shape[0] <= LANCZOS_FROM:
        eigenvalues = np.linalg.eigvalsh(H)
        return max(float(eigenvalues[0]), 0.0), float(eigenvalues[-1])
    from scipy.sparse.linalg import eigsh

    high = float(eigsh(H, k=1, which="LA", tol=1e-10, return_eigenvectors=False)[0])
    low = float(eigsh(H, k=1, which="SA", tol=1e-10, return_eigenvectors=False)[0])
    return max(low, 0.0), high


def minibatch_curvature(lambda_max: float, row: float, n: int, batch_size: int) -> float:
    """The curvature that bounds a mini-batch SGD step (expected smoothness, Gower et al. 2019).

    L_B = n(B − 1)/(B(n − 1))·L + (n − B)/(B(n − 1))·L_row, with L the full Hessian's h_max and
    L_row the curvature of one row: B = n gives L, B = 1 gives L_row — a step of 1/L_B is then
    safe for any batch.
    """
    B = min(batch_size, n)
    if n == 1:
        return lambda_max
    return n * (B - 1) / (B * (n - 1)) * lambda_max + (n - B) / (B * (n - 1)) * row


def stable_lr_bound(lambda_max: float) -> float:
    """The largest learning rate for which gradient descent converges: 2 / h_max."""
    return 2.0 / lambda_max if lambda_max > 0 else float("inf")

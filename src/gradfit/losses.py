"""The squared-error loss and its hand-derived gradient, vectorised.

With ``A = [X 1]`` (a column of ones for the bias), ``θ = [w, b]`` and the residual
``r = Aθ − y``::

    Loss(θ)   = Σᵢ rᵢ²            (reduction "sse", the tutorial's)   or  (1/n)·Σᵢ rᵢ²  ("mse")
    ∂Loss/∂w  = Σᵢ 2·rᵢ·xᵢ = 2·Xᵀr                                   (chain rule: ∂L/∂f · ∂f/∂w)
    ∂Loss/∂b  = Σᵢ 2·rᵢ    = 2·Σr
    Hessian   = 2·AᵀA                                               (constant: the loss is quadratic)

With sample weights ``sᵢ`` every sum is weighted: ``Loss = Σᵢ sᵢ·rᵢ²`` (divided by ``Σᵢ sᵢ``
for "mse", so that a weight of 2 counts exactly like a repeated row), ``∇ = 2·Aᵀ(s∘r)``,
``Hessian = 2·AᵀSA``.

Gradient descent on a quadratic converges exactly when ``λ < 2 / λ_max(Hessian)``.
The python engine spells the same sums out as the tutorial's loops.
"""

from __future__ import annotations

import numpy as np

REDUCTIONS = ("sse", "mse")


def scale(reduction: str, n_rows: float) -> float:
    """The factor in front of the sum: 1 for "sse", 1/n for "mse" (n = Σ weights when weighted)."""
    return 1.0 if reduction == "sse" else 1.0 / n_rows


def total_weight(r: np.ndarray, sample_weight) -> float:
    """n, or Σ sᵢ with sample weights: what "mse" divides by."""
    return r.shape[0] if sample_weight is None else float(np.sum(sample_weight))


def residual(X: np.ndarray, y: np.ndarray, theta: np.ndarray, fit_intercept: bool) -> np.ndarray:
    """r = Xw + b − y."""
    d = X.shape[1]
    prediction = X @ theta[:d]
    if fit_intercept:
        prediction = prediction + theta[d]
    return prediction - y


def squared_error(r: np.ndarray, reduction: str, sample_weight=None) -> float:
    """Loss = Σ r² (or its mean); Σ s·r² (or / Σ s) with sample weights."""
    loss = float(r @ r) if sample_weight is None else float((sample_weight * r) @ r)
    return loss if reduction == "sse" else loss / total_weight(r, sample_weight)


def gradient(X: np.ndarray, r: np.ndarray, reduction: str, fit_intercept: bool,
             sample_weight=None) -> np.ndarray:
    """∂Loss/∂w = 2·Xᵀr, ∂Loss/∂b = 2·Σr (r weighted by s; each divided by n or Σ s for "mse")."""
    sr = r if sample_weight is None else sample_weight * r
    grad_w = 2 * (X.T @ sr)
    parts = [grad_w, [2 * sr.sum()]] if fit_intercept else [grad_w]
    grad = np.concatenate(parts)
    return grad if reduction == "sse" else grad / total_weight(r, sample_weight)


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


def hessian_from_gram(G: np.ndarray, reduction: str, n_rows: int) -> np.ndarray:
    """Hessian of the loss: 2·AᵀA (divided by n for "mse")."""
    return 2 * G * scale(reduction, n_rows)


def largest_eigenvalue(H: np.ndarray) -> float:
    """λ_max of a symmetric positive semi-definite matrix (Lanczos, ``eigsh``, when it is large)."""
    if H.shape[0] <= LANCZOS_FROM:
        return float(np.linalg.eigvalsh(H)[-1])
    from scipy.sparse.linalg import eigsh

    return float(eigsh(H, k=1, which="LA", tol=1e-10, return_eigenvectors=False)[0])


LANCZOS_FROM = 500   # below this size, a full eigendecomposition is as cheap and exact


def minibatch_curvature(lambda_max: float, X: np.ndarray, fit_intercept: bool, reduction: str,
                        batch_size: int) -> float:
    """The curvature that bounds a mini-batch SGD step (expected smoothness, Gower et al. 2019).

    L_B = n(B − 1)/(B(n − 1))·L + (n − B)/(B(n − 1))·L_row, with L the full Hessian's λ_max and
    L_row = maxᵢ 2‖aᵢ‖² (scaled as the loss is) the curvature of one row: B = n gives L, B = 1 gives
    L_row — a step of 1/L_B is then safe for any batch.
    """
    n = X.shape[0]
    B = min(batch_size, n)
    if n == 1:
        return lambda_max
    row_norms = np.einsum("ij,ij->i", X, X) + fit_intercept
    row = 2 * float(row_norms.max()) * (n if reduction == "sse" else 1.0)
    return n * (B - 1) / (B * (n - 1)) * lambda_max + (n - B) / (B * (n - 1)) * row


def stable_lr_bound(lambda_max: float) -> float:
    """The largest learning rate for which gradient descent converges: 2 / λ_max."""
    return 2.0 / lambda_max if lambda_max > 0 else float("inf")

"""The squared-error loss and its hand-derived gradient, vectorised.

With ``A = [X 1]`` (a column of ones for the bias), ``θ = [w, b]`` and the residual
``r = Aθ − y``::

    Loss(θ)   = Σᵢ rᵢ²            (reduction "sse", the tutorial's)   or  (1/n)·Σᵢ rᵢ²  ("mse")
    ∂Loss/∂w  = Σᵢ 2·rᵢ·xᵢ = 2·Xᵀr                                   (chain rule: ∂L/∂f · ∂f/∂w)
    ∂Loss/∂b  = Σᵢ 2·rᵢ    = 2·Σr
    Hessian   = 2·AᵀA                                               (constant: the loss is quadratic)

Gradient descent on a quadratic converges exactly when ``λ < 2 / λ_max(Hessian)``.
The python engine spells the same sums out as the tutorial's loops.
"""

from __future__ import annotations

import numpy as np

REDUCTIONS = ("sse", "mse")


def scale(reduction: str, n_rows: int) -> float:
    """The factor in front of the sum: 1 for "sse", 1/n for "mse"."""
    return 1.0 if reduction == "sse" else 1.0 / n_rows


def residual(X: np.ndarray, y: np.ndarray, theta: np.ndarray, fit_intercept: bool) -> np.ndarray:
    """r = Xw + b − y."""
    d = X.shape[1]
    prediction = X @ theta[:d]
    if fit_intercept:
        prediction = prediction + theta[d]
    return prediction - y


def squared_error(r: np.ndarray, reduction: str) -> float:
    """Loss = Σ r² (or its mean)."""
    loss = float(r @ r)
    return loss if reduction == "sse" else loss / r.shape[0]


def gradient(X: np.ndarray, r: np.ndarray, reduction: str, fit_intercept: bool) -> np.ndarray:
    """∂Loss/∂w = 2·Xᵀr, ∂Loss/∂b = 2·Σr (each divided by n for "mse")."""
    grad_w = 2 * (X.T @ r)
    parts = [grad_w, [2 * r.sum()]] if fit_intercept else [grad_w]
    grad = np.concatenate(parts)
    return grad if reduction == "sse" else grad / r.shape[0]


def gram(X: np.ndarray, fit_intercept: bool) -> np.ndarray:
    """AᵀA with A = [X 1] (or X alone without intercept), in float64."""
    X = np.asarray(X, dtype=np.float64)
    if not fit_intercept:
        return X.T @ X
    d = X.shape[1]
    G = np.empty((d + 1, d + 1))
    G[:d, :d] = X.T @ X
    G[:d, d] = G[d, :d] = X.sum(axis=0)
    G[d, d] = X.shape[0]
    return G


def hessian_from_gram(G: np.ndarray, reduction: str, n_rows: int) -> np.ndarray:
    """Hessian of the loss: 2·AᵀA (divided by n for "mse")."""
    return 2 * G * scale(reduction, n_rows)


def largest_eigenvalue(H: np.ndarray) -> float:
    """λ_max of a symmetric positive semi-definite matrix."""
    return float(np.linalg.eigvalsh(H)[-1])


def stable_lr_bound(lambda_max: float) -> float:
    """The largest learning rate for which gradient descent converges: 2 / λ_max."""
    return 2.0 / lambda_max if lambda_max > 0 else float("inf")

"""Standardization: descend on well-scaled features, report on the original scale.

With intercept each feature becomes ``z = (x − m) / s`` (mean m, standard deviation s); the
model ``f = w_z·z + b_z`` is the same line as ``f = w·x + b`` with::

    w = w_z / s          b = b_z − Σⱼ w_z,ⱼ·mⱼ / sⱼ

so ``θ = M·θ_z`` for a constant matrix ``M``; gradients map back as ``∇θ = M⁻ᵀ·∇θ_z``.
Without intercept features are only scaled (``s`` = root mean square), since centring would
change the model. A constant column cannot be scaled: it keeps ``s = 1`` and is named.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Standardizer:
    mean: np.ndarray
    scale: np.ndarray
    fit_intercept: bool
    constant: tuple[str, ...] = ()   # columns that could not be scaled

    @classmethod
    def fit(cls, X: np.ndarray, names, fit_intercept: bool) -> "Standardizer":
        if fit_intercept:
            mean = X.mean(axis=0)
            scale = X.std(axis=0)
            flat = scale <= 1e-12 * np.maximum(np.abs(mean), 1.0)
        else:
            mean = np.zeros(X.shape[1])
            scale = np.sqrt(np.mean(X * X, axis=0))
            flat = scale == 0
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

    def to_original(self, theta_z) -> np.ndarray:
        return self.matrix() @ np.asarray(theta_z, dtype=np.float64)

    def to_standardized(self, theta) -> np.ndarray:
        return np.linalg.solve(self.matrix(), np.asarray(theta, dtype=np.float64))

    def gradient_to_original(self, grad_z) -> np.ndarray:
        return np.linalg.solve(self.matrix().T, np.asarray(grad_z, dtype=np.float64))

    def history_to_original(self, history) -> None:
        """Rewrite a History's parameters and gradients on the original scale, in place."""
        history.theta = [self.to_original(t) for t in history.theta]
        history.gradient = [self.gradient_to_original(g) for g in history.gradient]

"""The numpy engine: the same formulas vectorised, float64 by default, float32 on request."""

from __future__ import annotations

import numpy as np

from gradfit import losses


class NumpyObjective:
    def __init__(self, X, y, *, reduction: str, fit_intercept: bool, dtype: str = "float64"):
        self.dtype = np.dtype(dtype)
        self.X = np.ascontiguousarray(X, dtype=self.dtype)
        self.y = np.ascontiguousarray(y, dtype=self.dtype)
        self.reduction, self.fit_intercept = reduction, fit_intercept
        self.n_rows = self.X.shape[0]

    def loss_and_gradient(self, theta) -> tuple[float, np.ndarray]:
        theta = np.asarray(theta, dtype=self.dtype)
        r = losses.residual(self.X, self.y, theta, self.fit_intercept)
        return (losses.squared_error(r, self.reduction),
                losses.gradient(self.X, r, self.reduction, self.fit_intercept))

    def loss(self, theta) -> float:
        return self.loss_and_gradient(theta)[0]

    def gradient(self, theta) -> np.ndarray:
        return self.loss_and_gradient(theta)[1]

    def hessian_max_eigenvalue(self) -> float:
        G = losses.gram(self.X, self.fit_intercept)
        return losses.largest_eigenvalue(losses.hessian_from_gram(G, self.reduction, self.n_rows))

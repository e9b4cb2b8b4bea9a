"""The numpy engine: the same formulas vectorised, float64 by default, float32 on request."""

from __future__ import annotations

import numpy as np

from gradfit import losses


class NumpyObjective:
    def __init__(self, X, y, *, reduction: str, fit_intercept: bool, dtype: str = "float64",
                 sample_weight=None):
        self.dtype = np.dtype(dtype)
        self.X = np.ascontiguousarray(X, dtype=self.dtype)
        self.y = np.ascontiguousarray(y, dtype=self.dtype)
        self.sample_weight = None if sample_weight is None else np.ascontiguousarray(sample_weight, dtype=self.dtype)
        self.reduction, self.fit_intercept = reduction, fit_intercept
        self.n_rows = self.X.shape[0]

    def loss_and_gradient(self, theta) -> tuple[float, np.ndarray]:
        theta = np.asarray(theta, dtype=self.dtype)
        r = losses.residual(self.X, self.y, theta, self.fit_intercept)
        return (losses.squared_error(r, self.reduction, self.sample_weight),
                losses.gradient(self.X, r, self.reduction, self.fit_intercept, self.sample_weight))

    def loss(self, theta) -> float:
        return self.loss_and_gradient(theta)[0]

    def gradient(self, theta) -> np.ndarray:
        return self.loss_and_gradient(theta)[1]

    def iter_batches(self, batch_size: int, rng: np.random.Generator):
        """Every row once, in a shuffled order drawn from ``rng``, ``batch_size`` rows at a time."""
        order = rng.permutation(self.n_rows)
        for start in range(0, self.n_rows, batch_size):
            rows = order[start:start + batch_size]
            yield self.X[rows], self.y[rows]

    def hessian_max_eigenvalue(self) -> float:
        G = losses.gram(self.X, self.fit_intercept, self.sample_weight)
        n = self.n_rows if self.sample_weight is None else float(self.sample_weight.sum())
        return losses.largest_eigenvalue(losses.hessian_from_gram(G, self.reduction, n))

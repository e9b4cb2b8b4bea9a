"""The numpy engine: the same formulas vectorised, float64 by default, float32 on request."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from gradfit.loss import Loss, gram


class NumpyObjective:
    name = "numpy"
    summary = None
    rescan = None

    def __init__(self, X, y, loss: Loss, *, dtype: str = "float64"):
        self.dtype = np.dtype(dtype)
        self.X = np.asarray(X, dtype=self.dtype)
        self.y = np.asarray(y, dtype=self.dtype)
        weight = loss.sample_weight
        self.loss = loss if weight is None else replace(loss, sample_weight=np.asarray(weight, self.dtype))
        self.n_rows = self.X.shape[0]

    def loss_and_gradient(self, theta) -> tuple[float, np.ndarray]:
        r = self.loss.residual(self.X, self.y, np.asarray(theta, dtype=self.dtype))
        return self.loss.value(r), self.loss.gradient(self.X, r)

    def gram(self) -> np.ndarray:
        return gram(self.X, self.loss.fit_intercept, self.loss.sample_weight)

    def iter_batches(self, batch_size: int, rng: np.random.Generator):
        """Every row once, in a shuffled order drawn from ``rng``, ``batch_size`` rows at a time."""
        order = rng.permutation(self.n_rows)
        for start in range(0, self.n_rows, batch_size):
            rows = order[start:start + batch_size]
            yield self.X[rows], self.y[rows]

    def batch_gradient(self, batch, theta) -> np.ndarray:
        X_batch, y_batch = batch
        return self.loss.batch_gradient(X_batch, y_batch, np.asarray(theta, dtype=self.dtype), self.n_rows)

    def close(self) -> None:
        pass

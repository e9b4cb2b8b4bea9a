"""The python engine: lists and floats, the tutorial's arithmetic in the tutorial's order.

It is the reference: for the tutorial's data it reproduces the tutorial's printed numbers
bit for bit. It loops over rows in Python, so it is for small data.
"""

from __future__ import annotations

import numpy as np

from gradfit import losses


class PythonObjective:
    dtype = np.float64

    def __init__(self, rows: list[list[float]], y: list[float], *, reduction: str, fit_intercept: bool,
                 sample_weight: list[float] | None = None):
        self.rows, self.y = rows, y
        self.reduction, self.fit_intercept = reduction, fit_intercept
        self.n_rows = len(rows)
        self.sample_weight = sample_weight
        # Each row's weight sᵢ; without weights the tutorial's sums are left untouched (bit for bit).
        self.weights = sample_weight if sample_weight is not None else [None] * self.n_rows
        self.total = self.n_rows if sample_weight is None else sum(sample_weight)

    def _split(self, theta) -> tuple[list[float], float]:
        theta = [float(t) for t in theta]
        if self.fit_intercept:
            return theta[:-1], theta[-1]
        return theta, 0.0

    def f(self, w: list[float], b: float, x: list[float]) -> float:
        """The model f(x) = w·x + b, summed left to right as the tutorial writes it."""
        total = w[0] * x[0]
        for j in range(1, len(w)):
            total = total + w[j] * x[j]
        return total + b if self.fit_intercept else total

    def loss(self, theta) -> float:
        """Loss(w, b) = Σ (f(xᵢ) − yᵢ)²  (Σ sᵢ·(f(xᵢ) − yᵢ)² with sample weights)."""
        w, b = self._split(theta)
        loss = 0
        for x, y, s in zip(self.rows, self.y, self.weights):
            try:
                term = (self.f(w, b, x) - y) ** 2
            except OverflowError:  # Python's ** raises where * would give inf
                return float("inf")
            loss += term if s is None else s * term
        return loss if self.reduction == "sse" else loss / self.total

    def gradient(self, theta) -> np.ndarray:
        """∂Loss/∂w = Σ 2(w·xᵢ + b − yᵢ)·xᵢ,  ∂Loss/∂b = Σ 2(w·xᵢ + b − yᵢ)."""
        w, b = self._split(theta)
        dw, db = [0] * len(w), 0
        for x, y, s in zip(self.rows, self.y, self.weights):
            error = 2 * (self.f(w, b, x) - y)
            if s is not None:
                error = s * error
            for j in range(len(w)):
                dw[j] += error * x[j]
            db += error
        grad = dw + [db] if self.fit_intercept else dw
        if self.reduction == "mse":
            grad = [g / self.total for g in grad]
        return np.array(grad, dtype=np.float64)

    def loss_and_gradient(self, theta) -> tuple[float, np.ndarray]:
        return self.loss(theta), self.gradient(theta)

    def hessian_max_eigenvalue(self) -> float:
        G = losses.gram(np.array(self.rows, dtype=np.float64), self.fit_intercept, self.sample_weight)
        return losses.largest_eigenvalue(losses.hessian_from_gram(G, self.reduction, self.total))

"""The python engine: lists and floats, the tutorial's arithmetic in the tutorial's order.

It is the reference: for the tutorial's data it reproduces the tutorial's printed numbers
bit for bit. It loops over rows in Python, so it is for small data.
"""

from __future__ import annotations

import numpy as np

from gradfit.engines.base import FullBatchOnly
from gradfit.loss import Loss, gram
from gradfit.model import split


class PythonObjective(FullBatchOnly):
    name = "python"
    dtype = np.dtype(np.float64)
    summary = None
    rescan = None

    def __init__(self, rows: list[list[float]], y: list[float], loss: Loss):
        self.rows, self.y, self.loss = rows, y, loss
        self.n_rows = len(rows)
        weight = loss.sample_weight
        # Each row's weight sᵢ; without weights the tutorial's sums are left untouched (bit for bit).
        self.weights = [None] * self.n_rows if weight is None else np.asarray(weight, dtype=np.float64).tolist()
        self.total = self.n_rows if weight is None else sum(self.weights)

    def f(self, w: list[float], b: float, x: list[float]) -> float:
        """The model f(x) = w·x + b, summed left to right as the tutorial writes it."""
        total = w[0] * x[0]
        for j in range(1, len(w)):
            total = total + w[j] * x[j]
        return total + b if self.loss.fit_intercept else total

    def value(self, theta) -> float:
        """Loss(w, b) = Σ (f(xᵢ) − yᵢ)²  (Σ sᵢ·(f(xᵢ) − yᵢ)² with sample weights)."""
        w, b = split([float(t) for t in theta], self.loss.fit_intercept)
        loss = 0
        for x, y, s in zip(self.rows, self.y, self.weights):
            try:
                term = (self.f(w, b, x) - y) ** 2
            except OverflowError:  # Python's ** raises where * would give inf
                return float("inf")
            loss += term if s is None else s * term
        return loss if self.loss.is_sum else loss / self.total

    def gradient(self, theta) -> np.ndarray:
        """∂Loss/∂w = Σ 2(w·xᵢ + b − yᵢ)·xᵢ,  ∂Loss/∂b = Σ 2(w·xᵢ + b − yᵢ)."""
        w, b = split([float(t) for t in theta], self.loss.fit_intercept)
        dw, db = [0] * len(w), 0
        for x, y, s in zip(self.rows, self.y, self.weights):
            error = 2 * (self.f(w, b, x) - y)
            if s is not None:
                error = s * error
            for j in range(len(w)):
                dw[j] += error * x[j]
            db += error
        grad = dw + [db] if self.loss.fit_intercept else dw
        if not self.loss.is_sum:
            grad = [g / self.total for g in grad]
        return np.array(grad, dtype=np.float64)

    def loss_and_gradient(self, theta) -> tuple[float, np.ndarray]:
        return self.value(theta), self.gradient(theta)

    def gram(self) -> np.ndarray:
        return gram(np.array(self.rows, dtype=np.float64), self.loss.fit_intercept, self.loss.sample_weight)

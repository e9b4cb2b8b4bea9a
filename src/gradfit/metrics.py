"""Regression metrics: MSE, RMSE, MAE and R² (coefficient of determination)."""

from __future__ import annotations

import math

import numpy as np

# Rows per block when MAE needs a pass of its own: the residuals of a block stay in cache.
MAE_BLOCK_ROWS = 1 << 15


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """MSE = mean(r²), RMSE = √MSE, MAE = mean(|r|), R² = 1 − Σr² / Σ(y − ȳ)²."""
    y_true = np.asarray(y_true, dtype=np.float64)
    r = np.asarray(y_pred, dtype=np.float64) - y_true
    sse = float(r @ r)                      # dot products: no n-sized temporaries
    centred = y_true - y_true.mean()
    total = float(centred @ centred)
    mse = sse / r.shape[0]
    r2 = 1.0 - sse / total if total > 0 else math.nan
    return {"mse": mse, "rmse": math.sqrt(mse), "mae": float(np.abs(r, out=r).mean()), "r2": r2}


def from_sse(sse: float, n: int, tss: float) -> dict[str, float]:
    """MSE, RMSE and R² from the sum of squared residuals and the total sum of squares Σ(y − ȳ)²
    (what a one-pass summary gives without another pass; MAE would need one)."""
    mse = float(sse) / n
    return {"mse": mse, "rmse": math.sqrt(mse), "r2": float(1.0 - sse / tss) if tss > 0 else math.nan}


class Metrics(dict):
    """MSE, RMSE and R² as a dict, and MAE computed on first access, ``metrics["mae"]`` — one more pass
    over the rows, paid only by whoever asks for it (``"mae" in metrics`` is False until then).

    >>> m = Metrics({"mse": 0.25}, np.array([[1.0], [2.0]]), np.array([3.0, 5.0]), np.array([2.0]), 0.5)
    >>> m["mae"]
    0.5
    """

    def __init__(self, values: dict[str, float], X=None, y=None, weights=None, bias: float = 0.0):
        super().__init__(values)
        self._rows = None if X is None else (X, y, np.asarray(weights, dtype=np.float64), float(bias))

    def __missing__(self, key):
        if key != "mae" or self._rows is None:
            raise KeyError(key)
        self["mae"] = value = mean_absolute_error(*self._rows)
        return value

    def __reduce__(self):          # pickled and copied as the plain dict it holds, never with the rows
        return dict, (dict(self),)


def mean_absolute_error(X: np.ndarray, y: np.ndarray, weights: np.ndarray, bias: float) -> float:
    """mean |X·w + b − y|, a block of rows at a time (no n-sized temporary)."""
    total = 0.0
    for start in range(0, X.shape[0], MAE_BLOCK_ROWS):
        r = X[start:start + MAE_BLOCK_ROWS] @ weights
        r += bias
        r -= y[start:start + MAE_BLOCK_ROWS]
        total += float(np.abs(r, out=r).sum())
    return total / X.shape[0]

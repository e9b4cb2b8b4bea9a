"""Regression metrics: MSE, RMSE, MAE and R² (coefficient of determination)."""

from __future__ import annotations

import math

import numpy as np


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
    mse = sse / n
    return {"mse": mse, "rmse": math.sqrt(mse), "r2": 1.0 - sse / tss if tss > 0 else math.nan}

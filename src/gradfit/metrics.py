"""Regression metrics: MSE, RMSE, MAE and R² (coefficient of determination)."""

from __future__ import annotations

import math

import numpy as np


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """MSE = mean(r²), RMSE = √MSE, MAE = mean(|r|), R² = 1 − Σr² / Σ(y − ȳ)²."""
    y_true = np.asarray(y_true, dtype=np.float64)
    r = np.asarray(y_pred, dtype=np.float64) - y_true
    mse = float(np.mean(r * r))
    total = float(np.sum((y_true - y_true.mean()) ** 2))
    r2 = 1.0 - float(r @ r) / total if total > 0 else math.nan
    return {"mse": mse, "rmse": math.sqrt(mse), "mae": float(np.mean(np.abs(r))), "r2": r2}

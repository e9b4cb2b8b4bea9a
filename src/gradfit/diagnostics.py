"""What can be said about a run: the exact optimum it aims at, how far it got, and why.

The least-squares optimum θ* is the reference (``solver="exact"`` returns it directly). With
it every recorded iteration gets an *optimality gap*: ``Loss(θ) − Loss(θ*)`` and
``‖θ − θ*‖ / ‖θ*‖``; the verdict turns them into a sentence with what to change.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np

from gradfit import losses
from gradfit.errors import GradfitWarning

# Standardized features whose condition number exceeds this are called near-collinear.
COLLINEAR_CONDITION = 1e3
# A run whose parameters are within this relative distance of θ* has reached the optimum.
AT_OPTIMUM = 1e-6
# The collinearity check looks at a seeded sample of this many rows at most (it is a warning, not a fit).
COLLINEAR_SAMPLE_ROWS = 100_000


def design(X: np.ndarray, fit_intercept: bool, sample_weight=None) -> np.ndarray:
    """A = [X 1] (or X), rows scaled by √sᵢ with sample weights, so that Loss ∝ ‖Aθ − y‖²."""
    A = np.column_stack([X, np.ones(X.shape[0])]) if fit_intercept else np.asarray(X, dtype=np.float64)
    return A if sample_weight is None else A * np.sqrt(sample_weight)[:, None]


def exact_solution(X, y, fit_intercept: bool, sample_weight=None) -> np.ndarray:
    """θ* = argmin ‖Aθ − y‖², by LAPACK's least squares (the minimum-norm one when not unique)."""
    A = design(X, fit_intercept, sample_weight)
    b = y if sample_weight is None else y * np.sqrt(sample_weight)
    return np.linalg.lstsq(A, b, rcond=None)[0]


def exact_loss(X, y, theta, fit_intercept: bool, reduction: str, sample_weight=None) -> float:
    r = losses.residual(X, y, np.asarray(theta, dtype=np.float64), fit_intercept)
    return losses.squared_error(r, reduction, sample_weight)


def param_gap(theta, theta_star) -> float:
    """‖θ − θ*‖ / ‖θ*‖ (the plain distance when θ* = 0)."""
    distance = float(np.linalg.norm(np.asarray(theta) - theta_star))
    size = float(np.linalg.norm(theta_star))
    return distance / size if size > 0 else distance


def record_gaps(history, theta_star, loss_star: float) -> None:
    """Fill the history's loss and parameter gaps, one per recorded iteration."""
    history.loss_gap = [loss - loss_star for loss in history.loss]
    history.param_gap = [param_gap(t, theta_star) for t in history.theta]


def warn_about_features(X: np.ndarray, names, fit_intercept: bool) -> None:
    """Warn (the fit still runs) when there are more parameters than rows, or near-collinear features."""
    n, d = X.shape
    if d + fit_intercept > n:
        warnings.warn(
            f"X has {d} feature{'s' * (d != 1)} but only {n} rows: the least-squares solution is not unique. "
            "The fit still runs and reaches one of the optima (from a zero start, the one of smallest "
            "norm); coefficients, standard errors and p-values are not meaningful. Add rows or drop features.",
            GradfitWarning, stacklevel=4)
        return
    involved = collinear_features(X, names, fit_intercept)
    if involved:
        warnings.warn(
            f"Features {', '.join(repr(n) for n in involved)} are (nearly) collinear: one is almost a "
            "linear combination of the others, so their coefficients are poorly determined and gradient "
            "descent converges slowly along that direction. The fit still runs; consider dropping one of "
            "them, or --standardize.", GradfitWarning, stacklevel=4)


def collinear_features(X: np.ndarray, names, fit_intercept: bool) -> list[str]:
    """Names of the features in the near-null directions of the standardized design (empty if none)."""
    if X.shape[0] > COLLINEAR_SAMPLE_ROWS:
        X = X[:: X.shape[0] // COLLINEAR_SAMPLE_ROWS]   # evenly spaced rows: cheap and deterministic
    Z = X - X.mean(axis=0) if fit_intercept else X
    norms = np.linalg.norm(Z, axis=0)
    keep = norms > 0                       # a constant column is reported by standardization
    if keep.sum() < 2:
        return []
    Z = Z[:, keep] / norms[keep]
    # The singular values of Z are the square roots of the eigenvalues of its correlation matrix ZᵀZ
    # (d×d, so this costs one product over the rows); a condition of 1e3 is 1e6 there, far from rounding.
    eigenvalues, V = np.linalg.eigh(Z.T @ Z)
    weak = eigenvalues < eigenvalues[-1] / COLLINEAR_CONDITION**2
    if not weak.any():
        return []
    loading = np.abs(V[:, weak]).max(axis=1)
    kept_names = [n for n, k in zip(names, keep) if k]
    return [n for n, v in zip(kept_names, loading) if v >= 0.1]


def verdict(result) -> str:
    """A plain-language sentence on how the run ended, with what to change."""
    unit = "epoch" if result.optimizer == "sgd" else "iteration"
    k = f"{result.n_iter} {unit}{'s' * (result.n_iter != 1)}"
    if result.solver == "exact":
        return "Exact least-squares solution (QR/lstsq): no iterations, no optimality gap."
    if result.diverged:
        return (f"Diverged after {k}: the learning rate {result.lr:.4g} is too large (gradient descent is stable "
                f"below {result.stable_lr:.4g}). Use --lr auto or a smaller --lr.")
    gap = result.param_gap
    where = "" if gap is None else f" (parameters within {gap:.2g} of the exact optimum, relative)"
    if result.converged:
        if gap is not None and gap > 1e-3:
            return (f"Converged after {k}: the loss stopped changing, but the parameters are still {gap:.2g} "
                    f"(relative) from the exact optimum — the descent is slow along some direction. Lower --tol"
                    f"{_speedups(result, ', or use ')}.")
        return f"Converged after {k}: the loss stopped changing{where}."
    if gap is not None and gap <= AT_OPTIMUM:
        return f"Stopped at the {unit} limit ({k}), already at the optimum{where}."
    more = "--epochs" if unit == "epoch" else "--iters"
    return f"Stopped at the {unit} limit ({k}) before converging{where}. Raise {more}{_speedups(result, ', or ')}."


def _speedups(result, lead: str) -> str:
    """What would get this run closer to the optimum, from what it did not use."""
    options = result.options
    if result.optimizer == "sgd" and options.get("learning_rate") == "constant":
        return lead + "let SGD settle with --learning-rate invscaling or a larger --batch-size"
    tips = []
    if not result.standardized:
        tips.append("--standardize")
    if options.get("lr", "auto") != "auto":
        tips.append("--lr auto")
    if result.optimizer == "gd":
        tips.append("--optimizer nesterov")
    return lead + "speed it up with " + " or ".join(tips) if tips else ""


def history_table(result) -> tuple[list[str], list[list[float]]]:
    """The history as named columns: iteration, loss, gaps, each parameter and its gradient."""
    m = result.model
    params = [f"w[{n}]" for n in m.feature_names] + (["b"] if m.fit_intercept else [])
    h = result.history
    header = ["iteration", "loss"] + (["loss_gap", "param_gap"] if h.loss_gap else [])
    header += params + [f"grad_{p}" for p in params]
    rows = []
    for i, k in enumerate(h.iteration):
        gaps = [h.loss_gap[i], h.param_gap[i]] if h.loss_gap else []
        rows.append([k, h.loss[i], *gaps, *h.theta[i].tolist(), *h.gradient[i].tolist()])
    return header, rows


def export_history(result, path) -> None:
    """Write the history as JSON (``.json``) or CSV (anything else), atomically."""
    from gradfit.persist import atomic_write_text

    header, rows = history_table(result)
    if str(path).lower().endswith(".json"):
        finite = lambda v: v if math.isfinite(v) else None  # noqa: E731  (JSON has no inf/nan)
        doc = {name: [finite(float(row[j])) if j else int(row[j]) for row in rows] for j, name in enumerate(header)}
        atomic_write_text(path, json.dumps(doc, indent=1) + "\n")
    else:
        lines = [",".join(header)] + [",".join([str(int(r[0]))] + [repr(float(v)) for v in r[1:]]) for r in rows]
        atomic_write_text(path, "\n".join(lines) + "\n")

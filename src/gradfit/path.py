"""A regularization path from one summary: the α grid (from α_max, where every weight leaves 0, down) and θ(α)
for each α, warm-started, by the same driver as ``fit`` (``problem.descend`` on ``problem.with_alpha(α)``).

``cv`` walks it for every fold's training summary; ``outputs.compare`` for the coefficients along α of a run.
"""

from __future__ import annotations

import math

import numpy as np

from gradfit import exact
from gradfit.engines.stats import Summary
from gradfit.errors import ConfigError, DataError
from gradfit.loss import Loss
from gradfit.problem import COORDINATE_SWEEPS, Columns, from_summary, penalized, penalty_weights

# A path's solutions stop at this duality gap (relative to ‖y − ȳ‖²/n): the CV errors they give are exact to about
# its square root, far below the differences between α that cross-validation reads.
PATH_GAP = 1e-12


def alpha_grid(alphas, total: Summary, names, loss: Loss, ratio: float, scale: str, eps: float) -> np.ndarray:
    """The path: the α given (sorted descending), or ``alphas`` of them log-spaced from α_max down to eps·α_max.

    α_max = maxⱼ |Σᵢ (xᵢⱼ − x̄ⱼ)(yᵢ − ȳ)| / (n·ρ·uⱼ) is the least α at which every weight is 0 (uⱼ = 1 on the
    given scale, sⱼ on the standardized one; ρ at least 10⁻³ as scikit-learn and glmnet do for ridge).
    """
    if not isinstance(alphas, (int, np.integer)) or isinstance(alphas, bool):
        try:
            path = np.array(sorted((float(a) for a in alphas), reverse=True))
        except (TypeError, ValueError):
            raise ConfigError(f"Invalid value for alphas (--alphas): {alphas!r}; expected a count or a list of "
                              "numbers ≥ 0.") from None
        if not len(path) or not np.all(np.isfinite(path)) or path.min() < 0:
            raise ConfigError(f"Invalid value for alphas (--alphas): {alphas!r}; expected numbers ≥ 0.")
        return path
    count = int(alphas)
    if count < 1:
        raise ConfigError(f"Invalid value for alphas (--alphas): {alphas!r}; expected an integer ≥ 1.")
    d, n = total.d, total.n
    xbar, ybar, M = total.mean[:d], total.mean[d], total.M
    xy = M[:d, d] if loss.fit_intercept else M[:d, d] + n * xbar * ybar
    u = penalty_weights(penalized(loss, "l1", 1.0, ratio, scale), Columns(tuple(names)), total)
    alpha_max = float(np.max(np.abs(xy) / u)) / (n * max(ratio, 1e-3))
    if not alpha_max > 0:
        raise DataError("every feature is uncorrelated with the target: the path has no α at which a weight "
                        "leaves 0. Give the alphas themselves.")
    return alpha_max * np.logspace(0, math.log10(eps), count)


def solve_path(summary: Summary, names, loss: Loss, kind: str, ratio: float, scale: str, path, tol):
    """θ(α) = [w, b] on the given scale for each α of ``path``, from one summary: ridge's closed form for l2; for an
    L1 part the solver ``fit`` uses by default, glmnet's coordinate descent on the Gram matrix (``gradfit.coordinate``:
    a fit is its path with one α), the whole path in one call, each α warm-started from the last, screened with
    the KKT check, stopped by the duality gap."""
    if not len(path):
        return
    problem, _ = from_summary(summary, names, penalized(loss, kind, path[0] or 1.0, ratio, scale), tol)
    if ratio == 0:        # ridge: exact, no descent
        for alpha in path:
            yield exact.ridge_from_summary(summary, problem.with_alpha(alpha).ridge_diagonal, loss.fit_intercept)
        return
    from gradfit import coordinate

    solved = coordinate.path(coordinate.from_summary(summary, loss), np.asarray(path, dtype=np.float64), ratio,
                             problem.penalty_weights, tol=PATH_GAP, max_iter=COORDINATE_SWEEPS)
    for w in solved.coefs:
        yield np.append(w, coordinate.intercept(summary, w)) if loss.fit_intercept else w

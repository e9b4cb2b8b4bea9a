"""Runs beside a run: the same fit again at other learning rates, to show what they do.

The only module of the outputs that trains: an explanation or a report that shows a diverging
learning rate next to the run calls this explicitly, and says so.
"""

from __future__ import annotations

import math

import numpy as np

from gradfit import exact
from gradfit.outputs.explain.analysis import require_data
from gradfit.path import alpha_grid, solve_path
from gradfit.problem import descend, replan
from gradfit.result import FitResult

RERUN_BUDGET = 50_000_000   # numbers read per extra run (rows × columns × iterations), so big data stay quick


def rate_just_above(stable_lr: float) -> float:
    """A round learning rate 1–2 % above 2/h_max (0.061 for the tutorial's bound 0.0601)."""
    target = 1.015 * stable_lr
    digits = -int(math.floor(math.log10(target))) + 1
    return math.ceil(target * 10 ** digits) / 10 ** digits


def rerun(result, lr: float, iters: int = 500, *, standardize: bool = False, optimizer: str = "gd",
          momentum: float = 0.0, engine: str | None = None) -> FitResult:
    """The run's problem (``result.problem``: the same data, loss and penalty) descended again by plain gradient
    descent — or ``optimizer``/``momentum`` — with learning rate ``lr`` from the run's start, on the columns as given
    or ``standardize``d; a diverged run is returned, not raised.

    On big data the run is shortened to about ``RERUN_BUDGET`` numbers read (at least 30
    iterations): a run above the stable rate is already visibly growing by then.
    """
    data = require_data(result).verified().float64()
    iters = max(30, min(iters, RERUN_BUDGET // max(1, data.X.size)))
    problem, objective = replan(result.problem, data, lr=lr, iters=iters, engine=engine or result.engine,
                                standardize=standardize, optimizer=optimizer, momentum=momentum)
    theta0 = np.asarray(result.init, dtype=np.float64)
    start = theta0 if problem.scaler is None else problem.scaler.to_standardized(theta0)
    outcome = descend(problem, objective, start, history_cap=10_000)
    run = FitResult.of(problem, outcome, data, theta0, engine=objective.name, options={"tol": None})
    if result.theta_exact is not None:
        run.theta_exact, run.loss_exact = result.theta_exact, result.loss_exact
        exact.record_gaps(outcome.history, run.theta_exact, run.loss_exact)
    return run


def unpenalized(result):
    """The same data fitted without the penalty, by the exact solver (the least-squares optimum the penalty
    shrinks), or None where no unique one exists."""
    data = require_data(result)
    spec = result.loss_spec
    X = np.asarray(data.X, dtype=np.float64)
    theta = exact.solve(X, np.asarray(data.y, dtype=np.float64), fit_intercept=spec.fit_intercept)
    rank = np.linalg.matrix_rank(np.column_stack([X, np.ones(len(X))]) if spec.fit_intercept else X)
    return theta if rank == len(theta) else None


PATH_EPS = 1e-3   # the path runs from α_max (every L1 weight 0) down to PATH_EPS·α_max, as glmnet and scikit-learn do


def penalty_path(result, count: int = 40):
    """(α, θ(α)) along a log-spaced path of the run's penalty, from the summary of its data: ridge's closed form
    for l2, FISTA warm-started α after α otherwise (``gradfit.path.solve_path``, the path cross-validation walks).
    The path reaches at least ten times below and above the run's α. None for sample-weighted fits."""
    from gradfit.engines.stats import array_blocks, summarize

    data, spec = require_data(result), result.loss_spec
    p = spec.penalty
    if spec.sample_weight is not None or not p.active or spec.huber is not None:
        return None
    X, y = np.asarray(data.X, dtype=np.float64), np.asarray(data.y, dtype=np.float64)
    from gradfit.errors import GradfitError

    summary = summarize(array_blocks(X, y))
    names = tuple(data.feature_names)
    try:
        top = float(alpha_grid(1, summary, names, spec, p.l1_ratio, p.scale, PATH_EPS)[0])
    except GradfitError:   # no feature correlates with the target: every weight is 0 at every α
        return None
    high, low = max(top, 10 * p.alpha), min(PATH_EPS * top, p.alpha / 10)
    if p.l1_ratio == 0:   # ridge: from α ≫ the largest curvature (w ≈ 0) down to α ≪ the smallest (w ≈ least squares)
        Xc = X - X.mean(axis=0) if spec.fit_intercept else X
        u = result.problem.penalty_weights
        h = np.linalg.eigvalsh((Xc / u).T @ (Xc / u) / len(y))
        high = max(10 * p.alpha, 100 * float(h[-1]))
        low = max(min(p.alpha / 10, float(h[0]) / 100), high * 1e-8)
    alphas = np.geomspace(high, low, count)
    thetas = np.array(list(solve_path(summary, names, spec, p.kind.value, p.l1_ratio, p.scale, alphas, 1e-10)))
    return alphas, thetas


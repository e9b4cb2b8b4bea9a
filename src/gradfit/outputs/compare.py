"""Runs beside a run: the same fit again at other learning rates, to show what they do.

The only module of the outputs that trains: an explanation or a report that shows a diverging
learning rate next to the run calls this explicitly, and says so.
"""

from __future__ import annotations

import math

from gradfit.errors import DivergenceError
from gradfit.fit import fit_data
from gradfit.outputs.explain.analysis import penalty_weights, require_data

RERUN_BUDGET = 50_000_000   # numbers read per extra run (rows × columns × iterations), so big data stay quick


def rate_just_above(stable_lr: float) -> float:
    """A round learning rate 1–2 % above 2/h_max (0.061 for the tutorial's bound 0.0601)."""
    target = 1.015 * stable_lr
    digits = -int(math.floor(math.log10(target))) + 1
    return math.ceil(target * 10 ** digits) / 10 ** digits


def rerun(result, lr: float, iters: int = 500, **options):
    """The same plain gradient-descent run again with learning rate ``lr``; a diverged run is returned, not raised.
    ``options`` change more (``standardize=True``, ``optimizer="momentum", momentum=0.5``).

    On big data the run is shortened to about ``RERUN_BUDGET`` numbers read (at least 30
    iterations): a run above the stable rate is already visibly growing by then.
    """
    data = require_data(result)
    iters = max(30, min(iters, RERUN_BUDGET // max(1, data.X.size)))
    p = result.loss_spec.penalty
    if p.active:   # the same penalized problem (its Hessian, hence 2/h_max, includes the L2 part's κ)
        options = {"penalty": p.kind.value, "alpha": p.alpha, "l1_ratio": p.l1_ratio, "penalty_scale": p.scale} | options
    try:
        return fit_data(data, lr=lr, iters=iters, tol=None, init=result.init, loss=result.reduction,
                        engine=options.pop("engine", result.engine), fit_intercept=result.loss_spec.fit_intercept, dtype="float64",
                        history_cap=10_000, **({"optimizer": "gd", "standardize": False} | options))
    except DivergenceError as exc:
        return exc.result


def unpenalized(result):
    """The same data fitted without the penalty, by the exact solver (the least-squares optimum the penalty
    shrinks), or None where no unique one exists."""
    from gradfit.errors import GradfitError

    data = require_data(result)
    spec = result.loss_spec
    try:
        run = fit_data(data, solver="exact", loss=result.reduction, fit_intercept=spec.fit_intercept,
                       dtype="float64", engine="numpy", penalty="none", standardize=False)
    except GradfitError:
        return None
    return run.model.theta if run.identified else None


PATH_EPS = 1e-3   # the path runs from α_max (every L1 weight 0) down to PATH_EPS·α_max, as glmnet and scikit-learn do


def penalty_path(result, count: int = 40):
    """(α, θ(α)) along a log-spaced path of the run's penalty, from the summary of its data: ridge's closed form
    for l2, FISTA warm-started α after α otherwise (``gradfit.cv.solve_path``, the path cross-validation walks).
    The path reaches at least ten times below and above the run's α. None for sample-weighted fits."""
    import numpy as np

    from gradfit.cv import _alphas, solve_path
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
        top = float(_alphas(1, summary, names, spec, p.l1_ratio, p.scale, PATH_EPS)[0])
    except GradfitError:   # no feature correlates with the target: every weight is 0 at every α
        return None
    high, low = max(top, 10 * p.alpha), min(PATH_EPS * top, p.alpha / 10)
    if p.l1_ratio == 0:   # ridge: from α ≫ the largest curvature (w ≈ 0) down to α ≪ the smallest (w ≈ least squares)
        Xc = X - X.mean(axis=0) if spec.fit_intercept else X
        u = penalty_weights(result)
        h = np.linalg.eigvalsh((Xc / u).T @ (Xc / u) / len(y))
        high = max(10 * p.alpha, 100 * float(h[-1]))
        low = max(min(p.alpha / 10, float(h[0]) / 100), high * 1e-8)
    alphas = np.geomspace(high, low, count)
    thetas = np.array(list(solve_path(summary, names, spec, p.kind.value, p.l1_ratio, p.scale, alphas, 1e-10)))
    return alphas, thetas


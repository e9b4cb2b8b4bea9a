"""``cv``: K-fold cross-validation along a regularization path, in one pass over the data.

Each row goes to a fold by a seeded hash of its index (``stats.fold_of``), so one pass gives every fold's
summary (count, means, co-moments; ``stats.fold_summaries``, a Dask tree reduction on a cluster). Then
nothing reads the data again:

    total       = fold₁ ⊕ … ⊕ fold_K                   (Chan's exact merge)
    training_k  = total ⊖ fold_k                        (the same merge solved for the other part)
    θ_k(α)      = the penalized fit of training_k, for α on a log-spaced path from α_max down,
                  each warm-started from the previous α's (FISTA; ridge's closed form for l2)
    CV_k(α)     = mean squared error of θ_k(α) on fold k, exact from fold k's summary

and the CV error per α is the mean over the folds (with its standard error); ``alpha_min`` has the least,
``alpha_1se`` is the largest α within one standard error of it (glmnet's rule). The model at the chosen
α is fitted from the total summary: a lasso path on 10⁸ streamed rows costs one pass plus O(d²) work per
iteration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gradfit import params
from gradfit.data.arrays import XY, as_xy
from gradfit.data.files import Scan
from gradfit.engines.stats import StatsObjective, Summary, array_blocks, fold_summaries
from gradfit.errors import ConfigError, DataError
from gradfit.fit import fit_data
from gradfit.loss import Loss, Penalty
from gradfit.path import alpha_grid, solve_path
from gradfit.result import FitResult

SELECT = ("min", "1se")


@dataclass
class CVResult:
    """A cross-validated path: the α tried, the CV error of each (per fold, mean, standard error), the α
    chosen and the model fitted there (``result``, a ``FitResult``)."""

    alphas: np.ndarray              # descending, as scikit-learn's and glmnet's paths
    mse_path: np.ndarray            # (n_alphas, folds): the mean squared error on each held-out fold
    mse_mean: np.ndarray
    mse_se: np.ndarray              # standard error of the mean over the folds: sd / √K
    alpha_min: float
    alpha_1se: float
    alpha: float                    # the chosen one (select)
    select: str
    fold_sizes: tuple[int, ...]
    penalty: Penalty                # the penalty at the chosen α
    result: FitResult
    passes: int = 1                 # passes over the data that were read (arrays, files or partitions)
    coef_path: np.ndarray | None = field(default=None, repr=False)   # (n_alphas, params) on all the rows

    @property
    def model(self):
        return self.result.model

    def table(self) -> str:
        """α, mean CV error and its standard error per α, marking the least (*) and the one-SE (+) α."""
        lines = [f"{'alpha':>14}  {'CV MSE':>14}  {'std. error':>12}"]
        for a, m, s in zip(self.alphas, self.mse_mean, self.mse_se):
            mark = ("*" if a == self.alpha_min else "") + ("+" if a == self.alpha_1se else "")
            lines.append(f"{a:14.6g}  {m:14.8g}  {s:12.4g} {mark}")
        return "\n".join(lines)


def cv(X, y=None, *, folds: int = 5, alphas=100, eps: float = 1e-3, select: str = "min", feature_names=None,
       scheduler=None, **options) -> CVResult:
    """Cross-validate ``penalty`` (l1, l2 or elasticnet; ``l1_ratio``) over ``alphas`` (a number of α, log-spaced
    from α_max to ``eps``·α_max as in scikit-learn's ``LassoCV``, or the α themselves), ``folds`` folds drawn
    by ``seed``; then fit at ``select`` ("min": the least CV error; "1se": glmnet's one-standard-error α).

    >>> import numpy as np
    >>> X = np.arange(40.0).reshape(20, 2) % 7; y = X @ [1.0, 0.0] + np.sin(np.arange(20.0))
    >>> round(cv(X, y, penalty="l1", alphas=5, folds=4).alpha_min, 6)
    0.020982

    ``X`` may be arrays, ``gradfit.open_files(...)`` (streamed, ``y=None``) or Dask arrays/frames: every case
    reads the data once.
    """
    data = _data(X, y, feature_names)
    folds = _count("folds", folds, 2)
    if select not in SELECT:
        raise ConfigError(f"Invalid value for select (--cv-select): {select!r}; expected one of 'min', '1se'.")
    if not (isinstance(eps, (int, float)) and 0 < eps < 1):
        raise ConfigError(f"Invalid value for eps: {eps!r}; expected a number > 0 and < 1.")
    opts = _options(options)
    if scheduler is not None:       # a cluster implies engine='dask', as for fit: the folds reduced there
        from gradfit.engines.dask import DaskData, engine_for_scheduler

        opts["engine"] = engine_for_scheduler(scheduler, opts["engine"])
        if isinstance(data, Scan):
            data = DaskData.from_scan(data)
        elif isinstance(data, XY):
            data = DaskData.from_arrays(data.X, data.y, data.feature_names, data.target_name)
    loss = Loss(opts["loss"], opts["fit_intercept"])
    kind, ratio, scale = opts["penalty"], opts["l1_ratio"], opts["penalty_scale"]
    parts, engine = _fold_summaries(data, folds, opts["seed"], scheduler)
    if any(p.n == 0 for p in parts):
        raise DataError(f"{folds} folds need at least {folds} rows in each; some fold got none. Use fewer folds "
                        "(--cv) or more rows.")
    total = parts[0]
    for part in parts[1:]:
        total = total.merge(part)
    if isinstance(data, Scan) and data.n_rows is None:
        data.n_rows = total.n        # a CSV's rows are counted by the pass
    names = data.feature_names
    path = alpha_grid(alphas, total, names, loss, ratio, scale, eps)
    mse = np.empty((len(path), folds))
    for k, part in enumerate(parts):
        training = total.minus(part)
        held_out = StatsObjective(part, Loss("mse", loss.fit_intercept))
        for i, theta in enumerate(solve_path(training, names, loss, kind, ratio, scale, path, opts["tol"])):
            mse[i, k] = held_out.loss_and_gradient(theta)[0]
    mean = mse.mean(axis=1)
    se = mse.std(axis=1, ddof=1) / math.sqrt(folds)
    best = int(np.argmin(mean))
    one_se = int(np.flatnonzero(mean <= mean[best] + se[best])[0])   # the largest α (path descends)
    alpha = float(path[best] if select == "min" else path[one_se])
    final_options = {**options, "alpha": alpha, "penalty": kind, "engine": engine}
    result = fit_data(data, summary=total, scheduler=scheduler, **final_options)
    coef_path = np.array(list(solve_path(total, names, loss, kind, ratio, scale, path, opts["tol"])))
    return CVResult(path, mse, mean, se, float(path[best]), float(path[one_se]), alpha, select,
                    tuple(p.n for p in parts), result.loss_spec.penalty, result, coef_path=coef_path)


def _count(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ConfigError(f"Invalid value for {name} (--cv): {value!r}; expected an integer ≥ {low}.")
    return int(value)


def _data(X, y, feature_names):
    if y is None and isinstance(X, (XY, Scan)):
        return X
    if type(X).__module__.startswith("dask") or type(X).__name__ == "DaskData":
        from gradfit.engines.dask import DaskData

        return X if type(X).__name__ == "DaskData" else DaskData.from_dask(X, y, feature_names)
    return as_xy(X, y, feature_names=feature_names)


def _options(options: dict) -> dict:
    """The fit options, validated; the penalty must be named, α is what cross-validation chooses."""
    if options.get("alpha") is not None:
        raise ConfigError("cross-validation chooses alpha: leave alpha (--alpha) out, and give the path with alphas "
                          "(--alphas N).")
    for name in ("test_fraction", "dropna", "init", "early_stopping", "validation_fraction"):
        if options.get(name) not in (None, False):
            raise ConfigError(f"{name} ({params.flag(name)}) does not go with cross-validation: the folds are the "
                              "held-out data.")
    opts = params.validate_all(options)
    if opts["penalty"] not in ("l1", "l2", "elasticnet"):
        raise ConfigError(f"cross-validation chooses the α of a penalty: give penalty (--penalty) one of 'l1', 'l2', "
                          f"'elasticnet' (got {opts['penalty']!r}).")
    if opts["optimizer"] not in ("auto", "accelerated") or opts["lr"] != "auto":
        raise ConfigError("cross-validation fits the path from the folds' summaries with the accelerated rule and "
                          "lr 'auto'; leave optimizer (--optimizer) and lr (--lr) out.")
    if opts["loss"] == "huber" or opts["epsilon"] is not None:
        raise ConfigError("cross-validation from the folds' summaries needs the squared loss; loss 'huber' "
                          "(--loss huber, --epsilon) has no summary.")
    if opts["engine"] not in ("auto", "stats", "stream", "dask"):
        raise ConfigError(f"cross-validation runs on the folds' one-pass summaries (engine 'stats', 'stream' or "
                          f"'dask', or 'auto'), not engine={opts['engine']!r}.")
    opts["penalty"], _, opts["l1_ratio"] = params.check_penalty({**opts, "alpha": 1.0, "solver": "gd"})
    return opts


def _fold_summaries(data, folds: int, seed: int, scheduler) -> tuple[list[Summary], str]:
    """Every fold's summary, in one pass; and the engine that the data's summary is of."""
    if isinstance(data, XY):
        if data.weight is not None:
            raise ConfigError("cross-validation from summaries does not take sample weights.")
        return fold_summaries(array_blocks(data.X, data.y), folds, seed), "stats"
    if isinstance(data, Scan):
        from gradfit.engines.stream import scan_blocks

        if data.weight_name is not None:
            raise ConfigError("cross-validation from summaries does not take sample weights (--weight).")
        return fold_summaries(scan_blocks(data), folds, seed), "stream"
    from gradfit.engines.dask import dask_fold_summaries

    return dask_fold_summaries(data, folds, seed, scheduler), "dask"



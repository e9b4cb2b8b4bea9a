"""``fit``: data → objective → descent → ``FitResult``. Options are validated here, once.

The only module that imports every layer below it: data (validated arrays, files), the Loss,
the engine chosen by ``engines.choose_engine``, the update rule and loop of ``descent``, θ*
from ``exact``, and the ``FitResult`` that outputs read.
"""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np

from gradfit import descent, exact, params
from gradfit.data.arrays import XY, as_xy, split
from gradfit.data.files import Scan, read_all
from gradfit.data.standardize import Standardizer, warn_about_features, warn_about_summary
from gradfit.engines import IN_MEMORY, choose_engine, make_objective
from gradfit.errors import ConfigError, DataError, DivergenceError, GradfitWarning
from gradfit.messages import message, run_limit
from gradfit.loss import Loss, Penalty, PenaltyTerms, curvature, minibatch_curvature, stable_lr_bound
from gradfit.metrics import Metrics, from_sse, regression_metrics
from gradfit.model import LinearModel
from gradfit.result import FitResult
from gradfit.training import checkpoint as checkpoints

# Above this many numbers in X, the exact optimum (an extra least-squares solve on a copy of X)
# is not computed unless solver="exact" asks for it; the gaps are then left out of the history.
EXACT_REFERENCE_LIMIT = 10_000_000


def fit(X, y=None, *, feature_names=None, sample_weight=None, test=None, callbacks=(), scheduler=None,
        checkpoint=None, every=0, resume=None, progress=False, **options) -> FitResult:
    """Fit ``f(x) = w·x + b`` to ``(X, y)`` by gradient descent (options: ``gradfit.params.PARAMS``).

    >>> r = fit([1, 2, 3], [3, 5, 7], lr=0.01, iters=1000, init=(1.0, 0.0), loss="sse", engine="python")
    >>> r.model.weights, r.model.bias
    ((2.000148389025502,), 0.9996626768662412)

    ``test=(X_test, y_test)`` (or ``test_fraction=``) adds held-out metrics. Raises ``DataError``
    for unusable data, ``ConfigError`` for invalid options and ``DivergenceError`` (with the
    partial run in ``.result``) when the loss blows up.

    Dask arrays or dataframes run on the dask engine (``scheduler=ADDRESS`` or a
    ``distributed.Client``; else the current client, or a local cluster for this fit); files
    larger than memory are given as ``gradfit.open_files(path, x_columns, y_column)`` with
    ``y=None``. ``checkpoint=PATH, every=N`` writes the loop's state every N iterations and at
    the end (N = 0: only on Ctrl-C); ``resume=PATH`` continues such a run, bit for bit.
    ``progress=True`` shows a progress bar for runs longer than a second: on a terminal, in
    Jupyter (rich's, with ipywidgets; else a line updated in place), or as a line now and then.
    """
    dropna = params.validate("dropna", options.get("dropna", False))
    if _is_tensor(X) and options.get("engine", "auto") == "auto":
        # Tensors stay with PyTorch: engine "auto" picks torch, on the tensor's own device.
        options = {"engine": "torch", "device": X.device.type} | options
    if y is None and isinstance(X, (XY, Scan)) or _is_dask_data(X):
        data = X
    elif _is_dask(X):
        from gradfit.engines.dask import DaskData

        data = DaskData.from_dask(X, y, feature_names)
    else:
        # The finiteness of X and y is checked by the one-pass summary where the stats engine runs
        # (fit_data); every other engine checks it before it starts.
        data = as_xy(X, y, feature_names=feature_names, sample_weight=sample_weight, dropna=dropna,
                     defer_finite=True)
    if test is not None and not isinstance(test, XY):
        if not isinstance(test, (tuple, list)) or len(test) != 2:
            raise ConfigError(f"test= takes a pair (X_test, y_test); got {_described(test)}.")
        test = as_xy(*test, feature_names=data.feature_names, dropna=dropna, min_rows=1)
    if progress:
        from gradfit.training.progress import ProgressBar

        with ProgressBar(always=True) as bar:
            return fit_data(data, test=test, callbacks=(*_as_callbacks(callbacks), bar), scheduler=scheduler,
                            checkpoint=checkpoint, every=every, resume=resume, **options)
    return fit_data(data, test=test, callbacks=callbacks, scheduler=scheduler, checkpoint=checkpoint,
                    every=every, resume=resume, **options)


def _as_callbacks(callbacks) -> tuple:
    return tuple(callbacks) if isinstance(callbacks, (tuple, list)) else (callbacks,)


def _described(value) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} item{'s' * (len(value) != 1)}"
    return f"a {type(value).__name__}"


def _check_run_arguments(callbacks, every) -> None:
    """The arguments of fit() that are not hyper-parameters: callbacks are functions, every is a count."""
    if not all(callable(c) for c in callbacks):
        raise ConfigError("callbacks= takes functions of the loop state (such as lambda state: print(state.loss)).")
    if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 0:
        raise ConfigError(f"every= takes a whole number ≥ 0 (iterations between checkpoints; 0: only on Ctrl-C), "
                          f"not {every!r}.")


def _is_tensor(X) -> bool:
    return type(X).__module__.startswith("torch") and hasattr(X, "detach")


def _is_dask(obj) -> bool:
    return type(obj).__module__.startswith("dask")


def _is_dask_data(obj) -> bool:
    return type(obj).__name__ == "DaskData" and type(obj).__module__ == "gradfit.engines.dask"


def _signature() -> inspect.Signature:
    """fit's signature, with every hyper-parameter of the table as a keyword (for help() and IDEs)."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    fixed = [inspect.Parameter("X", inspect.Parameter.POSITIONAL_OR_KEYWORD),
             inspect.Parameter("y", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)]
    extra = [inspect.Parameter(n, keyword, default=d) for n, d in
             (("feature_names", None), ("sample_weight", None), ("test", None), ("callbacks", ()),
              ("scheduler", None), ("checkpoint", None), ("every", 0), ("resume", None), ("progress", False))]
    table = [inspect.Parameter(p.name, keyword, default=p.default) for p in params.PARAMS.values()]
    return inspect.Signature(fixed + extra + table)


fit.__signature__ = _signature()


def fit_data(data, *, test: XY | None = None, callbacks=(), updates_before: int = 0, scheduler=None,
             checkpoint=None, every: int = 0, resume=None, summary=None, **options) -> FitResult:
    """``fit`` on data already validated: ``XY`` (``gradfit.data.as_xy`` / ``load_xy``), or data
    that is not in memory — a ``Scan`` of files, ``DaskData``.

    ``updates_before`` continues a learning-rate schedule where an earlier run left it (λ_t with
    t counted from there), as ``GDRegressor.partial_fit`` does from chunk to chunk. ``summary`` (a
    ``stats.Summary`` of exactly these data, made earlier, as ``gradfit.cv`` does) spares the stats, stream
    and dask engines their pass: the fit then reads no data.
    """
    opts = params.validate_all(options)
    callbacks = _as_callbacks(callbacks)
    _check_run_arguments(callbacks, every)
    if not len(data.feature_names):
        raise DataError("X has no feature columns: a linear model needs at least one feature to fit.")
    penalty_name, alpha, l1_ratio = params.check_penalty(opts)
    penalty = Penalty(penalty_name, alpha, l1_ratio, opts["penalty_scale"])
    opts |= {"penalty": penalty_name, "alpha": alpha, "l1_ratio": l1_ratio}   # "auto" and the defaults, made concrete
    validation_fraction = params.check_early_stopping(opts)
    opts["validation_fraction"] = validation_fraction
    huber = params.check_huber(opts)
    if huber is not None:
        opts["epsilon"] = huber
        if opts["stop"] == "gap":   # Huber's loss is not strongly convex: no certificate (said in --help)
            opts["stop"] = "loss"
    opts = resolve_auto(opts)
    if every and checkpoint is None:
        raise ConfigError(f"every={every} needs a file to write to: give checkpoint=PATH (--checkpoint PATH).")
    if opts["test_fraction"] is not None and test is not None:
        raise ConfigError("Give either a test set (--test FILE, test=) or test_fraction, not both.")
    rule = (descent.proximal_rule_for if penalty.proximal else descent.rule_for)(
        opts["optimizer"], opts["momentum"], opts["nesterov"])
    weighted = getattr(data, "weight", None) is not None or getattr(data, "weight_name", None) is not None
    in_memory_only = tuple(flag for flag, on in (("test_fraction", opts["test_fraction"] is not None),
                                                 ("dropna", opts["dropna"]),
                                                 ("early_stopping", validation_fraction is not None)) if on)
    if scheduler is not None:      # a cluster implies engine='dask' (another engine is refused)
        from gradfit.engines.dask import engine_for_scheduler

        opts["engine"] = engine_for_scheduler(scheduler, opts["engine"])
    engine = choose_engine(data, engine=opts["engine"], optimizer=opts["optimizer"], dtype=opts["dtype"],
                           device=opts["device"], weighted=weighted, in_memory_only=in_memory_only,
                           summarizable=huber is None)
    if isinstance(data, Scan) and engine in IN_MEMORY:
        data = read_all(data, dropna=opts["dropna"])
    if isinstance(data, XY) and engine != "stats":     # float32 stays float32 for the stats engine alone
        data = data.verified().float64()
    if opts["test_fraction"] is not None:
        data, test = split(data, opts["test_fraction"], opts["seed"])
    validation = None
    if validation_fraction is not None:   # held out from training, for the early-stopping monitor
        data, validation = split(data, validation_fraction, opts["seed"] + 1)
    names, fit_intercept = data.feature_names, opts["fit_intercept"]
    in_memory = isinstance(data, XY)
    if in_memory and summary is None and engine != "stats":   # the stats engine warns from its summary, below;
        # with a summary made earlier, the caller has had its pass
        warn_about_features(data.X, names, fit_intercept)
    loss = Loss("mse" if huber is not None else opts["loss"], fit_intercept, data.weight if in_memory else None,
                penalty, huber)
    standardize = opts["standardize"] and engine != "python"
    scaler, X_fit = None, data.X if in_memory else None
    if standardize and engine in IN_MEMORY:   # the descent runs on standardized copies of the columns
        scaler = _standardizer(Standardizer.fit(data.X, names, fit_intercept, data.weight))
        X_fit = scaler.transform(data.X)
        data_fit = XY(X_fit, data.y, names, data.target_name, data.source, data.weight)
    else:
        data_fit = data
    # The engine's objective: of the data as given, or (in memory, standardized) of their standardized copy.
    if summary is not None and engine in ("stats", "stream", "dask"):
        from gradfit.engines.stats import StatsObjective

        raw = StatsObjective(summary, loss)
        raw.name = engine
    else:
        raw = make_objective(engine, data_fit, loss, dtype=opts["dtype"], device=opts["device"],
                             scheduler=scheduler)
    try:
        if in_memory and engine == "stats":
            data = _checked_by_summary(data, raw.summary)
            warn_about_summary(raw.summary, names, fit_intercept)
        objective = raw
        if standardize and raw.summary is not None:   # the summary holds the means and scales: no pass
            scaler = _standardizer(Standardizer.from_summary(raw.summary, names, fit_intercept))
            objective = raw.standardized(scaler.mean, scaler.scale)
        return _fit(opts, data, test, raw, objective, loss, scaler, rule, callbacks, updates_before, checkpoint,
                    every, resume, X_fit, validation)
    finally:
        raw.close()


def _checked_by_summary(data: XY, summary) -> XY:
    """The finiteness check, fused into the summary's pass: a NaN or an infinity anywhere makes the
    totals non-finite, and only then are the columns searched for the message (``XY.verified``).
    (Finite values so large that their squares overflow also make them non-finite; the search then
    names the first value beyond ±1e150, which fitting cannot square.)"""
    if not data.finite_unchecked:
        return data
    if np.isfinite(summary.M).all() and np.isfinite(summary.mean).all():
        return XY(data.X, data.y, data.feature_names, data.target_name, data.source, data.weight)
    return data.verified()


def resolve_auto(opts: dict) -> dict:
    """The practitioner's defaults, made concrete: with lr 'auto', the accelerated rule on standardized
    features; with a learning rate given, the textbook's plain step on the data as they are."""
    auto_lr = opts["lr"] == "auto"
    if opts["optimizer"] == "auto":
        opts["optimizer"] = "accelerated" if auto_lr and not opts["momentum"] and not opts["nesterov"] else "gd"
    if opts["standardize"] == "auto":
        opts["standardize"] = auto_lr
    return opts


def _fit(opts, data, test, raw, objective, loss, scaler, rule, callbacks, updates_before, checkpoint, every, resume,
         X_fit, validation=None):
    names, fit_intercept = data.feature_names, loss.fit_intercept
    theta0 = _initial_theta(opts["init"], len(names) + fit_intercept, fit_intercept)
    start = theta0 if scaler is None else scaler.to_standardized(theta0)
    terms, terms_original = _penalty_terms(loss, data, raw, scaler, objective.n_rows)
    hessian = loss.hessian(objective.gram(), objective.n_rows)
    if terms is not None:        # the smooth part's Hessian gains the L2 term's curvature
        objective = descent.Penalized(objective, terms)
        hessian = hessian + np.diag(terms.curvature)
    spectrum = curvature(hessian)
    # A Hessian singular to working precision is taken for singular only where its structure says so: a
    # constant column or fewer rows than parameters (and no L1 part, whose optimum set the range-space
    # bound does not describe). Columns collinear to 1e-8 look singular in AᵀA too, yet their data
    # determine the coefficients — descent cannot resolve them: no certificate there.
    structural = ((objective.n_rows < len(theta0) or bool(scaler is not None and scaler.constant))
                  and (terms is None or not terms.proximal))
    if not (spectrum.identified or structural):
        spectrum = spectrum._replace(mu=0.0, rank=spectrum.size)
    mu, lambda_max = spectrum.mu, spectrum.lambda_max
    theta_star = _exact_reference(opts, data, raw, loss, terms_original)
    lr = (math.nan if opts["solver"] == "exact"
          else _learning_rate(opts, lambda_max, objective.n_rows, loss, X_fit, objective.rescan))
    to_original = np.eye(len(theta0)) if scaler is None else scaler.matrix()
    certificate = descent.Certificate.of(mu, to_original, terms)
    if opts["solver"] == "exact":
        outcome = _exact_outcome(theta_star, *_on_original(data, raw, loss, theta_star, terms_original),
                                 opts["history_cap"])
        to_original = np.eye(len(theta0))      # θ* is on the original scale already
    else:
        opts["iters"] = iteration_budget(opts, lr, mu, lambda_max)
        fingerprint = _data_fingerprint(data, raw) if checkpoint is not None or resume is not None else None
        outcome, saver = _descend(opts, objective, start, rule, lr, lambda_max, callbacks, updates_before, checkpoint,
                                  every, resume, names, data.target_name,
                                  certificate if opts["stop"] == "gap" else None, fingerprint,
                                  prox=terms.prox if terms is not None and terms.proximal else None,
                                  monitor=_validation_error(validation, scaler, fit_intercept))
        try:
            return _finish(opts, data, test, raw, objective, loss, scaler, theta0, theta_star, lr, spectrum,
                           certificate, outcome, saver, terms_original)
        except KeyboardInterrupt:
            if saver is None:
                raise
            raise saver.interrupted() from None     # the descent had finished: its final state is kept
    return _finish(opts, data, test, raw, objective, loss, scaler, theta0, theta_star, lr, spectrum,
                   certificate, outcome, None, terms_original, to_original)


def _finish(opts, data, test, raw, objective, loss, scaler, theta0, theta_star, lr, spectrum, certificate,
            outcome, saver, terms_original, to_original=None) -> FitResult:
    """The ``FitResult`` of a finished descent (or exact solve): θ on the original scale, gaps, metrics."""
    mu, lambda_max = spectrum.mu, spectrum.lambda_max
    names, fit_intercept = data.feature_names, loss.fit_intercept
    if to_original is None:
        to_original = np.eye(len(theta0)) if scaler is None else scaler.matrix()
        if scaler is not None:    # θ = T·θ_z and ∇θ = T⁻ᵀ·∇θ_z for every record, one product each
            T = scaler.matrix()
            outcome.history.transform(T, np.linalg.inv(T.T))
    theta = to_original @ outcome.theta
    model = LinearModel.from_theta(theta, fit_intercept=fit_intercept, feature_names=names,
                                   target_name=data.target_name)
    gap_bound = 0.0 if opts["solver"] == "exact" else (
        certificate.gap(outcome.theta, outcome.gradient) if certificate else math.inf)
    result = FitResult(model, outcome.history, outcome.n_iter, outcome.stop_reason, outcome.loss, lr, lambda_max,
                       engine=objective.name, loss_spec=loss, init=tuple(float(t) for t in theta0),
                       n_rows=objective.n_rows, data=data, data_summary=raw.summary,
                       optimizer=opts["optimizer"], solver=opts["solver"],
                       test_data=test, standardized=scaler is not None,
                       constant_features=scaler.constant if scaler else (),
                       n_updates=getattr(outcome.rule_state, "count", 0), options=opts, gap_bound=gap_bound,
                       lambda_min=mu, rank=None if spectrum.identified else spectrum.rank,
                       final_state=saver.latest if saver is not None else None)
    if theta_star is not None:
        result.theta_exact = theta_star
        result.loss_exact = (_loss_at(data, raw, loss, theta_star) if terms_original is None and loss.huber is None
                             else _on_original(data, raw, loss, theta_star, terms_original)[0])
        exact.record_gaps(outcome.history, result.theta_exact, result.loss_exact)
    if result.diverged:
        raise DivergenceError(divergence_message(result), result)
    if isinstance(data, XY):
        result.metrics = _metrics_in_memory(data, raw, model)
    else:  # not in memory: the metrics the summary gives without another pass
        from gradfit.engines.stats import StatsObjective   # the squared loss from the summary, whatever was fitted

        sse = StatsObjective.loss_and_gradient(raw, model.theta)[0] / loss.scale(raw.n_rows)
        result.metrics = from_sse(sse, raw.n_rows, raw.summary.M[-1, -1])
    if test is not None:
        result.test_metrics = regression_metrics(test.y, model.predict(test.X))
    if result.stopped_short:
        from gradfit.errors import ConvergenceWarning

        warnings.warn(ConvergenceWarning(stopped_short_message(result)), stacklevel=4)
    return result


def iteration_budget(opts, lr: float, mu: float, lambda_max: float) -> int:
    """``iters``, or for 'auto' a budget that follows the conditioning κ = L/μ of what is descended:
    the accelerated rule contracts by about (1 − 1/√κ) per step, a plain step of λ by max|1 − λ·h|."""
    if opts["iters"] != "auto":
        return opts["iters"]
    digits = math.log(1 / (opts["tol"] or 1e-8))
    if not mu > 0 or not lambda_max > 0:
        return AUTO_ITERS_FLOOR
    kappa = lambda_max / mu
    if opts["optimizer"] == "accelerated":
        steps = 4 * math.sqrt(kappa) * (digits + math.log(kappa) + 5)
    else:
        rate = max(abs(1 - lr * mu), abs(1 - lr * lambda_max))
        steps = (digits + math.log(kappa) + 5) / -math.log(rate) if 0 < rate < 1 else AUTO_ITERS_FLOOR  # 0: exact in one
    return int(min(max(math.ceil(steps), AUTO_ITERS_FLOOR), AUTO_ITERS_CEILING))


# iters='auto' runs at least this many iterations, and at most this many.
AUTO_ITERS_FLOOR = 1000
AUTO_ITERS_CEILING = 100_000


def _exact_reference(opts, data, raw, loss, terms_original=None):
    """θ*, the least-squares optimum the run is measured against (None where too costly); with an L2 penalty
    ridge's closed form; with an L1 part none (there is no closed form)."""
    asked = opts["solver"] == "exact"
    in_memory = isinstance(data, XY)
    cheap = asked or (in_memory and data.X.size <= EXACT_REFERENCE_LIMIT)
    if loss.huber is not None:
        return None
    if terms_original is not None:
        if terms_original.proximal:
            return None
        d = len(data.feature_names)
        D = terms_original.curvature[:d] / (2 * loss.scale(raw.n_rows))   # Σ sᵢrᵢ² + Σ Dⱼwⱼ²
        if in_memory and cheap:
            return exact.ridge(data.X, data.y, D, fit_intercept=loss.fit_intercept, sample_weight=loss.sample_weight)
        return exact.ridge_from_summary(raw.summary, D, loss.fit_intercept) if raw.summary is not None else None
    if raw.summary is not None and raw.rescan is not None:   # the summary knows θ*; more passes when affordable
        return exact.from_summary(raw.summary, loss.fit_intercept, raw.rescan, second_pass=cheap)
    if not cheap:
        return None
    return exact.solve(data.X, data.y, fit_intercept=loss.fit_intercept, sample_weight=loss.sample_weight)


def _on_original(data, raw, loss: Loss, theta, terms=None) -> tuple[float, np.ndarray]:
    """Loss and gradient at θ on the data as given (the engine may descend on a standardized copy); with a
    penalty's ``terms`` (on the given scale) the penalized loss and the smooth part's gradient."""
    if isinstance(data, XY):
        r = loss.residual(data.X, data.y, np.asarray(theta, dtype=np.float64))
        value, grad = loss.value(r), loss.gradient(data.X, r)
    else:
        value, grad = raw.loss_and_gradient(theta)      # a summary's objective: the summary is of the data as given
    if terms is None:
        return value, grad
    return value + terms.value(theta), grad + terms.gradient(np.asarray(theta, dtype=np.float64))


def _validation_error(validation: XY | None, scaler, fit_intercept: bool):
    """The mean squared error of the held-out rows at θ (in the coordinates descended), for early stopping."""
    if validation is None:
        return None
    X = validation.X if scaler is None else scaler.transform(validation.X)
    y = validation.y
    scoring = Loss("mse", fit_intercept)
    return lambda theta: scoring.value(scoring.residual(X, y, np.asarray(theta, dtype=np.float64)))


def _penalty_terms(loss: Loss, data, raw, scaler, n_rows: int):
    """The penalty's terms in the descended coordinates and on the given scale (None, None without a penalty).

    The coefficient penalized is uⱼ·θⱼ: on the given scale with standardized descent wⱼ = θⱼ/sⱼ, so
    uⱼ = 1/sⱼ (a weighted L1: each coordinate soft-thresholded by its own threshold); on the standardized
    scale (glmnet's) wⱼ·sⱼ is penalized, so uⱼ = 1 there and sⱼ on the given coordinates.
    """
    if not loss.penalty.active:
        return None, None
    d = len(data.feature_names)
    descent_scale = np.ones(d) if scaler is None else scaler.scale
    if loss.penalty.scale == "given":
        penalty_scale = np.ones(d)
    elif scaler is not None:
        penalty_scale = scaler.scale
    elif isinstance(data, XY):
        penalty_scale = Standardizer.fit(data.X, data.feature_names, loss.fit_intercept, data.weight).scale
    else:
        penalty_scale = Standardizer.from_summary(raw.summary, data.feature_names, loss.fit_intercept).scale
    return (PenaltyTerms.of(loss, n_rows, penalty_scale / descent_scale),
            PenaltyTerms.of(loss, n_rows, penalty_scale))


# Where the summary's Σ rᵢ² is certified to this relative accuracy, the metrics and the loss at θ* come from it
# (no pass over the rows); else from the rows.
SUMMARY_SSE_RTOL = 1e-8


def _summary_sse(data, raw, theta) -> float | None:
    """Σ rᵢ² at θ from an in-memory run's summary where it is accurate enough, else None."""
    if not isinstance(data, XY) or getattr(raw, "summary", None) is None or data.weight is not None:
        return None
    sse, bound = raw.residual_sum_of_squares(theta)
    return sse if bound <= SUMMARY_SSE_RTOL * sse else None


def _loss_at(data, raw, loss: Loss, theta) -> float:
    sse = _summary_sse(data, raw, theta)
    return _on_original(data, raw, loss, theta)[0] if sse is None else sse * loss.scale(raw.n_rows)


def _metrics_in_memory(data: XY, raw, model: LinearModel) -> dict[str, float]:
    """MSE, RMSE and R² from the summary (MAE when asked for: ``Metrics``), or all four from a prediction pass."""
    weights = np.asarray(model.weights)
    sse = _summary_sse(data, raw, model.theta)
    if sse is None:
        return regression_metrics(data.y, data.X @ weights + model.bias)
    return Metrics(from_sse(sse, raw.n_rows, raw.summary.M[-1, -1]), data.X, data.y, weights, model.bias)


def _exact_outcome(theta_star, loss: float, grad, history_cap: int) -> descent.Outcome:
    history = descent.History(history_cap)
    history.record(0, theta_star, loss, grad)
    return descent.Outcome(np.asarray(theta_star), loss, grad, 0, descent.Stop.EXACT, history, descent.GDState(0))


def _learning_rate(opts, lambda_max: float, n_rows: int, loss: Loss, X_fit, rescan=None) -> float:
    """λ = 1/h_max for full-batch descent; for mini-batch SGD 1/L_B, which needs the longest row too: from the rows
    in memory, or — data read in chunks — from one more pass over them (SGD reads every row each epoch anyway)."""
    if opts["lr"] != "auto":
        return opts["lr"]
    if not lambda_max > 0:
        raise ConfigError("lr='auto' needs a loss with curvature, but every feature is zero; give lr a number.")
    if opts["optimizer"] != "sgd":
        return 1.0 / lambda_max
    if X_fit is not None:
        rows = [X_fit]
    elif rescan is not None:
        rows = (X for X, _ in rescan())
    else:
        raise ConfigError("lr='auto' for mini-batch SGD needs every row's length, which these data do not give; "
                          "give a number (--lr), or use full-batch gradient descent.")
    return 1.0 / minibatch_curvature(lambda_max, loss.row_curvature(rows, n_rows), n_rows, opts["batch_size"])


def _data_fingerprint(data, raw) -> dict:
    """The checkpoint's record of the data: rows, columns, each column's mean and scale, sampled rows (in memory)."""
    columns = [*data.feature_names, data.target_name]
    if isinstance(data, XY):   # each column's mean and root mean square, without a copy of the data
        arrays = (data.X, data.y) + (() if data.weight is None else (data.weight,))
        n = max(data.n_rows, 1)
        with np.errstate(all="ignore"):
            mean = np.append(data.X.sum(axis=0, dtype=np.float64), data.y.sum(dtype=np.float64)) / n
            rms = np.sqrt(np.append(np.einsum("ij,ij->j", data.X, data.X, dtype=np.float64),
                                    np.dot(data.y, data.y.astype(np.float64, copy=False))) / n)
        return checkpoints.fingerprint(data.n_rows, columns, mean, rms, rows=arrays)
    summary = raw.summary
    scale = np.sqrt(np.maximum(np.diag(summary.M), 0.0) / max(summary.n, 1))
    return checkpoints.fingerprint(summary.n, columns, summary.mean, scale)


def _descend(opts, objective, start, rule, lr, lambda_max, callbacks, updates_before, checkpoint, every, resume,
             names, target, certificate, fingerprint=None, prox=None, monitor=None):
    """Run the descent, writing checkpoints as asked; on Ctrl-C save the state and say where.

    Returns the outcome and the checkpointer (None without a checkpoint), which holds the final state."""
    sgd = opts["optimizer"] == "sgd"
    rng = np.random.default_rng(opts["seed"])
    config = {**{k: v for k, v in opts.items() if k not in ("history_cap", "init")}, "lr_value": lr,
              "features": list(names), "target": target}
    theta, first, state = start, 0, rule.init(np.asarray(start, dtype=np.float64), updates_before)
    quiet, loss0 = 0, None
    if resume is not None:
        saved = checkpoints.load(resume)
        checkpoints.check_same_run(saved, config, resume)
        checkpoints.check_same_data(saved, fingerprint, resume)
        theta, first, quiet, loss0 = saved.theta, saved.iteration, saved.quiet, saved.loss0
        try:
            if theta.shape != np.shape(start):
                raise ValueError(f"'theta' must hold {np.size(start)} numbers")
            state = descent.state_from_dict(rule, theta, saved.rule_state)
            if saved.rng_state is not None:
                rng.bit_generator.state = saved.rng_state
        except (ValueError, TypeError, KeyError) as exc:
            raise DataError(f"'{resume}' is not a valid gradfit checkpoint for this run: {exc}.") from None
        with np.errstate(all="ignore"):
            resumed_loss = objective.loss_and_gradient(theta)[0]
        if not math.isfinite(resumed_loss):      # not the learning rate's fault: the saved numbers are wrong
            raise DataError(f"'{resume}' is corrupt: the loss at its parameters is {resumed_loss} (not a finite "
                            "number), so the run cannot continue from it. Start the run again without --resume.")
    saver = (checkpoints.Checkpointer(checkpoint, every, config, descent.state_to_dict, fingerprint)
             if checkpoint else None)
    schedule = descent.learning_rate_schedule(opts["learning_rate"], lr, opts["power_t"])
    try:
        outcome = descent.run(objective, theta, lr=lr, max_iter=opts["epochs"] if sgd else opts["iters"],
                              tol=opts["tol"], rule=rule, callbacks=tuple(callbacks) + ((saver,) if saver else ()),
                              history_cap=opts["history_cap"], schedule=schedule,
                              n_iter_no_change=opts["n_iter_no_change"],
                              batches=descent.MiniBatches(opts["batch_size"], rng) if sgd else None,
                              start=first, rule_state=state, stable_lr=stable_lr_bound(lambda_max),
                              certificate=certificate, quiet_start=quiet, loss0=loss0, prox=prox, monitor=monitor)
    except KeyboardInterrupt:
        if saver is None:
            raise
        raise saver.interrupted() from None
    if saver is not None:
        saver.finished = True
        if every:
            saver.save()
    return outcome, saver


def _standardizer(scaler: Standardizer) -> Standardizer:
    if scaler.constant:
        warnings.warn(f"Constant column{'s' * (len(scaler.constant) != 1)} {', '.join(map(repr, scaler.constant))} "
                      "cannot be standardized (standard deviation 0): left unscaled; with an intercept its "
                      "weight stays 0. Drop it, or fit without --standardize.", GradfitWarning, stacklevel=4)
    return scaler


def stopped_short_message(result: FitResult, lang: str = "en", voice: str = "python") -> str:
    if result.stop_reason is descent.Stop.TOL:     # the loss settled, but nothing certifies it
        return message("warn.no_certificate", lang, voice, n=result.n_iter)
    bound = "" if not math.isfinite(result.gap_bound) else message("warn.bound", lang, voice, gap=f"{result.gap_bound:.2g}")
    return message("warn.not_converged", lang, voice, n=result.n_iter, bound=bound, tol=f"{result.options['tol']:g}",
                   **run_limit(result.optimizer == "sgd", lang, voice))


def divergence_message(result: FitResult) -> str:
    last = result.history.loss[-1]
    state = "is no longer a finite number" if not np.isfinite(last) else f"grew to {last:.4g}"
    advice = "Use a smaller learning rate, or lr='auto' (--lr auto)."
    return (
        f"Gradient descent diverged: after {result.n_iter} iteration{'s' * (result.n_iter != 1)} the loss "
        f"{state} (it started at {result.history.loss[0]:.6g}). The learning rate {result.lr:g} is too "
        f"large for these data: gradient descent converges only for a learning rate below "
        f"2/h_max ≈ {result.stable_lr:.3g} (h_max = {result.lambda_max:.5g}, the largest eigenvalue of the "
        f"loss's Hessian). {advice}"
    )


def _initial_theta(init, n_params: int, fit_intercept: bool) -> np.ndarray:
    if init is None:
        return np.zeros(n_params)
    if len(init) != n_params:
        shape = "w₁,…,w_d,b" if fit_intercept else "w₁,…,w_d"
        raise ConfigError(
            f"init has {len(init)} value{'s' * (len(init) != 1)} but the model has {n_params} parameters "
            f"({shape}); give one starting value per weight{', then the bias' if fit_intercept else ''}."
        )
    return np.array(init, dtype=np.float64)

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
from gradfit.errors import ConfigError, ConvergenceWarning, DataError, DivergenceError, GradfitWarning
from gradfit.messages import message, run_limit
from gradfit.loss import Loss, Penalty
from gradfit.metrics import Metrics, from_sse, regression_metrics
from gradfit.model import LinearModel
from gradfit.problem import (Problem, check_rule, coordinate_descent, defer_reference, descend, plan, reference,
                             resolve_auto)
from gradfit.result import FitResult
from gradfit.training import checkpoint as checkpoints

def fit(X, y=None, *, feature_names=None, sample_weight=None, test=None, callbacks=(), scheduler=None,
        checkpoint=None, every=0, resume=None, progress=False, **options) -> FitResult:
    """Fit ``f(x) = w·x + b`` to ``(X, y)`` by gradient descent (options: ``gradfit.params.PARAMS``).

    >>> r = fit([1, 2, 3], [3, 5, 7], lr=0.01, iters=1000, tol=None, init=(1.0, 0.0), loss="sse", engine="python")
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
             checkpoint=None, every: int = 0, resume=None, summary=None, warning=ConvergenceWarning,
             **options) -> FitResult:
    """``fit`` on data already validated: ``XY`` (``gradfit.data.as_xy`` / ``load_xy``), or data
    that is not in memory — a ``Scan`` of files, ``DaskData``.

    ``updates_before`` continues a learning-rate schedule where an earlier run left it (λ_t with
    t counted from there), as ``GDRegressor.partial_fit`` does from chunk to chunk. ``summary`` (a
    ``stats.Summary`` of exactly these data, made earlier, as ``gradfit.cv`` does) spares the stats, stream
    and dask engines their pass: the fit then reads no data. A run that stopped short warns once, as a
    ``warning`` (``GDRegressor``'s is scikit-learn's ConvergenceWarning as well).
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
    weighted = getattr(data, "weight", None) is not None or getattr(data, "weight_name", None) is not None
    # coordinate descent solves at once: nothing for a checkpoint, callbacks or an early-stopping monitor to see
    whole = checkpoint is None and resume is None and not callbacks and validation_fraction is None
    opts = resolve_auto(opts, quadratic=huber is None and not penalty.proximal,
                        coordinate=whole and huber is None and not weighted)
    if opts["optimizer"] == "coordinate" and not whole:
        raise ConfigError("optimizer='coordinate' solves in one go: it takes no checkpoint, resume, callbacks, "
                          "progress bar or early stopping. Use optimizer='accelerated' for those.")
    if opts["optimizer"] == "coordinate" and (huber is not None or weighted):
        raise ConfigError("optimizer='coordinate' works on the summary of the squared loss without sample weights; "
                          "use optimizer='accelerated' for loss='huber' or weighted rows.")
    if every and checkpoint is None:
        raise ConfigError(f"every={every} needs a file to write to: give checkpoint=PATH (--checkpoint PATH).")
    if opts["test_fraction"] is not None and test is not None:
        raise ConfigError("Give either a test set (--test FILE, test=) or test_fraction, not both.")
    check_rule(opts, penalty.proximal)     # before any data are read (the Problem builds the rule itself)
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
        result = _fit(opts, data, test, raw, objective, loss, scaler, callbacks, updates_before, checkpoint,
                      every, resume, X_fit, validation)
    finally:
        raw.close()
    if result.stopped_short:
        warnings.warn(warning(stopped_short_message(result)), stacklevel=3)
    return result


def _summary_of(data: XY):
    """The one-pass summary of rows in memory (for coordinate descent on the Gram matrix)."""
    from gradfit.engines.stats import array_blocks, summarize

    return summarize(array_blocks(np.asarray(data.X, dtype=np.float64), np.asarray(data.y, dtype=np.float64)))


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


def _fit(opts, data, test, raw, objective, loss, scaler, callbacks, updates_before, checkpoint, every, resume,
         X_fit, validation=None):
    names, fit_intercept = data.feature_names, loss.fit_intercept
    theta0 = _initial_theta(opts["init"], len(names) + fit_intercept, fit_intercept)
    problem = plan(opts, data, raw, objective, loss, scaler, X_fit)
    opts["iters"] = problem.iters or opts["iters"]
    if problem.solver == "exact":
        theta_star = problem.theta_star
        outcome = _exact_outcome(theta_star, *_on_original(data, raw, loss, theta_star, problem.terms_original),
                                 opts["history_cap"])
        return _finish(opts, data, test, raw, problem, theta0, outcome, None, descended=False)
    start = theta0 if scaler is None else scaler.to_standardized(theta0)
    if problem.optimizer == "coordinate":
        summary = raw.summary if raw.summary is not None else _summary_of(data)
        outcome = coordinate_descent(problem, objective, summary, start, opts["history_cap"])
        return _finish(opts, data, test, raw, problem, theta0, outcome, None)
    fingerprint = _data_fingerprint(data, raw) if checkpoint is not None or resume is not None else None
    outcome, saver = _descend(opts, problem, objective, start, callbacks, updates_before, checkpoint, every, resume,
                              names, data.target_name, fingerprint,
                              monitor=_validation_error(validation, scaler, fit_intercept))
    try:
        return _finish(opts, data, test, raw, problem, theta0, outcome, saver)
    except KeyboardInterrupt:
        if saver is None:
            raise
        raise saver.interrupted() from None     # the descent had finished: its final state is kept


def _finish(opts, data, test, raw, problem: Problem, theta0, outcome, saver, descended: bool = True) -> FitResult:
    """The ``FitResult`` of a finished descent (or exact solve): θ on the original scale, gaps, metrics."""
    loss = problem.loss
    result = FitResult.of(problem, outcome, data, theta0, engine=raw.name, data_summary=raw.summary, options=opts,
                          test_data=test, final_state=saver.latest if saver is not None else None, descended=descended)
    model = result.model
    def loss_at_optimum(theta_star) -> float:
        if problem.terms_original is None and loss.huber is None:
            return _loss_at(data, raw, loss, theta_star)
        return _on_original(data, raw, loss, theta_star, problem.terms_original)[0]

    if problem.theta_star is not None:
        result.theta_exact, result.loss_exact = problem.theta_star, loss_at_optimum(problem.theta_star)
        exact.record_gaps(outcome.history, result.theta_exact, result.loss_exact)
    elif defer_reference(opts, data):
        def optimum():
            theta_star = reference(opts, data, raw, loss, problem.terms_original)
            return (None, None) if theta_star is None else (theta_star, loss_at_optimum(theta_star))

        result.defer_reference(optimum)
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
    return result


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


def _descend(opts, problem: Problem, objective, start, callbacks, updates_before, checkpoint, every, resume, names,
             target, fingerprint=None, monitor=None):
    """Run the descent, writing checkpoints as asked; on Ctrl-C save the state and say where.

    Returns the outcome and the checkpointer (None without a checkpoint), which holds the final state."""
    sgd = opts["optimizer"] == "sgd"
    rng = np.random.default_rng(opts["seed"])
    config = {**{k: v for k, v in opts.items() if k not in ("history_cap", "init")}, "lr_value": problem.lr,
              "features": list(names), "target": target}
    rule = problem.rule
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
            resumed_loss = problem.objective(objective).loss_and_gradient(theta)[0]
        if not math.isfinite(resumed_loss):      # not the learning rate's fault: the saved numbers are wrong
            raise DataError(f"'{resume}' is corrupt: the loss at its parameters is {resumed_loss} (not a finite "
                            "number), so the run cannot continue from it. Start the run again without --resume.")
    saver = (checkpoints.Checkpointer(checkpoint, every, config, descent.state_to_dict, fingerprint)
             if checkpoint else None)
    schedule = descent.learning_rate_schedule(opts["learning_rate"], problem.lr, opts["power_t"])
    try:
        outcome = descend(problem, objective, theta, max_iter=opts["epochs"] if sgd else problem.iters,
                          rule=rule, callbacks=tuple(callbacks) + ((saver,) if saver else ()),
                          history_cap=opts["history_cap"], schedule=schedule, n_iter_no_change=opts["n_iter_no_change"],
                          batches=descent.MiniBatches(opts["batch_size"], rng) if sgd else None,
                          start=first, rule_state=state, quiet_start=quiet, loss0=loss0, monitor=monitor)
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
        columns = message("warn.columns" if len(scaler.constant) != 1 else "warn.column")
        warnings.warn(message("warn.constant_column", unit=columns, names=", ".join(map(repr, scaler.constant))),
                      GradfitWarning, stacklevel=4)
    return scaler


def stopped_short_message(result: FitResult, lang: str = "en", voice: str = "python") -> str:
    if result.stop_reason is descent.Stop.TOL:     # the loss settled, but nothing certifies it
        return message("warn.no_certificate", lang, voice, n=result.n_iter)
    bound = "" if not math.isfinite(result.gap_bound) else message("warn.bound", lang, voice, gap=f"{result.gap_bound:.2g}")
    return message("warn.not_converged", lang, voice, n=result.n_iter, bound=bound, tol=f"{result.options['tol']:g}",
                   **run_limit(result.optimizer == "sgd", lang, voice))


def divergence_message(result: FitResult, lang: str = "en") -> str:
    last, n = result.history.loss[-1], result.n_iter
    what = (message("error.diverged_nan", lang) if not np.isfinite(last) else
            message("error.diverged_grew", lang, loss=f"{last:.4g}"))
    unit = message("error.iterations" if n != 1 else "error.iteration", lang)
    return message("error.diverged", lang, n=n, unit=unit, what=what, loss0=f"{result.history.loss[0]:.6g}",
                   lr=f"{result.lr:g}", stable=f"{result.stable_lr:.3g}", curv=f"{result.lambda_max:.5g}")


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

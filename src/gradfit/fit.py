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
from gradfit.errors import ConfigError, DivergenceError, GradfitWarning
from gradfit.messages import message
from gradfit.loss import Loss, extreme_eigenvalues, minibatch_curvature, stable_lr_bound
from gradfit.metrics import Metrics, from_sse, regression_metrics
from gradfit.model import LinearModel
from gradfit.result import FitResult
from gradfit.training import checkpoint as checkpoints

# Above this many numbers in X, the exact optimum (an extra least-squares solve on a copy of X)
# is not computed unless solver="exact" asks for it; the gaps are then left out of the history.
EXACT_REFERENCE_LIMIT = 10_000_000


def fit(X, y=None, *, feature_names=None, sample_weight=None, test=None, callbacks=(), scheduler=None,
        checkpoint=None, every=0, resume=None, **options) -> FitResult:
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
            raise ConfigError("test= takes a pair (X_test, y_test).")
        test = as_xy(*test, feature_names=data.feature_names, dropna=dropna, min_rows=1)
    return fit_data(data, test=test, callbacks=callbacks, scheduler=scheduler, checkpoint=checkpoint,
                    every=every, resume=resume, **options)


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
              ("scheduler", None), ("checkpoint", None), ("every", 0), ("resume", None))]
    table = [inspect.Parameter(p.name, keyword, default=p.default) for p in params.PARAMS.values()]
    return inspect.Signature(fixed + extra + table)


fit.__signature__ = _signature()


def fit_data(data, *, test: XY | None = None, callbacks=(), updates_before: int = 0, scheduler=None,
             checkpoint=None, every: int = 0, resume=None, **options) -> FitResult:
    """``fit`` on data already validated: ``XY`` (``gradfit.data.as_xy`` / ``load_xy``), or data
    that is not in memory — a ``Scan`` of files, ``DaskData``.

    ``updates_before`` continues a learning-rate schedule where an earlier run left it (λ_t with
    t counted from there), as ``GDRegressor.partial_fit`` does from chunk to chunk.
    """
    opts = params.validate_all(options)
    standardize_asked = opts["standardize"] is True
    opts = resolve_auto(opts)
    if every and checkpoint is None:
        raise ConfigError(f"every={every} needs a file to write to: give checkpoint=PATH (--checkpoint PATH).")
    if opts["test_fraction"] is not None and test is not None:
        raise ConfigError("Give either a test set (--test FILE, test=) or test_fraction, not both.")
    rule = descent.rule_for(opts["optimizer"], opts["momentum"], opts["nesterov"])
    weighted = getattr(data, "weight", None) is not None or getattr(data, "weight_name", None) is not None
    in_memory_only = tuple(flag for flag, on in (("test_fraction", opts["test_fraction"] is not None),
                                                 ("dropna", opts["dropna"])) if on)
    engine = choose_engine(data, engine=opts["engine"], optimizer=opts["optimizer"], dtype=opts["dtype"],
                           device=opts["device"], weighted=weighted, in_memory_only=in_memory_only)
    if isinstance(data, Scan) and engine in IN_MEMORY:
        data = read_all(data, dropna=opts["dropna"])
    if isinstance(data, XY) and engine != "stats":
        data = data.verified()
    if opts["test_fraction"] is not None:
        data, test = split(data, opts["test_fraction"], opts["seed"])
    names, fit_intercept = data.feature_names, opts["fit_intercept"]
    in_memory = isinstance(data, XY)
    if in_memory and engine != "stats":      # the stats engine warns from its summary, below
        warn_about_features(data.X, names, fit_intercept)
    loss = Loss(opts["loss"], fit_intercept, data.weight if in_memory else None)
    standardize = opts["standardize"] and engine != "python"
    scaler, X_fit = None, data.X if in_memory else None
    if standardize and engine in IN_MEMORY:   # the descent runs on standardized copies of the columns
        scaler = _standardizer(Standardizer.fit(data.X, names, fit_intercept, data.weight))
        X_fit = scaler.transform(data.X)
        data_fit = XY(X_fit, data.y, names, data.target_name, data.source, data.weight)
    else:
        data_fit = data
    # The engine's objective: of the data as given, or (in memory, standardized) of their standardized copy.
    raw = make_objective(engine, data_fit, loss, dtype=opts["dtype"], device=opts["device"], scheduler=scheduler)
    try:
        if in_memory and engine == "stats":
            data = _checked_by_summary(data, raw.summary)
            warn_about_summary(raw.summary, names, fit_intercept)
        objective = raw
        if standardize and raw.summary is not None and opts["optimizer"] == "sgd":
            if standardize_asked:
                raise ConfigError("Mini-batch SGD on data read in chunks or on a cluster runs on the data as they are; "
                                  "give standardize=False (leave --standardize out), or use full-batch descent.")
            standardize = False
        if standardize and raw.summary is not None:   # the summary holds the means and scales: no pass
            scaler = _standardizer(Standardizer.from_summary(raw.summary, names, fit_intercept))
            objective = raw.standardized(scaler.mean, scaler.scale)
        return _fit(opts, data, test, raw, objective, loss, scaler, rule, callbacks, updates_before, checkpoint,
                    every, resume, X_fit)
    finally:
        raw.close()


def _checked_by_summary(data: XY, summary) -> XY:
    """The finiteness check, fused into the summary's pass: a NaN or an infinity anywhere makes the
    totals non-finite, and only then are the columns searched for the message (``XY.verified``).
    (Finite values so large that their squares overflow also make them non-finite; the search then
    finds nothing and the fit goes on, as it did when the check was a pass of its own.)"""
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
         X_fit):
    names, fit_intercept = data.feature_names, loss.fit_intercept
    theta0 = _initial_theta(opts["init"], len(names) + fit_intercept, fit_intercept)
    start = theta0 if scaler is None else scaler.to_standardized(theta0)
    mu, lambda_max = extreme_eigenvalues(loss.hessian(objective.gram(), objective.n_rows))
    theta_star = _exact_reference(opts, data, raw, loss)
    lr = math.nan if opts["solver"] == "exact" else _learning_rate(opts, lambda_max, objective.n_rows, loss, X_fit)
    to_original = np.eye(len(theta0)) if scaler is None else scaler.matrix()
    certificate = descent.Certificate.of(mu if mu > lambda_max * 1e-15 else 0.0, to_original)
    if opts["solver"] == "exact":
        outcome = _exact_outcome(theta_star, *_on_original(data, raw, loss, theta_star), opts["history_cap"])
        to_original = np.eye(len(theta0))      # θ* is on the original scale already
    else:
        opts["iters"] = iteration_budget(opts, lr, mu, lambda_max)
        outcome = _descend(opts, objective, start, rule, lr, lambda_max, callbacks, updates_before, checkpoint,
                           every, resume, names, data.target_name,
                           certificate if opts["stop"] == "gap" else None)
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
                       lambda_min=mu)
    if theta_star is not None:
        result.theta_exact = theta_star
        result.loss_exact = _loss_at(data, raw, loss, theta_star)
        exact.record_gaps(outcome.history, result.theta_exact, result.loss_exact)
    if result.diverged:
        raise DivergenceError(divergence_message(result), result)
    if isinstance(data, XY):
        result.metrics = _metrics_in_memory(data, raw, model)
    else:  # not in memory: the metrics the summary gives without another pass
        sse = raw.loss_and_gradient(model.theta)[0] / loss.scale(raw.n_rows)
        result.metrics = from_sse(sse, raw.n_rows, raw.summary.M[-1, -1])
    if test is not None:
        result.test_metrics = regression_metrics(test.y, model.predict(test.X))
    if opts["tol"] and opts["solver"] != "exact" and not result.converged:
        from gradfit.errors import ConvergenceWarning

        warnings.warn(ConvergenceWarning(stopped_short_message(result)), stacklevel=3)
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
        steps = (digits + math.log(kappa) + 5) / -math.log(rate) if rate < 1 else AUTO_ITERS_FLOOR
    return int(min(max(math.ceil(steps), AUTO_ITERS_FLOOR), AUTO_ITERS_CEILING))


# iters='auto' runs at least this many iterations, and at most this many.
AUTO_ITERS_FLOOR = 1000
AUTO_ITERS_CEILING = 100_000


def _exact_reference(opts, data, raw, loss):
    """θ*, the least-squares optimum the run is measured against (None where too costly)."""
    asked = opts["solver"] == "exact"
    in_memory = isinstance(data, XY)
    cheap = asked or (in_memory and data.X.size <= EXACT_REFERENCE_LIMIT)
    if raw.summary is not None and raw.rescan is not None:   # the summary knows θ*; more passes when affordable
        return exact.from_summary(raw.summary, loss.fit_intercept, raw.rescan, second_pass=cheap)
    if not cheap:
        return None
    return exact.solve(data.X, data.y, fit_intercept=loss.fit_intercept, sample_weight=loss.sample_weight)


def _on_original(data, raw, loss: Loss, theta) -> tuple[float, np.ndarray]:
    """Loss and gradient at θ on the data as given (the engine may descend on a standardized copy)."""
    if isinstance(data, XY):
        r = loss.residual(data.X, data.y, np.asarray(theta, dtype=np.float64))
        return loss.value(r), loss.gradient(data.X, r)
    return raw.loss_and_gradient(theta)      # a summary's objective: the summary is of the data as given


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


def _learning_rate(opts, lambda_max: float, n_rows: int, loss: Loss, X_fit) -> float:
    if opts["lr"] != "auto":
        return opts["lr"]
    if not lambda_max > 0:
        raise ConfigError("lr='auto' needs a loss with curvature, but every feature is zero; give lr a number.")
    if opts["optimizer"] != "sgd":
        return 1.0 / lambda_max
    if X_fit is None:
        raise ConfigError("lr='auto' for mini-batch SGD needs every row's length, which data read in chunks "
                          "does not give up front; give a number (--lr), or use full-batch gradient descent.")
    return 1.0 / minibatch_curvature(lambda_max, loss.row_curvature(X_fit, n_rows), n_rows, opts["batch_size"])


def _descend(opts, objective, start, rule, lr, lambda_max, callbacks, updates_before, checkpoint, every, resume,
             names, target, certificate) -> descent.Outcome:
    """Run the descent, writing checkpoints as asked; on Ctrl-C save the state and say where."""
    sgd = opts["optimizer"] == "sgd"
    rng = np.random.default_rng(opts["seed"])
    config = {**{k: v for k, v in opts.items() if k not in ("history_cap", "init")}, "lr_value": lr,
              "features": list(names), "target": target}
    theta, first, state = start, 0, rule.init(np.asarray(start, dtype=np.float64), updates_before)
    if resume is not None:
        saved = checkpoints.load(resume)
        checkpoints.check_same_run(saved, config, resume)
        theta, first = saved.theta, saved.iteration
        try:
            if theta.shape != np.shape(start):
                raise ValueError(f"'theta' must hold {np.size(start)} numbers")
            state = descent.state_from_dict(rule, theta, saved.rule_state)
            if saved.rng_state is not None:
                rng.bit_generator.state = saved.rng_state
        except (ValueError, TypeError, KeyError) as exc:
            from gradfit.errors import DataError

            raise DataError(f"'{resume}' is not a valid gradfit checkpoint for this run: {exc}.") from None
    saver = checkpoints.Checkpointer(checkpoint, every, config, descent.state_to_dict) if checkpoint else None
    schedule = descent.learning_rate_schedule(opts["learning_rate"], lr, opts["power_t"])
    try:
        outcome = descent.run(objective, theta, lr=lr, max_iter=opts["epochs"] if sgd else opts["iters"],
                              tol=opts["tol"], rule=rule, callbacks=tuple(callbacks) + ((saver,) if saver else ()),
                              history_cap=opts["history_cap"], schedule=schedule,
                              n_iter_no_change=opts["n_iter_no_change"],
                              batches=descent.MiniBatches(opts["batch_size"], rng) if sgd else None,
                              start=first, rule_state=state, stable_lr=stable_lr_bound(lambda_max),
                              certificate=certificate)
    except KeyboardInterrupt:
        if saver is None:
            raise
        raise saver.interrupted() from None
    if saver is not None and every:
        saver.save()
    return outcome


def _standardizer(scaler: Standardizer) -> Standardizer:
    if scaler.constant:
        warnings.warn(f"Constant column{'s' * (len(scaler.constant) != 1)} {', '.join(map(repr, scaler.constant))} "
                      "cannot be standardized (standard deviation 0): left unscaled; with an intercept its "
                      "weight stays 0. Drop it, or fit without --standardize.", GradfitWarning, stacklevel=4)
    return scaler


def stopped_short_message(result: FitResult, lang: str = "en", voice: str = "python") -> str:
    bound = "" if not math.isfinite(result.gap_bound) else message("warn.bound", lang, voice, gap=f"{result.gap_bound:.2g}")
    return message("warn.not_converged", lang, voice, n=result.n_iter, bound=bound, tol=f"{result.options['tol']:g}")


def divergence_message(result: FitResult) -> str:
    last = result.history.loss[-1]
    state = "is no longer a finite number" if not np.isfinite(last) else f"grew to {last:.4g}"
    return (
        f"Gradient descent diverged: after {result.n_iter} iteration{'s' * (result.n_iter != 1)} the loss "
        f"{state} (it started at {result.history.loss[0]:.6g}). The learning rate {result.lr:g} is too "
        f"large for these data: gradient descent converges only for a learning rate below "
        f"2/λ_max ≈ {result.stable_lr:.3g} (λ_max = {result.lambda_max:.5g}, the largest eigenvalue of the "
        f"loss's Hessian). Use a smaller learning rate, or lr='auto' (--lr auto)."
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

"""``fit``: data → objective → descent → ``FitResult``. Validation happens here, once."""

from __future__ import annotations

import inspect
import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from gradfit import checkpoint as checkpoints
from gradfit import descent, diagnostics, losses, params
from gradfit.data import XY, as_xy, split
from gradfit.engines import make_objective, objective_for
from gradfit.errors import ConfigError, DivergenceError, GradfitWarning
from gradfit.metrics import regression_metrics
from gradfit.model import LinearModel
from gradfit.standardize import Standardizer

# Above this many numbers in X, the exact optimum (an extra least-squares solve on a copy of X)
# is not computed unless solver="exact" asks for it; the gaps are then left out of the history.
EXACT_REFERENCE_LIMIT = 10_000_000


@dataclass
class FitResult:
    """A finished run: the model, its history and what can be said about it."""

    model: LinearModel
    history: descent.History
    n_iter: int
    stop_reason: str             # "tol" | "max_iter" | "diverged" | "exact"
    loss: float                  # final loss
    lr: float                    # the learning rate used (the starting one under a schedule)
    lambda_max: float            # largest eigenvalue of the loss's Hessian
    engine: str
    reduction: str               # "sse" | "mse"
    init: tuple[float, ...]
    metrics: dict[str, float] = field(default_factory=dict)
    data: XY | None = None       # the training data (a reference, not a copy)
    optimizer: str = "gd"
    solver: str = "gd"
    theta_exact: np.ndarray | None = None   # the least-squares optimum θ*, where computed
    loss_exact: float | None = None
    test_metrics: dict[str, float] | None = None
    test_data: XY | None = None
    standardized: bool = False
    constant_features: tuple[str, ...] = ()
    n_updates: int = 0
    options: dict = field(default_factory=dict)   # every hyper-parameter of the run, validated

    @property
    def converged(self) -> bool:
        return self.stop_reason in ("tol", "exact")

    @property
    def diverged(self) -> bool:
        return self.stop_reason == "diverged"

    @property
    def stable_lr(self) -> float:
        """Gradient descent converges for λ below this: 2 / λ_max(Hessian)."""
        return losses.stable_lr_bound(self.lambda_max)

    @property
    def loss_gap(self) -> float | None:
        """Loss(θ) − Loss(θ*) at the end of the run."""
        return self.history.loss_gap[-1] if self.history.loss_gap else None

    @property
    def param_gap(self) -> float | None:
        """‖θ − θ*‖ / ‖θ*‖ at the end of the run."""
        return self.history.param_gap[-1] if self.history.param_gap else None

    def verdict(self) -> str:
        """How the run ended, in plain language, with what to change."""
        return diagnostics.verdict(self)

    def summary(self):
        """The OLS inference table (standard errors, t, p-values, 95% CIs, R², F, …) of this fit."""
        from gradfit.inference import summarize

        d = self.data
        return summarize(d.X, d.y, self.model.theta, names=self.model.feature_names,
                         fit_intercept=self.model.fit_intercept, sample_weight=d.weight)

    def _repr_html_(self) -> str:
        """A summary table in Jupyter; ``gradfit.explain(result)`` gives the full explanation."""
        from gradfit.explain import result_html

        return result_html(self)

    def __repr__(self) -> str:
        return (f"FitResult(model={self.model!r}, n_iter={self.n_iter}, stop_reason={self.stop_reason!r}, "
                f"loss={self.loss!r})")


def fit(X, y=None, *, feature_names=None, sample_weight=None, test=None, callbacks=(), scheduler=None,
        checkpoint=None, every=0, resume=None, **options) -> FitResult:
    """Fit ``f(x) = w·x + b`` to ``(X, y)`` by gradient descent (options: ``gradfit.params.PARAMS``).

    >>> r = fit([1, 2, 3], [3, 5, 7], lr=0.01, iters=1000, init=(1.0, 0.0), loss="sse", engine="python")
    >>> r.model.weights, r.model.bias
    ((2.000148389025502,), 0.9996626768662412)

    ``test=(X_test, y_test)`` (or ``test_fraction=``) adds held-out metrics. Raises ``DataError``
    for unusable data, ``ConfigError`` for invalid options and ``DivergenceError`` (with the
    partial run in ``.result``) when the loss blows up.

    Dask arrays or dataframes run on the dask engine (``scheduler=ADDRESS``, or a local
    cluster); files larger than memory are given as ``gradfit.scan.open_files(path, x_columns,
    y_column)`` with ``y=None``. ``checkpoint=PATH, every=N`` writes the loop's state every N
    iterations and at the end (N = 0: only on Ctrl-C); ``resume=PATH`` continues such a run,
    bit for bit.
    """
    dropna = params.validate("dropna", options.get("dropna", False))
    if _is_tensor(X) and options.get("engine", "auto") == "auto":
        # Tensors stay with PyTorch: engine "auto" picks torch, on the tensor's own device.
        options = {"engine": "torch", "device": X.device.type} | options
    if y is None and (isinstance(X, XY) or hasattr(X, "feature_names")):  # XY, a Scan, DaskData
        data = X
    elif _is_dask(X):
        from gradfit.engines.dask import DaskData

        data = DaskData.from_dask(X, y, feature_names)
    else:
        data = as_xy(X, y, feature_names=feature_names, sample_weight=sample_weight, dropna=dropna)
    if test is not None and not isinstance(test, XY):
        test = as_xy(*test, feature_names=data.feature_names, dropna=dropna, min_rows=1)
    return fit_data(data, test=test, callbacks=callbacks, scheduler=scheduler, checkpoint=checkpoint,
                    every=every, resume=resume, **options)


def _is_tensor(X) -> bool:
    return type(X).__module__.startswith("torch") and hasattr(X, "detach")


def _is_dask(obj) -> bool:
    return type(obj).__module__.startswith("dask")


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
    unknown = sorted(set(options) - set(params.PARAMS))
    if unknown:
        raise TypeError(f"fit() got unexpected keyword argument(s) {', '.join(unknown)}; "
                        f"the options are: {', '.join(params.PARAMS)}")
    opts = {name: params.validate(name, options.get(name, p.default)) for name, p in params.PARAMS.items()}
    if every and checkpoint is None:
        raise ConfigError(f"every={every} needs a file to write to: give checkpoint=PATH (--checkpoint PATH).")
    data = _in_memory_if_asked(data, opts["engine"])
    _check_consistent(opts, data, test)
    if opts["test_fraction"] is not None:
        data, test = split(data, opts["test_fraction"], opts["seed"])
    names, fit_intercept = data.feature_names, opts["fit_intercept"]
    if isinstance(data, XY):
        diagnostics.warn_about_features(data.X, names, fit_intercept)
    scaler = _standardizer(data, fit_intercept) if opts["standardize"] else None
    X_fit = None if not isinstance(data, XY) else data.X if scaler is None else scaler.transform(data.X)
    objective = _objective(opts, data, X_fit, scheduler)
    theta0 = _initial_theta(opts["init"], len(names) + fit_intercept, fit_intercept)
    start = theta0 if scaler is None else scaler.to_standardized(theta0)
    theta_star, loss_star = _exact_reference(opts, data, X_fit, objective)
    run = _Run(opts, objective, X_fit, start, theta_star, updates_before)
    outcome = _with_checkpoints(run, tuple(callbacks), checkpoint, every, resume, names, data.target_name)
    lr, lambda_max = run.lr, run.lambda_max
    to_original = (lambda t: t) if scaler is None else scaler.to_original
    if scaler is not None:
        scaler.history_to_original(outcome.history)
    model = LinearModel.from_theta(to_original(outcome.theta), fit_intercept=fit_intercept,
                                   feature_names=names, target_name=data.target_name)
    stop = outcome.stop_reason
    if stop not in ("diverged", "exact") and outcome.loss > outcome.history.loss[0] and lr >= losses.stable_lr_bound(lambda_max):
        stop = "diverged"  # growing, just not yet past the explosion threshold
    result = FitResult(model, outcome.history, outcome.n_iter, stop, outcome.loss, lr, lambda_max,
                       engine=getattr(objective, "name", _engine_name(opts)), reduction=opts["loss"],
                       init=tuple(float(t) for t in theta0), data=data, optimizer=opts["optimizer"],
                       solver=opts["solver"], test_data=test, standardized=scaler is not None,
                       constant_features=scaler.constant if scaler else (), n_updates=outcome.n_updates,
                       options=opts)
    if theta_star is not None:
        result.theta_exact = to_original(theta_star)
        result.loss_exact = loss_star
        diagnostics.record_gaps(outcome.history, result.theta_exact, result.loss_exact)
    if stop == "diverged":
        raise DivergenceError(divergence_message(result), result)
    if isinstance(data, XY):
        result.metrics = regression_metrics(data.y, data.X @ np.asarray(model.weights) + model.bias)
    else:  # not in memory: the metrics the summary gives without another pass
        result.metrics = objective.metrics(outcome.theta)
    if test is not None:
        result.test_metrics = regression_metrics(test.y, model.predict(test.X))
    return result


def _in_memory_if_asked(data, engine: str):
    """Files asked to run on an in-memory engine are read whole (a ``Scan`` becomes ``XY``)."""
    from gradfit.scan import Scan, read_all

    if isinstance(data, Scan) and engine in ("python", "numpy", "torch"):
        X, y = read_all(data)
        return XY(X, y, tuple(data.feature_names), data.target_name, source=str(getattr(data, "path", "")))
    return data


def _objective(opts, data, X_fit, scheduler):
    """The engine's objective over the (possibly standardized) features, or over data not in memory."""
    if X_fit is None:
        return objective_for(data, opts["engine"], loss=opts["loss"], fit_intercept=opts["fit_intercept"],
                             dtype=opts["dtype"], scheduler=scheduler)
    return make_objective(opts["engine"], X_fit, data.y, loss=opts["loss"], fit_intercept=opts["fit_intercept"],
                          dtype=opts["dtype"], sample_weight=data.weight, device=opts["device"],
                          full_batch=opts["optimizer"] != "sgd")


def _exact_reference(opts, data, X_fit, objective):
    """θ* and Loss(θ*), the least-squares optimum the run is measured against (None where too costly)."""
    cheap = opts["solver"] == "exact" or (X_fit is not None and X_fit.size <= EXACT_REFERENCE_LIMIT)
    optimum = getattr(objective, "optimum", None)
    if optimum is not None:  # the one-pass summary knows the optimum; a second pass only when affordable
        theta_star = optimum(second_pass=cheap)
        if theta_star is not None:
            return theta_star, objective.loss(theta_star)
    if X_fit is None or not cheap:
        return None, None
    theta_star = diagnostics.exact_solution(X_fit, data.y, opts["fit_intercept"], data.weight)
    return theta_star, diagnostics.exact_loss(X_fit, data.y, theta_star, opts["fit_intercept"], opts["loss"], data.weight)


def _with_checkpoints(run, callbacks, checkpoint, every, resume, names, target):
    """Run the descent, writing checkpoints as asked; on Ctrl-C save the state and say where."""
    config = {**{k: v for k, v in run.opts.items() if k not in ("history_cap", "init")}, "lr_value": run.lr,
              "features": list(names), "target": target}
    saved = None
    if resume is not None:
        saved = checkpoints.load(resume)
        checkpoints.check_same_run(saved, config, resume)
    saver = checkpoints.Checkpointer(checkpoint, every, config) if checkpoint is not None else None
    try:
        outcome = run(callbacks + ((saver,) if saver else ()), saved)
    except KeyboardInterrupt:
        if saver is None:
            raise
        raise checkpoints.Interrupted(saver.save(), saver.latest and saver.latest.iteration) from None
    if saver is not None and every:
        saver.save()
    return outcome


def _standardizer(data: XY, fit_intercept: bool) -> Standardizer:
    scaler = Standardizer.fit(data.X, data.feature_names, fit_intercept)
    if scaler.constant:
        warnings.warn(f"Constant column{'s' * (len(scaler.constant) != 1)} {', '.join(map(repr, scaler.constant))} "
                      "cannot be standardized (standard deviation 0): left unscaled; with an intercept its "
                      "weight stays 0. Drop it, or fit without --standardize.", GradfitWarning, stacklevel=4)
    return scaler


class _Run:
    """The chosen solver on the (possibly standardized) features; ``lr`` and ``lambda_max`` are
    known before it runs, so that a checkpoint can record them."""

    def __init__(self, opts, objective, X_fit, start, theta_star, updates_before=0):
        self.opts, self.objective, self.start, self.theta_star = opts, objective, start, theta_star
        self.updates_before = updates_before
        self.lambda_max = objective.hessian_max_eigenvalue()
        self.sgd = opts["optimizer"] == "sgd"
        self.lr = math.nan if opts["solver"] == "exact" else self._learning_rate(X_fit)

    def _learning_rate(self, X_fit) -> float:
        opts = self.opts
        if opts["lr"] != "auto":
            return opts["lr"]
        if not self.lambda_max > 0:
            raise ConfigError("lr='auto' needs a loss with curvature, but every feature is zero; give lr a number.")
        if not self.sgd:
            return 1.0 / self.lambda_max
        if X_fit is None:
            raise ConfigError("lr='auto' for mini-batch SGD needs every row's length, which data read in chunks "
                              "does not give up front; give a number (--lr), or use full-batch gradient descent.")
        return 1.0 / losses.minibatch_curvature(self.lambda_max, X_fit, opts["fit_intercept"], opts["loss"],
                                                opts["batch_size"])

    def __call__(self, callbacks, saved=None) -> descent.Outcome:
        opts, objective = self.opts, self.objective
        if opts["solver"] == "exact":
            history = descent.History(opts["history_cap"])
            loss, grad = objective.loss_and_gradient(self.theta_star)
            history.record(0, self.theta_star, loss, grad)
            return descent.Outcome(np.asarray(self.theta_star), loss, grad, 0, "exact", history)
        mu = opts["momentum"] or (0.9 if opts["optimizer"] in ("momentum", "nesterov") else 0.0)
        nesterov = opts["nesterov"] or opts["optimizer"] == "nesterov"
        make_rule = getattr(objective, "rule", None)   # the torch engine steps with torch.optim.SGD
        rule = make_rule(mu, nesterov) if make_rule else descent.momentum(mu, nesterov) if mu else descent.gradient_descent()
        rng = np.random.default_rng(opts["seed"])
        batches = descent.MiniBatches(opts["batch_size"], rng, opts["loss"], opts["fit_intercept"]) if self.sgd else None
        schedule = descent.learning_rate_schedule(opts["learning_rate"], self.lr, opts["power_t"])
        theta, start, rule_state, updates = self.start, 0, None, None
        if saved is not None:
            theta, start, rule_state, updates = saved.theta, saved.iteration, saved.rule_state or None, saved.updates
            if saved.rng_state is not None:
                rng.bit_generator.state = saved.rng_state
        return descent.run(objective, theta, lr=self.lr, max_iter=opts["epochs"] if self.sgd else opts["iters"],
                           tol=opts["tol"], rule=rule, callbacks=callbacks, history_cap=opts["history_cap"],
                           schedule=lambda t: schedule(self.updates_before + t),
                           n_iter_no_change=opts["n_iter_no_change"], batches=batches,
                           start=start, rule_state=rule_state, updates_start=updates)


def _check_consistent(opts, data: XY, test) -> None:
    if opts["nesterov"] and not opts["momentum"] and opts["optimizer"] != "nesterov":
        raise ConfigError("nesterov=True needs momentum > 0 (for example momentum=0.9).")
    if opts["optimizer"] == "sgd":
        if opts["engine"] == "python":
            raise ConfigError("Mini-batch SGD (optimizer='sgd') needs the numpy or torch engine; the python "
                              "engine replays the tutorial's full-batch loop.")
        if getattr(data, "weight", None) is not None:
            raise ConfigError("Sample weights are used by the full-batch optimizers (gd, momentum, nesterov) "
                              "and solver='exact'; choose one of those instead of optimizer='sgd'.")
    if opts["test_fraction"] is not None and test is not None:
        raise ConfigError("Give either a test set (--test FILE, test=) or test_fraction, not both.")
    if not isinstance(data, XY):
        in_memory_only = [flag for flag, on in (("standardize", opts["standardize"]),
                                                ("test_fraction", opts["test_fraction"] is not None)) if on]
        if in_memory_only:
            raise ConfigError(f"{' and '.join(in_memory_only)} work on data in memory; data read in chunks or on a "
                              "Dask cluster are fitted as they are. Use engine='numpy' to read the file whole.")


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


def _engine_name(opts) -> str:
    if opts["engine"] == "auto":
        return "torch" if opts["device"] == "cuda" else "numpy"
    return opts["engine"]

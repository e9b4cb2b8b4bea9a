"""``fit``: data → objective → descent → ``FitResult``. Validation happens here, once."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gradfit import checkpoint as checkpoints
from gradfit import descent, losses, params
from gradfit.data import XY, as_xy
from gradfit.engines import objective_for
from gradfit.errors import ConfigError, DivergenceError
from gradfit.metrics import regression_metrics
from gradfit.model import LinearModel


@dataclass
class FitResult:
    """A finished run: the model, its history and what can be said about it."""

    model: LinearModel
    history: descent.History
    n_iter: int
    stop_reason: str             # "tol" | "max_iter" | "diverged"
    loss: float                  # final loss
    lr: float                    # the learning rate used
    lambda_max: float            # largest eigenvalue of the loss's Hessian
    engine: str
    reduction: str               # "sse" | "mse"
    init: tuple[float, ...]
    metrics: dict[str, float] = field(default_factory=dict)
    data: XY | None = None       # the training data (a reference, not a copy)

    @property
    def converged(self) -> bool:
        return self.stop_reason == "tol"

    @property
    def diverged(self) -> bool:
        return self.stop_reason == "diverged"

    @property
    def stable_lr(self) -> float:
        """Gradient descent converges for λ below this: 2 / λ_max(Hessian)."""
        return losses.stable_lr_bound(self.lambda_max)

    def __repr__(self) -> str:
        return (f"FitResult(model={self.model!r}, n_iter={self.n_iter}, stop_reason={self.stop_reason!r}, "
                f"loss={self.loss!r})")


def fit(X, y, *, lr="auto", iters=1000, tol=1e-9, init=None, loss="mse", engine="auto",
        fit_intercept=True, dtype="float64", momentum=0.0, nesterov=False, history_cap=10_000,
        feature_names=None, callbacks=(), scheduler=None, checkpoint=None, every=0,
        resume=None) -> FitResult:
    """Fit ``f(x) = w·x + b`` to ``(X, y)`` by gradient descent.

    >>> r = fit([1, 2, 3], [3, 5, 7], lr=0.01, iters=1000, init=(1.0, 0.0), loss="sse", engine="python")
    >>> r.model.weights, r.model.bias
    ((2.000148389025502,), 0.9996626768662412)

    Raises ``DataError`` for unusable data, ``ConfigError`` for invalid options and
    ``DivergenceError`` (with the partial run in ``.result``) when the loss blows up.
    Dask arrays or dataframes run on the dask engine; files larger than memory are given
    as ``gradfit.scan.open_files(path, x_columns, y_column)`` with ``y=None``.

    ``checkpoint=PATH, every=N`` writes the loop's state every N iterations and at the end
    (N = 0: only on Ctrl-C); ``resume=PATH`` continues such a run, bit for bit.
    """
    if y is None and (isinstance(X, XY) or hasattr(X, "feature_names")):
        data = X
    elif _is_dask(X):
        from gradfit.engines.dask import DaskData

        data = DaskData.from_dask(X, y, feature_names)
    else:
        data = as_xy(X, y, feature_names=feature_names)
    return fit_data(data, lr=lr, iters=iters, tol=tol, init=init, loss=loss, engine=engine,
                    fit_intercept=fit_intercept, dtype=dtype, momentum=momentum, nesterov=nesterov,
                    history_cap=history_cap, callbacks=callbacks, scheduler=scheduler,
                    checkpoint=checkpoint, every=every, resume=resume)


def fit_data(data: XY, *, callbacks=(), scheduler=None, checkpoint=None, every=0, resume=None,
             **options) -> FitResult:
    """``fit`` on data already validated (``gradfit.data.as_xy`` / ``load_xy``, a ``Scan``, ``DaskData``)."""
    opts = {name: params.validate(name, value) for name, value in options.items()}
    if opts["nesterov"] and not opts["momentum"]:
        raise ConfigError("nesterov=True needs momentum > 0 (for example momentum=0.9).")
    objective = objective_for(data, opts["engine"], loss=opts["loss"], fit_intercept=opts["fit_intercept"],
                              dtype=opts["dtype"], scheduler=scheduler)
    n_params = len(data.feature_names) + opts["fit_intercept"]
    theta0 = _initial_theta(opts["init"], n_params, opts["fit_intercept"])
    lambda_max = objective.hessian_max_eigenvalue()
    lr = 1.0 / lambda_max if opts["lr"] == "auto" else opts["lr"]
    if opts["lr"] == "auto" and not lambda_max > 0:
        raise ConfigError("lr='auto' needs a loss with curvature, but every feature is zero; give lr a number.")
    rule = descent.momentum(opts["momentum"], opts["nesterov"]) if opts["momentum"] else descent.gradient_descent()
    config = {**{k: v for k, v in opts.items() if k not in ("history_cap", "init")}, "lr_value": lr,
              "features": list(data.feature_names), "target": data.target_name}
    if every and checkpoint is None:
        raise ConfigError(f"every={every} needs a file to write to: give checkpoint=PATH (--checkpoint PATH).")
    start, rule_state = 0, None
    if resume is not None:
        saved = checkpoints.load(resume)
        checkpoints.check_same_run(saved, config, resume)
        theta0, start, rule_state = saved.theta, saved.iteration, saved.rule_state or None
    saver = checkpoints.Checkpointer(checkpoint, every, config) if checkpoint is not None else None
    try:
        outcome = descent.run(objective, theta0, lr=lr, max_iter=opts["iters"], tol=opts["tol"], rule=rule,
                              callbacks=tuple(callbacks) + ((saver,) if saver else ()),
                              history_cap=opts["history_cap"], start=start, rule_state=rule_state)
    except KeyboardInterrupt:
        if saver is None:
            raise
        raise checkpoints.Interrupted(saver.save(), saver.latest and saver.latest.iteration) from None
    if saver is not None and every:
        saver.save()
    model = LinearModel.from_theta(outcome.theta, fit_intercept=opts["fit_intercept"],
                                   feature_names=data.feature_names, target_name=data.target_name)
    stop = outcome.stop_reason
    if stop != "diverged" and outcome.loss > outcome.history.loss[0] and lr >= losses.stable_lr_bound(lambda_max):
        stop = "diverged"  # growing, just not yet past the explosion threshold
    result = FitResult(model, outcome.history, outcome.n_iter, stop, outcome.loss, lr, lambda_max,
                       engine=getattr(objective, "name", _engine_name(opts["engine"])), reduction=opts["loss"],
                       init=tuple(float(t) for t in theta0), data=data)
    if stop == "diverged":
        raise DivergenceError(divergence_message(result), result)
    if isinstance(data, XY):
        result.metrics = regression_metrics(data.y, data.X @ np.asarray(model.weights) + model.bias)
    else:  # not in memory: the metrics the summary gives without another pass
        result.metrics = objective.metrics(outcome.theta)
    return result


def _is_dask(obj) -> bool:
    return type(obj).__module__.startswith("dask")


def divergence_message(result: FitResult) -> str:
    last = result.history.loss[-1]
    state = "is no longer a finite number" if not np.isfinite(last) else f"grew to {last:.4g}"
    return (
        f"Gradient descent diverged: after {result.n_iter} iteration{'s' * (result.n_iter != 1)} the loss "
        f"{state} (it started at {result.history.loss[0]:.6g}). The learning rate {result.lr:g} is too "
        f"large for these data: gradient descent converges only for a learning rate below "
        f"2/λ_max = {result.stable_lr:.6g} (λ_max = {result.lambda_max:.6g}, the largest eigenvalue of the "
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


def _engine_name(engine: str) -> str:
    return "numpy" if engine == "auto" else engine

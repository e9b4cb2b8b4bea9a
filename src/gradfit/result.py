"""``FitResult``: a finished run as plain data — the model, the history, θ*, the Loss, why it stopped.

Outputs (explain, plots, report, inference, verdicts, model files) read a ``FitResult``; none of
them solves for θ* or evaluates the loss another way than the ``Loss`` stored here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from gradfit import exact
from gradfit.descent import History, Stop
from gradfit.loss import Loss, stable_lr_bound
from gradfit.model import LinearModel
from gradfit.problem import Problem


@dataclass
class FitResult:
    """A finished run: the model, its history and what can be said about it."""

    model: LinearModel
    history: History
    n_iter: int
    stop_reason: Stop
    loss: float                  # final loss
    lr: float                    # the learning rate used (the starting one under a schedule)
    lambda_max: float            # largest eigenvalue of the loss's Hessian
    engine: str
    loss_spec: Loss              # what was minimised: reduction, intercept, sample weights
    init: tuple[float, ...]
    n_rows: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    data: object | None = None   # the training data (XY in memory; a Scan or DaskData otherwise)
    optimizer: str = "gd"
    solver: str = "gd"
    theta_exact: np.ndarray | None = None   # the least-squares optimum θ*, where computed
    loss_exact: float | None = None
    data_summary: object | None = None      # the one-pass summary (count, means, co-moments), where made
    test_metrics: dict[str, float] | None = None
    test_data: object | None = None
    standardized: bool = False
    constant_features: tuple[str, ...] = ()
    n_updates: int = 0           # parameter updates made (the count of the update rule's state)
    options: dict = field(default_factory=dict)   # every hyper-parameter of the run, validated
    gap_bound: float = math.inf      # certified max|θ − θ*| / max|θ| at the end (∞: no certificate)
    lambda_min: float = 0.0          # smallest eigenvalue the data determine (μ; the smallest positive one
                                     # where the Hessian is singular)
    rank: int | None = None          # the Hessian's numerical rank, where below the number of parameters
    final_state: object | None = None   # the loop's last state as a checkpoint holds it (where one was asked for)
    problem: Problem | None = field(default=None, repr=False)   # what was minimised and how (``gradfit.problem``)
    # θ* and Loss(θ*) computed on first read (of theta_exact, loss_exact or the history's gaps), where the fit did
    # not need them: a practitioner's default certifies its answer without them, and a learner's outputs read them
    reference: Callable[[], tuple] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, problem: Problem, outcome, data, theta0, *, engine: str, data_summary=None, options=None,
           test_data=None, final_state=None, descended: bool = True) -> "FitResult":
        """The result of ``outcome``, a run of the loop on ``problem`` from ``theta0`` (on the given scale): θ and
        every record of the history mapped to the given scale, the model, the certified gap (``descended=False``:
        ``outcome`` holds θ* already, on the given scale)."""
        scaler, loss = problem.scaler, problem.loss
        to_original = problem.to_original if descended else np.eye(len(theta0))
        if descended and scaler is not None:    # θ = T·θ_z and ∇θ = T⁻ᵀ·∇θ_z for every record, one product each
            outcome.history.transform(to_original, np.linalg.inv(to_original.T))
        model = LinearModel.from_theta(to_original @ outcome.theta, fit_intercept=loss.fit_intercept,
                                       feature_names=data.feature_names, target_name=data.target_name)
        certificate = problem.certificate
        gap_bound = 0.0 if problem.solver == "exact" else (
            certificate.gap(outcome.theta, outcome.gradient) if certificate else math.inf)
        spectrum = problem.curvature
        return cls(model, outcome.history, outcome.n_iter, outcome.stop_reason, outcome.loss, problem.lr,
                   problem.lambda_max, engine=engine, loss_spec=loss, init=tuple(float(t) for t in theta0),
                   n_rows=problem.n_rows, data=data, data_summary=data_summary, optimizer=problem.optimizer,
                   solver=problem.solver, test_data=test_data, standardized=scaler is not None,
                   constant_features=scaler.constant if scaler else (),
                   n_updates=getattr(outcome.rule_state, "count", 0), options=dict(options or {}),
                   gap_bound=gap_bound, lambda_min=problem.mu, rank=None if spectrum.identified else spectrum.rank,
                   final_state=final_state, problem=problem)

    @property
    def identified(self) -> bool:
        """Whether the data determine every coefficient. When not (a constant column besides the intercept,
        collinear columns, more features than rows) the least-squares optima form a set: the fit reaches one
        of them (θ* in the certificate is the nearest), and only the predictions are unique."""
        return self.rank is None

    @property
    def reduction(self) -> str:
        return self.loss_spec.reduction.value

    @property
    def converged(self) -> bool:
        """Solved exactly, or the stopping rule was met — and under stop='gap' only with a certificate
        (a singular Hessian has none: the loss stopping to change is then not called convergence)."""
        if self.stop_reason is Stop.EXACT:
            return True
        return self.stop_reason is Stop.TOL and (self.options.get("stop") != "gap" or math.isfinite(self.gap_bound))

    @property
    def stopped_short(self) -> bool:
        """A stopping rule was asked for (``tol``) and the run ended without meeting it, nor stopping early
        on purpose: what ``fit``'s ConvergenceWarning, the CLI's exit code 4 and GDRegressor's warning say."""
        return bool(self.options.get("tol")) and not self.converged and not self.stopped_early

    @property
    def stopped_early(self) -> bool:
        """Early stopping ended the run: the held-out rows' error stopped improving (a deliberate stop, not a
        failure to converge; the parameters are not the training optimum)."""
        return self.stop_reason is Stop.EARLY

    @property
    def diverged(self) -> bool:
        return self.stop_reason is Stop.DIVERGED

    @property
    def in_memory(self) -> bool:
        """Whether the training rows are at hand as arrays (not files read in chunks, nor a cluster)."""
        return getattr(self.data, "X", None) is not None and isinstance(self.data.X, np.ndarray)

    @property
    def stable_lr(self) -> float:
        """Gradient descent converges for λ below this: 2 / h_max(Hessian)."""
        return stable_lr_bound(self.lambda_max)

    @property
    def loss_gap(self) -> float | None:
        """Loss(θ) − Loss(θ*) at the end of the run."""
        return self.history.loss_gap[-1] if self.history.loss_gap else None

    @property
    def param_gap(self) -> float | None:
        """‖θ − θ*‖ / ‖θ*‖ at the end of the run."""
        return self.history.param_gap[-1] if self.history.param_gap else None

    def verdict(self, lang: str = "en", voice: str = "python") -> str:
        """How the run ended, in plain language, with what to change (``gradfit.outputs.verdict``);
        ``voice="cli"`` names options as command-line flags."""
        from gradfit.outputs.verdict import verdict

        return verdict(self, lang, voice)

    def summary(self):
        """The OLS inference table (standard errors, t, p-values, 95% CIs, R², F, …) of this fit.

        Refused (``ConfigError``) for a penalized or a Huber fit: those standard errors and p-values are the
        ones of unpenalized least squares and do not hold for it."""
        spec = self.loss_spec
        if spec.penalty.active or spec.huber is not None:
            from gradfit.errors import ConfigError

            what = (f"penalty={spec.penalty.kind.value!r} (alpha={spec.penalty.alpha:g})" if spec.penalty.active
                    else f"loss='huber' (epsilon={spec.huber:g})")
            raise ConfigError(f"summary()'s standard errors, t and p-values are those of unpenalized least squares; "
                              f"they do not hold for this fit ({what}). Fit again without penalty/alpha and "
                              "loss='huber' for the inference table, or use gradfit.explain(result) to see what the "
                              "penalty does.")
        from gradfit.outputs.inference import summarize_result

        return summarize_result(self)

    def _repr_html_(self) -> str:
        """A summary table in Jupyter; ``gradfit.explain(result)`` gives the full explanation."""
        from gradfit.outputs.table import result_html

        return result_html(self)

    def defer_reference(self, reference: Callable[[], tuple]) -> None:
        """θ* and Loss(θ*) from ``reference()`` (None, None: none), and the history's gaps, when first read."""
        self.reference = reference
        self.history.pending_gaps = self._resolve_reference

    def _resolve_reference(self) -> None:
        reference, self.reference = self.reference, None
        self.history.pending_gaps = None
        if reference is None:
            return
        theta_star, loss_star = reference()
        self.__dict__["theta_exact"], self.__dict__["loss_exact"] = theta_star, loss_star
        if theta_star is not None:
            exact.record_gaps(self.history, theta_star, loss_star)

    def __repr__(self) -> str:
        return (f"FitResult(model={self.model!r}, n_iter={self.n_iter}, stop_reason={self.stop_reason.value!r}, "
                f"loss={self.loss!r})")


def _deferred(name: str) -> property:
    """``FitResult.theta_exact``/``loss_exact``: stored values, or computed on first read from ``reference``."""

    def get(self):
        if self.__dict__.get("reference") is not None:
            self._resolve_reference()
        return self.__dict__.get(name)

    def set(self, value):
        self.__dict__[name] = value

    return property(get, set)


FitResult.theta_exact = _deferred("theta_exact")
FitResult.loss_exact = _deferred("loss_exact")

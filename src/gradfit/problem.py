"""``Problem``: what a fit minimises and how, resolved once, as one frozen value.

``plan`` is the one place that turns the options' ``'auto'`` into decisions (the optimizer, standardizing, the
learning rate, the iteration budget, the penalty's scale) and gathers what every later step reads:

    loss           the Loss, penalty included (reduction, intercept, sample weights, Huber)
    scaler         the Standardizer the descent runs under (None: the columns as given)
    terms          the penalty in the descended coordinates (and ``terms_original``: on the given scale)
    smooth         the Hessian of the smooth loss in the descended coordinates (``hessian`` adds the L2 part)
    curvature      μ, h_max and the rank of ``hessian``
    theta_star     θ* on the given scale, where it is known (None: too costly, or no closed form)
    rule, lr, iters, stop, certificate

``fit`` runs ``descend(problem, objective, θ₀)``; ``cv`` runs the same for ``problem.with_alpha(α)``; the outputs read
``result.problem`` (its scaler, its Hessian with the penalty included) instead of deriving them again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from gradfit import descent, exact
from gradfit.data.arrays import XY
from gradfit.data.standardize import Standardizer
from gradfit.errors import ConfigError
from gradfit.loss import Curvature, Loss, Penalty, PenaltyTerms, curvature, minibatch_curvature, stable_lr_bound
from gradfit.loss import preconditioner as loss_preconditioner

# Above this many numbers in X, the exact optimum (an extra least-squares solve on a copy of X)
# is not computed unless solver="exact" asks for it; the gaps are then left out of the history.
EXACT_REFERENCE_LIMIT = 10_000_000

# iters='auto' for descent in the metric of the Hessian: the first step lands on θ* up to rounding, each further
# one gains the digits the conditioning allows (iterative refinement); more than this means they are not there.
PRECONDITIONED_ITERS = 50
# iters='auto' for coordinate descent: the most sweeps over the coordinates (each an exact minimisation along one).
COORDINATE_SWEEPS = 100_000
# A coordinate-descent solve stops at a duality gap of this (relative to ‖y − ȳ‖²/n), tightened by this factor until
# the certificate holds, down to the floor where a sweep no longer changes anything.
COORDINATE_GAP = 1e-12
COORDINATE_GAP_FLOOR = 1e-16
# iters='auto' runs at least this many iterations, and at most this many.
AUTO_ITERS_FLOOR = 1000
AUTO_ITERS_CEILING = 100_000


@dataclass(frozen=True, eq=False)
class Problem:
    """The resolved problem of one fit (see the module's docstring); ``FitResult.problem`` keeps it."""

    loss: Loss
    n_rows: int
    scaler: Standardizer | None
    terms: PenaltyTerms | None
    terms_original: PenaltyTerms | None
    smooth: np.ndarray
    curvature: Curvature
    theta_star: np.ndarray | None
    optimizer: str
    momentum: float = 0.0
    nesterov: bool = False
    lr: float = math.nan
    iters: int = 0
    tol: float | None = None
    stop: str = "gap"
    solver: str = "gd"
    penalty_weights: np.ndarray | None = field(default=None, repr=False)   # uⱼ: the penalized coefficient is uⱼ·wⱼ
    preconditioner: np.ndarray | None = field(default=None, repr=False)    # P ≈ H⁻¹ of optimizer 'preconditioned'

    @property
    def hessian(self) -> np.ndarray:
        """The Hessian of what is descended: the smooth loss's, with the L2 term's curvature on its diagonal."""
        return self.smooth if self.terms is None else self.smooth + np.diag(self.terms.curvature)

    @property
    def to_original(self) -> np.ndarray:
        """θ on the given scale = ``to_original @ θ`` descended (the identity without standardizing)."""
        return np.eye(self.smooth.shape[0]) if self.scaler is None else self.scaler.matrix()

    @property
    def mu(self) -> float:
        return self.curvature.mu

    @property
    def lambda_max(self) -> float:
        return self.curvature.lambda_max

    @property
    def proximal(self) -> bool:
        return self.terms is not None and self.terms.proximal

    @property
    def rule(self):
        """The update rule: for a penalty with an L1 part its proximal form (ISTA, FISTA, proximal SGD); descent in
        the Hessian's metric with the problem's preconditioner."""
        if self.optimizer == "preconditioned":
            return descent.preconditioned(self.preconditioner)
        of = descent.proximal_rule_for if self.proximal else descent.rule_for
        return of(self.optimizer, self.momentum, self.nesterov)

    @property
    def stable_lr(self) -> float:
        """The largest step that converges: 2/h_max — in the Hessian's metric (every curvature 1) 2."""
        return 2.0 if self.optimizer == "preconditioned" else stable_lr_bound(self.lambda_max)

    @cached_property
    def certificate(self) -> descent.Certificate | None:
        """‖θ − θ*‖ ≤ ‖∇‖/μ where μ > 0 (with an L1 part, the least subgradient): the stopping rule of stop='gap'."""
        return descent.Certificate.of(self.mu, self.to_original, self.terms)

    @property
    def ridge_diagonal(self) -> np.ndarray:
        """Dⱼ of ridge's normal equations on the given scale, the loss written Σ sᵢrᵢ² + Σ Dⱼwⱼ²: κⱼ/(2·scale)."""
        d = len(self.penalty_weights)
        return self.terms_original.curvature[:d] / (2 * self.loss.scale(self.n_rows))

    def objective(self, engine_objective):
        """The engine's objective with the penalty's smooth terms added (the L1 part is the rule's prox)."""
        return engine_objective if self.terms is None else descent.Penalized(engine_objective, self.terms)

    def with_alpha(self, alpha: float) -> "Problem":
        """The same data and penalty at another α (a point of a regularization path): the terms, the Hessian's
        spectrum, the step and the budget follow; θ* is left out (ridge's closed form is ``exact``'s)."""
        loss = replace(self.loss, penalty=replace(self.loss.penalty, alpha=float(alpha)))
        u = self.penalty_weights
        descended = u if self.scaler is None else u / self.scaler.scale
        terms = PenaltyTerms.of(loss, self.n_rows, descended)
        same_curvature = self.terms is not None and np.array_equal(terms.curvature, self.terms.curvature)
        spectrum = (self.curvature if same_curvature     # the lasso's Hessian is the same at every α
                    else _spectrum(self.smooth + np.diag(terms.curvature), self.n_rows, self.scaler, terms))
        lr = 1.0 / spectrum.lambda_max
        return replace(self, loss=loss, terms=terms, terms_original=PenaltyTerms.of(loss, self.n_rows, u),
                       curvature=spectrum, theta_star=None, lr=lr,
                       iters=iteration_budget("auto", self.tol, self.optimizer, lr, spectrum.mu, spectrum.lambda_max))

    def as_dict(self) -> dict:
        """The decisions as JSON-ready data (what a checkpoint records of the run)."""
        return {"loss": self.loss.name, "reduction": self.loss.reduction.value,
                "fit_intercept": self.loss.fit_intercept, "penalty": self.loss.penalty.kind.value,
                "alpha": self.loss.penalty.alpha, "l1_ratio": self.loss.penalty.l1_ratio,
                "standardized": self.scaler is not None, "optimizer": self.optimizer, "lr": self.lr,
                "iters": self.iters, "tol": self.tol, "stop": self.stop, "mu": self.mu,
                "lambda_max": self.lambda_max, "rank": self.curvature.rank}


def resolve_auto(opts: dict, quadratic: bool = True, coordinate: bool = False) -> dict:
    """The practitioner's defaults, made concrete: with lr 'auto', descent in the metric of the Hessian for a
    ``quadratic`` loss (the squared loss, no L1 part); glmnet's coordinate descent on the Gram matrix for an L1
    part where the run allows it (``coordinate``: no checkpoint, callbacks or early stopping to serve); else the
    accelerated rule; on standardized features. With a learning rate given, the textbook's plain step on the data
    as they are."""
    auto_lr = opts["lr"] == "auto"
    if opts["optimizer"] == "auto":
        opts["optimizer"] = ("gd" if not auto_lr or opts["momentum"] or opts["nesterov"]
                             else "preconditioned" if quadratic else "coordinate" if coordinate else "accelerated")
    if opts["standardize"] == "auto":
        opts["standardize"] = auto_lr
    return opts


_UNKNOWN = object()


def plan(opts: dict, data, raw, objective, loss: Loss, scaler: Standardizer | None, X_fit=None,
         theta_star=_UNKNOWN) -> Problem:
    """The ``Problem`` of a fit: ``opts`` validated (``resolve_auto`` applied), ``raw`` the engine's objective of the
    data as given, ``objective`` the one descended (standardized by ``scaler``), ``X_fit`` the rows descended where
    they are in memory (mini-batch SGD's step needs the longest)."""
    n_params = len(data.feature_names) + loss.fit_intercept
    u = penalty_weights(loss, data, raw.summary, scaler)
    terms = terms_original = None
    if u is not None:
        terms = PenaltyTerms.of(loss, objective.n_rows, u if scaler is None else u / scaler.scale)
        terms_original = PenaltyTerms.of(loss, objective.n_rows, u)
    smooth = loss.hessian(objective.gram(), objective.n_rows)
    hessian = smooth if terms is None else smooth + np.diag(terms.curvature)
    structural_hint = objective.n_rows < n_params
    spectrum = _spectrum(hessian, objective.n_rows, scaler, terms, structural_hint)
    if theta_star is _UNKNOWN:
        theta_star = None if defer_reference(opts, data) else reference(opts, data, raw, loss, terms_original)
    lr = (math.nan if opts["solver"] == "exact"
          else _learning_rate(opts, spectrum.lambda_max, objective.n_rows, loss, X_fit, objective.rescan))
    preconditioner = None
    if opts["optimizer"] == "preconditioned" and opts["solver"] != "exact":
        preconditioner = loss_preconditioner(hessian, spectrum)
    iters = 0 if opts["solver"] == "exact" else iteration_budget(opts["iters"], opts["tol"], opts["optimizer"], lr,
                                                                  spectrum.mu, spectrum.lambda_max)
    return Problem(loss, objective.n_rows, scaler, terms, terms_original, smooth, spectrum, theta_star,
                   opts["optimizer"], opts["momentum"], opts["nesterov"], lr, iters, opts["tol"], opts["stop"],
                   opts["solver"], u, preconditioner)


def check_rule(opts: dict, proximal: bool) -> None:
    """The update rule's options, checked before any data are read (ConfigError)."""
    if opts["optimizer"] == "coordinate":
        if opts["momentum"] or opts["nesterov"]:
            raise ConfigError("optimizer='coordinate' minimises exactly along one coordinate at a time: it takes no "
                              "momentum. Leave momentum and nesterov out.")
        return
    if opts["optimizer"] == "preconditioned":
        if opts["momentum"] or opts["nesterov"]:
            raise ConfigError("optimizer='preconditioned' takes no momentum: in the metric of the Hessian one step "
                              "of λ = 1 reaches the optimum of a quadratic. Leave momentum and nesterov out.")
        if proximal:
            raise ConfigError("optimizer='preconditioned' needs a smooth loss; penalty 'l1' and 'elasticnet' descend "
                              "by proximal steps: use optimizer 'accelerated' (FISTA) or 'gd' (ISTA).")
        return
    (descent.proximal_rule_for if proximal else descent.rule_for)(opts["optimizer"], opts["momentum"],
                                                                  opts["nesterov"])


def defer_reference(opts: dict, data) -> bool:
    """Whether θ* is left to be computed when first read (``FitResult.theta_exact``): for descent in the metric of
    the Hessian on rows in memory, which certifies its own answer — the reference's QR pass would cost more than
    the fit on small data. Every other run computes it with the fit (its gaps are part of what it shows)."""
    return opts["optimizer"] == "preconditioned" and opts["solver"] != "exact" and isinstance(data, XY)


def _spectrum(hessian, n_rows: int, scaler, terms, structural_hint: bool | None = None) -> Curvature:
    """The Hessian's curvature, with μ = 0 where it is singular to working precision without a structural reason.

    A Hessian singular to working precision is taken for singular only where its structure says so: a constant
    column or fewer rows than parameters (and no L1 part, whose optimum set the range-space bound does not
    describe). Columns collinear to 1e-8 look singular in AᵀA too, yet their data determine the coefficients —
    descent cannot resolve them: no certificate there."""
    spectrum = curvature(hessian)
    fewer_rows = n_rows < hessian.shape[0] if structural_hint is None else structural_hint
    structural = ((fewer_rows or bool(scaler is not None and scaler.constant))
                  and (terms is None or not terms.proximal))
    if not (spectrum.identified or structural):
        spectrum = spectrum._replace(mu=0.0, rank=spectrum.size)
    return spectrum


def penalty_weights(loss: Loss, data, summary, scaler=None) -> np.ndarray | None:
    """uⱼ, the weight of feature j in the penalty (the coefficient penalized is uⱼ·wⱼ on the given scale): 1 for
    penalty_scale 'given'; sⱼ, the column's standard deviation, for 'standardized' (glmnet's) — from the scaler the
    descent runs under, else from the data or their summary. None without a penalty."""
    if not loss.penalty.active:
        return None
    d = len(data.feature_names)
    if loss.penalty.scale == "given":
        return np.ones(d)
    if scaler is not None:
        return scaler.scale
    if isinstance(data, XY):
        return Standardizer.fit(data.X, data.feature_names, loss.fit_intercept, data.weight).scale
    return Standardizer.from_summary(summary, data.feature_names, loss.fit_intercept).scale


def iteration_budget(iters, tol, optimizer: str, lr: float, mu: float, lambda_max: float) -> int:
    """``iters``, or for 'auto' a budget that follows the conditioning κ = L/μ of what is descended:
    the accelerated rule contracts by about (1 − 1/√κ) per step, a plain step of λ by max|1 − λ·h|."""
    if iters != "auto":
        return iters
    if optimizer == "coordinate":
        return COORDINATE_SWEEPS
    if optimizer == "preconditioned":     # each step after the first refines: a few are enough
        return PRECONDITIONED_ITERS
    digits = math.log(1 / (tol or 1e-8))
    if not mu > 0 or not lambda_max > 0:
        return AUTO_ITERS_FLOOR
    kappa = lambda_max / mu
    if optimizer == "accelerated":
        steps = 4 * math.sqrt(kappa) * (digits + math.log(kappa) + 5)
    else:
        rate = max(abs(1 - lr * mu), abs(1 - lr * lambda_max))
        steps = (digits + math.log(kappa) + 5) / -math.log(rate) if 0 < rate < 1 else AUTO_ITERS_FLOOR  # 0: exact in one
    return int(min(max(math.ceil(steps), AUTO_ITERS_FLOOR), AUTO_ITERS_CEILING))


def reference(opts, data, raw, loss, terms_original=None):
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
        D = terms_original.curvature[:d] / (2 * loss.scale(raw.n_rows))   # Problem.ridge_diagonal: Σ sᵢrᵢ² + Σ Dⱼwⱼ²
        if in_memory and cheap:
            return exact.ridge(data.X, data.y, D, fit_intercept=loss.fit_intercept, sample_weight=loss.sample_weight)
        return exact.ridge_from_summary(raw.summary, D, loss.fit_intercept) if raw.summary is not None else None
    if raw.summary is not None and raw.rescan is not None:   # the summary knows θ*; more passes when affordable
        return exact.from_summary(raw.summary, loss.fit_intercept, raw.rescan, second_pass=cheap)
    if not cheap:
        return None
    return exact.solve(data.X, data.y, fit_intercept=loss.fit_intercept, sample_weight=loss.sample_weight)


def _learning_rate(opts, lambda_max: float, n_rows: int, loss: Loss, X_fit, rescan=None) -> float:
    """λ = 1/h_max for full-batch descent; for mini-batch SGD 1/L_B, which needs the longest row too: from the rows
    in memory, or — data read in chunks — from one more pass over them (SGD reads every row each epoch anyway)."""
    if opts["lr"] != "auto":
        return opts["lr"]
    if not lambda_max > 0:
        raise ConfigError("lr='auto' needs a loss with curvature, but every feature is zero; give lr a number.")
    if opts["optimizer"] == "preconditioned":   # in the Hessian's metric every curvature is 1
        return 1.0
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


def coordinate_descent(problem: Problem, objective, summary, theta, history_cap: int = 10_000) -> descent.Outcome:
    """The L1/elastic-net problem solved by glmnet's cyclic coordinate descent on the Gram matrix of ``summary``
    (``gradfit.coordinate``: covariance updates, screening with the KKT check, a duality-gap stop), warm-started at
    ``theta`` (descended coordinates), the duality gap tightened until the problem's certificate holds. The outcome
    is in the descended coordinates, as the loop's: one record at the start, one at the end, the sweeps as its
    iterations. Coordinate descent is invariant to the columns' scales, so it runs on the given ones."""
    from gradfit import coordinate

    loss, penalty, T = problem.loss, problem.loss.penalty, problem.to_original
    d = problem.smooth.shape[0] - loss.fit_intercept
    u = problem.penalty_weights if problem.penalty_weights is not None else np.ones(d)
    q = coordinate.from_summary(summary, loss)
    run = problem.objective(objective)
    history = descent.History(history_cap)
    value, grad = run.loss_and_gradient(theta)
    history.record(0, theta, value, grad)
    certificate, tol = (problem.certificate if problem.stop == "gap" else None), problem.tol
    w, sweeps, gap_tol, stop = (T @ theta)[:d], 0, COORDINATE_GAP, descent.Stop.MAX_ITER
    while True:
        fit = coordinate.path(q, [penalty.l1 + penalty.l2], penalty.l1_ratio if penalty.active else 0.0, u, tol=gap_tol,
                              max_iter=max(problem.iters - sweeps, 1), coef_init=w)
        w, sweeps = fit.coefs[0], sweeps + int(fit.n_iter[0])
        theta_given = np.append(w, coordinate.intercept(summary, w)) if loss.fit_intercept else w
        theta = problem.scaler.to_standardized(theta_given) if problem.scaler is not None else theta_given
        value, grad = run.loss_and_gradient(theta)
        certified = certificate is not None and tol and certificate.gap(theta, grad) <= tol
        if certified or (certificate is None and fit.converged[0]) or not tol:
            stop = descent.Stop.TOL if tol else descent.Stop.MAX_ITER
            break
        if sweeps >= problem.iters or gap_tol <= COORDINATE_GAP_FLOOR:
            break
        gap_tol /= 100
    history.record(sweeps, theta, value, grad, force=True)
    return descent.Outcome(theta, value, grad, sweeps, stop, history, descent.GDState(sweeps))


def descend(problem: Problem, objective, theta, **loop) -> descent.Outcome:
    """The loop on ``problem`` from ``theta`` (in the descended coordinates): its rule, step, budget, stopping rule
    and certificate; ``loop`` adds what only some runs have (callbacks, a schedule, mini-batches, a resumed state)."""
    settings = dict(lr=problem.lr, max_iter=problem.iters, tol=problem.tol, rule=problem.rule,
                    stable_lr=problem.stable_lr,
                    certificate=problem.certificate if problem.stop == "gap" else None,
                    prox=problem.terms.prox if problem.proximal else None)
    return descent.run(problem.objective(objective), theta, **(settings | loop))


def replan(problem: Problem, data: XY, *, lr: float, iters: int, engine: str, standardize: bool,
           optimizer: str = "gd", momentum: float = 0.0):
    """The same problem on the same rows in memory, descended again by ``optimizer`` with the learning rate ``lr``,
    on standardized columns or on the columns as given (a comparison run: ``outputs.compare``); and the engine
    objective it runs on. The scaler is the problem's own where it has one; θ* is the problem's."""
    from gradfit.engines import IN_MEMORY, make_objective

    loss = problem.loss
    if not standardize:
        scaler = None
    elif problem.scaler is not None:
        scaler = problem.scaler
    else:
        scaler = Standardizer.fit(data.X, data.feature_names, loss.fit_intercept, data.weight)
    raw = make_objective(engine, data, loss, dtype="float64")
    objective = raw
    if scaler is not None:
        objective = (make_objective(engine, XY(scaler.transform(data.X), data.y, data.feature_names, data.target_name,
                                               data.source, data.weight), loss, dtype="float64")
                     if engine in IN_MEMORY else raw.standardized(scaler.mean, scaler.scale))
    opts = {"solver": "gd", "lr": float(lr), "iters": int(iters), "tol": None, "optimizer": optimizer,
            "momentum": momentum, "nesterov": False, "stop": "gap"}
    return plan(opts, data, raw, objective, loss, scaler, theta_star=problem.theta_star), objective


# What a path fits at every α from a summary: the accelerated (FISTA) rule on standardized columns, certified.
PATH_OPTIONS = {"solver": "gd", "lr": "auto", "iters": "auto", "optimizer": "accelerated", "momentum": 0.0,
                "nesterov": False, "stop": "gap"}


def from_summary(summary, names, loss: Loss, tol: float | None):
    """The ``Problem`` of ``loss`` on the data a one-pass ``summary`` is of, descended on standardized columns as
    ``fit``'s defaults do, and the engine objective it runs on (a path's α after α: ``problem.with_alpha``)."""
    from gradfit.engines.stats import StatsObjective

    raw = StatsObjective(summary, loss)
    scaler = Standardizer.from_summary(summary, names, loss.fit_intercept)
    objective = raw.standardized(scaler.mean, scaler.scale)
    return plan(PATH_OPTIONS | {"tol": tol}, Columns(tuple(names)), raw, objective, loss, scaler), objective


@dataclass(frozen=True)
class Columns:
    """Data known only by their columns (through a summary)."""

    feature_names: tuple[str, ...]


def penalized(loss: Loss, kind: str, alpha: float, l1_ratio: float, scale: str) -> Loss:
    """``loss`` with the penalty ``kind`` at ``alpha``."""
    return replace(loss, penalty=Penalty(kind, float(alpha), l1_ratio, scale))

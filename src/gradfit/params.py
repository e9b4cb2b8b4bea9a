"""The one table of hyper-parameters: names, types, ranges, defaults and help.

``fit()``, the CLI flags and the tests of invalid values all read this table (in the
manner of scikit-learn's ``_parameter_constraints``), so a rule is written once.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from gradfit.errors import ConfigError


@dataclass(frozen=True)
class Param:
    name: str
    kind: str                       # "float", "int", "choice", "bool", "floats"
    default: object
    help: str
    low: float | None = None        # lower bound (exclusive when low_open)
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple = ()
    also: tuple = ()                # special values allowed besides the kind ("auto", None)


PARAMS: dict[str, Param] = {p.name: p for p in [
    Param("lr", "float", "auto", "learning rate λ: a number, or 'auto' for 1/h_max (h_max = the largest "
          "eigenvalue of the loss's Hessian), which always converges", low=0, low_open=True,
          also=("auto",)),
    Param("iters", "int", "auto", "maximum number of iterations (updates); 'auto' follows the conditioning: about "
          "√κ·ln(κ/tol) for the accelerated rule, κ·ln(κ/tol) for plain gradient descent", low=1, also=("auto",)),
    Param("tol", "float", 1e-8, "stop when the parameters are certified within this relative distance of the "
          "exact optimum (stop='gap'), or when the loss's relative change falls to this (stop='loss'); 0 or "
          "None: run all iterations", low=0, also=(None,)),
    Param("stop", "choice", "gap", "the stopping rule: gap (‖θ − θ*‖ ≤ ‖∇L‖/h_min, a certificate of convergence) or "
          "loss (the tutorial's: the loss almost stops decreasing)", choices=("gap", "loss")),
    Param("loss", "choice", "mse", "sse: Σ(f(x)−y)², the tutorial's sum; mse: the mean; huber: the mean of "
          "Huber's loss (squared within epsilon of the fit, linear beyond: robust to outliers; no summary holds it, "
          "so data read in chunks take a pass per iteration, and there is no certificate: it stops when the loss "
          "almost stops decreasing)", choices=("sse", "mse", "huber")),
    Param("epsilon", "float", None, "with loss huber: the residual ε beyond which the loss grows linearly (default "
          "0.1, as scikit-learn's SGDRegressor)", low=0, low_open=True, also=(None,)),
    Param("engine", "choice", "auto", "where the loss and gradient are computed",
          choices=("auto", "python", "numpy", "torch", "stats", "stream", "dask")),
    Param("dtype", "choice", "float64", "floating-point precision of the numpy and torch engines",
          choices=("float64", "float32")),
    Param("fit_intercept", "bool", True, "learn the bias b (off: f(x) = w·x)"),
    Param("init", "floats", None, "starting parameters w₁,…,w_d,b (default: all zero)",
          also=(None,)),
    Param("momentum", "float", 0.0, "momentum μ in v = μ·v + g; θ = θ − λ·v (0: plain gradient "
          "descent; optimizer momentum/nesterov use 0.9 unless given)", low=0, high=1, high_open=True),
    Param("nesterov", "bool", False, "use Nesterov's momentum (needs momentum > 0)"),
    Param("optimizer", "choice", "auto", "update rule: preconditioned (gradient descent in the metric of the "
          "Hessian, θ ← θ − λ·H⁻¹∇: iterations independent of the conditioning), coordinate (glmnet's coordinate "
          "descent on the Gram matrix, for L1 and elastic net), accelerated (Nesterov with "
          "adaptive restart), gd (the tutorial's plain step), momentum (heavy ball), nesterov (fixed momentum, as "
          "PyTorch's), or sgd (mini-batches, shuffled each epoch); auto: with lr auto preconditioned for the "
          "squared loss with no L1 part, coordinate with one, accelerated for Huber; gd with a learning rate given",
          choices=("auto", "preconditioned", "coordinate", "accelerated", "gd", "momentum", "nesterov", "sgd")),
    Param("batch_size", "int", 32, "rows per update of mini-batch SGD", low=1),
    Param("epochs", "int", 100, "most passes over the data for mini-batch SGD (one iteration = one "
          "epoch)", low=1),
    Param("learning_rate", "choice", "constant", "learning-rate schedule: constant (λ_t = λ) or "
          "invscaling (λ_t = λ / t^power_t), as in scikit-learn", choices=("constant", "invscaling")),
    Param("power_t", "float", 0.25, "exponent of the invscaling schedule", low=0),
    Param("n_iter_no_change", "int", 1, "stop once the loss has changed by tol or less for this many "
          "iterations (epochs) in a row", low=1),
    Param("seed", "int", 0, "seed of the SGD shuffle and of the train/test split", low=0),
    Param("solver", "choice", "gd", "gd: gradient descent; exact: the least-squares optimum (QR/lstsq), "
          "the reference", choices=("gd", "exact")),
    Param("standardize", "bool", "auto", "descend on standardized features (mean 0, variance 1); "
          "coefficients are reported on the original scale; auto: on with lr auto, off with a learning rate "
          "given (the step then means what it says on the data as they are)", also=("auto",)),
    Param("device", "choice", "cpu", "where the torch engine computes: cpu or cuda",
          choices=("cpu", "cuda")),
    Param("test_fraction", "float", None, "hold out this fraction of the rows (chosen with seed) for "
          "test metrics", low=0, low_open=True, high=1, high_open=True, also=(None,)),
    Param("dropna", "bool", False, "drop rows with a missing value instead of refusing them"),
    Param("penalty", "choice", "auto", "regularization added to the loss, in scikit-learn's scaling "
          "1/(2n)·‖y − Xw − b‖² + α·l1_ratio·‖w‖₁ + α·(1 − l1_ratio)/2·‖w‖² (the bias never penalized): none, l2 "
          "(ridge, a gradient term), l1 (lasso) or elasticnet (both; proximal steps: ISTA, or FISTA with restart); "
          "auto: none, l2 when alpha is given, elasticnet when l1_ratio is given",
          choices=("auto", "none", "l2", "l1", "elasticnet")),
    Param("alpha", "float", None, "strength α of the penalty (needs --penalty; default 1.0 as scikit-learn's Lasso "
          "and ElasticNet; scikit-learn's Ridge(alpha=a) is alpha = a/n here)", low=0, also=(None,)),
    Param("l1_ratio", "float", None, "share ρ of the L1 part of penalty elasticnet, 0 ≤ ρ ≤ 1 (default 0.5, as "
          "scikit-learn's ElasticNet)", low=0, high=1, also=(None,)),
    Param("penalty_scale", "choice", "given", "the scale on which w is penalized: given (the features as they are, "
          "scikit-learn's convention) or standardized (each wⱼ·sⱼ with sⱼ the column's standard deviation, "
          "glmnet's); coefficients are always reported on the given scale", choices=("given", "standardized")),
    Param("early_stopping", "bool", False, "hold out validation_fraction of the rows (chosen with seed) and stop once "
          "their mean squared error has not improved by tol (relative) for n_iter_no_change iterations (epochs) in a "
          "row, as scikit-learn's SGDRegressor; the data must be in memory"),
    Param("validation_fraction", "float", None, "with early_stopping: the fraction of the rows held out (default 0.1)",
          low=0, low_open=True, high=1, high_open=True, also=(None,)),
    Param("history_cap", "int", 10_000, "most iterations kept in the history; longer runs are "
          "thinned evenly", low=4),
]}


def validate(name: str, value):
    """Check ``value`` against the table and return it normalised; raise ``ConfigError``."""
    p = PARAMS[name]
    if any(value is a or (isinstance(value, str) and value.lower() == a) for a in p.also):
        return value.lower() if isinstance(value, str) else value
    expected = _describe(p)
    if p.kind == "choice":
        if isinstance(value, str) and value.lower() in p.choices:
            return value.lower()
        raise _invalid(name, value, expected)
    if p.kind == "bool":
        if isinstance(value, (bool, numbers.Integral)) and value in (0, 1):
            return bool(value)
        raise _invalid(name, value, "True or False")
    if p.kind == "floats":
        try:
            values = tuple(float(v) for v in value)
        except (TypeError, ValueError):
            raise _invalid(name, value, expected) from None
        if not all(math.isfinite(v) for v in values):
            raise _invalid(name, value, "finite numbers only")
        return values
    number = _as_number(value, integral=p.kind == "int")
    if number is None or not _in_range(p, number):
        raise _invalid(name, value, expected)
    return number


def flag(name: str) -> str:
    """The command-line flag of a parameter: fit_intercept → --fit-intercept."""
    return "--" + name.replace("_", "-")


def _invalid(name: str, value, expected: str) -> ConfigError:
    return ConfigError(f"Invalid value for {name} ({flag(name)}): {value!r}; expected {expected}.")


def _as_number(value, integral: bool):
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = int(value) if integral else float(value)
        except ValueError:
            return None
    if integral:
        return int(value) if isinstance(value, numbers.Integral) else None
    if isinstance(value, numbers.Real) and math.isfinite(float(value)):
        return float(value)
    return None


def _in_range(p: Param, x: float) -> bool:
    if p.low is not None and (x <= p.low if p.low_open else x < p.low):
        return False
    return p.high is None or (x < p.high if p.high_open else x <= p.high)


def _describe(p: Param) -> str:
    if p.kind == "choice":
        return "one of " + ", ".join(repr(c) for c in p.choices)
    if p.kind == "floats":
        return "a list of numbers such as 1,0"
    what = "an integer" if p.kind == "int" else "a number"
    if p.low is not None:
        what += f" {'>' if p.low_open else '≥'} {p.low:g}"
    if p.high is not None:
        what += f" and {'<' if p.high_open else '≤'} {p.high:g}"
    extras = [repr(a) for a in p.also if a is not None]
    return what + (f", or {' or '.join(extras)}" if extras else "")


def validate_all(options: dict) -> dict:
    """Every option of the table, validated, defaults filled in; an unknown name is a TypeError
    (as for any Python function's unexpected keyword)."""
    unknown = sorted(set(options) - set(PARAMS))
    if unknown:
        raise TypeError(f"fit() got unexpected keyword argument(s) {', '.join(unknown)}; "
                        f"the options are: {', '.join(PARAMS)}")
    return {name: validate(name, options.get(name, p.default)) for name, p in PARAMS.items()}


def check_penalty(opts: dict) -> tuple[str, float, float]:
    """(penalty, α, l1_ratio) of validated options, the defaults filled in; ConfigError for options that do not
    go together (α or l1_ratio without a penalty, l1_ratio with l1 or l2, a penalty with solver='exact' that has
    no closed form): nothing is silently ignored."""
    penalty, alpha, ratio = opts["penalty"], opts["alpha"], opts["l1_ratio"]
    if penalty == "auto":
        penalty = "elasticnet" if ratio is not None else "l2" if alpha is not None else "none"
        if penalty == "none" and opts["penalty_scale"] != "given":
            raise ConfigError("penalty_scale (--penalty-scale) says where a penalty applies, but there is none: give "
                              "penalty (--penalty) one of 'l2', 'l1', 'elasticnet', or alpha (--alpha).")
    if penalty == "none":
        given = [f"{name}={opts[name]!r} ({flag(name)})" for name in ("alpha", "l1_ratio") if opts[name] is not None]
        if opts["penalty_scale"] != "given":
            given.append(f"penalty_scale={opts['penalty_scale']!r} ({flag('penalty_scale')})")
        if given:
            raise ConfigError(f"{' and '.join(given)} set(s) a penalty, but penalty is 'none'; give penalty "
                              f"(--penalty) one of 'l2', 'l1', 'elasticnet'.")
        return penalty, 0.0, 0.0
    implied = {"l2": 0.0, "l1": 1.0}.get(penalty)
    if implied is not None and ratio is not None and ratio != implied:
        raise ConfigError(f"Invalid value for l1_ratio (--l1-ratio): {ratio!r}; penalty {penalty!r} means "
                          f"l1_ratio = {implied:g}: leave it out, or choose penalty 'elasticnet'.")
    ratio = implied if implied is not None else (0.5 if ratio is None else ratio)
    alpha = 1.0 if alpha is None else alpha
    if opts["solver"] == "exact" and ratio > 0 and alpha > 0:
        raise ConfigError(f"solver='exact' (--solver exact) has a closed form for penalty 'none' and 'l2' only; "
                          f"penalty {penalty!r} has an L1 part: use solver='gd' (proximal descent).")
    return penalty, alpha, ratio


def check_huber(opts: dict) -> float | None:
    """ε of loss 'huber' (None for the squared losses); ConfigError for epsilon without it, or for solver 'exact'."""
    if opts["loss"] != "huber":
        if opts["epsilon"] is not None:
            raise ConfigError(f"epsilon={opts['epsilon']!r} (--epsilon) is the Huber loss's; give loss='huber' "
                              "(--loss huber) or leave epsilon out.")
        return None
    if opts["solver"] == "exact":
        raise ConfigError("solver='exact' (--solver exact) solves least squares; loss 'huber' has no closed form: use "
                          "solver='gd'.")
    return 0.1 if opts["epsilon"] is None else opts["epsilon"]


def check_early_stopping(opts: dict) -> float | None:
    """The held-out fraction of early stopping (None without it); ConfigError for validation_fraction alone or
    with solver 'exact'."""
    if not opts["early_stopping"]:
        if opts["validation_fraction"] is not None:
            raise ConfigError(f"validation_fraction={opts['validation_fraction']!r} (--validation-fraction) is early "
                              "stopping's; give early_stopping=True (--early-stopping) or leave it out.")
        return None
    if opts["solver"] == "exact":
        raise ConfigError("early_stopping (--early-stopping) stops a descent; solver='exact' has none: use solver='gd'.")
    return 0.1 if opts["validation_fraction"] is None else opts["validation_fraction"]

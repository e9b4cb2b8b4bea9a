"""The verdict on a run: how it ended, how far from θ* (the gaps ``fit`` recorded), and what to change."""

from __future__ import annotations

# A run whose parameters are within this relative distance of θ* has reached the optimum.
AT_OPTIMUM = 1e-6


def verdict(result) -> str:
    """A plain-language sentence on how the run ended, with what to change."""
    unit = "epoch" if result.optimizer == "sgd" else "iteration"
    k = f"{result.n_iter} {unit}{'s' * (result.n_iter != 1)}"
    if result.solver == "exact":
        return "Exact least-squares solution (QR/lstsq): no iterations, no optimality gap."
    if result.diverged:
        return (f"Diverged after {k}: the learning rate {result.lr:.4g} is too large (gradient descent is stable "
                f"below {result.stable_lr:.4g}). Use --lr auto or a smaller --lr.")
    gap = result.param_gap
    where = "" if gap is None else f" (parameters within {gap:.2g} of the exact optimum, relative)"
    if result.converged:
        if gap is not None and gap > 1e-3:
            return (f"Converged after {k}: the loss stopped changing, but the parameters are still {gap:.2g} "
                    f"(relative) from the exact optimum — the descent is slow along some direction. Lower --tol"
                    f"{_speedups(result, ', or use ')}.")
        return f"Converged after {k}: the loss stopped changing{where}."
    if gap is not None and gap <= AT_OPTIMUM:
        return f"Stopped at the {unit} limit ({k}), already at the optimum{where}."
    more = "--epochs" if unit == "epoch" else "--iters"
    return f"Stopped at the {unit} limit ({k}) before converging{where}. Raise {more}{_speedups(result, ', or ')}."


def _speedups(result, lead: str) -> str:
    """What would get this run closer to the optimum, from what it did not use."""
    options = result.options
    if result.optimizer == "sgd" and options.get("learning_rate") == "constant":
        return lead + "let SGD settle with --learning-rate invscaling or a larger --batch-size"
    tips = []
    if not result.standardized:
        tips.append("--standardize")
    if options.get("lr", "auto") != "auto":
        tips.append("--lr auto")
    if result.optimizer == "gd":
        tips.append("--optimizer nesterov")
    return lead + "speed it up with " + " or ".join(tips) if tips else ""



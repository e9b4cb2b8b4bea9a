"""The verdict on a run: how it ended, how far from θ* (the certificate and the gaps ``fit`` recorded),
and what to change — in the caller's language (en/zh) and voice (Python keywords or CLI flags)."""

from __future__ import annotations

from gradfit.descent import Stop
from gradfit.messages import Options, message, run_limit

# A run whose parameters are within this relative distance of θ* has reached the optimum.
AT_OPTIMUM = 1e-6


def verdict(result, lang: str = "en", voice: str = "python") -> str:
    """A plain-language sentence on how the run ended, with what to change."""
    m = lambda key, **kw: message(key, lang, voice, **kw)  # noqa: E731
    sgd = result.optimizer == "sgd"
    limit = run_limit(sgd, lang, voice)
    unit = limit["unit"]
    k = (f"{result.n_iter} {unit}{'s' * (result.n_iter != 1)}" if lang == "en"
         else f"{result.n_iter} {'轮' if sgd else '次迭代'}")
    if result.stop_reason is Stop.EXACT:
        return m("verdict.exact")
    if result.stopped_early:
        o = result.options
        patience = o.get("n_iter_no_change", 1)
        step = ("epoch" if sgd else "iteration") if lang == "en" else ("轮" if sgd else "次迭代")
        return m("verdict.early", k=k, fraction=f"{o.get('validation_fraction') or 0.1:.0%}",
                 patience=f"{patience} {step}{'s' * (patience != 1)}" if lang == "en" else f"{patience} {step}")
    if result.diverged:
        return m("verdict.diverged", k=k, lr=f"{result.lr:.4g}", stable=f"{result.stable_lr:.4g}")
    gap = result.param_gap if result.identified else None   # else θ* is one optimum of many
    where = "" if gap is None else m("verdict.where", gap=f"{gap:.2g}")
    if result.converged and result.options.get("stop") == "gap":
        if not result.identified:
            return m("verdict.certified_set", k=k, gap=f"{result.gap_bound:.2g}", rank=result.rank,
                     p=len(result.model.theta))
        return m("verdict.certified", k=k, gap=f"{result.gap_bound:.2g}")
    if result.stop_reason is Stop.TOL and result.options.get("stop") == "gap" and not result.converged:
        return m("verdict.no_certificate", k=k, where=where)
    if result.converged:
        if gap is not None and gap > 1e-3:
            return m("verdict.loss_stopped_far", k=k, gap=f"{gap:.2g}", speedups=_speedups(result, m, voice))
        return m("verdict.loss_stopped", k=k, where=where)
    if gap is not None and gap <= AT_OPTIMUM:
        return m("verdict.at_optimum", unit=unit, k=k, where=where)
    speedups = _speedups(result, m, voice)
    if speedups is None:
        return m("verdict.short_plain", k=k, where=where, **limit)
    return m("verdict.short", k=k, where=where, speedups=speedups, **limit)


def _speedups(result, m, voice: str) -> str | None:
    """What would get this run closer to the optimum, from what it did not use (None: nothing left)."""
    options, o = result.options, Options(voice)
    if result.optimizer == "sgd" and options.get("learning_rate") == "constant":
        return m("verdict.speed_sgd")
    tips = []
    if not result.standardized:
        tips.append(o["standardize=True"])
    if options.get("lr", "auto") != "auto":
        tips.append(o["lr=auto"])
    if result.optimizer not in ("accelerated", "preconditioned"):
        tips.append(o["optimizer=accelerated"])
    return m("verdict.speed", tips=m("verdict.or").join(tips)) if tips else None

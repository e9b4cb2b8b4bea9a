"""The learner's "why", with the run's own numbers: the bound 2/h_max derived in the Hessian's eigenbasis,
the condition number and the iterations it costs (before and after standardizing), momentum and its √κ,
and questions to check oneself. The numbers come from ``conditioning``; prose from the catalogue.
"""

from __future__ import annotations

import math

import numpy as np

from gradfit.descent import Stop
from gradfit.outputs.explain import analysis as an
from gradfit.outputs.explain import conditioning as cd
from gradfit.outputs.explain.document import Section

TARGET = 1e-8            # the error reduction the comparisons are made for
RERUN_CAP = 20_000       # iterations of a comparison run at most


def count(k: float) -> str:
    """An iteration count as a plain integer."""
    return str(math.ceil(k)) if math.isfinite(k) else "∞"


def _n(x: float, digits: int = 6) -> str:
    from gradfit.outputs.explain.format import num

    return num(x, digits)


def _reached(run_or_result, epsilon: float, m) -> str:
    k = cd.measured_iterations(run_or_result, epsilon)
    return m("cond.not_reached", n=run_or_result.n_iter) if k is None else str(k)


# --- section 5: the bound, derived ----------------------------------------------------------

def bound_derivation(result, s: Section, m) -> None:
    """e ← (I − λH)·e: each eigen-direction multiplied by (1 − λ·hᵢ); the run's hᵢ and factors."""
    s.para(m("lr.derive"))
    s.math("e_{k+1} = (I − λH)·e_k   ⇒   e_{k,i} = (1 − λ·hᵢ)^k · e_{0,i}",
           "|1 − λ·hᵢ| < 1   ⇔   0 < λ < 2/hᵢ",
           tex=[r"e_{k+1} = (I - \lambda H)\,e_k \;\Rightarrow\; e_{k,i} = (1 - \lambda h_i)^k\, e_{0,i}",
                r"|1 - \lambda h_i| < 1 \;\Leftrightarrow\; 0 < \lambda < 2/h_i"])
    c = cd.of(result)
    H = cd.hessian(result, standardized=result.standardized and c.h_standardized is not None)
    if len(H) <= 4:
        s.math(*["H = [" + ", ".join(_n(v) for v in row) + "]" if i == 0 else
                 "    [" + ", ".join(_n(v) for v in row) + "]" for i, row in enumerate(H)])
    s.para(m("lr.eigen", lr=_n(an.lesson_lr(result))))
    rows = []
    for i, (h, f) in enumerate(zip(c.h, c.factors)):
        what = "lr.grows" if abs(f) >= 1 else ("lr.flips" if f < 0 else "lr.shrinks")
        rows.append([str(i + 1), _n(h), _n(f), _n(2 / h, 4) if h > 0 else "∞", m(what)])
    shown = rows if len(rows) <= 8 else rows[:4] + [["…"] * 5] + rows[-3:]
    s.table([m("lr.direction"), "hᵢ", "1 − λ·hᵢ", "2/hᵢ", ""], shown)


# --- section 4: did it converge? -------------------------------------------------------------

def not_converged(result, s: Section, m) -> None:
    """Say so when the run stopped far from θ*, and why (κ, the slowest factor)."""
    gap = result.param_gap
    if result.stop_reason is Stop.EXACT or gap is None or not math.isfinite(gap) or gap <= 1e-6:
        return
    if result.diverged:
        return
    c = cd.of(result)
    if not c.h[0] > 0:                       # a flat direction: no unique optimum to converge to
        s.para(m("cond.singular"))
        return
    if not c.converges:
        s.para(m("result.not_converged_diverging", lr=_n(an.lesson_lr(result)), rate=_n(c.rate)))
        return
    s.para(m("result.not_converged", gap=f"{gap:.2g}", kappa=_n(c.kappa, 4), rate=_n(c.rate, 8),
             needed=count(c.predicted[TARGET])))


# --- section 7: conditioning -----------------------------------------------------------------

def conditioning(result, m, compare: bool) -> Section:
    c = cd.of(result)
    s = Section(m("cond.title"))
    s.para(m("cond.intro"))
    if not c.h[0] > 0:
        s.para(m("cond.singular"))
        return s
    at = float(np.argmax(np.abs(c.factors)))
    s.math(f"κ = h_max/h_min = {_n(c.h[-1])}/{_n(c.h[0])} = {_n(c.kappa, 6)}",
           f"ρ = max|1 − λ·hᵢ| = |1 − {_n(an.lesson_lr(result))}×{_n(c.h[int(at)])}| = {_n(c.rate, 8)}",
           f"k ≈ ln(1/ε)/ln(1/ρ)        κ·ln(1/ε) = {_n(c.kappa, 6)}·ln(1/ε)",
           tex=[rf"\kappa = \frac{{h_{{\max}}}}{{h_{{\min}}}} = \frac{{{_n(c.h[-1])}}}{{{_n(c.h[0])}}} = {_n(c.kappa, 6)}",
                rf"\rho = \max_i |1 - \lambda h_i| = {_n(c.rate, 8)}",
                r"k \approx \frac{\ln(1/\varepsilon)}{\ln(1/\rho)}, \qquad \lambda = \frac{1}{h_{\max}}:\;"
                r" k \approx \kappa \ln(1/\varepsilon)"])
    s.para(m("cond.table_intro", lr=_n(an.lesson_lr(result))))
    s.table([m("cond.error"), m("cond.predicted"), m("cond.measured")],
            [[f"{e:g}", count(c.predicted[e]) if math.isfinite(c.predicted[e]) else m("cond.never"),
              _reached(result, e, m)] for e in cd.EPSILONS])
    if c.h_standardized is not None and c.kappa_standardized is not None:
        _standardizing(result, c, s, m, compare)
    return s


def _standardizing(result, c, s: Section, m, compare: bool) -> None:
    """κ and the iterations of the best plain step, before and after standardizing; the advice."""
    best = lambda h: cd.iterations_for(cd.rate(1 / h[-1], h), TARGET)  # noqa: E731  (λ = 1/h_max)
    before, after = best(c.h_raw), best(c.h_standardized)
    s.para(m("cond.standardize"))
    s.table([m("cond.scale"), "h_min", "h_max", "κ", m("cond.predicted")],
            [[m("cond.raw"), _n(c.h_raw[0]), _n(c.h_raw[-1]), _n(c.kappa_raw, 6), count(before)],
             [m("cond.standardized"), _n(c.h_standardized[0]), _n(c.h_standardized[-1]),
              _n(c.kappa_standardized, 6), count(after)]])
    if c.kappa_raw > 2 * c.kappa_standardized and c.kappa_raw > 10:
        s.para(m("cond.advice", before=_n(c.kappa_raw, 4), after=_n(c.kappa_standardized, 4),
                 iters_before=count(before), iters_after=count(after)))
    else:
        s.para(m("cond.fine", before=_n(c.kappa_raw, 4), after=_n(c.kappa_standardized, 4)))
    if not compare or result.theta_exact is None:
        return
    from gradfit.outputs import compare as runs   # the other side, run on purpose

    other = c.h_raw if result.standardized else c.h_standardized
    lr = float(f"{1 / other[-1]:.6g}")
    predicted = best(other)
    iters = int(min(RERUN_CAP, 2 * predicted + 10)) if math.isfinite(predicted) else RERUN_CAP
    run = runs.rerun(result, lr, iters=iters, standardize=not result.standardized,
                     engine="numpy" if result.engine == "python" else result.engine)
    s.para(m("cond.rerun_raw" if result.standardized else "cond.rerun", lr=_n(lr), k=_reached(run, TARGET, m)))


# --- section 8: momentum ---------------------------------------------------------------------

def momentum(result, m, compare: bool) -> Section:
    c = cd.of(result)
    s = Section(m("mom.title"))
    s.para(m("mom.intro"))
    s.math(f"v ← μ·v + ∇Loss(θ);   θ ← θ − λ·v                       ({m('mom.heavy')})",
           "v ← μ·v + ∇Loss(θ);   θ ← θ − λ·(∇Loss(θ) + μ·v)        (Nesterov)",
           tex=[r"v \leftarrow \mu v + \nabla \mathrm{Loss}(\theta), \quad \theta \leftarrow \theta - \lambda v"
                rf" \quad \text{{({m('mom.heavy')})}}",
                r"v \leftarrow \mu v + \nabla \mathrm{Loss}(\theta), \quad \theta \leftarrow \theta - \lambda"
                r" (\nabla \mathrm{Loss}(\theta) + \mu v) \quad \text{(Nesterov)}"])
    if not c.h[0] > 0:
        s.para(m("mom.restart"))
        return s
    lr_hb, mu_hb, factor_hb = cd.best_momentum(c.h)
    plain_lr = 2 / (c.h[-1] + c.h[0])
    plain = cd.rate(plain_lr, c.h)
    s.para(m("mom.why"))
    s.math(f"κ = {_n(c.kappa, 6)}    √κ = {_n(math.sqrt(c.kappa), 6)}",
           tex=[rf"\kappa = {_n(c.kappa, 6)}, \quad \sqrt{{\kappa}} = {_n(math.sqrt(c.kappa), 6)}"])
    s.table(["", "λ", "μ", m("mom.factor"), m("cond.predicted")],
            [[m("mom.plain"), _n(plain_lr), "0", _n(plain, 8), count(cd.iterations_for(plain, TARGET))],
             [m("mom.heavy"), _n(lr_hb), _n(mu_hb), _n(factor_hb, 8), count(cd.iterations_for(factor_hb, TARGET))]])
    s.para(m("mom.restart"))
    options = result.options
    optimizer = result.optimizer
    mu = float(options.get("momentum") or (0.9 if optimizer in ("momentum", "nesterov") else 0.0))
    gd_lr = cd.iterations_for(cd.rate(an.lesson_lr(result), c.h), TARGET)
    if optimizer == "preconditioned":
        plain_best = cd.iterations_for(cd.rate(1 / c.h[-1], c.h), TARGET)
        s.para(m("mom.this_preconditioned", measured=_reached(result, TARGET, m), plain=count(plain_best),
                 kappa=_n(c.kappa, 4)))
    elif optimizer == "accelerated":
        s.para(m("mom.this_accelerated", lr=_n(an.lesson_lr(result)), measured=_reached(result, TARGET, m), plain=count(gd_lr)))
        found = cd.restarts(result)
        shown = ", ".join(map(str, found[:8])) + (", …" if len(found) > 8 else "")
        s.para(m("mom.restarts", n=len(found), at=shown or "-"))
    elif mu > 0 and optimizer != "sgd":
        nesterov = optimizer == "nesterov" or bool(options.get("nesterov"))
        factor = cd.momentum_rate(an.lesson_lr(result), mu, c.h, nesterov)
        s.para(m("mom.this_run", rule="Nesterov" if nesterov else m("mom.heavy"), mu=_n(mu), lr=_n(an.lesson_lr(result)),
                 rate=_n(factor, 8), plain=_n(cd.rate(an.lesson_lr(result), c.h), 8),
                 predicted=count(cd.iterations_for(factor, TARGET)), measured=_reached(result, TARGET, m)))
    elif compare and result.theta_exact is not None and optimizer == "gd":
        from gradfit.outputs import compare as runs   # the comparison, run on purpose

        lr, mu_round = lr_hb, mu_hb
        predicted = cd.iterations_for(cd.momentum_rate(lr, mu_round, c.h), TARGET)
        iters = int(min(RERUN_CAP, 2 * predicted + 20)) if math.isfinite(predicted) else RERUN_CAP
        if mu_round > 0:
            run = runs.rerun(result, lr, iters=iters, optimizer="momentum", momentum=mu_round,
                             standardize=result.standardized,
                             engine="numpy" if result.standardized and result.engine == "python" else result.engine)
            s.para(m("mom.compare", lr=_n(lr), mu=_n(mu_round), measured=_reached(run, TARGET, m),
                     predicted=count(predicted)))
    return s


# --- section 9: check yourself ---------------------------------------------------------------

def check_yourself(result, m) -> Section:
    c = cd.of(result)
    s = Section(m("check.title"))
    s.para(m("check.intro"))
    names = an.parameter_names(result)
    if not result.standardized:
        step = an.first_step(result)
        p = names[0].split("[")[0] if len(names) <= 2 else names[0]
        s.question(m("check.w1", lr=_n(an.lesson_lr(result), 10), g=_n(step.gradient0[0], 10), p=p, p0=_n(step.theta0[0], 10)),
                   m("check.w1_answer", lr=_n(an.lesson_lr(result), 10), g=_n(step.gradient0[0], 10), p=p,
                     p0=_n(step.theta0[0], 10), p1=_n(step.theta0[0] - an.lesson_lr(result) * step.gradient0[0], 10)))
    h_max = float(c.h[-1])
    if h_max > 0:
        bound = 2 / h_max
        rates = sorted({float(f"{f * bound:.2g}") for f in (0.3, 0.9, 1.1, 3.0)})
        good = [r for r in rates if r < bound]
        bad = [r for r in rates if r >= bound]
        show = lambda rs: ", ".join(f"{r:g}" for r in rs) or m("check.rates_none")  # noqa: E731
        s.question(m("check.rates", rates=show(rates)),
                   m("check.rates_answer", bound=_n(bound, 4), good=show(good), bad=show(bad)))
    if c.h[0] > 0:
        s.question(m("check.factor", lr=_n(an.lesson_lr(result)), hmin=_n(c.h[0])),
                   m("check.factor_answer", lr=_n(an.lesson_lr(result)), hmin=_n(c.h[0]), factor=_n(1 - an.lesson_lr(result) * c.h[0], 8)))
        slowest = cd.slowest_feature(result)
        if slowest is not None:
            s.question(m("check.slowest"), m("check.slowest_answer", p=slowest, hmin=_n(c.h_raw[0])))
        log = math.log(1e8)
        s.question(m("check.kappa"), m("check.kappa_answer", kappa=_n(c.kappa, 4), log=_n(log, 4),
                                       iters=count(c.kappa * log)))
    return s


def sections(result, m, compare: bool = True) -> list[Section]:
    """Sections 7–9 of an explanation (after the autograd check)."""
    return [conditioning(result, m, compare), momentum(result, m, compare), check_yourself(result, m)]

"""The explanation of a run, section by section: derivation, first step with the run's numbers,
iteration table, result, learning rate, autograd. Prose comes from the catalogue; formulas are
built here from the run's own numbers.
"""

from __future__ import annotations

import math

import numpy as np

from gradfit.descent import Stop
from gradfit.outputs.explain import analysis as an
from gradfit.outputs.explain.document import Document, Section
from gradfit.outputs.explain.format import num
from gradfit.messages import message

STOP_KEYS = {Stop.TOL: "result.stop_tol", Stop.MAX_ITER: "result.stop_max_iter",
             Stop.DIVERGED: "result.stop_diverged", Stop.EXACT: "result.stop_exact", Stop.EARLY: "result.stop_early"}
MAX_TERMS = 4          # rows written out term by term; beyond, the first three and "…"
SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _paren(x: float) -> str:
    return f"({num(x)})" if x < 0 else num(x)


def _plus(x: float) -> str:
    """+0, −0.5: a term added to what stands before it."""
    return f"−{num(-x)}" if x < 0 else f"+{num(x)}"


def _minus(x: float) -> str:
    """−3, +3: a term subtracted from what stands before it."""
    return f"+{num(-x)}" if x < 0 else f"−{num(x)}"


def _vector(values, digits: int = 6) -> str:
    values = list(values)
    shown = [num(v, digits) for v in values[:6]] + (["…"] if len(values) > 6 else [])
    return "(" + ", ".join(shown) + ")"


def build(result, lang: str = "en", test=None, compare: bool = True, code: bool = False) -> Document:
    """The whole explanation of ``result`` as a ``Document``."""
    m = lambda key, **kw: message(key, lang, **kw)  # noqa: E731
    data = an.require_data(result)
    if result.stop_reason is Stop.EXACT:   # no descent: the formulas, the optimum and the gradient there
        sections = [derivation(result, m), outcome(result, m, test), autograd(result, m)]
    else:
        from gradfit.outputs.explain import why

        sections = [derivation(result, m), first_step(result, m), iteration_table(result, m),
                    outcome(result, m, test), learning_rate(result, m, compare), autograd(result, m),
                    *why.sections(result, m, compare)]
    from gradfit.outputs.explain import penalty

    what_penalty_does = penalty.section(result, m, compare)
    if what_penalty_does is not None:
        at = next(i for i, section in enumerate(sections) if section.title == m("result.title")) + 1
        sections.insert(at, what_penalty_does)   # right after the result it explains
    if code:
        from gradfit.outputs.explain import programs

        sections.append(programs.section(result, m, lang))
    d = data.X.shape[1]
    title = m("explain.title_one" if d == 1 else "explain.title_many", rows=data.n_rows, features=d)
    return Document(title, sections, lang, answers_title=m("check.answers"))


# --- 1. the derivation ----------------------------------------------------------------------

def derivation(result, m) -> Section:
    one = result.model.n_features == 1
    has_b = an.fit_intercept(result)
    mean = result.reduction == "mse"
    b = " + b" if has_b else ""
    args = "w, b" if has_b else "w"
    wx = "w·xᵢ"  # with several features, w and xᵢ are vectors and · their dot product
    scale = "(1/n)·" if mean else ""
    # the same formulas in LaTeX (typeset in HTML and Markdown)
    tb, targs, tscale = (" + b" if has_b else ""), ("w, b" if has_b else "w"), (r"\frac{1}{n}" if mean else "")
    twx = r"w\,x_i" if one else r"w^\top x_i"
    tu = f"{twx}{tb} - y_i"
    s = Section(m("derive.title"))
    s.para(m("derive.model1" if one else "derive.model_vec"))
    s.math(f"f(x) = w·x{b}" if one else f"f(x) = w₁·x₁ + w₂·x₂ + … + w_d·x_d{b} = w·x{b}",
           tex=[f"f(x) = w\\,x{tb}" if one else rf"f(x) = w_1 x_1 + w_2 x_2 + \dots + w_d x_d{tb} = w^\top x{tb}"])
    s.para(m("derive.sample_loss"))
    s.math(f"Lᵢ({args}) = (f(xᵢ) − yᵢ)² = ({wx}{b} − yᵢ)²",
           tex=[f"L_i({targs}) = (f(x_i) - y_i)^2 = ({tu})^2"])
    s.para(m("derive.total_mean" if mean else "derive.total_sum", n=result.data.n_rows))
    s.math(f"Loss({args}) = {scale}Σᵢ Lᵢ = {scale}Σᵢ ({wx}{b} − yᵢ)²",
           tex=[rf"\mathrm{{Loss}}({targs}) = {tscale}\sum_i L_i = {tscale}\sum_i ({tu})^2"])
    s.para(m("derive.chain"))
    u = f"{wx}{b} − yᵢ"
    lines = [f"∂Lᵢ/∂w = 2({u}) · ∂({u})/∂w = 2({u})·xᵢ" if one
             else f"∂Lᵢ/∂wⱼ = 2({u}) · ∂({u})/∂wⱼ = 2({u})·xᵢⱼ"]
    j = "" if one else "_j"
    tex = [rf"\frac{{\partial L_i}}{{\partial w{j}}} = 2({tu})\cdot\frac{{\partial ({tu})}}{{\partial w{j}}}"
           rf" = 2({tu})\,x_{{i{'j' if not one else ''}}}"]
    if has_b:
        lines.append(f"∂Lᵢ/∂b = 2({u}) · ∂({u})/∂b = 2({u})·1")
        tex.append(rf"\frac{{\partial L_i}}{{\partial b}} = 2({tu})\cdot\frac{{\partial ({tu})}}{{\partial b}}"
                   rf" = 2({tu})\cdot 1")
    s.math(*lines, tex=tex)
    s.para(m("derive.gradient"))
    lines = [f"∂Loss/∂w = {scale}Σᵢ 2({u})·xᵢ" if one else f"∂Loss/∂wⱼ = {scale}Σᵢ 2({u})·xᵢⱼ"]
    tex = [rf"\frac{{\partial \mathrm{{Loss}}}}{{\partial w{j}}} = {tscale}\sum_i 2({tu})\,x_{{i{'j' if not one else ''}}}"]
    if has_b:
        lines.append(f"∂Loss/∂b = {scale}Σᵢ 2({u})")
        tex.append(rf"\frac{{\partial \mathrm{{Loss}}}}{{\partial b}} = {tscale}\sum_i 2({tu})")
    if not one:
        lines.append(f"∇Loss = {'(2/n)' if mean else '2'}·Aᵀ(Aθ − y)   (A = [X{' 1' if has_b else ''}], "
                     f"θ = (w{', b' if has_b else ''}))")
        two = r"\frac{2}{n}" if mean else "2"
        tex.append(rf"\nabla \mathrm{{Loss}} = {two}\,A^\top (A\theta - y)")
    s.math(*lines, tex=tex)
    if result.stop_reason is Stop.EXACT:
        return s
    s.para(m("derive.update", lr=num(an.lesson_lr(result)), start=_vector(result.init)))
    lines = ["w ← w − λ·∂Loss/∂w" if one else "wⱼ ← wⱼ − λ·∂Loss/∂wⱼ"]
    tex = [rf"w{j} \leftarrow w{j} - \lambda\,\frac{{\partial \mathrm{{Loss}}}}{{\partial w{j}}}"]
    if has_b:
        lines.append("b ← b − λ·∂Loss/∂b")
        tex.append(r"b \leftarrow b - \lambda\,\frac{\partial \mathrm{Loss}}{\partial b}")
    s.math(*lines, tex=tex)
    return s


# --- 2. the first step with numbers ---------------------------------------------------------

def first_step(result, m) -> Section:
    s = Section(m("step.title"))
    if getattr(result, "standardized", False):
        s.para(m("step.standardized"))
        return s
    step = an.first_step(result)
    if not an.plain_gradient_descent(result):
        s.para(m("step.other_rule", optimizer=result.optimizer))
    proximal = result.loss_spec.penalty.proximal and an.plain_gradient_descent(result)
    if proximal:   # the gradient step alone, before the soft-threshold that follows it (shown below)
        from dataclasses import replace

        from gradfit.outputs.explain import penalty

        z = step.theta0 - result.lr * step.gradient0
        step = replace(step, theta1=z, loss1=an.loss_at(result, z) + sum(penalty.terms(result).value(z)))
    if result.model.n_features == 1:
        _first_step_scalar(result, step, s, m)
    else:
        _first_step_vector(result, step, s, m)
    if proximal:
        _soft_threshold_of_first_step(result, step, s, m)
    return s


def _soft_threshold_of_first_step(result, step, s, m) -> None:
    """An L1 run's θ₁ is the gradient step soft-thresholded (ISTA): say so, with θ₀ − λ·∇f(θ₀) and S of it."""
    from gradfit.outputs.explain import penalty

    t = result.lr * penalty.terms(result).tau
    z = step.theta0 - result.lr * step.gradient0
    s.para(m("step.soft_threshold", t=num(float(t.max()))))
    s.math(f"z = θ₀ − λ·∇f(θ₀) = {_vector(z)}", f"θ₁ = S(z, λτ) = {_vector(penalty.soft_threshold(z, t))}")


def _rows_shown(n: int) -> tuple[range, bool]:
    return (range(n), False) if n <= MAX_TERMS else (range(3), True)


def _sum(terms: list[str], more: bool, n: int, mean: bool, m) -> str:
    text = " + ".join(terms) + (f" + … ({m('step.terms', n=n)})" if more else "")
    return f"(1/{n})×[{text}]" if mean else text


def _first_step_scalar(result, step, s, m) -> None:
    X, y = result.data.X[:, 0], result.data.y
    has_b, mean, n = an.fit_intercept(result), result.reduction == "mse", len(y)
    w0 = step.theta0[0]
    b0 = step.theta0[1] if has_b else 0.0
    bias = _plus(b0) if has_b else ""
    rows, more = _rows_shown(n)
    inner = [f"{num(w0)}×{_paren(X[i])}{bias}{_minus(y[i])}" for i in rows]
    at = f"{num(w0)}, {num(b0)}" if has_b else num(w0)
    s.para(m("step.loss", at=at))
    s.math(f"Loss({at}) = {_sum([f'({t})²' for t in inner], more, n, mean, m)} = {num(step.loss0)}")
    s.para(m("step.gradient"))
    lines = [f"∂Loss/∂w = {_sum([f'2×({t})×{_paren(X[i])}' for t, i in zip(inner, rows)], more, n, mean, m)}"
             f" = {num(step.gradient0[0])}"]
    if has_b:
        lines.append(f"∂Loss/∂b = {_sum([f'2×({t})' for t in inner], more, n, mean, m)} = {num(step.gradient0[1])}")
    s.math(*lines)
    s.para(m("step.update", lr=num(result.lr)))
    names = ["w", "b"] if has_b else ["w"]
    s.math(*[_update_line(name, step.theta0[j], result.lr, step.gradient0[j], step.theta1[j])
             for j, name in enumerate(names)])
    at1 = ", ".join(num(t) for t in step.theta1)
    s.para(m(_went(step), before=num(step.loss0), after=num(step.loss1)))
    s.math(f"Loss({at1}) = {num(step.loss1)}")


def _went(step) -> str:
    return "step.new_loss" if step.loss1 < step.loss0 else "step.new_loss_up"


def _update_line(name: str, before: float, lr: float, grad: float, after: float) -> str:
    """w₁ = 1 + 0.01×40 = 1.4: θ₁ = θ₀ − λ·g written with the sign worked out."""
    sign = "+" if grad < 0 else "−"
    return f"{name}₁ = {num(before)} {sign} {num(lr)}×{num(abs(grad))} = {num(after)}"


def _first_step_vector(result, step, s, m) -> None:
    A, y = an.design(result), result.data.y
    mean, n = result.reduction == "mse", len(y)
    names = an.parameter_names(result)
    s.para(m("step.vector_start"))
    s.math(f"θ₀ = ({', '.join(names)}) = {_vector(step.theta0)}")
    residual = A @ step.theta0 - y
    rows, more = _rows_shown(n)
    lines = []
    d, has_b = result.model.n_features, an.fit_intercept(result)
    for i in rows:
        products = " + ".join(f"{num(t)}×{_paren(a)}" for t, a in zip(step.theta0[:min(d, 5)], A[i, :5]))
        bias = f" {_plus(step.theta0[d])[0]} {num(abs(step.theta0[d]))}" if has_b else ""
        lines.append(f"r{str(i + 1).translate(SUB)} = {products}{' + …' if d > 5 else ''}{bias} "
                     f"{_minus(y[i])[0]} {num(abs(y[i]))} = {num(residual[i])}")
    if more:
        lines.append(f"…  ({m('step.rows', n=n)})")
    s.math(*lines)
    s.para(m("step.vector_loss"))
    squares = [f"({num(residual[i])})²" for i in rows]
    s.math(f"Loss(θ₀) = {_sum(squares, more, n, mean, m)} = {num(step.loss0)}",
           f"∇Loss(θ₀) = {'(2/n)' if mean else '2'}·Aᵀr = {_vector(step.gradient0)}")
    s.para(m("step.update", lr=num(result.lr)))
    s.math(f"θ₁ = θ₀ − {num(result.lr)}×∇Loss(θ₀) = {_vector(step.theta1)}",
           f"Loss(θ₁) = {num(step.loss1)}")
    s.para(m(_went(step), before=num(step.loss0), after=num(step.loss1)))


# --- 3. chosen iterations -------------------------------------------------------------------

def iteration_table(result, m) -> Section:
    h, names = result.history, an.parameter_names(result)
    s = Section(m("table.title"))
    s.para(m("table.intro", n=result.n_iter))
    show = names if len(names) <= 3 else names[:3]
    header = ["k", "Loss", *show] + ([f"∂Loss/∂{p}" for p in names] if len(names) <= 3 else ["‖∇Loss‖"])
    rows = []
    for k in an.chosen_iterations(h):
        i = an.index_of(h, k)
        theta, grad = h.theta[i], h.gradient[i]
        grads = [num(g, 6) for g in grad] if len(names) <= 3 else [num(float(np.linalg.norm(grad)), 6)]
        rows.append([str(k), num(h.loss[i], 8), *(num(t, 8) for t in theta[:len(show)]), *grads])
    s.table(header, rows)
    return s


# --- 4. the result --------------------------------------------------------------------------

def outcome(result, m, test=None) -> Section:
    names = an.parameter_names(result)
    s = Section(m("result.title"))
    s.para(m(STOP_KEYS[result.stop_reason], n=result.n_iter))
    theta = result.model.theta
    s.math(*[f"{p} = {float(t)!r}" for p, t in zip(names, theta)], f"Loss = {num(result.loss)}")
    if test is not None:
        x_test, y_test = test
        prediction = result.model.predict(x_test)
        s.para(m("result.test"))
        s.math(*[f"f({', '.join(num(v) for v in np.atleast_1d(x))}) = {float(pred)!r}   (y = {num(t)}, "
                 f"(f − y)² = {num((pred - t) ** 2, 6)})"
                 for x, pred, t in zip(np.asarray(x_test, dtype=float).tolist(), prediction, y_test)])
    if result.theta_exact is None:
        return s
    from gradfit.outputs.explain import why

    why.not_converged(result, s, m)
    optimum = result.theta_exact
    s.para(m("result.optimum"))
    lines = [f"{p}* = {num(t)}    |{p} − {p}*| = {num(abs(a - t), 6)}" for p, a, t in zip(names, theta, optimum)]
    lines.append(f"Loss* = {num(result.loss_exact)}    Loss − Loss* = {num(result.loss - result.loss_exact, 6)}")
    s.math(*lines)
    return s


# --- 5. the learning rate -------------------------------------------------------------------

def learning_rate(result, m, compare: bool = True) -> Section:
    s = Section(m("lr.title"))
    stable = result.stable_lr
    s.para(m("lr.bound"))
    lr = an.lesson_lr(result)
    if result.optimizer == "preconditioned":
        s.para(m("lr.preconditioned", lr=num(lr)))
    s.math(f"h_max = {num(result.lambda_max, 6)}    2/h_max ≈ {num(stable, 3)}    "
           f"λ = {num(lr)} = {num(lr / stable, 3)} × 2/h_max")
    from gradfit.outputs.explain import why

    why.bound_derivation(result, s, m)
    if not math.isfinite(stable):
        s.para(m("lr.flat"))
        return s
    if result.diverged:
        s.para(m("lr.this_run", lr=num(result.lr)))
        return s
    if not compare:
        return s
    from gradfit.outputs import compare   # the one extra run of an explanation, on purpose

    above = compare.rate_just_above(stable)
    run = compare.rerun(result, above)
    s.para(m("lr.above", lr=num(above)))
    h = run.history
    picks = [k for k in an.chosen_iterations(h) if k <= 3 or k >= 10]
    s.table(["k", "Loss", *an.parameter_names(result)[:3]],
            [[str(k), num(h.loss[an.index_of(h, k)], 6), *(num(t, 6) for t in h.theta[an.index_of(h, k)][:3])]
             for k in picks])
    key = "lr.diverged" if run.diverged else "lr.not_diverged"
    s.para(m(key, n=run.n_iter, loss0=num(h.loss[0], 6), loss=num(h.loss[-1], 4)))
    return s


# --- 6. autograd ----------------------------------------------------------------------------

def autograd(result, m) -> Section:
    s = Section(m("autograd.title"))
    by_autograd = an.autograd_gradient(result)
    if by_autograd is None:
        s.para(m("autograd.missing"))
        return s
    by_hand = an.first_step(result).gradient0
    s.para(m("autograd.intro"))
    s.table([m("autograd.parameter"), m("autograd.hand"), m("autograd.torch"), m("autograd.difference")],
            [[f"∂Loss/∂{p}", num(h), num(t), num(abs(h - t), 3)]
             for p, h, t in zip(an.parameter_names(result), by_hand, by_autograd)])
    agree = np.allclose(by_hand, by_autograd, rtol=1e-9, atol=1e-9 * max(1.0, float(np.abs(by_hand).max())))
    s.para(m("autograd.agree" if agree else "autograd.disagree"))
    return s

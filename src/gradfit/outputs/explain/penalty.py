"""What the penalty does, with the run's own numbers: the objective written out, ridge's shrinkage in the
Hessian's eigenbasis, the kink of |w| and the soft-threshold step of one actual iteration, which
coefficients are exactly 0 and why, and the coefficients along a path of α.

The objective is scikit-learn's, 1/(2n)·‖y − Xw − b‖² + α·ρ·‖w‖₁ + α·(1 − ρ)/2·‖w‖² (ρ = l1_ratio), which
gradfit's Loss holds multiplied by c = ``Loss.penalty_factor`` (2 for "mse", 2n for "sse"): the penalty
terms of the Loss are τⱼ·|wⱼ| and ½·κⱼ·wⱼ² with τⱼ = c·α·ρ·uⱼ, κⱼ = c·α·(1 − ρ)·uⱼ² (uⱼ = 1 on the given
scale, sⱼ on the standardized one). The numbers here are computed from the data and the result; the
unpenalized optimum and the path come from ``gradfit.outputs.compare`` (extra fits, on purpose).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradfit.outputs.explain import analysis as an
from gradfit.outputs.explain.document import Section

PATH_ROWS = 7   # α values shown in the path's table


def num(x: float, digits: int = 8) -> str:
    x = float(x)
    return f"{0.0 if x == 0 else x:.{digits}g}"


def soft_threshold(z, t):
    """S(z, t) = sign(z)·max(|z| − t, 0): the proximal step of t·|·|."""
    z = np.asarray(z, dtype=np.float64)
    return np.sign(z) * np.maximum(np.abs(z) - t, 0.0)


@dataclass(frozen=True)
class Terms:
    """The penalty of a run in gradfit's Loss: c, uⱼ, τ (L1 thresholds) and κ (L2 curvatures) per parameter."""

    c: float
    u: np.ndarray
    tau: np.ndarray       # one per parameter, 0 at the intercept
    kappa: np.ndarray

    def value(self, theta) -> tuple[float, float]:
        theta = np.asarray(theta, dtype=np.float64)
        return float(self.tau @ np.abs(theta)), float(0.5 * (self.kappa * theta) @ theta)


def terms(result) -> Terms:
    """The run's penalty terms on the given scale (``result.problem.terms_original``)."""
    problem = result.problem
    return Terms(problem.loss.penalty_factor(problem.n_rows), an.penalty_weights(result),
                 problem.terms_original.threshold, problem.terms_original.curvature)


def smooth_gradient(result, theta) -> np.ndarray:
    """∇ of the data part of the run's Loss at θ (without the penalty)."""
    data, spec = an.require_data(result), result.loss_spec
    X = np.asarray(data.X, dtype=np.float64)
    return spec.gradient(X, spec.residual(X, np.asarray(data.y, dtype=np.float64), np.asarray(theta, dtype=np.float64)))


def data_loss(result, theta) -> float:
    return an.loss_at(result, theta)


# --- the shrinkage of ridge (the L2 part) ---------------------------------------------------------

@dataclass(frozen=True)
class Shrinkage:
    h: np.ndarray          # eigenvalues of the data part's Hessian in w (the intercept profiled out), z = u∘w
    kappa: float           # the L2 curvature c·α·(1 − ρ)
    factor: np.ndarray     # hᵢ/(hᵢ + κ)
    along_ols: np.ndarray  # vᵢᵀ(u∘w_ls)
    along_fit: np.ndarray  # vᵢᵀ(u∘w) of this run
    predicted: np.ndarray  # w = u⁻¹∘Σ factorᵢ·along_olsᵢ·vᵢ
    w_ls: np.ndarray


def shrinkage(result, theta_ls) -> Shrinkage:
    """Ridge's w in the eigenbasis of the data part's Hessian: each component of the least-squares w times
    hᵢ/(hᵢ + κ). With an intercept the columns are centred first (b is not penalized, so it takes the means)."""
    data, spec = an.require_data(result), result.loss_spec
    X = np.asarray(data.X, dtype=np.float64)
    d = X.shape[1]
    weight = spec.sample_weight
    if spec.fit_intercept:
        X = X - np.average(X, axis=0, weights=weight)
    sw = np.ones(len(X)) if weight is None else np.asarray(weight, dtype=np.float64)
    t = terms(result)
    Z = X / t.u
    H = 2 * spec.scale(len(X)) * (Z * sw[:, None]).T @ Z
    h, V = np.linalg.eigh(H)
    kappa = float(t.c * spec.penalty.l2)
    factor = h / (h + kappa)
    w_ls = np.asarray(theta_ls[:d], dtype=np.float64)
    along_ols = V.T @ (t.u * w_ls)
    along_fit = V.T @ (t.u * np.asarray(result.model.theta[:d], dtype=np.float64))
    predicted = (V @ (factor * along_ols)) / t.u
    return Shrinkage(h, kappa, factor, along_ols, along_fit, predicted, w_ls)


# --- the soft-threshold step (the L1 part) -------------------------------------------------------

@dataclass(frozen=True)
class ThresholdStep:
    k: int
    theta: np.ndarray     # θ_k
    gradient: np.ndarray  # ∇f(θ_k), the smooth part (with the L2 part's κ∘θ)
    z: np.ndarray         # θ_k − λ·∇f(θ_k)
    t: np.ndarray         # λ·τ
    step: np.ndarray      # S(z, λτ)
    recorded: np.ndarray | None   # θ_{k+1} as the run recorded it (None: not recorded, or not an ISTA step)
    of_run: bool          # the step is one of this run's (ISTA on the given parameters), not one from the result


def ista_run(result) -> bool:
    """Did the run take ISTA's steps θ ← S(θ − λ∇f(θ), λτ) on the parameters as given (so its history holds them)?"""
    return an.plain_gradient_descent(result) and not result.standardized


def threshold_step(result) -> ThresholdStep:
    """One iteration of this run: the first recorded k whose step sets a moving coefficient to exactly 0 (the
    threshold at work), else the first step. On a run that did not take ISTA's steps (FISTA, standardized
    descent) the step is ISTA's from the result, which the optimum leaves where it is."""
    h, tm = result.history, terms(result)
    lr = float(result.lr)
    t = lr * tm.tau
    if ista_run(result) and len(h) > 1:   # ISTA's steps are the run's: any recorded θ_k gives its next one
        chosen = next((i for i in range(len(h) - 1)
                       if np.any((np.abs(z := np.asarray(h.theta[i]) - lr * np.asarray(h.gradient[i])) <= t)
                                 & (z != 0) & (tm.tau > 0))), 0)
        theta, grad = np.asarray(h.theta[chosen], dtype=np.float64), np.asarray(h.gradient[chosen], dtype=np.float64)
        z = theta - lr * grad
        following = h.iteration[chosen + 1] == h.iteration[chosen] + 1
        return ThresholdStep(h.iteration[chosen], theta, grad, z, t, soft_threshold(z, t),
                             np.asarray(h.theta[chosen + 1], dtype=np.float64) if following else None, True)
    theta = np.asarray(result.model.theta, dtype=np.float64)
    grad = smooth_gradient(result, theta) + tm.kappa * theta
    z = theta - lr * grad
    return ThresholdStep(result.n_iter, theta, grad, z, t, soft_threshold(z, t), None, False)


@dataclass(frozen=True)
class ZeroCheck:
    w: np.ndarray
    gradient: np.ndarray   # ∂f/∂wⱼ at the result (the data part; the L2 part is κⱼ·wⱼ, 0 where wⱼ = 0)
    tau: np.ndarray
    zero: np.ndarray       # wⱼ == 0 exactly
    holds: np.ndarray      # the optimality condition of wⱼ: |∂f/∂wⱼ| ≤ τⱼ at 0, ∂f/∂wⱼ + κⱼwⱼ = −τⱼ·sign(wⱼ) else


def zero_check(result, rtol: float = 1e-4) -> ZeroCheck:
    tm = terms(result)
    d = result.model.n_features
    theta = np.asarray(result.model.theta, dtype=np.float64)
    grad = (smooth_gradient(result, theta) + tm.kappa * theta)[:d]
    w, tau = theta[:d], tm.tau[:d]
    zero = w == 0
    slack = rtol * np.maximum(tau, np.abs(grad).max(initial=0.0))
    holds = np.where(zero, np.abs(grad) <= tau + slack, np.abs(grad + tau * np.sign(w)) <= slack)
    return ZeroCheck(w, grad, tau, zero, holds)


# --- the section ---------------------------------------------------------------------------------

def section(result, m, compare: bool = True) -> Section | None:
    """"What the penalty does", or None for a run without a penalty (or on Huber's loss)."""
    spec = result.loss_spec
    p = spec.penalty
    if not p.active or spec.huber is not None:
        return None
    s = Section(m("pen.title"))
    _objective(result, s, m)
    if p.l2 > 0 and p.l1 == 0:
        _shrinkage(result, s, m)
    elif p.l2 > 0:
        s.para(m("pen.enet_l2", kappa=num(terms(result).c * p.l2)))
    if p.l1 > 0:
        _kink(result, s, m)
        _zeros(result, s, m)
    if compare:
        _path(result, s, m)
    return s


def _objective(result, s: Section, m) -> None:
    spec, data = result.loss_spec, an.require_data(result)
    p, n = spec.penalty, len(data.y)
    tm = terms(result)
    s.para(m("pen.objective", kind=p.kind.value, alpha=num(p.alpha), ratio=num(p.l1_ratio)))
    b = " − b" if spec.fit_intercept else ""
    s.math(f"1/(2n)·‖y − Xw{b}‖² + α·ρ·‖w‖₁ + α·(1 − ρ)/2·‖w‖²    (α = {num(p.alpha)}, ρ = {num(p.l1_ratio)}, "
           f"n = {n})",
           tex=[rf"\frac{{1}}{{2n}}\lVert y - Xw{' - b' if spec.fit_intercept else ''}\rVert^2 + \alpha\rho\,\lVert w\rVert_1 + "
                rf"\frac{{\alpha(1-\rho)}}{{2}}\lVert w\rVert_2^2"])
    data_part = "Σᵢ rᵢ²" if spec.is_sum else "(1/n)·Σᵢ rᵢ²"
    if spec.sample_weight is not None:
        data_part = "Σᵢ sᵢrᵢ²" if spec.is_sum else "(1/Σsᵢ)·Σᵢ sᵢrᵢ²"
    s.para(m("pen.factor", c=num(tm.c)))
    theta = np.asarray(result.model.theta, dtype=np.float64)
    l1, l2 = tm.value(theta)
    f = data_loss(result, theta)
    parts = [f"{num(f)}"] + ([f"{num(l1)}"] if spec.penalty.l1 > 0 else []) + ([f"{num(l2)}"] if spec.penalty.l2 > 0 else [])
    s.math(f"Loss = {data_part} + c·α·ρ·Σⱼ|wⱼ| + c·α·(1 − ρ)/2·Σⱼ wⱼ²    (c = {num(tm.c)}; "
           f"τ = c·α·ρ = {num(tm.c * p.l1)}, κ = c·α·(1 − ρ) = {num(tm.c * p.l2)})",
           f"Loss(θ) = {' + '.join(parts)} = {num(f + l1 + l2)}    ({m('pen.run_loss')}: {num(result.loss)})")
    if p.scale == "standardized":
        s.para(m("pen.standardized_scale"))
        s.math("u = " + _vector(tm.u))
    if spec.fit_intercept:
        s.para(m("pen.intercept"))


def _vector(values) -> str:
    values = list(values)
    return "(" + ", ".join(num(v, 6) for v in values[:8]) + (", …" if len(values) > 8 else "") + ")"


def _shrinkage(result, s: Section, m) -> None:
    from gradfit.outputs import compare   # the least-squares fit beside the run, on purpose

    theta_ls = compare.unpenalized(result)
    if theta_ls is None:
        s.para(m("pen.no_ls"))
        return
    sh = shrinkage(result, theta_ls)
    d = result.model.n_features
    names = an.parameter_names(result)[:d]
    s.para(m("pen.shrink_intro", kappa=num(sh.kappa)))
    s.math("H·vᵢ = hᵢ·vᵢ   (H = ∇²f);    w(κ) = Σᵢ hᵢ/(hᵢ + κ)·(vᵢᵀw_ls)·vᵢ",
           tex=[r"w(\kappa) = \sum_i \frac{h_i}{h_i + \kappa}\,(v_i^\top w_{\mathrm{ls}})\,v_i"])
    s.table(["i", "hᵢ", "hᵢ/(hᵢ + κ)", "vᵢᵀw_ls", m("pen.times_factor"), m("pen.this_run")],
            [[str(i + 1), num(h, 6), num(f, 6), num(a, 6), num(f * a, 6), num(b, 6)]
             for i, (h, f, a, b) in enumerate(zip(sh.h, sh.factor, sh.along_ols, sh.along_fit))][:12])
    s.para(m("pen.shrink_coefs"))
    w = np.asarray(result.model.theta[:d], dtype=np.float64)
    s.table([m("pen.parameter"), "w_ls", m("pen.from_factors"), m("pen.this_run"), "w / w_ls"],
            [[name, num(a, 6), num(pr, 6), num(b, 6), num(b / a, 4) if a != 0 else "—"]
             for name, a, pr, b in zip(names, sh.w_ls, sh.predicted, w)][:12])
    gap = float(np.max(np.abs(sh.predicted - w)))
    s.para(m("pen.shrink_check", gap=num(gap, 3), most=num(sh.factor.min(), 4), least=num(sh.factor.max(), 4)))


def _kink(result, s: Section, m) -> None:
    p = result.loss_spec.penalty
    tm = terms(result)
    s.para(m("pen.kink"))
    s.math("d|w|/dw = −1 (w < 0),  +1 (w > 0);  ∂|w|(0) = [−1, 1]",
           "S(z, t) = sign(z)·max(|z| − t, 0)",
           f"θ_(k+1) = S(θ_k − λ·∇f(θ_k), λ·τ),   λ·τ = {num(result.lr)} × {num(tm.c * p.l1)} = "
           f"{num(result.lr * tm.c * p.l1)}")
    step = threshold_step(result)
    names = an.parameter_names(result)
    if step.of_run:
        s.para(m("pen.step_of_run", k=step.k, k1=step.k + 1))
    else:
        s.para(m("pen.step_standardized" if result.standardized else "pen.step_at_result",
                 optimizer=result.optimizer))
    header = [m("pen.parameter"), "θ_k", "∇f(θ_k)", "z = θ_k − λ∇f", "λτ", "S(z, λτ)"]
    if step.recorded is not None:
        header.append("θ_(k+1)")
    rows = []
    for j, name in enumerate(names):
        row = [name, num(step.theta[j]), num(step.gradient[j]), num(step.z[j]), num(step.t[j]), num(step.step[j])]
        if step.recorded is not None:
            row.append(num(step.recorded[j]))
        rows.append(row)
    s.table(header, rows[:12])
    cut = [names[j] for j in range(len(names)) if step.t[j] > 0 and abs(step.z[j]) <= step.t[j] and step.z[j] != 0]
    if cut:
        s.para(m("pen.step_cut", names=", ".join(cut)))
    if step.recorded is not None:
        s.para(m("pen.step_agrees", gap=num(float(np.max(np.abs(step.step - step.recorded))), 3)))


def _zeros(result, s: Section, m) -> None:
    zc = zero_check(result)
    d = len(zc.w)
    names = an.parameter_names(result)[:d]
    s.para(m("pen.zero_rule"))
    s.math("wⱼ = 0  ⇔  |∂f/∂wⱼ| ≤ τⱼ;    wⱼ ≠ 0  ⇒  ∂f/∂wⱼ = −τⱼ·sign(wⱼ)")
    status = lambda j: m("pen.is_zero" if zc.zero[j] else "pen.nonzero") + ("" if zc.holds[j] else " " + m("pen.not_yet"))  # noqa: E731
    s.table([m("pen.parameter"), "wⱼ", "∂f/∂wⱼ", "τⱼ", m("pen.status")],
            [[names[j], num(zc.w[j]), num(zc.gradient[j], 6), num(zc.tau[j], 6), status(j)] for j in range(d)][:16])
    zeros = [names[j] for j in range(d) if zc.zero[j]]
    s.para(m("pen.zero_count", k=len(zeros), d=d, names=", ".join(zeros) if zeros else "—"))


def _path(result, s: Section, m) -> None:
    from gradfit.outputs import compare   # fits along α, on purpose

    path = compare.penalty_path(result)
    if path is None:
        return
    alphas, thetas = path
    d = result.model.n_features
    names = an.parameter_names(result)[:d]
    s.para(m("pen.path", alpha=num(result.loss_spec.penalty.alpha)))
    picks = np.unique(np.linspace(0, len(alphas) - 1, PATH_ROWS).round().astype(int))
    shown = names[:6]
    s.table(["α", m("pen.nonzero_count"), *shown],
            [[num(alphas[i], 4), str(int(np.count_nonzero(np.abs(thetas[i, :d]) > 0))),
              *(num(v, 5) for v in thetas[i, :len(shown)])] for i in picks])

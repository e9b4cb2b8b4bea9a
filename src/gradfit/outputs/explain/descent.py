"""The steps of ``gradfit descend`` (gradient descent on a plain function), as a document."""

from __future__ import annotations

from gradfit.outputs.explain.document import Document, Section
from gradfit.messages import check_lang, message
from gradfit.outputs.explain.format import num


def _point(values, digits: int = 10) -> str:
    values = [num(v, digits) for v in values]
    return values[0] if len(values) == 1 else "(" + ", ".join(values) + ")"


def descent_document(path, lang: str = "en") -> Document:
    """Function, gradient formula, update rule, the first step by hand, then every step."""
    m = lambda key, **kw: message(key, check_lang(lang), **kw)  # noqa: E731
    f = path.function
    one = len(f.variables) == 1
    names = ", ".join(f.variables)
    s = Section(m("descend.steps"))
    s.math(m("descend.function", vars=names, expr=str(f.expr)),
           m("descend.gradient", formulas="   ".join(
               (f"f'({names}) = {g}" if one else f"∂f/∂{v} = {g}") for v, g in zip(f.variables, f.gradient))),
           m("descend.update", vars=names if one else f"({names})", lr=num(path.lr), start=_point(path.points[0])))
    if len(path.points) > 1:
        vars1 = f.variables[0] + "₁" if one else "(" + ", ".join(v + "₁" for v in f.variables) + ")"
        x0, g0, x1 = path.points[0], path.gradients[0], path.points[1]
        s.math(f"{vars1} = {_point(x0)} − {num(path.lr)}×{_point(g0)} = {_point(x1)},   "
               f"f = {num(path.values[1])}")
    header = ["k", *f.variables, "f"] + (["f'"] if one else [f"∂f/∂{v}" for v in f.variables])
    rows = [[str(k), *(num(v) for v in p), num(value), *(num(g) for g in grad)]
            for k, (p, value, grad) in enumerate(zip(path.points, path.values, path.gradients))]
    s.table(header, rows)
    key = {"steps": "descend.stop_steps", "diverged": "descend.stop_diverged",
           "undefined": "descend.stop_undefined"}[path.stop_reason]
    s.para(m(key, n=path.steps, value=num(path.values[-1])))
    why = divergence_reason(path, m)
    if why:
        s.para(why)
    return Document(f"gradfit descend: f({names}) = {f.text}", [s], lang)


def divergence_reason(path, m) -> str | None:
    """Why a warm-up that grew diverged: |1 − λ·f''(x)| > 1 (for x², f'' = 2: the bound λ < 1)."""
    import math

    import numpy as np

    from gradfit.warmup import curvature

    finite = [v for v in path.values if math.isfinite(v)]
    grew = path.stop_reason == "diverged" or (len(finite) > 1 and finite[-1] > finite[0])
    if not grew or path.stop_reason == "undefined":
        return None
    x0 = path.points[0]
    H = curvature(path.function, x0)
    if not np.isfinite(H).all():
        return None
    at = _point(x0)
    if len(x0) == 1:
        h = float(H[0, 0])
        if h <= 0:
            return m("descend.no_minimum", at=at, curv=num(h))
        factor = 1 - path.lr * h
        if abs(factor) <= 1:
            return None
        return m("descend.diverges", at=at, curv=num(h), lr=num(path.lr), factor=num(factor), bound=num(2 / h))
    h = np.linalg.eigvalsh((H + H.T) / 2)
    if h[0] <= 0:
        return m("descend.no_minimum", at=at, curv=num(float(h[0])))
    factor = 1 - path.lr * float(h[-1])
    if abs(factor) <= 1:
        return None
    return m("descend.diverges_many", curv=num(float(h[-1])), factor=num(factor), bound=num(2 / float(h[-1])))

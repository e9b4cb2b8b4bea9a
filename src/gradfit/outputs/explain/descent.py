"""The steps of ``gradfit descend`` (gradient descent on a plain function), as a document."""

from __future__ import annotations

from gradfit.outputs.explain.document import Document, Section
from gradfit.messages import check_lang, message
from gradfit.outputs.explain.sections import num


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
    return Document(f"gradfit descend: f({names}) = {f.text}", [s], lang)

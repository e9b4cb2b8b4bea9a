"""Rendering runs the way the tutorial does by hand: formulas, then the run's own numbers.

>>> import gradfit
>>> r = gradfit.fit([1, 2, 3], [3, 5, 7], lr=0.01, iters=1000, tol=None, init=(1, 0), loss="sse", engine="python")
>>> "= 29" in gradfit.explain(r, compare=False).text()
True
"""

from __future__ import annotations

from gradfit.messages import MESSAGES, check_lang, message  # noqa: F401  (check_lang is public here)


def short(x: float) -> str:
    """A number as a learner writes it by hand: 1.4, −40, 12.9612 (10 significant digits)."""
    return f"{x:.10g}"


class Explanation:
    """An explanation of a run, renderable as text, rich text, Markdown or HTML (and in Jupyter)."""

    def __init__(self, document):
        self.document = document

    def text(self) -> str:
        from gradfit.outputs.explain.document import to_text

        return to_text(self.document)

    def markdown(self) -> str:
        from gradfit.outputs.explain.document import to_markdown

        return to_markdown(self.document)

    def html(self, full_page: bool = True) -> str:
        from gradfit.outputs.explain.document import to_html_fragment, to_html_page

        return to_html_page(self.document) if full_page else to_html_fragment(self.document)

    def print(self, console=None) -> None:
        """Print with rich (colours, boxed tables) on ``console`` (default: stdout)."""
        from rich.console import Console

        from gradfit.outputs.explain.document import to_rich

        to_rich(self.document, console or Console())

    def render(self, format: str = "text") -> str:
        renderers = {"text": self.text, "markdown": self.markdown, "html": self.html}
        if format not in renderers:
            from gradfit.errors import ConfigError

            raise ConfigError(f"Unknown format {format!r} (--format); choose one of: text, markdown, html.")
        return renderers[format]()

    def _repr_html_(self) -> str:
        from gradfit.outputs.explain.document import STYLE

        return f"<style>{STYLE}</style>" + self.html(full_page=False)

    def __str__(self) -> str:
        return self.text()


def explain(result, *, lang: str = "en", test=None, compare: bool = True, code: bool = False) -> Explanation:
    """Explain a ``FitResult`` step by step: derivation, first step with numbers, iterations,
    result against the exact optimum, the largest stable learning rate (``compare=True`` runs the
    same fit just above it, on purpose, to show it diverge) and PyTorch's autograd check.

    Then why: the bound derived in the Hessian's eigenbasis, the condition number and the iterations
    it costs (before and after standardizing), momentum, and questions to check yourself; with
    ``code=True`` the plain-Python and PyTorch programs that reproduce this run.

    ``test`` is an optional ``(X_test, y_test)`` pair to show predictions for.
    """
    from gradfit.outputs.explain.sections import build

    return Explanation(build(result, check_lang(lang), test=test, compare=compare, code=code))


def render_demo(result, dataset, figure_path=None, lang: str = "en") -> str:
    """The tutorial's walk-through for a run on one of its data sets (one feature, intercept)."""
    h = result.history
    (w0, b0), (gw, gb) = h.theta[0], h.gradient[0]
    w1, b1 = h.theta[1]
    w, b = result.model.weights[0], result.model.bias
    [x_test], [y_test] = dataset.x_test, dataset.y_test
    prediction = float(result.model.predict([x_test])[0])
    m = lambda key, **kw: message(key, check_lang(lang), **kw)  # noqa: E731
    lr = short(result.lr)
    lines = [
        m("demo.title", name=m(f"dataset.{dataset.name}") if f"dataset.{dataset.name}" in MESSAGES["en"]
          else dataset.name), "",
        m("demo.data", x_train=dataset.x_train, y_train=dataset.y_train, x_test=dataset.x_test,
          y_test=dataset.y_test),
        m("demo.model"),
        m("demo.loss", n=len(dataset.x_train)),
        m("demo.gradient"),
        m("demo.update", lr=lr, w0=short(w0), b0=short(b0)), "",
        m("demo.first_step"),
        m("demo.loss0", w0=short(w0), b0=short(b0), loss0=short(h.loss[0])),
        m("demo.grad0", gw=short(gw), gb=short(gb)),
        m("demo.w1", w0=short(w0), lr=lr, gw=short(gw), w1=short(w1)),
        m("demo.b1", b0=short(b0), lr=lr, gb=short(gb), b1=short(b1)),
        m("demo.loss1", w1=short(w1), b1=short(b1), loss1=short(h.loss[1])), "",
        m("demo.after", iters=result.n_iter),
        m("demo.final_w", w=repr(w)),
        m("demo.final_b", b=repr(b)),
        m("demo.final_loss", loss=f"{result.loss:.6g}"), "",
        m("demo.test"),
        m("demo.prediction", x=x_test, y=y_test, prediction=repr(prediction),
          loss=f"{(prediction - y_test) ** 2:.6g}"),
    ]
    if figure_path is not None:
        lines += ["", m("demo.figure", path=figure_path)]
    return "\n".join(lines)

"""A ``FitResult`` as a small table, for Jupyter (``FitResult._repr_html_``)."""

from __future__ import annotations


def result_html(result) -> str:
    """A FitResult as a small HTML table (Jupyter's ``_repr_html_``), names escaped."""
    import html

    from gradfit.outputs.explain.analysis import parameter_names

    rows = [(name, repr(float(value))) for name, value in zip(parameter_names(result), result.model.theta)]
    rows += [("Loss", f"{result.loss:.10g}"), ("iterations", str(result.n_iter)),
             ("stopped", result.stop_reason), ("learning rate λ", f"{result.lr:.6g}"),
             ("2/h_max", f"{result.stable_lr:.6g}"), ("engine", result.engine), ("loss", result.loss_spec.name)]
    rows += [(key.upper() if key != "r2" else "R²", f"{value:.6g}") for key, value in result.metrics.items()]
    body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:right'>"
                   f"{html.escape(v)}</td></tr>" for k, v in rows)
    return (f"<div><strong>FitResult</strong> — {html.escape(str(result.model))}<table>{body}</table>"
            "<small>gradfit.explain(result) explains it step by step.</small></div>")

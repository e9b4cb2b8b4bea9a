"""The message catalogue: every sentence a learner reads, keyed, one table per language."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "demo.title": "gradfit demo: the tutorial, replayed (data set: {name})",
        "demo.data": "Data       train x = {x_train}, y = {y_train};  test x = {x_test}, y = {y_test}",
        "demo.model": "Model      f(x) = w·x + b",
        "demo.loss": "Loss       Loss(w, b) = Σᵢ (w·xᵢ + b − yᵢ)²   (a sum over the {n} training rows)",
        "demo.gradient": "Gradient   ∂Loss/∂w = Σᵢ 2(w·xᵢ + b − yᵢ)·xᵢ     ∂Loss/∂b = Σᵢ 2(w·xᵢ + b − yᵢ)",
        "demo.update": "Update     w ← w − λ·∂Loss/∂w,  b ← b − λ·∂Loss/∂b     with λ = {lr}, w₀ = {w0}, b₀ = {b0}",
        "demo.first_step": "First step",
        "demo.loss0": "  Loss({w0}, {b0}) = {loss0}",
        "demo.grad0": "  ∂Loss/∂w = {gw},  ∂Loss/∂b = {gb}",
        "demo.w1": "  w₁ = w₀ − λ·∂Loss/∂w = {w0} − {lr} × ({gw}) = {w1}",
        "demo.b1": "  b₁ = b₀ − λ·∂Loss/∂b = {b0} − {lr} × ({gb}) = {b1}",
        "demo.loss1": "  Loss(w₁, b₁) = Loss({w1}, {b1}) = {loss1}",
        "demo.after": "After {iters} iterations",
        "demo.final_w": "  w = {w}",
        "demo.final_b": "  b = {b}",
        "demo.final_loss": "  Loss(w, b) = {loss}",
        "demo.test": "Test row",
        "demo.prediction": "  f({x}) = {prediction}   (target {y}; loss (f({x}) − {y})² = {loss})",
        "demo.figure": "Figure written to {path}",
    },
}


def message(key: str, lang: str = "en", **values) -> str:
    """The catalogue entry ``key`` in ``lang``, filled with ``values``."""
    return MESSAGES[lang][key].format(**values)

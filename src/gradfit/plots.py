"""Figures with matplotlib, headless-safe: no pyplot, no display, one Figure per call."""

from __future__ import annotations

from pathlib import Path

import numpy as np

WIDTH_IN, HEIGHT_IN, DPI = 6.4, 4.8, 100   # 640 × 480 pixels


def _figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path) -> Path:
    """Write the figure as PNG atomically (a temporary file renamed over the target)."""
    import io

    from gradfit.persist import atomic_write_bytes

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def tutorial_figure(model, x_train, y_train, x_test=(), y_test=(), *, xlim=(0, 5), ylim=(0, 10)):
    """The tutorial's figure: grid on, training points blue, test points red, fitted line black."""
    fig = _figure()
    ax = fig.add_subplot()
    ax.grid(True)
    ax.scatter(x_train, y_train, c="blue", label="training data", zorder=3)
    if len(x_test):
        ax.scatter(x_test, y_test, c="red", label="test data", zorder=3)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    xs = np.linspace(xlim[0], xlim[1], 200)
    ax.plot(xs, model.predict(xs), c="black", label=f"f(x) = {model.weights[0]:.4g}·x + {model.bias:.4g}")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(loc="upper left")
    return fig

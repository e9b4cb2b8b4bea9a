"""Figures with matplotlib, headless-safe: no pyplot, no display, one Figure per call.

Labels come from the catalogue in the caller's language (``lang="zh"``); Chinese is drawn with a
CJK font when one is installed (Debian: fonts-noto-cjk), found even if matplotlib's font cache
predates it, as a fallback after DejaVu Sans (which keeps the maths symbols).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from gradfit.messages import message

WIDTH_IN, HEIGHT_IN, DPI = 6.4, 4.8, 100   # 640 × 480 pixels
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei",
                "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC")
CJK_FILE_PATTERNS = ("NotoSansCJK*-Regular.tt*", "NotoSansCJK*-Regular.otf", "SourceHanSans*-Regular.*", "wqy-*.tt*")
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts", "/Library/Fonts",
             "/System/Library/Fonts", "C:/Windows/Fonts")


@functools.cache
def cjk_family() -> str | None:
    """The family name of an installed CJK font, or None."""
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in known:
            return family
    for directory in FONT_DIRS:   # installed after matplotlib built its font cache
        root = Path(directory).expanduser()
        if not root.is_dir():
            continue
        for pattern in CJK_FILE_PATTERNS:
            for path in sorted(root.rglob(pattern)):
                try:
                    font_manager.fontManager.addfont(str(path))
                    return font_manager.FontProperties(fname=str(path)).get_name()
                except (OSError, RuntimeError, ValueError):
                    continue
    return None


def _fonts():
    """DejaVu Sans, then a CJK font where there is one, for the figure being built or saved."""
    import matplotlib

    family = cjk_family()
    return matplotlib.rc_context({"font.family": ["DejaVu Sans"] + ([family] if family else [])})


def _with_fonts(function):
    @functools.wraps(function)
    def wrapped(*args, **kwargs):
        with _fonts():
            return function(*args, **kwargs)

    return wrapped


def _figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


@_with_fonts
def save_figure(fig, path) -> Path:
    """Write the figure as PNG atomically (a temporary file renamed over the target)."""
    import io

    from gradfit.atomic import write_bytes

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    write_bytes(path, buffer.getvalue())
    return Path(path)


@_with_fonts
def tutorial_figure(model, x_train, y_train, x_test=(), y_test=(), *, xlim=(0, 5), ylim=(0, 10), lang: str = "en"):
    """The tutorial's figure: grid on, training points blue, test points red, fitted line black."""
    fig = _figure()
    ax = fig.add_subplot()
    ax.grid(True)
    ax.scatter(x_train, y_train, c="blue", label=message("plot.training", lang), zorder=3)
    if len(x_test):
        ax.scatter(x_test, y_test, c="red", label=message("plot.test", lang), zorder=3)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    xs = np.linspace(xlim[0], xlim[1], 200)
    ax.plot(xs, model.predict(xs), c="black", label=f"f(x) = {model.weights[0]:.4g}·x + {model.bias:.4g}")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(loc="upper left")
    return fig


# --- a fit's loss: curve, contours, surface -------------------------------------------------

@_with_fonts
def loss_curve(result, title: str | None = None, lang: str = "en"):
    """Loss against iteration on a log scale: a straight line down means a constant rate."""
    h = result.history
    fig = _figure()
    ax = fig.add_subplot()
    ax.grid(True, which="both", alpha=0.4)
    loss = np.asarray(h.loss, dtype=float)
    finite = np.isfinite(loss)
    floor = max(np.finfo(float).tiny, 1e-16 * float(loss[finite].max())) if finite.any() else 1.0
    ax.semilogy(np.asarray(h.iteration)[finite], np.clip(loss[finite], floor, None), c="black")
    ax.set_xlabel(message("plot.iteration", lang))
    ax.set_ylabel(message("plot.loss_log", lang))
    ax.set_title(message("plot.loss_title", lang) if title is None else title)
    return fig


def _loss_plane(result, points: int = 80):
    """The loss over the two parameters that moved most (the others held at the result)."""
    from gradfit.outputs.explain import analysis as an

    i, j = an.moving_pair(result)
    names = an.parameter_names(result)
    path = np.array(result.history.theta)
    finite = np.isfinite(path).all(axis=1)
    path = path[finite]
    optimum = an.exact_optimum(result)
    u = np.linspace(*an.plane_limits(path[:, i], optimum[i]), points)
    v = np.linspace(*an.plane_limits(path[:, j], optimum[j]), points)
    U, V = np.meshgrid(u, v)
    Z = an.QuadraticLoss(result).on_plane(result.model.theta, i, j, U, V)
    return (names[i], names[j]), (U, V, Z), path[:, [i, j]], optimum[[i, j]]


@_with_fonts
def loss_contours(result, lang: str = "en"):
    """Contours of the loss over (w, b) with the descent path and the exact optimum marked."""
    (ni, nj), (U, V, Z), path, optimum = _loss_plane(result)
    fig = _figure()
    ax = fig.add_subplot()
    levels = np.geomspace(max(Z.min(), 1e-12 * Z.max(), np.finfo(float).tiny), Z.max(), 25)
    contour = ax.contour(U, V, Z, levels=levels, cmap="viridis", linewidths=0.8)
    fig.colorbar(contour, ax=ax, label=message("plot.loss", lang), format="%.3g")
    ax.plot(path[:, 0], path[:, 1], "-o", c="tab:red", ms=2.5, lw=1, label=message("plot.path", lang))
    ax.plot(*path[0], "s", c="tab:red", ms=7, label=message("plot.start", lang))
    ax.plot(*optimum, "*", c="gold", mec="black", ms=14, label=message("plot.optimum", lang))
    ax.set_xlabel(ni)
    ax.set_ylabel(nj)
    ax.legend(loc="best", fontsize="small")
    return fig


@_with_fonts
def loss_surface(result, lang: str = "en"):
    """The loss as a 3-D surface over (w, b), the descent path drawn on it."""
    (ni, nj), (U, V, Z), path, optimum = _loss_plane(result, points=50)
    from gradfit.outputs.explain import analysis as an

    i, j = an.moving_pair(result)
    quadratic = an.QuadraticLoss(result)
    path_loss = quadratic.on_plane(result.model.theta, i, j, path[:, 0], path[:, 1])
    fig = _figure()
    ax = fig.add_subplot(projection="3d")
    ax.plot_surface(U, V, Z, cmap="viridis", alpha=0.6, linewidth=0)
    ax.plot(path[:, 0], path[:, 1], path_loss, "-o", c="tab:red", ms=2, lw=1, label=message("plot.path", lang))
    ax.scatter(*optimum, quadratic.on_plane(result.model.theta, i, j, *optimum), c="gold", s=60,
               edgecolors="black", depthshade=False, label=message("plot.optimum", lang))
    ax.set_xlabel(ni)
    ax.set_ylabel(nj)
    ax.set_zlabel(message("plot.loss", lang))
    ax.legend(loc="upper right", fontsize="small")
    return fig


@_with_fonts
def fit_figure(result, lang: str = "en"):
    """One feature: the data and the fitted line. Several: predicted against target."""
    data = result.data
    if result.model.n_features == 1:
        x = data.X[:, 0]
        pad = 0.1 * (x.max() - x.min() or 1.0)
        ypad = 0.1 * (data.y.max() - data.y.min() or 1.0)
        return tutorial_figure(result.model, x, data.y, xlim=(x.min() - pad, x.max() + pad),
                               ylim=(data.y.min() - ypad, data.y.max() + ypad), lang=lang)
    fig = _figure()
    ax = fig.add_subplot()
    predicted = result.model.predict(data.X)
    ax.grid(True)
    ax.scatter(data.y, predicted, s=8, c="blue")
    lo, hi = float(min(data.y.min(), predicted.min())), float(max(data.y.max(), predicted.max()))
    ax.plot([lo, hi], [lo, hi], c="black", lw=1)
    ax.set_xlabel(message("plot.target", lang, name=data.target_name))
    ax.set_ylabel(message("plot.predicted", lang))
    return fig


def penalty_path_of(result):
    """(α, θ(α)) of a penalized run in memory, from ``gradfit.outputs.compare`` (fits along α, on purpose); or None."""
    p = result.loss_spec.penalty
    if not (p.active and result.in_memory and result.loss_spec.huber is None):
        return None
    from gradfit.outputs import compare

    return compare.penalty_path(result)


@_with_fonts
def coefficient_path(result, lang: str = "en", path=None):
    """Each coefficient against α on a log axis (large α on the left falls to 0 on the right's least squares),
    with this run's α marked and its coefficients as dots."""
    path = penalty_path_of(result) if path is None else path
    if path is None:
        return None
    alphas, thetas = path
    d = result.model.n_features
    names = result.model.feature_names
    fig = _figure()
    ax = fig.add_subplot()
    ax.grid(True, which="both", alpha=0.4)
    alpha = result.loss_spec.penalty.alpha
    for j in range(d):
        line, = ax.semilogx(alphas, thetas[:, j], label=str(names[j]) if d <= 12 else None)
        ax.plot([alpha], [result.model.weights[j]], "o", c=line.get_color(), ms=4)
    ax.axvline(alpha, c="black", ls="--", lw=1, label=message("plots.path_run", lang))
    ax.axhline(0, c="grey", lw=0.8)
    ax.set_xlabel(message("plots.path_x", lang))
    ax.set_ylabel(message("plots.path_y", lang))
    ax.set_title(message("plots.path_title", lang, kind=result.loss_spec.penalty.kind.value))
    ax.legend(fontsize="small", loc="best")
    return fig


def save_fit_plots(result, directory, prefix: str = "fit", lang: str = "en") -> list[Path]:
    """All figures of a run, as PNGs in ``directory``: fit, loss curve, contours and 3-D surface; a penalized
    run also its coefficient path over α (``{prefix}-path.png``).

    A run on data not in memory (files read in chunks, Dask) gets its loss curve only: the other
    figures draw every row; the loss surface needs θ* as well."""
    directory = Path(directory)
    figures = {"loss": lambda: loss_curve(result, lang=lang)}
    if result.in_memory:
        figures = {"fit": lambda: fit_figure(result, lang)} | figures
    if result.in_memory and result.theta_exact is not None and len(result.history.theta[0]) >= 2:
        figures |= {"contours": lambda: loss_contours(result, lang), "surface": lambda: loss_surface(result, lang)}
    if result.in_memory and result.loss_spec.penalty.active \
            and result.loss_spec.huber is None and result.loss_spec.sample_weight is None:
        figures |= {"path": lambda: coefficient_path(result, lang)}
    return [save_figure(make(), directory / f"{prefix}-{name}.png") for name, make in figures.items()]


# --- a function's descent (gradfit descend) -------------------------------------------------

def _finite_points(path) -> np.ndarray:
    points = np.array(path.points, dtype=float)
    return points[np.isfinite(points).all(axis=1) & np.isfinite(path.values)]


@_with_fonts
def function_curve(path, lang: str = "en"):
    """f(x) with the steps of the descent on it (one variable), as the tutorial draws it."""
    points = _finite_points(path)[:, 0]
    lo, hi = _limits(points)
    xs = np.linspace(lo, hi, 400)
    fig = _figure()
    ax = fig.add_subplot()
    ax.grid(True)
    ax.plot(xs, path.function.grid(xs), c="black", label=f"f(x) = {path.function.text}")
    ax.plot(points, path.function.grid(points), "-o", c="tab:red", ms=4, lw=1, label=message("plot.steps", lang))
    ax.set_xlabel(path.function.variables[0])
    ax.set_ylabel("f")
    ax.legend(loc="best")
    return fig


def _limits(values, margin: float = 0.3) -> tuple[float, float]:
    lo, hi = float(np.min(values)), float(np.max(values))
    span = hi - lo or max(abs(hi), 1.0)
    return lo - margin * span, hi + margin * span


def _function_plane(path, points: int = 80):
    pts = _finite_points(path)
    U, V = np.meshgrid(np.linspace(*_limits(pts[:, 0]), points), np.linspace(*_limits(pts[:, 1]), points))
    return pts, U, V, path.function.grid(U, V)


@_with_fonts
def function_contours(path):
    """Contours of f(x, y) with the descent path (two variables)."""
    pts, U, V, Z = _function_plane(path)
    fig = _figure()
    ax = fig.add_subplot()
    contour = ax.contour(U, V, Z, levels=20, cmap="viridis", linewidths=0.8)
    fig.colorbar(contour, ax=ax, label="f")
    ax.plot(pts[:, 0], pts[:, 1], "-o", c="tab:red", ms=3, lw=1)
    ax.set_xlabel(path.function.variables[0])
    ax.set_ylabel(path.function.variables[1])
    ax.set_title(f"f = {path.function.text}")
    return fig


@_with_fonts
def function_surface(path):
    """f(x, y) as a 3-D surface, the descent path on it."""
    pts, U, V, Z = _function_plane(path, points=50)
    fig = _figure()
    ax = fig.add_subplot(projection="3d")
    ax.plot_surface(U, V, Z, cmap="viridis", alpha=0.6, linewidth=0)
    ax.plot(pts[:, 0], pts[:, 1], path.function.grid(pts[:, 0], pts[:, 1]), "-o", c="tab:red", ms=3, lw=1)
    ax.set_xlabel(path.function.variables[0])
    ax.set_ylabel(path.function.variables[1])
    ax.set_zlabel("f")
    return fig


def save_descend_plots(path, directory, lang: str = "en") -> list[Path]:
    """The curve with the steps (one variable) or contours and surface (two); nothing for more."""
    directory = Path(directory)
    n = len(path.function.variables)
    if n == 1:
        return [save_figure(function_curve(path, lang), directory / "descend-curve.png")]
    if n == 2:
        return [save_figure(function_contours(path), directory / "descend-contours.png"),
                save_figure(function_surface(path), directory / "descend-surface.png")]
    return []

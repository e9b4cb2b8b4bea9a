"""The HTML report: one self-contained file that works offline.

Everything is inside the file: plotly's JavaScript, the styles, the data (as JSON in a
``<script type="application/json">``) and a short script that draws the charts. Nothing is
fetched from any network. Text that came from the user (file and column names) is escaped
for HTML, and the JSON escapes ``<``, ``>`` and ``&`` so it cannot end its script element.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np

from gradfit.errors import missing_extra
from gradfit.messages import check_lang, message
from gradfit.outputs import compare
from gradfit.outputs.explain import analysis as an

MAX_FRAMES = 120        # slider positions
MAX_POINTS = 500        # data points drawn
RATE_FRACTIONS = (0.1, 0.5, 0.9)   # of 2/h_max; a fourth rate just above it diverges
RATE_ITERS = 150

STYLE = """
body { font-family: system-ui, sans-serif, "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC",
  "Microsoft YaHei", "WenQuanYi Micro Hei"; margin: 1.5rem auto; max-width: 72rem; padding: 0 1rem; color: #222; }
.row { display: flex; flex-wrap: wrap; gap: 1rem; }
.chart { flex: 1 1 30rem; min-height: 380px; }
.controls { display: flex; align-items: center; gap: .8rem; margin: .5rem 0; }
.controls input[type=range] { flex: 1; }
#iteration-label { font-variant-numeric: tabular-nums; min-width: 24rem; }
.play-controls { display: grid; grid-template-columns: max-content 1fr max-content; gap: .4rem .8rem; align-items: center; }
.play-value { font-variant-numeric: tabular-nums; min-width: 16rem; }
#play-status.diverges { color: #b00020; font-weight: bold; }
#play-status.converges { color: #1b5e20; }
"""
PLAY_STEPS = (20, 300)   # the playground's iterations: the run's own count, within these bounds
PLAY_MAX_PARAMETERS = 60   # beyond, the Hessian would swell the file: no playground


def _plotly_js() -> str:
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        raise missing_extra("plotly", "learn") from None
    return get_plotlyjs()


def _finite(values) -> list:
    """JSON has no NaN or infinity: they become null (a gap in the chart)."""
    return [float(v) if math.isfinite(v) else None for v in np.asarray(values, dtype=float).ravel()]


def _frames(history) -> list[int]:
    """Indices into the history for the slider: every iteration up to a point, then log-spaced."""
    n = len(history)
    if n <= MAX_FRAMES:
        return list(range(n))
    chosen = np.unique(np.concatenate([np.arange(20), np.geomspace(20, n - 1, MAX_FRAMES - 20)]).astype(int))
    return [int(i) for i in chosen]


def _subsample(n: int) -> np.ndarray:
    return np.arange(n) if n <= MAX_POINTS else np.linspace(0, n - 1, MAX_POINTS).astype(int)


def report_data(result, lang: str = "en", test=None) -> dict:
    """Everything the report's charts draw, as plain JSON-able data."""
    data = an.require_data(result)
    h, names = result.history, an.parameter_names(result)
    m = lambda key, **kw: html.escape(message(key, lang, **kw))  # noqa: E731  (plotly renders entities)
    rows = _subsample(data.n_rows)
    frames = [{"k": h.iteration[i], "loss": _finite([h.loss[i]])[0], "theta": _finite(h.theta[i])}
              for i in _frames(h)]
    payload = {
        "names": [html.escape(n) for n in names],
        "n_features": result.model.n_features,
        "fit_intercept": result.model.fit_intercept,
        "frames": frames,
        "X": [_finite(row) for row in data.X[rows]],
        "y": _finite(data.y[rows]),
        "x_name": html.escape(data.feature_names[0]), "y_name": html.escape(data.target_name),
        "test": _test_points(result, test),
        "loss": {"iteration": list(h.iteration), "loss": _finite(h.loss)},
        "rates": _rates(result, m),
        "labels": {key: m(f"report.{key}") for key in (
            "slider", "data", "test", "line", "predicted", "actual", "path", "current", "optimum", "loss_curve",
            "rates", "diverged", "play")},
    }
    if len(h.theta[0]) >= 2 and result.theta_exact is not None:
        payload["surface"] = _surface(result)
    payload["path"] = _coefficient_path(result, m)
    payload["play"] = playground(result) if len(h.theta[0]) <= PLAY_MAX_PARAMETERS else None
    payload["labels"] |= {key: m(f"report.{key}") for key in ("lr", "momentum", "steps", "play_path", "converges",
                                                               "diverges")}
    return payload


def playground(result) -> dict:
    """What the sliders need to re-run descent in the browser on this run's quadratic, exactly:
    Loss(θ) = ½θᵀHθ + g₀ᵀθ + L₀, so ∇Loss(θ) = Hθ + g₀ (H the Hessian, g₀ the gradient at θ = 0) — in the
    coordinates the run descended (standardized ones for a standardized run), drawn as θ = M·θ_z."""
    from gradfit.outputs.explain import conditioning as cd

    H, g0, theta0 = cd.descended_quadratic(result)
    M = result.problem.to_original
    quadratic = an.QuadraticLoss(result)
    options = result.options
    mu = float(options.get("momentum") or (0.9 if result.optimizer in ("momentum", "nesterov") else 0.0))
    return {"H": [_finite(row) for row in H], "g0": _finite(g0), "L0": quadratic.s * quadratic.yy,
            "theta0": _finite(theta0), "M": [_finite(row) for row in M], "h": _finite(cd.eigenvalues(H)),
            "lr": float(an.lesson_lr(result)), "momentum": mu, "standardized": bool(result.standardized),
            "steps": int(min(max(result.n_iter, PLAY_STEPS[0]), PLAY_STEPS[1]))}


def _test_points(result, test) -> dict | None:
    """Held-out rows, drawn in red as the tutorial does (one feature only)."""
    if test is None or result.model.n_features != 1:
        return None
    x_test, y_test = test
    return {"x": _finite(np.asarray(x_test, dtype=float)), "y": _finite(y_test)}


def _surface(result, points: int = 60) -> dict:
    i, j = an.moving_pair(result)
    path = np.array(result.history.theta)
    path = path[np.isfinite(path).all(axis=1)]
    optimum = an.exact_optimum(result)
    u = np.linspace(*an.plane_limits(path[:, i], optimum[i]), points)
    v = np.linspace(*an.plane_limits(path[:, j], optimum[j]), points)
    U, V = np.meshgrid(u, v)
    Z = an.QuadraticLoss(result).on_plane(result.model.theta, i, j, U, V)
    return {"i": i, "j": j, "u": _finite(u), "v": _finite(v),
            "z": [_finite(np.log10(np.maximum(row, 1e-300))) for row in Z],
            "optimum": _finite(optimum[[i, j]])}


def _rates(result, m) -> list[dict]:
    """A few learning rates below 2/h_max and one just above it (which diverges)."""
    stable = result.stable_lr
    if not math.isfinite(stable):
        return []
    rates = [f * stable for f in RATE_FRACTIONS] + [compare.rate_just_above(stable)]
    runs = []
    for lr in rates:
        run = compare.rerun(result, float(f"{lr:.3g}"), iters=RATE_ITERS)  # extra runs, on purpose
        label = f"λ = {float(f'{lr:.3g}'):g}" + (f" ({m('report.diverged')})" if run.diverged else "")
        runs.append({"lr": lr, "label": label, "diverged": run.diverged,
                     "iteration": list(run.history.iteration), "loss": _finite(run.history.loss)})
    return runs


def _coefficient_path(result, m) -> dict | None:
    """Each coefficient along α for a penalized run (fits along α from ``compare``, on purpose), as the
    matplotlib figure 'path' draws it; None without a penalty."""
    from gradfit.outputs.plots import penalty_path_of

    path = penalty_path_of(result)
    if path is None:
        return None
    alphas, thetas = path
    d, names = result.model.n_features, result.model.feature_names
    return {"alphas": _finite(alphas), "alpha": float(result.loss_spec.penalty.alpha),
            "weights": _finite(result.model.weights),
            "coefs": [{"name": html.escape(str(names[j])), "values": _finite(thetas[:, j])} for j in range(d)],
            "title": m("plots.path_title", kind=result.loss_spec.penalty.kind.value), "x": m("plots.path_x"),
            "y": m("plots.path_y"), "run": m("plots.path_run")}


def _json_for_script(payload: dict) -> str:
    text = json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def render_report(result, *, lang: str = "en", test=None, source: str = "") -> str:
    """The report as one HTML string."""
    from gradfit.outputs.explain import explain

    lang = check_lang(lang)
    e = html.escape
    m = lambda key, **kw: e(message(key, lang, **kw))  # noqa: E731
    plotly_js = _plotly_js()
    explanation = explain(result, lang=lang, test=test, compare=not result.diverged, code=True).html(full_page=False)
    from gradfit.outputs.explain.document import STYLE as EXPLAIN_STYLE

    frames = len(_frames(result.history))
    has_surface = len(result.history.theta[0]) >= 2
    path_section = (f'<section id="penalty-path"><h2>{m("report.path")}</h2><p>{m("report.path_note")}</p>'
                    '<div id="path-chart" class="chart"></div></section>\n'
                    if result.loss_spec.penalty.active and result.loss_spec.huber is None else "")
    return f"""<!DOCTYPE html>
<html lang="{e(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{m("report.title", source=source or "gradfit")}</title>
<style>{STYLE}{EXPLAIN_STYLE}</style>
<script>{plotly_js}</script>
</head>
<body>
<h1>{m("report.title", source=source or "gradfit")}</h1>
<section id="iterations">
<h2>{m("report.fit")}</h2>
<div class="controls">
<button id="play" type="button">{m("report.play")}</button>
<input id="iteration-slider" type="range" min="0" max="{frames - 1}" value="0" step="1" aria-label="{m("report.slider")}">
<span id="iteration-label"></span>
</div>
<div class="row"><div id="fit-chart" class="chart"></div>{'<div id="surface-chart" class="chart"></div>' if has_surface else ''}</div>
</section>
<section><h2>{m("report.loss_curve")}</h2><div id="loss-chart" class="chart"></div></section>
{path_section}<section><h2>{m("report.rates")}</h2><p>{m("report.rates_note")}</p><div id="rates-chart" class="chart"></div></section>
<section id="playground"><h2>{m("report.play_title")}</h2><p>{m("report.play_note")}</p>
<div class="play-controls">
<label for="play-lr">{m("report.lr")}</label><input id="play-lr" type="range" min="0.01" max="2.5" step="0.005" value="0.5">
<span id="play-lr-value" class="play-value"></span>
<label for="play-mu">{m("report.momentum")}</label><input id="play-mu" type="range" min="0" max="0.99" step="0.01" value="0">
<span id="play-mu-value" class="play-value"></span>
</div>
<p id="play-status" aria-live="polite"></p>
<div class="row"><div id="play-path-chart" class="chart"></div><div id="play-loss-chart" class="chart"></div></div>
</section>
<section id="explanation" aria-label="{m("report.explanation")}">
{explanation}
</section>
<script type="application/json" id="gradfit-data">{_json_for_script(report_data(result, lang, test))}</script>
<script>{APP_JS}</script>
</body>
</html>
"""


def write_report(result, path, *, lang: str = "en", test=None, source: str = "") -> Path:
    """Write the report to ``path`` atomically."""
    from gradfit.atomic import write_text

    write_text(path, render_report(result, lang=lang, test=test, source=source))
    return Path(path)


APP_JS = r"""
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("gradfit-data").textContent);
  const L = D.labels, config = {displaylogo: false, responsive: true};
  // Axes in plain numbers, never SI suffixes (100µ, 1T): exponents as 1e-05, which can be pasted back.
  const AX = {exponentformat: "e", separatethousands: false};
  // plotly writes negative ticks and exponents with U+2212 (1e−5), which --lr refuses: hyphen-minus instead.
  function asciiMinus(root) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode())
      if (node.nodeValue.includes("\u2212")) node.nodeValue = node.nodeValue.replace(/\u2212/g, "-");
  }
  new MutationObserver(records => records.forEach(r => {
    const target = r.target.nodeType === Node.TEXT_NODE ? r.target.parentNode : r.target;
    if (target && target.closest && target.closest(".js-plotly-plot")) asciiMinus(target);
  })).observe(document.body, {subtree: true, childList: true, characterData: true});
  function axis(extra) { return Object.assign({}, AX, extra); }
  const d = D.n_features, margin = {t: 30, r: 20, b: 50, l: 60};

  function predict(theta, row) {            // f(x) = w·x + b
    let total = D.fit_intercept ? theta[d] : 0;
    for (let j = 0; j < d; j++) total += theta[j] * row[j];
    return total;
  }
  const xs = D.X.map(r => r[0]);
  const allX = D.test ? xs.concat(D.test.x) : xs;
  const lo = Math.min(...allX), hi = Math.max(...allX), pad = 0.1 * ((hi - lo) || 1);
  const lineX = d === 1 ? [lo - pad, hi + pad] : null;
  function fitTrace(theta) {
    return d === 1 ? {x: lineX, y: lineX.map(x => predict(theta, [x]))}
                   : {x: D.y, y: D.X.map(r => predict(theta, r))};
  }

  const first = D.frames[0];
  const fitTraces = d === 1
    ? [{x: xs, y: D.y, mode: "markers", name: L.data, marker: {color: "blue", size: 8}},
       Object.assign(fitTrace(first.theta), {mode: "lines", name: L.line, line: {color: "black"}})]
      .concat(D.test ? [{x: D.test.x, y: D.test.y, mode: "markers", name: L.test, marker: {color: "red", size: 8}}] : [])
    : [{x: [Math.min(...D.y), Math.max(...D.y)], y: [Math.min(...D.y), Math.max(...D.y)], mode: "lines",
        name: "y = ŷ", line: {color: "grey", dash: "dot"}},
       Object.assign(fitTrace(first.theta), {mode: "markers", name: L.predicted, marker: {color: "blue", size: 5}})];
  Plotly.newPlot("fit-chart", fitTraces, {margin: margin,
    xaxis: axis({title: {text: d === 1 ? D.x_name : L.actual}}), yaxis: axis({title: {text: d === 1 ? D.y_name : L.predicted}})}, config);

  const S = D.surface;
  if (S) {
    const path = D.frames.map(f => [f.theta[S.i], f.theta[S.j]]);
    Plotly.newPlot("surface-chart", [
      {type: "contour", x: S.u, y: S.v, z: S.z, colorscale: "Viridis", ncontours: 30,
       contours: {coloring: "lines"}, colorbar: {title: {text: "log₁₀ Loss"}, exponentformat: "e"}, name: "Loss"},
      {x: path.map(p => p[0]), y: path.map(p => p[1]), mode: "lines+markers", name: L.path,
       line: {color: "red", width: 1}, marker: {size: 3, color: "red"}},
      {x: [S.optimum[0]], y: [S.optimum[1]], mode: "markers", name: L.optimum,
       marker: {symbol: "star", size: 16, color: "gold", line: {color: "black", width: 1}}},
      {x: [path[0][0]], y: [path[0][1]], mode: "markers", name: L.current,
       marker: {size: 13, color: "red", line: {color: "black", width: 1}}}],
      {margin: margin, showlegend: true, legend: {x: 0, y: 1.15, orientation: "h"},
       xaxis: axis({title: {text: D.names[S.i]}}), yaxis: axis({title: {text: D.names[S.j]}})}, config);
  }

  Plotly.newPlot("loss-chart", [
    {x: D.loss.iteration, y: D.loss.loss, mode: "lines", name: "Loss", line: {color: "black"}},
    {x: [first.k], y: [first.loss], mode: "markers", name: L.current, marker: {size: 10, color: "red"}}],
    {margin: margin, yaxis: axis({type: "log", title: {text: "Loss"}}), xaxis: axis({title: {text: "k"}})}, config);

  Plotly.newPlot("rates-chart", D.rates.map(r => ({x: r.iteration, y: r.loss, mode: "lines", name: r.label,
    line: {dash: r.diverged ? "dash" : "solid"}})),
    {margin: margin, yaxis: axis({type: "log", title: {text: "Loss"}}), xaxis: axis({title: {text: "k"}})}, config);

  if (D.path && document.getElementById("path-chart")) {
    const P = D.path;
    Plotly.newPlot("path-chart", P.coefs.map((c, j) => ({x: P.alphas, y: c.values, mode: "lines", name: c.name}))
      .concat([{x: P.coefs.map(() => P.alpha), y: P.weights, mode: "markers", name: P.run,
                marker: {color: "black", size: 7}}]),
      {margin: Object.assign({}, margin, {t: 50}), title: {text: P.title}, xaxis: axis({type: "log", title: {text: P.x}}),
       yaxis: axis({title: {text: P.y}}),
       shapes: [{type: "line", x0: P.alpha, x1: P.alpha, yref: "paper", y0: 0, y1: 1, line: {dash: "dash", color: "black"}}]},
      config);
  }

  const slider = document.getElementById("iteration-slider");
  const label = document.getElementById("iteration-label");
  function fmt(v) { return v === null ? "—" : Number(v.toPrecision(6)).toString(); }
  function show(index) {
    const f = D.frames[index];
    const params = D.names.map((n, j) => n + " = " + fmt(f.theta[j])).slice(0, 4).join(", ");
    label.textContent = L.slider + " " + f.k + " · Loss = " + fmt(f.loss) + " · " + params;
    document.body.dataset.iteration = String(f.k);
    const t = fitTrace(f.theta);
    Plotly.restyle("fit-chart", {x: [t.x], y: [t.y]}, [1]);
    if (S) Plotly.restyle("surface-chart", {x: [[f.theta[S.i]]], y: [[f.theta[S.j]]]}, [3]);
    Plotly.restyle("loss-chart", {x: [[f.k]], y: [[f.loss]]}, [1]);
  }
  slider.addEventListener("input", () => show(Number(slider.value)));
  let timer = null;
  document.getElementById("play").addEventListener("click", () => {
    if (timer) { clearInterval(timer); timer = null; return; }
    if (Number(slider.value) >= D.frames.length - 1) slider.value = 0;
    timer = setInterval(() => {
      const next = Number(slider.value) + 1;
      if (next >= D.frames.length) { clearInterval(timer); timer = null; return; }
      slider.value = next;
      show(next);
    }, 80);
  });
  show(0);

  // --- the playground: descent re-run live on this run's quadratic --------------------------------
  const P = D.play;
  if (!P) { document.getElementById("playground").hidden = true; return; }
  const n = P.theta0.length, hMax = P.h[P.h.length - 1];
  function gradient(theta) {               // ∇Loss(θ) = Hθ + g₀
    const g = new Array(n);
    for (let i = 0; i < n; i++) {
      let total = P.g0[i];
      for (let j = 0; j < n; j++) total += P.H[i][j] * theta[j];
      g[i] = total;
    }
    return g;
  }
  function lossAt(theta) {                 // ½θᵀHθ + g₀ᵀθ + L₀
    let total = P.L0;
    for (let i = 0; i < n; i++) {
      let row = 0;
      for (let j = 0; j < n; j++) row += P.H[i][j] * theta[j];
      total += 0.5 * theta[i] * row + P.g0[i] * theta[i];
    }
    return Math.max(total, 0);
  }
  // Heavy-ball momentum in PyTorch's convention (v = μ·v + g; θ = θ − λ·v); μ = 0 is plain gradient descent.
  function original(theta) {               // θ = M·θ_z: the parameters on the data's own scale
    if (!P.standardized) return theta;
    return P.M.map(row => row.reduce((total, m, j) => total + m * theta[j], 0));
  }
  function descend(lr, mu, steps) {
    let theta = P.theta0.slice(), v = new Array(n).fill(0);
    const thetas = [original(theta)], losses = [lossAt(theta)];
    for (let k = 1; k <= steps; k++) {
      const g = gradient(theta);
      v = v.map((vi, i) => mu * vi + g[i]);
      theta = theta.map((t, i) => t - lr * v[i]);
      const loss = lossAt(theta);
      thetas.push(original(theta));
      losses.push(loss);
      if (!isFinite(loss) || loss > 1e12 * losses[0]) break;   // blown up, as gradfit stops it
    }
    return {thetas: thetas, losses: losses};
  }
  function factor(lr, mu) {                // the largest |z| of z² − (1 − λh + μ)z + μ = 0 over the eigenvalues h
    let worst = 0;
    for (const h of P.h) {
      const T = 1 - lr * h + mu, disc = T * T - 4 * mu;
      const r = disc >= 0 ? Math.max(Math.abs(T + Math.sqrt(disc)), Math.abs(T - Math.sqrt(disc))) / 2 : Math.sqrt(mu);
      worst = Math.max(worst, r);
    }
    return worst;
  }
  window.gradfitDescend = descend;
  window.gradfitFactor = factor;
  const lrInput = document.getElementById("play-lr"), muInput = document.getElementById("play-mu");
  const bound = 2 / hMax;
  function currentLr() { return Number(lrInput.dataset.exact || Number(lrInput.value) * bound); }
  lrInput.value = String(Math.min(2.5, Math.max(0.01, P.lr / bound)));
  lrInput.dataset.exact = String(P.lr);
  muInput.value = String(P.momentum);
  const pi = S ? S.i : 0, pj = S ? S.j : Math.min(1, n - 1);
  const pathTraces = S ? [
    {type: "contour", x: S.u, y: S.v, z: S.z, colorscale: "Viridis", ncontours: 30, showscale: false,
     contours: {coloring: "lines"}, name: "Loss", hoverinfo: "skip"},
    {x: [], y: [], mode: "lines+markers", name: L.play_path, line: {color: "red", width: 1}, marker: {size: 3, color: "red"}},
    {x: [S.optimum[0]], y: [S.optimum[1]], mode: "markers", name: L.optimum,
     marker: {symbol: "star", size: 14, color: "gold", line: {color: "black", width: 1}}}]
    : [{x: [], y: [], mode: "lines+markers", name: L.play_path, line: {color: "red", width: 1}}];
  const pathLayout = S ? {margin: margin, showlegend: false,
      xaxis: axis({title: {text: D.names[pi]}, range: [S.u[0], S.u[S.u.length - 1]]}),
      yaxis: axis({title: {text: D.names[pj]}, range: [S.v[0], S.v[S.v.length - 1]]})}
    : {margin: margin, showlegend: false, xaxis: axis({title: {text: "k"}}), yaxis: axis({title: {text: D.names[0]}})};
  Plotly.newPlot("play-path-chart", pathTraces, pathLayout, config);
  Plotly.newPlot("play-loss-chart", [{x: [], y: [], mode: "lines", name: "Loss", line: {color: "black"}}],
    {margin: margin, yaxis: axis({type: "log", title: {text: "Loss"}}), xaxis: axis({title: {text: "k"}})}, config);
  function replay() {
    const lr = currentLr(), mu = Number(muInput.value);
    const run = descend(lr, mu, P.steps), rho = factor(lr, mu);
    const ks = run.losses.map((_, k) => k);
    const traceIndex = S ? 1 : 0;
    const xs = S ? run.thetas.map(t => t[pi]) : ks, ys = S ? run.thetas.map(t => t[pj]) : run.thetas.map(t => t[0]);
    Plotly.restyle("play-path-chart", {x: [xs], y: [ys]}, [traceIndex]);
    Plotly.restyle("play-loss-chart", {x: [ks], y: [run.losses.map(v => Math.max(v, 1e-300))]}, [0]);
    document.getElementById("play-lr-value").textContent =
      "λ = " + fmt(lr) + " = " + fmt(lr / bound) + " × 2/h_max";
    document.getElementById("play-mu-value").textContent = "μ = " + fmt(mu) + " · 2(1 + μ)/h_max = " + fmt(2 * (1 + mu) / hMax);
    const status = document.getElementById("play-status");
    const diverges = rho >= 1;
    status.className = diverges ? "diverges" : "converges";
    status.textContent = (diverges ? L.diverges : L.converges) + " · ρ = " + fmt(rho) + " · " + L.steps + " " +
      (run.losses.length - 1) + " · Loss = " + fmt(run.losses[run.losses.length - 1]);
    document.body.dataset.playLr = String(lr);
    document.body.dataset.playMu = String(mu);
    document.body.dataset.playStatus = diverges ? "diverges" : "converges";
  }
  lrInput.addEventListener("input", () => { delete lrInput.dataset.exact; replay(); });
  muInput.addEventListener("input", replay);
  replay();
})();
"""

"""The resolved problem (``gradfit.problem``): one value, read by fit, cv and every output; no import cycle."""

import ast
import importlib
from pathlib import Path

import numpy as np
import pytest

import gradfit
from gradfit.outputs.explain import analysis as an

SRC = Path(gradfit.__file__).parent


def _imports(path: Path, module: str) -> set[str]:
    """(base, base.name) of every import of ``module``, at the top or inside functions (relative ones resolved)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {(a.name, a.name) for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: -node.level] if not path.name == "__init__.py" else \
                    module.split(".")[: len(module.split(".")) - node.level + 1]
                base = ".".join(package + ([base] if base else []))
            found |= {(base, f"{base}.{a.name}") for a in node.names}   # a submodule, else a name of base
    return found


def _graph() -> dict[str, set[str]]:
    modules = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    for path in SRC.rglob("*.so"):     # compiled extensions (gradfit._rules, gradfit.engines._summary)
        parts = path.relative_to(SRC.parent).parts
        modules.setdefault(".".join([*parts[:-1], path.name.split(".")[0]]), None)
    graph = {}
    for name, path in modules.items():
        if path is None:
            graph[name] = set()
            continue
        targets = set()
        for base, full in _imports(path, name):
            imported = full if full in modules else base
            while imported and imported not in modules:       # `import gradfit.x.y` of a name: its module
                imported = imported.rpartition(".")[0]
            if imported.startswith("gradfit") and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_import_graph_has_no_cycle_counting_imports_inside_functions():
    graph = _graph()
    assert "gradfit.problem" in graph and "gradfit.outputs.compare" in graph
    assert _cycles(graph) == []


def test_comparison_runs_import_neither_fit_nor_cv():
    graph = _graph()
    assert not graph["gradfit.outputs.compare"] & {"gradfit.fit", "gradfit.cv"}


def test_the_result_keeps_the_problem_it_solved():
    X = np.column_stack([np.arange(20.0), np.arange(20.0) ** 1.5 % 7])
    y = X @ [0.5, -2.0] + 3.0
    r = gradfit.fit(X, y, penalty="l2", alpha=0.1)
    p = r.problem
    assert p.scaler is not None and r.standardized
    assert p.loss == r.loss_spec and p.lr == r.lr and p.mu == r.lambda_min
    # the Hessian of what was descended includes the L2 term's curvature
    assert np.allclose(p.hessian - p.smooth, np.diag(p.terms.curvature))
    assert p.terms.curvature[:2].min() > 0 and p.terms.curvature[2] == 0      # the bias is never penalized
    assert p.as_dict()["penalty"] == "l2"


def test_fit_and_cv_fit_the_same_model_at_the_same_alpha():
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    c = gradfit.cv(X, y, penalty="l1", alphas=8, folds=3)
    direct = gradfit.fit(X, y, penalty="l1", alpha=c.alpha)
    i = int(np.flatnonzero(c.alphas == c.alpha)[0])
    assert np.allclose(c.coef_path[i], direct.model.theta, rtol=1e-7, atol=1e-7 * np.abs(direct.model.theta).max())
    assert np.allclose(c.result.model.theta, direct.model.theta, rtol=1e-7,
                       atol=1e-7 * np.abs(direct.model.theta).max())


def test_ridge_contours_are_drawn_from_the_penalized_loss_whose_minimum_is_starred():
    """Drift: contours once drew the unpenalized loss around the ridge optimum's star."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 2)) * [1.0, 3.0]
    y = X @ [1.0, -2.0] + 0.5 + rng.normal(scale=0.1, size=30)
    r = gradfit.fit(X, y, penalty="l2", alpha=5)
    star = r.theta_exact
    q = an.QuadraticLoss(r)
    u, v = np.meshgrid(star[0] + np.linspace(-1, 1, 201), star[1] + np.linspace(-1, 1, 201))
    Z = q.on_plane(star, 0, 1, u, v)
    k = np.unravel_index(np.argmin(Z), Z.shape)
    assert abs(u[k] - star[0]) <= 0.011 and abs(v[k] - star[1]) <= 0.011
    # and the drawn loss at the star is the fitted (penalized) loss there
    assert q.on_plane(star, 0, 1, np.array(star[0]), np.array(star[1])) == pytest.approx(r.loss_exact, rel=1e-9)


def test_outputs_read_the_problem_and_refit_no_scaler(monkeypatch):
    from gradfit.data import standardize
    from gradfit.outputs import plots

    X = np.column_stack([np.arange(30.0), (np.arange(30.0) * 7) % 11])
    y = X @ [0.3, -1.0] + 2.0 + np.sin(np.arange(30.0))
    r = gradfit.fit(X, y, penalty="l2", alpha=0.5)

    def refuse(*a, **k):
        raise AssertionError("an output re-derived the scaler or re-ran the fit")

    monkeypatch.setattr(standardize.Standardizer, "fit", classmethod(refuse))
    monkeypatch.setattr(standardize.Standardizer, "from_summary", classmethod(refuse))
    monkeypatch.setattr(importlib.import_module("gradfit.fit"), "fit_data", refuse)
    from gradfit.outputs import compare     # imported before the patch: it binds problem.descend at import

    monkeypatch.setattr(importlib.import_module("gradfit.problem"), "descend", refuse)
    monkeypatch.setattr(compare, "descend", refuse)
    text = gradfit.explain(r, compare=False).text()
    assert "Loss" in text
    from gradfit.outputs.report import playground

    play = playground(r)
    assert np.allclose(play["M"], r.problem.to_original)
    plots.loss_surface(r)


def test_a_default_fit_leaves_the_exact_reference_until_it_is_read(monkeypatch):
    """The preconditioned default certifies its own answer: θ*'s QR pass is paid only by whoever reads it."""
    from gradfit import exact

    calls = []
    solve = exact.solve
    monkeypatch.setattr(exact, "solve", lambda *a, **k: calls.append(1) or solve(*a, **k))
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 3)) * [1.0, 100.0, 0.01] + [5.0, 0.0, 1.0]
    y = X @ [1.0, 0.02, 30.0] + 1.0 + rng.normal(size=200)
    r = gradfit.fit(X, y)
    assert r.optimizer == "preconditioned" and r.converged and calls == []
    assert r.param_gap <= 1e-8 and calls == [1]            # the gaps, on first read
    assert np.allclose(r.theta_exact, solve(X, y, fit_intercept=True), rtol=1e-12, atol=0)
    assert len(r.history.loss_gap) == len(r.history) and calls == [1]

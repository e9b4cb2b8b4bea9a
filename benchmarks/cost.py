"""What a practitioner's call costs, gradfit beside the peer they would otherwise pick, in one process (issue 20).

    python benchmarks/cost.py                       # every section
    python benchmarks/cost.py --section paths --repeat 7

Section ``paths``: L1 and elastic net by coordinate descent on the one-pass summary (``gradfit.coordinate``)
against scikit-learn on scikit-learn's own ground — one ``ElasticNet`` fit, ``lasso_path``/``enet_path`` (100 α,
Gram mode), and ``LassoCV``'s whole fit (5 folds, 100 α; the same folds and α on both sides) — on longley,
diabetes and macrodata as ``tests/real_data.py`` loads them. gradfit's time includes its one pass over the rows
(the summary), the Gram matrix's role on both sides. Both sides stop on the same relative duality gap (``tol``:
scikit-learn's convention, the gap below tol·‖y − ȳ‖²/n) and the coefficients' largest difference is printed
next to each ratio. Every library runs with one BLAS thread; the best of ``--repeat`` interleaved rounds.
"""

from __future__ import annotations

import os

THREADS = os.environ.get("GRADFIT_BENCH_THREADS", "1")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = THREADS

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))       # real_data: the data sets as the tests load them
sys.path.insert(0, str(HERE.parent / "src"))

DATA = ("longley", "diabetes", "macrodata")


def best(functions: dict, repeat: int) -> dict:
    """Best time of each function over ``repeat`` interleaved rounds (a burst of load hits all alike)."""
    times = {name: float("inf") for name in functions}
    values = {}
    for _ in range(repeat):
        for name, function in functions.items():
            start = time.perf_counter()
            values[name] = function()
            times[name] = min(times[name], time.perf_counter() - start)
    return {name: (times[name], values[name]) for name in functions}


def machine() -> str:
    import sklearn

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()}; Python {platform.python_version()}, NumPy "
            f"{np.__version__}, scikit-learn {sklearn.__version__}; {THREADS} BLAS thread(s)")


def paths(repeat: int, tol: float) -> list[tuple]:
    from sklearn.linear_model import ElasticNet, LassoCV, enet_path, lasso_path

    from gradfit import coordinate
    from gradfit.engines.stats import StatsObjective, fold_of, fold_summaries, summarize
    from gradfit.loss import Loss
    from real_data import load

    rows = []
    for name in DATA:
        data = load(name)
        X, y = data.X, data.y
        n = len(y)
        q = coordinate.from_summary(summarize([(X, y)]))
        alpha = 0.05 * coordinate.alpha_max(q, 1.0)            # 5 % of the lasso's α_max, as issue 20 measured
        alphas = coordinate.alpha_grid(q, 1.0, n_alphas=100)
        enet_alphas = coordinate.alpha_grid(q, 0.5, n_alphas=100)

        def ours_one():
            summary = summarize([(X, y)])
            fit = coordinate.path(coordinate.from_summary(summary), [alpha], 0.5, tol=tol, max_iter=10**6)
            return np.append(fit.coefs[0], coordinate.intercept(summary, fit.coefs[0]))

        def theirs_one():
            model = ElasticNet(alpha=alpha, l1_ratio=0.5, tol=tol, max_iter=10**6).fit(X, y)
            return np.append(model.coef_, model.intercept_)

        def ours_path(grid, ratio):
            return lambda: coordinate.path(coordinate.from_summary(summarize([(X, y)])), grid, ratio, tol=tol,
                                           max_iter=10**6).coefs

        def theirs_path(grid, ratio):
            def run():
                Xc, yc = X - X.mean(axis=0), y - y.mean()
                solver = lasso_path if ratio == 1 else enet_path
                extra = {} if ratio == 1 else {"l1_ratio": ratio}
                return solver(Xc, yc, alphas=grid, precompute=True, tol=tol, max_iter=10**6, **extra)[1].T
            return run

        folds = 5
        fold = fold_of(np.arange(n), folds, 0)
        splits = [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(folds)]

        def ours_cv():
            parts = fold_summaries([(X, y)], folds, seed=0)
            total = parts[0]
            for part in parts[1:]:
                total = total.merge(part)
            mse = np.empty((len(alphas), folds))
            for k, part in enumerate(parts):
                training = total.minus(part)
                fit = coordinate.path(coordinate.from_summary(training), alphas, 1.0, tol=tol, max_iter=10**6)
                held_out = StatsObjective(part, Loss("mse"))
                for i, w in enumerate(fit.coefs):
                    mse[i, k] = held_out.loss_and_gradient(np.append(w, coordinate.intercept(training, w)))[0]
            best_alpha = alphas[int(np.argmin(mse.mean(axis=1)))]
            final = coordinate.path(coordinate.from_summary(total), [best_alpha], 1.0, tol=tol, max_iter=10**6)
            return mse, final.coefs[0]

        def theirs_cv():
            model = LassoCV(alphas=alphas, cv=splits, tol=tol, max_iter=10**6).fit(X, y)
            return model.mse_path_, model.coef_

        cells = {
            "ElasticNet (one α, l1_ratio 0.5)": (ours_one, theirs_one),
            "lasso_path (100 α)": (ours_path(alphas, 1.0), theirs_path(alphas, 1.0)),
            "enet_path (100 α, l1_ratio 0.5)": (ours_path(enet_alphas, 0.5), theirs_path(enet_alphas, 0.5)),
        }
        if min(np.bincount(fold, minlength=folds)) > 0:       # longley's 16 rows leave a fold empty
            cells["LassoCV (5 folds, 100 α)"] = (ours_cv, theirs_cv)
        for what, (ours, theirs) in cells.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")          # scikit-learn's ConvergenceWarning: reported as the gap
                timed = best({"gradfit": ours, "peer": theirs}, repeat)
            (t_ours, v_ours), (t_peer, v_peer) = timed["gradfit"], timed["peer"]
            if isinstance(v_ours, tuple):                # cv: the CV errors
                v_ours, v_peer = v_ours[0], v_peer[0]
            difference = float(np.abs(np.asarray(v_ours) - np.asarray(v_peer)).max()
                               / max(np.abs(np.asarray(v_peer)).max(), 1e-300))
            rows.append((f"{name} ({n}×{X.shape[1]})", what, t_ours, t_peer, difference))
    return rows


def table(rows) -> str:
    lines = ["| data | what | gradfit | scikit-learn | ratio | max rel. difference |", "|---|---|---|---|---|---|"]
    for data, what, ours, peer, difference in rows:
        lines.append(f"| {data} | {what} | {ours * 1e3:.2f} ms | {peer * 1e3:.2f} ms | {ours / peer:.3f} | "
                     f"{difference:.1e} |")
    return "\n".join(lines)


def calls(repeat: int, tol: float) -> list[tuple]:
    """The public entry points with their defaults, end to end, beside the peer a user would pick (issue 20's
    table): ``gradfit.fit`` against ``LinearRegression``, ``Ridge`` and ``ElasticNet`` (tol 1e-10), ``gradfit.cv``
    against ``LassoCV`` (5 folds; the folds differ: gradfit draws them by a seeded hash of the row)."""
    from sklearn.linear_model import ElasticNet, LassoCV, LinearRegression, Ridge

    import gradfit
    from real_data import load

    rows = []
    for name in DATA:
        data = load(name)
        X, y = data.X, data.y
        n = len(y)
        top = float(np.max(np.abs((X - X.mean(0)).T @ (y - y.mean())))) / n      # the lasso's α_max
        alpha = 0.05 * top                                                       # as issue 20 measured
        cells = {
            "fit, defaults (least squares)": (lambda: gradfit.fit(X, y).model.theta,
                                              lambda: _theta(LinearRegression().fit(X, y))),
            "fit, ridge α = 5 % α_max": (lambda: gradfit.fit(X, y, penalty="l2", alpha=alpha).model.theta,
                                         lambda: _theta(Ridge(alpha=alpha * n).fit(X, y))),
            "fit, elastic net l1_ratio 0.5": (
                lambda: gradfit.fit(X, y, penalty="elasticnet", alpha=alpha, l1_ratio=0.5).model.theta,
                lambda: _theta(ElasticNet(alpha=alpha, l1_ratio=0.5, tol=tol, max_iter=10**6).fit(X, y))),
        }
        if name != "longley":                 # 16 rows: a fold of 5 may get none
            count = 100 if name == "diabetes" else 30
            cells[f"cv, lasso, 5 folds × {count} α"] = (
                lambda: gradfit.cv(X, y, penalty="l1", folds=5, alphas=count).model.theta,
                lambda: _theta(LassoCV(cv=5, alphas=count).fit(X, y)))
        for what, (ours, theirs) in cells.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                timed = best({"gradfit": ours, "peer": theirs}, repeat)
            (t_ours, v_ours), (t_peer, v_peer) = timed["gradfit"], timed["peer"]
            difference = float(np.abs(v_ours - v_peer).max() / max(np.abs(v_peer).max(), 1e-300))
            rows.append((f"{name} ({n}×{X.shape[1]})", what, t_ours, t_peer, difference))
    return rows


def _theta(model) -> np.ndarray:
    return np.append(model.coef_, model.intercept_)


SECTIONS = {"paths": paths, "calls": calls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--section", choices=sorted(SECTIONS), action="append")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tol", type=float, default=1e-10, help="the relative duality gap both sides stop at")
    args = parser.parse_args()
    print(machine())
    for section in args.section or list(SECTIONS):
        print(f"\n## {section} (tol {args.tol:g}, best of {args.repeat})\n")
        print(table(SECTIONS[section](args.repeat, args.tol)))


if __name__ == "__main__":
    main()

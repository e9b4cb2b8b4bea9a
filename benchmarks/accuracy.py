"""Digits of the exact optimum on ill-conditioned data, by every route gradfit has or could use.

    python benchmarks/accuracy.py            # the digits table (Markdown)
    python benchmarks/accuracy.py --time     # and seconds of exact.solve against lstsq at n = 10⁶, d = 16

Longley (NIST StRD, certified values), Filip-like polynomials of degree 2..10 in x ∈ [−9, −3],
Wampler-4/5-like large-residual problems (certified answer all ones), an exact fit and Longley
with 1e6 added to two columns; every certified answer but NIST's is computed here in exact
rational arithmetic from the float64 data (tests/exact_problems.py). Digits are NIST's log
relative error of the worst coefficient, capped at 17.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from exact_problems import certified_problems, digits, numpy_lstsq, numpy_qr, uneven_blocks  # noqa: E402

from gradfit import exact  # noqa: E402
from gradfit.engines.stats import StatsObjective, qr_factor, solve_equilibrated, solve_triangular, summarize  # noqa: E402


def peers(X, y):
    """θ = [w, b] from scikit-learn's LinearRegression and statsmodels' OLS, where installed."""
    routes = {}
    try:
        from sklearn.linear_model import LinearRegression
        model = LinearRegression().fit(X, y)
        routes["scikit-learn LinearRegression"] = np.append(model.coef_, model.intercept_)
    except ImportError:
        pass
    try:
        import statsmodels.api as sm
        params = sm.OLS(y, sm.add_constant(X, prepend=False)).fit().params
        routes["statsmodels OLS (pinv)"] = np.asarray(params)
    except ImportError:
        pass
    return routes


def methods(X, y):
    """θ* by each route; gradfit's exact solver first."""
    A = np.column_stack([X, np.ones(len(y))])
    objective = StatsObjective.from_arrays(X, y, reduction="sse", fit_intercept=True)
    xbar, ybar = objective.xbar, objective.ybar

    def with_bias(w):
        return np.append(w, ybar - xbar @ w)

    R = qr_factor([(X, y)], summarize([(X, y)]).mean)
    return {
        "exact.solve": exact.solve(X, y),
        "exact.solve_blocks (blocks of 1, 5, 17, 3, 29… rows)": exact.solve_blocks(uneven_blocks(X, y), d=X.shape[1]),
        "numpy QR on [X 1]": numpy_qr(X, y),
        "numpy lstsq on [X 1]": numpy_lstsq(X, y),
        **peers(X, y),
        "plain Gram AᵀA (uncentred)": np.linalg.solve(A.T @ A, A.T @ y),
        "centred co-moments (the one pass)": with_bias(solve_equilibrated(objective.Mxx, objective.Mxy)),
        "TSQR R-factor (second pass)": with_bias(solve_triangular(R[:-1, :-1], R[:-1, -1])),
        "stats engine optimum()": objective.optimum(),
    }, objective.expected_digits()


def digits_table() -> str:
    names, lines = None, []
    for label, X, y, theta_star in certified_problems():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results, expected = methods(X, y)
        if names is None:
            names = list(results)
            lines += ["| data | predicted digits of the one pass | " + " | ".join(names) + " |",
                      "|---" * (len(names) + 2) + "|"]
        cells = " | ".join(f"{digits(results[n], theta_star):.1f}" for n in names)
        lines.append(f"| {label} | {max(expected, 0):.1f} | {cells} |")
    return "\n".join(lines)


def best_of(fn, repeats=3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def timings(n=10 ** 6, d=16) -> str:
    """Seconds (best of 3) of θ* on well-conditioned uncentred data, n × d, with an intercept."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d)) + 3.0
    y = X @ rng.standard_normal(d) + 0.5 + 0.1 * rng.standard_normal(n)
    blocks = exact.QR_BLOCK_ROWS
    routes = {
        "exact.solve": lambda: exact.solve(X, y),
        "exact: the TSQR pass alone": lambda: exact.tsqr(((X[i:i + blocks], y[i:i + blocks])
                                                         for i in range(0, n, blocks)), d, True, None),
        "exact: one refinement pass alone": lambda: exact.gradient(((X[i:i + blocks], y[i:i + blocks])
                                                                   for i in range(0, n, blocks)),
                                                                  (np.zeros(d + 1), np.zeros(d + 1)), True),
        "numpy lstsq on [X 1] (column_stack included)": lambda: numpy_lstsq(X, y),
        "numpy QR on [X 1] (column_stack included)": lambda: numpy_qr(X, y),
    }
    try:
        from sklearn.linear_model import LinearRegression
        routes["scikit-learn LinearRegression"] = lambda: LinearRegression().fit(X, y)
    except ImportError:
        pass
    lines = [f"| θ* at n = {n:.0e}, d = {d} | seconds |", "|---|---|"]
    for name, fn in routes.items():
        lines.append(f"| {name} | {best_of(fn):.3f} |")
    return "\n".join(lines)


def main():
    print(digits_table())
    if "--time" in sys.argv:
        print()
        print(timings())


if __name__ == "__main__":
    main()

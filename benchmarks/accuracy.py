"""Digits of the exact optimum on ill-conditioned data: which one-pass summary to trust.

    python benchmarks/accuracy.py

Longley (NIST StRD, certified values) and Filip-like polynomials of growing degree (the
certified answer computed here in exact rational arithmetic). Digits are NIST's log relative
error of the worst coefficient.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from strd import (LONGLEY_CERTIFIED, LONGLEY_X, LONGLEY_Y, digits, exact_least_squares,  # noqa: E402
                  filip_like)

from gradfit.engines.stats import StatsObjective, qr_factor, solve_equilibrated, solve_triangular, summarize  # noqa: E402


def methods(X, y):
    """θ* by each route; the stats engine's own choice last."""
    A = np.column_stack([X, np.ones(len(y))])
    objective = StatsObjective.from_arrays(X, y, reduction="sse", fit_intercept=True)
    xbar, ybar = objective.xbar, objective.ybar

    def with_bias(w):
        return np.append(w, ybar - xbar @ w)

    R = qr_factor([(X, y)], summarize([(X, y)]).mean)
    return {
        "plain Gram AᵀA (uncentred)": np.linalg.solve(A.T @ A, A.T @ y),
        "centred co-moments (the one pass)": with_bias(solve_equilibrated(objective.Mxx, objective.Mxy)),
        "TSQR R-factor (second pass)": with_bias(solve_triangular(R[:-1, :-1], R[:-1, -1])),
        "numpy lstsq on [X 1]": np.linalg.lstsq(A, y, rcond=None)[0],
        "stats engine optimum()": objective.optimum(),
    }, objective.expected_digits()


def main():
    cases = [("Longley (NIST certified)", LONGLEY_X, LONGLEY_Y, LONGLEY_CERTIFIED)]
    for degree in (4, 6, 7, 8):
        X, y = filip_like(degree=degree)
        cases.append((f"Filip-like, degree {degree}", X, y, exact_least_squares(X, y)))
    names = None
    lines = []
    for label, X, y, exact in cases:
        results, expected = methods(X, y)
        if names is None:
            names = list(results)
            lines += ["| data | predicted digits of the one pass | " + " | ".join(names) + " |",
                      "|---" * (len(names) + 2) + "|"]
        lines.append(f"| {label} | {expected:.1f} | " + " | ".join(f"{digits(results[n], exact):.1f}" for n in names) + " |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

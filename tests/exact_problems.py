"""Least-squares problems whose answers are known exactly (rational arithmetic), for tests/test_exact.py.

Every certified answer here comes from ``fractions.Fraction`` applied to the float64 data as
given, so the number of correct digits of a solver is measured, not guessed. NIST's
Longley, the Filip-like polynomials, ``exact_least_squares`` and the ``digits`` LRE are in
``strd.py``; this adds weights, no intercept, large residuals (Wampler-like), exact fits and
large column means.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np

from strd import LONGLEY_CERTIFIED, LONGLEY_X, LONGLEY_Y, digits, exact_least_squares, filip_like  # noqa: F401


def rational_least_squares(X, y, fit_intercept: bool = True, sample_weight=None) -> list[Fraction]:
    """θ* = [w, b] minimising Σ sᵢ (xᵢ·w + b − yᵢ)², exactly: the normal equations in fractions.

    Raises ``ZeroDivisionError`` when the design is singular (no unique answer).
    """
    X = np.asarray(X, dtype=np.float64).reshape(len(y), -1)
    A = [[Fraction(float(v)) for v in row] + ([Fraction(1)] if fit_intercept else []) for row in X]
    Y = [Fraction(float(v)) for v in y]
    S = [Fraction(1)] * len(Y) if sample_weight is None else [Fraction(float(v)) for v in sample_weight]
    p = len(A[0])
    G = [[sum(s * r[i] * r[j] for s, r in zip(S, A)) for j in range(p)]
         + [sum(s * r[i] * t for s, r, t in zip(S, A, Y))] for i in range(p)]
    for k in range(p):                                   # Gauss–Jordan elimination, exact
        pivot = next((i for i in range(k, p) if G[i][k] != 0), None)
        if pivot is None:
            raise ZeroDivisionError("singular design")
        G[k], G[pivot] = G[pivot], G[k]
        G[k] = [v / G[k][k] for v in G[k]]
        for i in range(p):
            if i != k and G[i][k] != 0:
                G[i] = [a - G[i][k] * b for a, b in zip(G[i], G[k])]
    return [G[i][p] for i in range(p)]


def certified(X, y, fit_intercept: bool = True, sample_weight=None) -> np.ndarray:
    """The exact θ* rounded to float64."""
    return np.array([float(v) for v in rational_least_squares(X, y, fit_intercept, sample_weight)])


def polynomial_columns(x, degree: int) -> np.ndarray:
    return np.column_stack([np.asarray(x, dtype=np.float64) ** k for k in range(1, degree + 1)])


def orthogonal_deviation(x, degree: int) -> list[int]:
    """Integers v with Σᵢ vᵢ·xᵢᵏ = 0 for k = 0..degree: x^(degree+1) minus its exact projection, scaled."""
    xs = [Fraction(int(v)) for v in x]
    basis = []                                            # Gram–Schmidt in fractions
    for k in range(degree + 2):
        v = [t ** k for t in xs]
        for q in basis:
            c = sum(a * b for a, b in zip(v, q)) / sum(b * b for b in q)
            v = [a - c * b for a, b in zip(v, q)]
        basis.append(v)
    v = basis[-1]
    lcm = 1
    for t in v:
        lcm = lcm * t.denominator // np.gcd(lcm, t.denominator)
    ints = [int(t * lcm) for t in v]
    g = 0
    for t in ints:
        g = int(np.gcd(g, abs(t)))
    return [t // g for t in ints]


def wampler_like(size: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NIST Wampler 4/5 style: y = 1 + x + … + x⁵ (x = 0..20) plus a deviation of the given size.

    The deviation is a discrete orthogonal polynomial of degree 6 (integers, exactly orthogonal
    to 1, x, …, x⁵), so the certified answer is all ones while the residual is as large as one
    likes. Every y is an integer below 2⁵³, hence exact in float64.
    """
    x = np.arange(21)
    v = np.array(orthogonal_deviation(x, 5), dtype=np.int64)
    c = max(1, int(size // np.abs(v).max()))
    y = sum(x.astype(np.int64) ** k for k in range(6)) + c * v
    assert np.abs(y).max() < 2 ** 53
    return polynomial_columns(x, 5), y.astype(np.float64), np.ones(6)


def exact_fit() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A cubic in x = −10, −9.5, …, 10 with dyadic coefficients: every y exact, residual 0."""
    x = np.arange(-20, 21) / 2
    X = polynomial_columns(x, 3)
    theta = np.array([0.5, -1.25, 0.375, 3.5])
    y = X @ theta[:3] + theta[3]
    exact = [sum(Fraction(float(a)) * Fraction(float(t)) for a, t in zip(row, theta[:3])) + Fraction(3.5) for row in X]
    assert all(Fraction(float(v)) == e for v, e in zip(y, exact))
    return X, y, theta


def large_means() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Longley with 1e6 added to two columns (GNP deflator, Year): the answer moves to b."""
    X = LONGLEY_X.copy()
    X[:, 0] += 1e6
    X[:, 5] += 1e6
    return X, LONGLEY_Y, certified(X, LONGLEY_Y)


def certified_problems():
    """(name, X, y, θ* certified) with an intercept: the NIST-class problems of the tests and the benchmark."""
    problems = [("Longley (NIST certified)", LONGLEY_X, LONGLEY_Y, LONGLEY_CERTIFIED)]
    for degree in range(2, 11):
        X, y = filip_like(degree=degree)
        problems.append((f"Filip-like, degree {degree}", X, y, exact_least_squares(X, y)))
    for label, size in (("Wampler-4-like (residual ~1e5)", 1e5), ("Wampler-5-like (residual ~1e10)", 1e10)):
        problems.append((label, *wampler_like(size)))
    problems.append(("exact fit (residual 0)", *exact_fit()))
    problems.append(("Longley + 1e6 in two columns", *large_means()))
    return problems


def numpy_qr(X, y, fit_intercept: bool = True) -> np.ndarray:
    """Plain Householder QR (numpy.linalg.qr, LAPACK dgeqrf), then the triangular solve."""
    A = np.column_stack([X, np.ones(len(y))]) if fit_intercept else np.asarray(X)
    Q, R = np.linalg.qr(A)
    return np.linalg.solve(R, Q.T @ y)


def numpy_lstsq(X, y, fit_intercept: bool = True) -> np.ndarray:
    A = np.column_stack([X, np.ones(len(y))]) if fit_intercept else np.asarray(X)
    return np.linalg.lstsq(A, y, rcond=None)[0]


def uneven_blocks(X, y, sizes=(1, 5, 17, 3), rest=29, sample_weight=None):
    """A ``blocks`` callable for solve_blocks: row blocks of the given sizes, then ``rest`` rows at a time."""
    edges = [0]
    for size in itertools.chain(sizes, itertools.repeat(rest)):
        if edges[-1] >= len(y):
            break
        edges.append(min(edges[-1] + size, len(y)))

    def blocks():
        for a, b in zip(edges[:-1], edges[1:]):
            if sample_weight is None:
                yield X[a:b], y[a:b]
            else:
                yield X[a:b], y[a:b], sample_weight[a:b]

    return blocks

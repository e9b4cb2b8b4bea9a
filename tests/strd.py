"""Ill-conditioned regression data with certified answers, for the stats engine's accuracy.

Longley (1967) is the NIST StRD linear-regression data set of that name: 16 rows, six
near-collinear economic series with large means; the certified values are NIST's.
``filip_like`` is a degree-10 polynomial in x ∈ [−9, −3] as in NIST's Filip data; its
certified optimum is computed here in exact rational arithmetic from the float inputs.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

# y (Employed), x1 GNP deflator, x2 GNP, x3 Unemployed, x4 Armed Forces, x5 Population, x6 Year
LONGLEY = np.array([
    [60323, 83.0, 234289, 2356, 1590, 107608, 1947],
    [61122, 88.5, 259426, 2325, 1456, 108632, 1948],
    [60171, 88.2, 258054, 3682, 1616, 109773, 1949],
    [61187, 89.5, 284599, 3351, 1650, 110929, 1950],
    [63221, 96.2, 328975, 2099, 3099, 112075, 1951],
    [63639, 98.1, 346999, 1932, 3594, 113270, 1952],
    [64989, 99.0, 365385, 1870, 3547, 115094, 1953],
    [63761, 100.0, 363112, 3578, 3350, 116219, 1954],
    [66019, 101.2, 397469, 2904, 3048, 117388, 1955],
    [67857, 104.6, 419180, 2822, 2857, 118734, 1956],
    [68169, 108.4, 442769, 2936, 2798, 120445, 1957],
    [66513, 110.8, 444546, 4681, 2637, 121950, 1958],
    [68655, 112.6, 482704, 3813, 2552, 123366, 1959],
    [69564, 114.2, 502601, 3931, 2514, 125368, 1960],
    [69331, 115.7, 518173, 4806, 2572, 127852, 1961],
    [70551, 116.9, 554894, 4007, 2827, 130081, 1962],
], dtype=np.float64)
LONGLEY_X, LONGLEY_Y = LONGLEY[:, 1:], LONGLEY[:, 0]
# Certified [w1, …, w6, b] and R².
LONGLEY_CERTIFIED = np.array([
    15.0618722713733, -0.358191792925910e-01, -2.02022980381683, -1.03322686717359,
    -0.511041056535807e-01, 1829.15146461355, -3482258.63459582,
])
LONGLEY_R2 = 0.995479004577296


def filip_like(n: int = 82, degree: int = 10, seed: int = 0):
    """Polynomial columns x, x², …, x^degree (x ∈ [−9, −3]) and a noisy smooth y."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-9, -3, n))
    X = np.column_stack([x ** k for k in range(1, degree + 1)])
    y = 0.8 + 0.05 * np.sin(x) + 0.002 * rng.standard_normal(n)
    return X, y


def exact_least_squares(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """[w, b] solving the normal equations of [X 1] exactly (fractions), rounded to float."""
    A = [[Fraction(float(v)) for v in row] + [Fraction(1)] for row in X]
    Y = [Fraction(float(v)) for v in y]
    p = len(A[0])
    G = [[sum(r[i] * r[j] for r in A) for j in range(p)] + [sum(r[i] * t for r, t in zip(A, Y))]
         for i in range(p)]
    for k in range(p):                      # Gauss–Jordan elimination, exact
        pivot = next(i for i in range(k, p) if G[i][k] != 0)
        G[k], G[pivot] = G[pivot], G[k]
        G[k] = [v / G[k][k] for v in G[k]]
        for i in range(p):
            if i != k and G[i][k] != 0:
                G[i] = [a - G[i][k] * b for a, b in zip(G[i], G[k])]
    return np.array([float(G[i][p]) for i in range(p)])


def digits(estimate, exact) -> float:
    """Correct significant digits, the log relative error (LRE) that NIST uses; the worst coefficient."""
    estimate, exact = np.asarray(estimate, dtype=float), np.asarray(exact, dtype=float)
    rel = np.abs(estimate - exact) / np.abs(exact)
    return float(np.min(-np.log10(np.maximum(rel, 1e-17))))

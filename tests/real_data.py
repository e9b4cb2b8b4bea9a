"""Real public regression data sets, as gradfit's users meet them: uncentred, collinear, badly scaled.

    >>> from real_data import load, least_squares, relative_error
    >>> d = load("longley")
    >>> d.X.shape, d.target_name
    ((16, 6), 'TOTEMP')

Each set is ``RealData(name, X, y, feature_names, target_name)``, X and y as float64 arrays, used as
they come (no centring, no scaling): that is the point of issue 10. Three sources:

- statsmodels' bundled data (``statsmodels.api.datasets.<name>.load_pandas()``), names ``sm:<name>``
  where they would clash with a JSON file of the same data;
- scikit-learn's diabetes data, *raw* (``load_diabetes(scaled=False)``: ages in years, blood
  pressure in mm Hg, …, not the pre-standardized version);
- the JSON files in ``tests/data/`` (copied from the project's shared ``datasets/`` folder; each file
  names its source: R's ``datasets`` package or statsmodels' CSV files).

The reference optimum θ* = [w…, b] is ``least_squares`` (NumPy's ``lstsq`` on the design [X 1] with
its columns scaled to unit norm, which removes the scaling part of the conditioning);
``tests/test_real_data_defaults.py`` checks it against the exact rational answer on every set.
"""

from __future__ import annotations

import json
import operator
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"


class RealData(NamedTuple):
    name: str
    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    target_name: str


# statsmodels' data sets: name → (target, features); None = every other numeric column.
STATSMODELS = {
    "longley": ("TOTEMP", None),              # employment on GNP deflator, GNP, unemployed, armed forces, population, year
    "stackloss": ("STACKLOSS", None),         # ammonia lost on air flow, water temperature, acid concentration
    "ccard": ("AVGEXP", None),                # card spending on age, income, income², home ownership (0/1)
    "copper": ("WORLDCONSUMPTION", None),     # world copper consumption on prices, income index, inventory, time
    "engel": ("foodexp", ["income"]),         # Engel's law: food expenditure on household income
    # Real investment on the other macro series, levels, with a year trend (the quarter is left out):
    # uncentred (year ≈ 1984 ± 15) and collinear (GDP, consumption, income move together).
    "macrodata": ("realinv", ["year", "realgdp", "realcons", "realgovt", "realdpi", "cpi", "m1", "tbilrate",
                              "unemp", "pop", "infl", "realint"]),
    "scotland": ("YES", None),                # 'yes' vote share on council tax, unemployment, mortality, …, GDP
    "statecrime": ("murder", ["urban", "poverty", "hs_grad", "single"]),   # statsmodels' own example
    # Investment on firm value and capital stock with a fixed effect per firm: the text column `firm`
    # one-hot encoded, the first firm (alphabetically) the baseline; year left out.
    "grunfeld": ("invest", ["value", "capital"]),
}

# JSON files in tests/data: file stem → (target, features); None = every other column.
JSON_SETS = {
    "r_swiss": ("Fertility", None),
    "r_attitude": ("rating", None),
    "r_lifecyclesavings": ("sr", None),
    "r_stackloss": ("stack.loss", None),
    "r_trees": ("log_Volume", ["log_Girth", "log_Height"]),   # log(Volume) ~ log(Girth) + log(Height)
    "sm_longley": ("TOTEMP", None),
    "r_cars": ("dist", ["speed"]),
    "sm_macro_ols": ("g_realinv", ["g_realgdp", "L_realint"]),
    "r_formaldehyde": ("optden", ["carb"]),
    "r_plantweight": ("weight", ["groupTrt"]),   # lm(weight ~ group): groupCtl = 1 − groupTrt is the intercept's
}

# Every data set, and the optional package it needs (None: only the JSON files here).
SOURCES: dict[str, str | None] = (
    {name: "statsmodels" for name in STATSMODELS} | {"diabetes": "sklearn"} | {name: None for name in JSON_SETS}
)
NAMES = tuple(SOURCES)


def load(name: str) -> RealData:
    """One data set by name (``NAMES``); statsmodels or scikit-learn is imported only when needed."""
    if name in STATSMODELS:
        return _statsmodels(name)
    if name == "diabetes":
        return _diabetes()
    if name in JSON_SETS:
        return _json(name)
    raise KeyError(f"unknown data set {name!r}; the data sets are: {', '.join(NAMES)}")


def load_all(names=NAMES) -> list[RealData]:
    return [load(name) for name in names]


def _frame_to_data(name: str, frame, target: str, features) -> RealData:
    features = [c for c in frame.columns if c != target] if features is None else list(features)
    X = frame[features].to_numpy(dtype=np.float64)
    y = frame[target].to_numpy(dtype=np.float64)
    return RealData(name, np.ascontiguousarray(X), y, tuple(map(str, features)), str(target))


def _statsmodels(name: str) -> RealData:
    import pandas as pd
    import statsmodels.api as sm

    frame = getattr(sm.datasets, name).load_pandas().data
    target, features = STATSMODELS[name]
    if name == "grunfeld":
        firms = pd.get_dummies(frame["firm"].astype(str).str.replace(" ", "_"), prefix="firm", drop_first=True,
                               dtype=np.float64)
        frame = pd.concat([frame[[target, *features]], firms], axis=1)
        features = [*features, *firms.columns]
    return _frame_to_data(name, frame, target, features)


def _diabetes() -> RealData:
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes(scaled=False)     # raw units; the default is standardized already
    return RealData("diabetes", np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target, dtype=np.float64),
                    tuple(bunch.feature_names), "progression")


def _json(name: str) -> RealData:
    doc = json.loads((DATA_DIR / f"{name}.json").read_text(encoding="utf-8"))
    columns = {k: np.asarray(v, dtype=np.float64) for k, v in doc["columns"].items()}
    if name == "r_trees":
        columns = {f"log_{k}": np.log(v) for k, v in columns.items()}
    target, features = JSON_SETS[name]
    features = [c for c in columns if c != target] if features is None else features
    X = np.column_stack([columns[c] for c in features])
    return RealData(name, X, columns[target], tuple(features), target)


def least_squares(X, y) -> np.ndarray:
    """θ* = [w…, b] minimising ‖[X 1]θ − y‖², by ``numpy.linalg.lstsq`` on [X 1] with unit-norm columns.

    Scaling the columns first (θ = D⁻¹·lstsq(A·D⁻¹, y), D the column norms) takes the bad scaling out
    of the condition number, so the reference keeps the digits that the collinearity alone allows.
    """
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    A = np.column_stack([X, np.ones(len(y))])
    norms = np.linalg.norm(A, axis=0)
    norms[norms == 0] = 1.0
    solution, *_ = np.linalg.lstsq(A / norms, y, rcond=None)
    return solution / norms


def relative_error(theta, reference) -> float:
    """max |θ − θ*| / max |θ*|: issue 10's measure (relative, max-norm)."""
    theta, reference = np.asarray(theta, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    return float(np.max(np.abs(theta - reference)) / np.max(np.abs(reference)))


def relative_gap(theta, reference) -> float:
    """‖θ − θ*‖₂ / ‖θ‖₂: the quantity that a fit's certified ``gap_bound`` bounds."""
    theta, reference = np.asarray(theta, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    return float(np.linalg.norm(theta - reference) / np.linalg.norm(theta))


def exact_optimum(X, y) -> np.ndarray:
    """θ* = [w…, b] of the float data, exact: the normal equations of [X 1] in integer and rational arithmetic,
    solved exactly and rounded once. Fast enough for 10⁴ rows (the Gram matrix is built from Python ints).

    Used where ``least_squares`` cannot be trusted to the digits asked for (condition numbers near 1e8).
    """
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    columns = [_as_integers(c) for c in (*X.T, np.ones(len(y)), y)]      # value = integer · 2**exponent
    p = len(columns) - 1

    def dot(i: int, j: int) -> Fraction:
        (a, ea), (b, eb) = columns[i], columns[j]
        return Fraction(sum(map(operator.mul, a, b))) * Fraction(2) ** (ea + eb)

    G = [[dot(i, j) for j in range(p)] + [dot(i, p)] for i in range(p)]   # [AᵀA | Aᵀy]
    for k in range(p):                        # Gauss–Jordan elimination, exact
        pivot = next(i for i in range(k, p) if G[i][k] != 0)
        G[k], G[pivot] = G[pivot], G[k]
        G[k] = [v / G[k][k] for v in G[k]]
        for i in range(p):
            if i != k and G[i][k] != 0:
                G[i] = [a - G[i][k] * b for a, b in zip(G[i], G[k])]
    return np.array([float(G[i][p]) for i in range(p)])


def _as_integers(column: np.ndarray) -> tuple[list[int], int]:
    """The float column as Python integers N and one exponent E with column = N · 2**E, exactly."""
    mantissa, exponent = np.frexp(column)
    mantissa = (mantissa * 2.0 ** 53).astype(np.int64)          # exact: |mantissa| < 2⁵³
    exponent = exponent.astype(np.int64) - 53
    nonzero = mantissa != 0
    base = int(exponent[nonzero].min()) if nonzero.any() else 0
    return [int(m) << int(e - base) if m else 0 for m, e in zip(mantissa, exponent)], base

"""Data in: lists, arrays, frames and files become validated float arrays, once, at the edge.

Every problem is reported as a ``DataError`` that names the file, column, row or value and
says what to do; nothing past this module checks the data again.
"""

from __future__ import annotations

import decimal
import math
import numbers
from dataclasses import dataclass, replace

import numpy as np

from gradfit.errors import DataError

MIN_ROWS = 2
# The largest magnitude a value may have: fitting squares the data (sums of x², x·y over the rows), and
# float64 overflows at 1.8e308, so |v| ≤ 1e150 leaves room for 1e8 rows of squares.
MAX_ABS = 1e150
SHOWN_CHARS = 80     # a message quotes at most this much of a cell
ONE_TARGET = ("gradfit fits one target at a time; fit one model per column of y "
              "(for example [gradfit.fit(X, y[:, j]) for j in range(y.shape[1])]).")


def default_feature_names(d: int) -> tuple[str, ...]:
    """``x`` for one feature (as in the tutorial), ``x1 … xd`` for several."""
    return ("x",) if d == 1 else tuple(f"x{j}" for j in range(1, d + 1))


@dataclass(frozen=True)
class XY:
    """Validated training data: ``X`` (n×d float), ``y`` (n), and their names."""

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    target_name: str = "y"
    source: str | None = None
    weight: np.ndarray | None = None   # sample weights sᵢ ≥ 0, or None (all 1)
    # True when the finiteness of X and y is still to be checked (``as_xy(..., defer_finite=True)``):
    # a one-pass summary checks it for free (a NaN or an infinity makes its totals non-finite).
    finite_unchecked: bool = False

    @property
    def n_rows(self) -> int:
        return self.X.shape[0]

    def take(self, rows) -> "XY":
        """The same data restricted to ``rows`` (an index array or a boolean mask)."""
        weight = None if self.weight is None else self.weight[rows]
        return XY(self.X[rows], self.y[rows], self.feature_names, self.target_name, self.source, weight,
                  self.finite_unchecked)

    def float64(self) -> "XY":
        """The same data with X and y as float64: itself, or a copy of float32 arrays (``as_xy`` keeps them
        for the one-pass summary, which reads float32 where it is; every other engine computes on float64)."""
        if self.X.dtype == np.float64 and self.y.dtype == np.float64:
            return self
        return replace(self, X=self.X.astype(np.float64), y=self.y.astype(np.float64, copy=False))

    def verified(self) -> "XY":
        """The same data with the finiteness check done: a ``DataError`` naming the first column and
        row with a missing or infinite value, or the data marked checked (nothing is copied)."""
        if not self.finite_unchecked:
            return self
        check_all_finite(self.X, self.y, self.feature_names, self.target_name)
        return XY(self.X, self.y, self.feature_names, self.target_name, self.source, self.weight)


def is_sparse(X) -> bool:
    """A ``scipy.sparse`` matrix or array (told apart without importing scipy)."""
    return type(X).__module__.startswith("scipy.sparse") and hasattr(X, "tocsr")


@dataclass(frozen=True)
class SparseXY:
    """Validated training data with ``X`` a ``scipy.sparse`` CSR matrix (n×d float64), as one-hot
    encoders produce: fitted through the stats engine's summary, computed with sparse products
    (``XᵀX``, ``Xᵀy``), so ``X`` is never made dense. (With sample weights, which run in memory,
    a sparse X is made dense instead.)"""

    X: object
    y: np.ndarray
    feature_names: tuple[str, ...]
    target_name: str = "y"
    source: str | None = None
    weight: None = None

    @property
    def n_rows(self) -> int:
        return self.X.shape[0]

    def take(self, rows) -> "SparseXY":
        return SparseXY(self.X[rows], self.y[rows], self.feature_names, self.target_name, self.source)


def sparse_features(X, *, n_features: int | None = None):
    """A sparse X as CSR float64, checked: 2-D, the expected width, every stored value finite and
    small enough to square."""
    X = X.tocsr().astype(np.float64)
    if X.ndim != 2:
        raise DataError(f"X must be 2-D (rows × features); got a sparse array of shape {X.shape}.")
    if n_features is not None and X.shape[1] != n_features:
        raise DataError(f"X has {X.shape[1]} feature column{'s' * (X.shape[1] != 1)} but the model "
                        f"expects {n_features}.")
    X.sum_duplicates()
    if X.nnz and not (np.isfinite(X.data).all() and np.abs(X.data).max() <= MAX_ABS):
        bad = int(np.argmax(~np.isfinite(X.data) | (np.abs(X.data) > MAX_ABS)))
        row = int(np.searchsorted(X.indptr, bad, side="right") - 1)
        value = float(X.data[bad])
        what = ("is missing (NaN)" if math.isnan(value) else "is infinite" if math.isinf(value)
                else f"is too large to square in float64 (beyond ±{MAX_ABS:g})")
        raise DataError(f"X (sparse) at row {row}, column {int(X.indices[bad])} holds {value!r}, which {what}. "
                        "Replace or remove that value before fitting.")
    return X


def _sparse_xy(X, y, feature_names, dropna: bool, min_rows: int) -> SparseXY:
    X = sparse_features(X)
    names = tuple(str(n) for n in feature_names) if feature_names is not None else default_feature_names(X.shape[1])
    if len(names) != X.shape[1]:
        raise DataError(f"{len(names)} feature names given for {X.shape[1]} feature columns.")
    check_distinct(names, "feature_names name")
    ya, target = as_target(y, check=False)
    if X.shape[0] != ya.shape[0]:
        raise DataError(f"X has {X.shape[0]} rows but y has {ya.shape[0]}; they must have one value of y per row of X.")
    keep = resolve_missing({target: ya}, dropna=dropna)
    if keep is not None:
        X, ya = X[keep], ya[keep]
    check_finite(ya, target)
    check_rows(X.shape[0], "the data" + (" without its rows with missing values" if keep is not None else ""),
               min_rows)
    return SparseXY(X, ya, names, target)


def split(data: XY, fraction: float, seed: int) -> tuple[XY, XY]:
    """A seeded random train/test split: ``fraction`` of the rows (at least one) are held out."""
    n_test = max(1, round(fraction * data.n_rows))
    if data.n_rows - n_test < MIN_ROWS:
        raise DataError(
            f"Holding out {fraction:g} of {data.n_rows} rows leaves {data.n_rows - n_test} for training; "
            f"fitting needs at least {MIN_ROWS}. Use a smaller test fraction or more rows."
        )
    order = np.random.default_rng(seed).permutation(data.n_rows)
    return data.take(np.sort(order[n_test:])), data.take(np.sort(order[:n_test]))


def resolve_missing(columns: dict[str, np.ndarray], *, dropna: bool, source: str = "",
                    file: bool = False) -> np.ndarray | None:
    """Count the missing values (NaN, null, empty) of every column at once.

    Without ``dropna`` any missing value is a ``DataError`` listing the count per column;
    with it, the rows to keep (a boolean mask, or None when nothing is missing).
    """
    missing = {name: np.isnan(arr) for name, arr in columns.items()}
    if not any(m.any() for m in missing.values()):
        return None
    if not dropna:
        where = f" in {source}" if source else ""
        per_column = "; ".join(
            f"Column '{name}' has {int(m.sum())} missing value{'s' * (int(m.sum()) != 1)}, the first at "
            f"{_row_label(int(np.argmax(m)), file)}" for name, m in missing.items() if m.any())
        raise DataError(
            f"Missing values (NaN or empty){where}: {per_column}. Fill them, or drop those rows "
            "with --dropna (dropna=True)."
        )
    return ~np.logical_or.reduce(list(missing.values()))


def check_weights(weight: np.ndarray, column: str = "sample_weight") -> None:
    """Sample weights must be finite, non-negative, and not all zero."""
    check_finite(weight, column)
    if (weight < 0).any():
        i = int(np.argmax(weight < 0))
        raise DataError(f"Weight column '{column}' has a negative value at row {i} ({weight[i]!r}); "
                        "sample weights must be ≥ 0.")
    if not (weight > 0).any():
        raise DataError(f"Weight column '{column}' is all zero; at least one row needs a positive weight.")


# --- arrays, lists and frames ------------------------------------------------------------

def _is_frame(obj) -> bool:
    return hasattr(obj, "columns") and hasattr(obj, "shape") and len(getattr(obj, "shape", ())) == 2


def _row_label(i: int, file) -> str:
    """Row ``i`` (from 0) as a user finds it: in a file (``file`` true), the data row and its line —
    ``file`` may be a function from the data row's index to its line (blank lines, quoted newlines)."""
    if not file:
        return f"row {i}"
    return f"data row {i + 1} (line {file(i) if callable(file) else i + 2} of the file)"


def shown(value, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)``, cut to about ``limit`` characters: a message never quotes a whole huge cell."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f" ({len(value):,} characters)" if isinstance(value, str) else ""
    return f"{text[:limit - 20]}…{size}"


def column_to_float(values, column: str, *, file: bool = False, source: str = "", offset: int = 0) -> np.ndarray:
    """One column as float64, or a DataError naming the first value that is not a number.

    ``offset`` is the number of rows before ``values`` (a chunk of a file), for the message.
    """
    where = f" in {source}" if source else ""
    arr = np.asarray(values)
    if arr.dtype.kind in "biuf":
        return arr.astype(np.float64, copy=False)
    if arr.dtype.kind in "mM":   # tolist() would give nanosecond integers: a silently wrong fit
        raise DataError(
            f"Column '{column}'{where} holds dates or times ({arr.dtype}), not numbers. gradfit does not "
            "guess a unit: convert it to a number first (for example days since the first date), or leave "
            "the column out."
        )
    out = np.empty(len(arr), dtype=np.float64)
    for i, v in enumerate(arr.tolist()):
        if v is None or (isinstance(v, float) and math.isnan(v)) or _is_na(v):
            out[i] = math.nan
        elif isinstance(v, (numbers.Real, decimal.Decimal)) and not isinstance(v, bool):
            try:
                out[i] = float(v)
            except OverflowError:                  # an int such as 10**400
                raise DataError(
                    f"Column '{column}'{where}: {_row_label(i + offset, file)} holds a number too large for a "
                    f"64-bit float ({len(str(abs(int(v))))} digits; the largest is about 1.8e308). Rescale the "
                    "column, or check how it was made."
                ) from None
        elif isinstance(v, str) and _parses_as_float(v):
            out[i] = float(v)
        else:
            raise DataError(
                f"Column '{column}'{where} is not numeric: {_row_label(i + offset, file)} holds {shown(v)}. "
                "gradfit fits numbers only; encode text or categories as numeric columns "
                "(for example one-hot), or leave the column out."
            )
    return out


def _parses_as_float(text: str) -> bool:
    """A decimal number as CSV readers take it (not ``1_000``, which Python's float() accepts)."""
    if "_" in text:
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_na(v) -> bool:
    return type(v).__name__ in ("NAType", "NaTType")


def check_finite(arr: np.ndarray, column: str, *, file: bool = False, source: str = "", offset: int = 0) -> None:
    """Refuse missing values (NaN/null) and infinities, with their count and first row."""
    where = f" in {source}" if source else ""
    bad = ~np.isfinite(arr)
    if not bad.any():
        check_magnitude(arr, column, file=file, source=source, offset=offset)
        return
    missing = np.isnan(arr)
    first = int(np.argmax(bad))
    if missing.any():
        count = int(missing.sum())
        first = int(np.argmax(missing))
        raise DataError(
            f"Column '{column}'{where} has {count} missing value{'s' * (count != 1)} (NaN or empty), "
            f"the first at {_row_label(first + offset, file)}. Remove or fill those rows before fitting."
        )
    raise DataError(
        f"Column '{column}'{where} holds an infinite value at {_row_label(first + offset, file)} "
        f"({float(arr[first])!r}). Remove that row or replace the value with a finite number."
    )


def check_magnitude(arr: np.ndarray, column: str, *, file=False, source: str = "", offset: int = 0) -> None:
    """Refuse values too large to square in float64 (|v| > ``MAX_ABS``), naming the first."""
    if not arr.size or max(float(np.max(arr)), -float(np.min(arr))) <= MAX_ABS:
        return
    where = f" in {source}" if source else ""
    first = int(np.argmax(np.abs(arr) > MAX_ABS))
    raise DataError(
        f"Column '{column}'{where} holds {float(arr[first])!r} at {_row_label(first + offset, file)}: values "
        f"beyond ±{MAX_ABS:g} are too large to square in float64, which fitting needs. Rescale the column "
        "(for example divide it by a power of ten) and fit again."
    )


def as_features(X, *, n_features: int | None = None, names=None, check: bool = True,
                keep_float32: bool = False) -> np.ndarray:
    """X as a 2-D float64 array (n×d) (float32 kept as it is with ``keep_float32``). A flat list is one
    feature, one value per row; a ``scipy.sparse`` matrix stays sparse (CSR), checked."""
    if is_sparse(X):
        return sparse_features(X, n_features=n_features)
    if _is_frame(X):
        return _frame_to_array(X, check)[0]
    arr = _to_float_array(X, "X", keep_float32)
    if arr.ndim == 0:
        arr = arr.reshape(1, 1)
    if arr.ndim == 1:
        if n_features not in (None, 1):
            raise DataError(
                f"X is a flat list of {arr.shape[0]} values but the model has {n_features} features. "
                f"Give one row per sample, each with {n_features} values (shape (n, {n_features}))."
            )
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise DataError(f"X must be 2-D (rows × features); got an array of shape {arr.shape}.")
    if n_features is not None and arr.shape[1] != n_features:
        raise DataError(
            f"X has {arr.shape[1]} feature column{'s' * (arr.shape[1] != 1)} but the model "
            f"expects {n_features}."
        )
    names = tuple(names) if names is not None else default_feature_names(arr.shape[1])
    if check and not _all_finite(arr):
        for j, name in enumerate(names):
            check_finite(arr[:, j], name)
    return arr


def as_target(y, check: bool = True, keep_float32: bool = False) -> tuple[np.ndarray, str]:
    """y as a 1-D float64 array (float32 kept with ``keep_float32``); a single column (n×1) is accepted and
    flattened."""
    name = "y"
    if is_sparse(y):
        y = y.toarray()
    if _is_frame(y):
        arr, names = _frame_to_array(y, check)
        if len(names) != 1:
            raise DataError(f"y must be one column; got a frame with {len(names)} columns {list(names)[:10]}. "
                            f"{ONE_TARGET}")
        return arr[:, 0], names[0]
    if hasattr(y, "name") and isinstance(getattr(y, "name"), str) and hasattr(y, "to_numpy"):
        name = y.name
        arr = column_to_float(y.to_numpy(), name)
    else:
        arr = _to_float_array(y, "y", keep_float32)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise DataError(f"y must be one value per row (shape (n,) or (n, 1)); got shape {arr.shape}."
                        + (f" {ONE_TARGET}" if arr.ndim == 2 else ""))
    if check:
        check_finite(arr, name)
    return arr, name


def as_xy(X, y, *, feature_names=None, sample_weight=None, dropna: bool = False, min_rows: int = MIN_ROWS,
          defer_finite: bool = False) -> XY:
    """Validate training data: numeric, finite, same number of rows, at least two rows.

    Missing values are counted per column and refused, or their rows dropped with ``dropna``.
    A ``scipy.sparse`` X gives ``SparseXY`` (kept sparse).
    ``defer_finite=True`` (without ``dropna`` and weights) leaves the finiteness of X and y to the
    caller, who reads the data anyway (``XY.finite_unchecked``; ``XY.verified()`` does the check):
    ``gradfit.fit`` lets the one-pass summary find a NaN or an infinity instead of a pass of its own.
    With ``defer_finite`` float32 arrays are also kept as they are (no copy): the one-pass summary reads them in
    float32 and sums in float64; ``XY.float64()`` gives the float64 copy that every other engine reads.
    """
    if is_sparse(X) and sample_weight is None:
        return _sparse_xy(X, y, feature_names, dropna, min_rows)
    if is_sparse(X):   # sample weights run in memory: a sparse X is made dense for them
        X = sparse_features(X).toarray()
    if _is_frame(X):
        Xa, names = _frame_to_array(X, check=False)
    else:
        Xa = as_features(X, names=None, check=False, keep_float32=defer_finite)
        names = default_feature_names(Xa.shape[1])
    if feature_names is not None:
        names = tuple(str(n) for n in feature_names)
        if len(names) != Xa.shape[1]:
            raise DataError(f"{len(names)} feature names given for {Xa.shape[1]} feature columns.")
        check_distinct(names, "feature_names name")
    ya, target = as_target(y, check=False, keep_float32=defer_finite)
    if Xa.shape[0] != ya.shape[0]:
        raise DataError(
            f"X has {Xa.shape[0]} rows but y has {ya.shape[0]}; they must have one value of y per "
            "row of X."
        )
    weight = None
    if sample_weight is not None:
        weight = _to_float_array(sample_weight, "sample_weight").reshape(-1)
        if weight.shape[0] != Xa.shape[0]:
            raise DataError(f"sample_weight has {weight.shape[0]} values for {Xa.shape[0]} rows; give one per row.")
    if defer_finite and not dropna and weight is None and Xa.shape[0] >= min_rows:
        return XY(Xa, ya, tuple(names), target, None, None, finite_unchecked=True)
    Xa, ya = Xa.astype(np.float64, copy=False), ya.astype(np.float64, copy=False)
    return checked(Xa, ya, tuple(names), target, weight, dropna=dropna, min_rows=min_rows)


def check_all_finite(X, y, names, target, *, file: bool = False, source: str = "") -> None:
    """A ``DataError`` naming the column and the first row with a missing or infinite value, if any
    (the same message as ``checked``'s without ``dropna``)."""
    columns = {name: X[:, j] for j, name in enumerate(names)} | {target: y}
    if _all_finite(X, y):     # finite sums; values too large to square are still refused
        for name, column in columns.items():
            check_magnitude(column, name, file=file, source=source)
        return
    resolve_missing(columns, dropna=False, source=source, file=file)
    for name, column in columns.items():
        check_finite(column, name, file=file, source=source)


def checked(X, y, names, target, weight, *, dropna: bool, source: str = "", file: bool = False,
             weight_name: str = "sample_weight", min_rows: int = MIN_ROWS) -> XY:
    """Missing values per column (refused, or rows dropped), infinities, weights, row count."""
    if not _all_finite(X, y, weight):  # only then look column by column, to name what is wrong
        columns = {name: X[:, j] for j, name in enumerate(names)} | {target: y}
        if weight is not None:
            columns[weight_name] = weight
        keep = resolve_missing(columns, dropna=dropna, source=source, file=file)
        if keep is not None:
            X, y, weight = X[keep], y[keep], None if weight is None else weight[keep]
        for name, column in zip((*names, target), (*X.T, y)):
            check_finite(column, name, file=file, source=source)
    else:
        keep = None
    for j, name in enumerate(names):
        check_magnitude(X[:, j], name, file=file, source=source)
    check_magnitude(y, target, file=file, source=source)
    if weight is not None:
        check_weights(weight, weight_name)
    dropped = " without its rows with missing values" if keep is not None else ""
    check_rows(X.shape[0], (source or "the data") + dropped, min_rows)
    return XY(X, y, tuple(names), target, source or None, weight)


def _all_finite(*arrays) -> bool:
    """One sum per array: a finite total means no NaN and no infinity (an overflowing sum of
    finite values only sends the caller to the column-by-column check)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return all(math.isfinite(np.add.reduce(a, axis=None)) for a in arrays if a is not None)   # any order, no copy


def check_rows(n: int, source: str = "the data", min_rows: int = MIN_ROWS) -> None:
    if n < min_rows:
        need = "fitting a line needs" if min_rows == MIN_ROWS else "this needs"
        raise DataError(
            f"{source[:1].upper() + source[1:]} has {n} data row{'s' * (n != 1)}; {need} at least "
            f"{min_rows}. Add rows."
        )


def _to_float_array(obj, label: str, keep_float32: bool = False) -> np.ndarray:
    if hasattr(obj, "detach") and hasattr(obj, "cpu"):  # a torch tensor
        obj = obj.detach().cpu().numpy()
    try:
        arr = np.asarray(obj)
    except ValueError:
        raise DataError(
            f"{label} is ragged: its rows have different lengths. Give every row the same number "
            "of values."
        ) from None
    if keep_float32 and arr.dtype == np.float32:
        return arr
    if arr.dtype.kind in "biuf":
        return arr.astype(np.float64, copy=False)
    if arr.dtype == object and arr.ndim >= 1 and any(isinstance(r, (list, tuple)) for r in arr.flat):
        raise DataError(f"{label} is ragged: its rows have different lengths. Give every row the same number of values.")
    flat = column_to_float(arr.reshape(-1), label)
    return flat.reshape(arr.shape)


def check_distinct(names, where: str = "The data name") -> None:
    """Each column named once: a name given twice would make "the column x" ambiguous."""
    from collections import Counter

    twice = sorted(n for n, count in Counter(map(str, names)).items() if count > 1)
    if twice:
        raise DataError(f"{where} column{'s' * (len(twice) != 1)} "
                        f"{', '.join(shown(n) for n in twice)} more than once; give each column a distinct name.")


def _frame_to_array(frame, check: bool = True) -> tuple[np.ndarray, tuple[str, ...]]:
    names = tuple(str(c) for c in frame.columns)
    check_distinct(names)
    columns = []
    for c, name in zip(frame.columns, names):
        values = frame[c].to_numpy() if hasattr(frame[c], "to_numpy") else np.asarray(frame[c])
        column = column_to_float(values, name)
        if check:
            check_finite(column, name)
        columns.append(column)
    if not columns:
        raise DataError("The frame has no columns.")
    return np.column_stack(columns), names


def matched_columns(X, names):
    """A frame's columns in the order of ``names`` (matched by name; extra columns left out);
    anything else as it is. A missing column is a ``DataError`` naming it."""
    if not _is_frame(X):
        return X
    have = [str(c) for c in X.columns]
    missing = [n for n in names if n not in have]
    if missing:
        raise DataError(f"Column{'s' * (len(missing) != 1)} {', '.join(map(repr, missing))} of the model "
                        f"{'are' if len(missing) != 1 else 'is'} not in the data; its columns are: "
                        f"{', '.join(have[:20])}{', …' if len(have) > 20 else ''}.")
    check_distinct(have)
    if have == list(names):
        return X
    by_name = dict(zip(have, X.columns))
    return X[[by_name[n] for n in names]]

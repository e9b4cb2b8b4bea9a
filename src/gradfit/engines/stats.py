"""The stats engine: one pass reduces the data to a small summary; every iteration is O(d²).

For the squared loss the data enter the loss only through the count ``n``, the means
``z̄`` and the centred co-moments ``M = Σᵢ (zᵢ − z̄)(zᵢ − z̄)ᵀ`` of the augmented rows
``z = [x, y]``. Writing ``c = x̄·w + b − ȳ`` (the mean residual)::

    Loss(θ)  = [w, −1]ᵀ M [w, −1] + n·c²
    ∂Loss/∂w = 2·(Mxx·w − Mxy) + 2·n·c·x̄
    ∂Loss/∂b = 2·n·c

(each divided by n for "mse"). Within a pass the rows are summed about a shift near their
mean (``summarize``); summaries of two passes or partitions merge exactly (Chan, Golub &
LeVeque's parallel update, ``Summary.merge``), so the same reduction runs over arrays in
memory, over a stream of file chunks, and as a Dask tree reduction. Centring keeps the
digits that large column means would cost a plain Gram matrix (the Longley data).

The co-moments square the condition number of the centred features. Gradient descent
only needs ``M·v``, which is as accurate as the numpy engine's ``Xᵀr``; the exact optimum
is ``gradfit.exact``'s, from the summary where it keeps enough digits and otherwise from
further passes (``rescan``). benchmarks/README.md has the measurements behind this.

The pass itself runs in a small C kernel (``_summary.c``) that reads each row once, shifting
and multiplying it while it is in the cache; where the kernel is not built, NumPy does the
same arithmetic (a shifted copy and a ``syrk`` per block), a few times slower. An array's rows
are cut into pieces summed on every core at once (the kernel lets go of the GIL), about the
same shift, so the pieces' sums simply add (``in_pieces``; ``GRADFIT_THREADS``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np

from gradfit.engines.base import FullBatchOnly
from gradfit.errors import ConfigError
from gradfit.loss import Loss
from gradfit.model import split

try:
    from gradfit.engines import _summary    # the C kernel; optional, see setup.py
except ImportError:                         # pragma: no cover - only where no compiler was found
    _summary = None

BLOCK_ROWS = 4096        # rows per block: the block's products stay in cache
KERNEL_MAX_D = 200       # above this many features BLAS's blocked syrk outruns the C kernel (measured)

Blocks = Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]]  # a fresh pass over (X, y) blocks


@dataclass(frozen=True)
class Summary:
    """Count, means and centred co-moments of the rows ``z = [x, y]``."""

    n: int
    mean: np.ndarray     # (d+1,)
    M: np.ndarray        # (d+1, d+1)

    @classmethod
    def of_block(cls, X, y) -> "Summary":
        X = np.asarray(X, dtype=np.float64)
        n, d = X.shape
        Z = np.empty((n, d + 1))
        Z[:, :d] = X
        Z[:, d] = y
        mean = np.ones(n) @ Z / n if n else np.zeros(d + 1)   # a gemv: faster than Z.mean(axis=0)
        Z -= mean
        return cls(n, mean, Z.T @ Z)

    def merge(self, other: "Summary") -> "Summary":
        """Chan–Golub–LeVeque: M = Ma + Mb + δδᵀ·na·nb/n with δ = z̄b − z̄a."""
        if not other.n:
            return self
        if not self.n:
            return other
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.n / n)
        M = self.M + other.M + np.outer(delta, delta) * (self.n * other.n / n)
        return Summary(n, mean, M)

    def minus(self, part: "Summary") -> "Summary":
        """The summary of the rows of ``self`` that are not in ``part`` (Chan's merge solved for the other half):
        n_a = n − n_b, z̄a = (n·z̄ − n_b·z̄b)/n_a, M_a = M − M_b − δδᵀ·n_a·n_b/n with δ = z̄b − z̄a."""
        n_a = self.n - part.n
        if n_a <= 0:
            raise ValueError("nothing is left when a part is taken from a summary of no more rows")
        mean = (self.n * self.mean - part.n * part.mean) / n_a
        delta = part.mean - mean
        return Summary(n_a, mean, self.M - part.M - np.outer(delta, delta) * (n_a * part.n / self.n))

    @property
    def d(self) -> int:
        return self.mean.shape[0] - 1


def summarize(blocks: Iterable[tuple[np.ndarray, np.ndarray]], threads: int | None = None) -> Summary:
    """One pass over ``(X, y)`` blocks of any size (each large block summed on ``threads`` threads: ``accumulate``).

    Within a pass the rows are shifted by ``K``, the mean of the first ``BLOCK_ROWS`` rows, and
    ``S = Σ (z − K)(z − K)ᵀ`` and ``s = Σ (z − K)`` are summed; then ``z̄ = K + s/n`` and
    ``M = S − n·(s/n)(s/n)ᵀ``. With ``K`` near the mean the correction is small, so this keeps
    the digits of per-block centring at a fraction of its cost.
    """
    with np.errstate(invalid="ignore", over="ignore"):   # a NaN or an infinity in the rows: the caller's to name
        return _summarize(blocks, threads)


def _summarize(blocks, threads: int | None = None) -> Summary:
    n, shift, S, s = 0, None, None, None
    for X, y in blocks:
        columns = isinstance(X, (list, tuple))      # X as its columns, each contiguous (a file's batch)
        y = floats(y)
        if not columns:
            X = floats(X)
        m, d = (y.shape[0], len(X)) if columns else X.shape
        if shift is None:
            if not m:
                continue
            head = np.column_stack([c[:BLOCK_ROWS] for c in X]) if columns else X[:BLOCK_ROWS]
            shift = Summary.of_block(head, y[:BLOCK_ROWS]).mean
            S, s = np.zeros((d + 1, d + 1)), np.zeros(d + 1)
        (accumulate_columns if columns else accumulate)(X, y, shift, S, s, threads=threads)
        n += m
    if shift is None or not n:
        raise ValueError("no rows to summarize")
    delta = s / n
    return Summary(n, shift + delta, S - n * np.outer(delta, delta))


def floats(a) -> np.ndarray:
    """``a`` as an array of float64, or of float32 as it is (the kernel widens float32 values as it loads them:
    float32 data are summed in float64 without a copy)."""
    a = np.asarray(a)
    return a if a.dtype in (np.float64, np.float32) else a.astype(np.float64)


def summarize_sparse(X, y: np.ndarray) -> Summary:
    """The summary of a ``scipy.sparse`` X (CSR) with sparse products, X never made dense:
    ``Mxx = XᵀX − n·x̄x̄ᵀ``, ``Mxy = Xᵀ(y − ȳ)``, ``Myy = Σ(y − ȳ)²``. Without a shift the first
    cancels digits when the columns' means dwarf their spread; ``gradfit.exact``'s further passes
    (over dense blocks) catch that where it matters."""
    y = np.asarray(y, dtype=np.float64)
    n, d = X.shape
    xbar = np.asarray(X.sum(axis=0)).ravel() / n
    ybar = y.mean()
    yc = y - ybar
    M = np.empty((d + 1, d + 1))
    XtX = X.T @ X
    M[:d, :d] = (XtX.toarray() if hasattr(XtX, "toarray") else XtX) - n * np.outer(xbar, xbar)
    M[:d, d] = M[d, :d] = X.T @ yc
    M[d, d] = yc @ yc
    return Summary(n, np.append(xbar, ybar), M)


def sparse_blocks(X, y: np.ndarray, rows: int = BLOCK_ROWS):
    """A sparse X's rows as dense ``(X, y)`` blocks, one block in memory at a time."""
    for start in range(0, X.shape[0], rows):
        yield X[start:start + rows].toarray(), y[start:start + rows]


def fold_of(rows: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """The fold of each row index: a seeded hash (SplitMix64's finalizer) of the index, modulo ``folds``.

    It depends on the row's position alone, so a row lands in the same fold whichever block, file or
    partition it is read in, and in any order.
    """
    z = np.asarray(rows, dtype=np.uint64) + np.uint64((0x9E3779B97F4A7C15 * (seed + 1)) % 2**64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z % np.uint64(folds)).astype(np.intp)


def fold_summaries(blocks: Iterable[tuple[np.ndarray, np.ndarray]], folds: int, seed: int,
                   first_row: int = 0) -> list["Summary"]:
    """One pass over ``(X, y)`` blocks: the summary of each fold's rows (``fold_of`` the row index, counted
    from ``first_row``). Every fold is summed about the same shift, as ``summarize`` does."""
    row, shift, sums = first_row, None, None
    for X, y in blocks:
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
        m, d = X.shape
        if not m:
            continue
        if shift is None:
            shift = Summary.of_block(X[:BLOCK_ROWS], y[:BLOCK_ROWS]).mean
            sums = [[0, np.zeros((d + 1, d + 1)), np.zeros(d + 1)] for _ in range(folds)]
        fold = fold_of(np.arange(row, row + m), folds, seed)
        for k, part in enumerate(sums):
            rows = np.flatnonzero(fold == k)
            if len(rows):
                accumulate(np.ascontiguousarray(X[rows]), np.ascontiguousarray(y[rows]), shift, part[1], part[2])
                part[0] += len(rows)
        row += m
    if shift is None:
        return []
    out = []
    for n, S, s in sums:
        delta = s / n if n else np.zeros_like(s)
        out.append(Summary(n, shift + delta, S - n * np.outer(delta, delta)) if n else
                   Summary(0, np.zeros_like(s), np.zeros_like(S)))
    return out


def accumulate(X: np.ndarray, y: np.ndarray, shift: np.ndarray, S: np.ndarray, s: np.ndarray,
               threads: int | None = None) -> None:
    """``S += Σ (z − K)(z − K)ᵀ`` and ``s += Σ (z − K)`` over the rows ``z = [x, y]``, ``K = shift``.

    From 2·``PIECE_ROWS`` rows on, pieces of the rows are summed on ``threads`` threads at once (``in_pieces``;
    None: ``thread_count``'s), with the same bits on any number."""
    m, d = X.shape
    if _summary is not None and d <= KERNEL_MAX_D:
        if X.flags.c_contiguous and y.flags.c_contiguous:
            def rows(a, b, S, s):
                _summary.accumulate(X[a:b], y[a:b], shift, S, s)
        elif X.flags.f_contiguous:              # Fortran order: its columns, read where they are
            accumulate_columns([X[:, j] for j in range(d)], y, shift, S, s, threads)
            return
        else:                                   # strided: contiguous copies, a block at a time
            def rows(a, b, S, s):
                for Xb, yb in array_blocks(X[a:b], y[a:b]):
                    _summary.accumulate(np.ascontiguousarray(Xb), np.ascontiguousarray(yb), shift, S, s)
    else:
        def rows(a, b, S, s):                   # a fused subtract-and-copy, one syrk, one gemv per block
            Z, ones = np.empty((min(b - a, BLOCK_ROWS), d + 1)), np.ones(min(b - a, BLOCK_ROWS))
            for Xb, yb in array_blocks(X[a:b], y[a:b]):
                Zb = Z[:Xb.shape[0]]
                np.subtract(Xb, shift[:d], out=Zb[:, :d])
                np.subtract(yb, shift[d], out=Zb[:, d])
                S += Zb.T @ Zb
                s += ones[:Xb.shape[0]] @ Zb
        if _summary is not None:                # d > KERNEL_MAX_D: BLAS's syrk, on BLAS's own threads
            threads = 1
    in_pieces(m, rows, S, s, threads)


def accumulate_columns(columns, y: np.ndarray, shift: np.ndarray, S: np.ndarray, s: np.ndarray,
                       threads: int | None = None) -> None:
    """``accumulate`` with X given as its columns (each n values): the kernel gathers the rows of each
    tile from the columns in cache, so columns held apart (a Parquet or CSV batch, a Fortran-ordered
    array) are never copied into rows first."""
    if _summary is not None and len(columns) <= KERNEL_MAX_D:
        columns, y = [np.ascontiguousarray(floats(c)) for c in columns], np.ascontiguousarray(floats(y))

        def rows(a, b, S, s):
            _summary.accumulate_columns([c[a:b] for c in columns], y[a:b], shift, S, s)
        in_pieces(y.shape[0], rows, S, s, threads)
        return
    for start in range(0, y.shape[0], BLOCK_ROWS):
        stop = start + BLOCK_ROWS
        accumulate(np.column_stack([c[start:stop] for c in columns]), y[start:stop], shift, S, s, threads)


# --- the pass on every core -------------------------------------------------------------------

PIECE_ROWS = 1 << 17     # rows a piece of the pass: worth a thread (~2 ms at d = 16; a thread starts in ~0.1 ms)
THREADS_VARIABLE = "GRADFIT_THREADS"


def thread_count(rows: int) -> int:
    """How many threads sum ``rows`` rows: ``GRADFIT_THREADS`` if set (1: one core), else every core this
    process may run on (its affinity mask); no more than the pass has pieces (``PIECE_ROWS`` rows each)."""
    text = os.environ.get(THREADS_VARIABLE, "").strip()
    if text:
        try:
            wanted = int(text)
        except ValueError:
            wanted = 0
        if wanted < 1:
            raise ConfigError(f"{THREADS_VARIABLE}={text!r}: expected a whole number of threads, at least 1 "
                              "(1 sums the data on one core); unset it to use every core.")
    else:
        wanted = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(wanted, rows // PIECE_ROWS))


def row_blocks(rows: int, blocks: int) -> list[int]:
    """The bounds of ``blocks`` runs of consecutive rows, as even as whole rows allow (none empty)."""
    blocks = max(1, min(blocks, rows))
    return [rows * k // blocks for k in range(blocks + 1)]


def in_pieces(rows: int, add: Callable[[int, int, np.ndarray, np.ndarray], None], S: np.ndarray, s: np.ndarray,
              threads: int | None = None) -> None:
    """``add(a, b, S, s)`` over the rows ``a:b`` of each piece of the pass, on ``threads`` threads at once
    (None: ``thread_count``'s).

    The pieces are ``rows // PIECE_ROWS`` runs of consecutive rows (one below 2·PIECE_ROWS rows: the whole pass
    as one call): they depend on the count of rows alone. Each piece is summed from zero by whichever thread is
    free (the kernel lets go of the GIL while it sums, and a thread slowed by other work takes fewer pieces); all
    are taken about the same shift K, so Σ(z − K)(z − K)ᵀ over the rows is the sum of the pieces' (Chan's merge
    with δ = 0), added into ``S`` and ``s`` in the pieces' order: the same bits on every run and on any number
    of threads.
    """
    workers = thread_count(rows) if threads is None else threads     # read (and checked) on every pass
    bounds = row_blocks(rows, rows // PIECE_ROWS)
    if len(bounds) <= 2:
        add(0, rows, S, s)
        return
    pieces = list(zip(bounds[:-1], bounds[1:]))
    sums = [(np.zeros_like(S), np.zeros_like(s)) for _ in pieces]
    workers = min(workers, len(pieces))
    if workers <= 1:
        for (a, b), (piece_S, piece_s) in zip(pieces, sums):
            add(a, b, piece_S, piece_s)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            for done in [pool.submit(add, a, b, *piece) for (a, b), piece in zip(pieces, sums)]:
                done.result()
    for piece_S, piece_s in sums:
        S += piece_S
        s += piece_s


def array_blocks(X: np.ndarray, y: np.ndarray, rows: int = BLOCK_ROWS):
    """``(X, y)`` in blocks of ``rows`` rows (views, no copies)."""
    for start in range(0, X.shape[0], rows):
        yield X[start:start + rows], y[start:start + rows]


# --- the objective ---------------------------------------------------------------------------

class StatsObjective(FullBatchOnly):
    """Loss and gradient from a ``Summary``; ``rescan()`` gives another pass over the data (for θ*)."""

    name = "stats"
    dtype = np.dtype(np.float64)

    def __init__(self, summary: Summary, loss: Loss, *, rescan: Blocks | None = None):
        self.summary, self.loss, self.rescan = summary, loss, rescan
        self.n_rows = summary.n
        d = summary.d
        self.xbar, self.ybar = summary.mean[:d], summary.mean[d]
        self.Mxx, self.Mxy, self.Myy = summary.M[:d, :d], summary.M[:d, d], summary.M[d, d]
        self.scale = loss.scale(summary.n)
        # The arrays the C kernel's ``quadratic`` reads each iteration (contiguous float64, made once).
        self._M, self._mean = np.ascontiguousarray(summary.M, np.float64), np.ascontiguousarray(summary.mean, np.float64)
        self._k = d + loss.fit_intercept

    @classmethod
    def from_sparse(cls, X, y, loss: Loss) -> "StatsObjective":
        """The objective of a sparse X: its summary by sparse products, further passes over dense blocks."""
        return cls(summarize_sparse(X, y), loss, rescan=lambda: sparse_blocks(X, y))

    @classmethod
    def from_arrays(cls, X, y, loss: Loss) -> "StatsObjective":
        X, y = floats(X), floats(y)      # float32 summed in float64 where it is, no copy
        return cls(summarize([(X, y)]), loss, rescan=lambda: array_blocks(X, y))

    def standardized(self, shift: np.ndarray, scale: np.ndarray) -> "StatsObjective":
        """The objective of the features z = (x − shift)/scale, from this summary alone:
        z̄ = (x̄ − shift)/scale, M_zz = D⁻¹·M_xx·D⁻¹ (centred co-moments do not see the shift)."""
        factor = np.append(1.0 / scale, 1.0)
        mean = np.append((self.xbar - shift) / scale, self.ybar)
        summary = Summary(self.summary.n, mean, self.summary.M * np.outer(factor, factor))
        objective = StatsObjective(summary, self.loss)
        objective.name = self.name
        return objective

    def loss_and_gradient(self, theta) -> tuple[float, np.ndarray]:
        """The formulas of the module's docstring, v = [w, −1] and c = x̄·w + b − ȳ (the mean residual)::

            Loss = λ·(vᵀMv + n·c²),   ∇ = 2λ·(M_w·v + n·c·x̄, n·c)

        in the C kernel (one call, a few hundred nanoseconds at d = 16: each iteration of a fit on the
        summary pays it) where it is built and θ is a contiguous float64 array; in NumPy otherwise.
        """
        if _summary is not None:
            gradient = np.empty(self._k)
            try:
                return _summary.quadratic(self._M, self._mean, theta, gradient, self.n_rows, self.scale), gradient
            except (TypeError, ValueError, BufferError):
                pass                               # a list, another dtype, a strided view: NumPy below
        w, b = split(np.asarray(theta, dtype=np.float64), self.loss.fit_intercept)
        v = np.append(w, -1.0)
        Mv = self.summary.M @ v
        c = float(self.xbar @ w + b - self.ybar)
        loss = self.scale * (max(float(v @ Mv), 0.0) + self.n_rows * c * c)
        gradient = 2.0 * self.scale * (Mv[:-1] + self.n_rows * c * self.xbar)
        if self.loss.fit_intercept:
            gradient = np.append(gradient, 2.0 * self.scale * self.n_rows * c)
        return loss, gradient

    def residual_sum_of_squares(self, theta) -> tuple[float, float]:
        """Σ rᵢ² at θ from the summary, ``[w, −1]ᵀ M [w, −1] + n·c²``, and a bound on its rounding error.

        The co-moments and the quadratic form are each accurate to a few ε·|M|, so the error is at most
        about (d + 66)·ε·(Σⱼ |vⱼ|·√Mⱼⱼ)² with v = [w, −1] (|Mᵢⱼ| ≤ √(MᵢᵢMⱼⱼ)): small beside Σ rᵢ² unless
        the fit is nearly exact, which the caller then measures on the rows instead.
        """
        w, b = split(np.asarray(theta, dtype=np.float64), self.loss.fit_intercept)
        v = np.append(w, -1.0)
        c = self.xbar @ w + b - self.ybar
        M = self.summary.M
        c = float(c)
        sse = max(float(v @ (M @ v)), 0.0) + self.n_rows * c * c
        spread = float(np.abs(v) @ np.sqrt(np.maximum(np.diag(M), 0.0)))
        bound = (len(v) + 66) * np.finfo(np.float64).eps * (spread * spread + self.n_rows * c * c)
        return sse, bound

    def gram(self) -> np.ndarray:
        """AᵀA with A = [X 1], rebuilt from the summary: Σxxᵀ = Mxx + n·x̄x̄ᵀ."""
        n, xbar = self.n_rows, self.xbar
        G = self.Mxx + n * np.outer(xbar, xbar)
        if not self.loss.fit_intercept:
            return G
        return np.block([[G, n * xbar[:, None]], [n * xbar[None, :], np.array([[float(n)]])]])

"""The stream engine: files larger than memory, read chunk by chunk.

Full-batch gradient descent needs one pass: the chunks are reduced to the stats engine's
summary (``gradfit.engines.stats``), and every iteration is then O(d²). Mini-batch SGD
walks the chunks once per epoch through ``iter_batches``, the order seeded: the chunks
(Parquet row groups, or CSV files) are shuffled, read a few side by side into a shuffle pool of
``SHUFFLE_BYTES``, and the pool's rows shuffled into batches — memory bounded whatever the files' size.
"""

from __future__ import annotations

import itertools
from typing import Iterator

import numpy as np

from gradfit.data.arrays import check_rows
from gradfit.data.files import Scan
from gradfit.engines.stats import BLOCK_ROWS, StatsObjective, Summary, summarize
from gradfit.loss import Loss


def scan_blocks(scan: Scan, *, checked: bool = True):
    """Every row of the scan as cache-sized ``(X, y)`` blocks, one read of the files.

    The file's columns are laid side by side a block of ``BLOCK_ROWS`` rows at a time, in cache (a
    ``column_stack`` of a whole batch wrote the batch once more through memory, the largest cost of the
    pass). ``checked=False`` leaves the finiteness of the values to the caller (``StreamObjective``
    finds a NaN or an infinity in the summary's totals, then reads again to name it). Each block is
    valid until the next is asked for (every consumer reduces a block before it takes the next)."""
    names, target = scan.feature_names, scan.target_name
    buffer = np.empty((BLOCK_ROWS, len(names)))     # one block, reused: a fresh one each time page-faulted
    for columns in scan.column_batches(allow_missing=not checked):
        features, y = [columns[c] for c in names], columns[target]
        for start in range(0, y.shape[0], BLOCK_ROWS):
            stop = min(start + BLOCK_ROWS, y.shape[0])
            X = buffer[:stop - start]
            for j, column in enumerate(features):
                X[:, j] = column[start:stop]
            yield X, y[start:stop]


def read_ahead(batches, depth: int = 1):
    """``batches``, read by a second thread up to ``depth`` batches ahead: the file's reading and decoding
    (pyarrow, which releases the GIL) overlaps with the kernel's reduction of the batch before (which
    releases it too). Memory stays bounded (``depth`` + 2 batches); an error of the reader is raised here,
    in the order it happened, and leaving early (an error, Ctrl-C) stops the reader."""
    import queue
    import threading

    done, stop = object(), threading.Event()
    slots: queue.Queue = queue.Queue(maxsize=depth)

    def put(item) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read():
        try:
            for batch in batches:
                if not put((batch, None)):
                    return
            put((done, None))
        except BaseException as exc:     # handed to the consumer, raised there
            put((None, exc))

    reader = threading.Thread(target=read, name="gradfit-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            batch, exc = slots.get()
            if exc is not None:
                raise exc
            if batch is done:
                return
            yield batch
    finally:
        stop.set()
        reader.join()


def scan_columns(scan: Scan, chunk=None, *, checked: bool = True):
    """Every row of the scan (or of one ``chunk``) as ``(columns of X, y)`` batches, as the reader gives them: the
    summary's kernel reads the columns where they are (``stats.accumulate_columns``), no copy into rows, float32
    columns as float32."""
    for columns in scan.column_batches(chunk, allow_missing=not checked, keep_float32=True):
        yield [columns[c] for c in scan.feature_names], columns[scan.target_name]


def scan_summary(scan: Scan, chunk=None):
    """The summary of a scan's rows, one pass: the next batch read ahead while the kernel reduces this one, the
    kernel reading the columns where they are. Its finiteness check rides in the totals: a NaN or an infinity
    (or values whose squares overflow) makes them non-finite, and only then does a checked read name the file,
    the column and the row of the first one. Too few rows (a header-only CSV, an empty Parquet file, one row)
    are refused as they are in memory.

    With ``chunk`` (a Parquet row group or a CSV file: what a Dask worker reads) the summary of that chunk alone,
    checked the same way; a chunk without rows has the empty summary (the whole scan's count is checked where
    the chunks' summaries meet).
    """
    try:
        summary = summarize(read_ahead(scan_columns(scan, chunk, checked=False)))
    except ValueError:                    # no rows read: a checked read names what is wrong (a date column…)
        for _ in scan.column_batches(chunk):
            pass
        if chunk is not None:
            d = len(scan.feature_names)
            return Summary(0, np.zeros(d + 1), np.zeros((d + 1, d + 1)))
        check_rows(0, f"'{scan.source}'")
        raise
    if not (np.isfinite(summary.M).all() and np.isfinite(summary.mean).all()):
        for _ in scan.column_batches(chunk):
            pass
    if chunk is None:
        check_rows(summary.n, f"'{scan.source}'")
        scan.n_rows = summary.n          # known now, for CSV too
    return summary


class StreamObjective(StatsObjective):
    """The stats objective of a ``Scan``, plus mini-batches that re-read the files each epoch."""

    name = "stream"

    def __init__(self, scan: Scan, loss: Loss):
        self.scan = scan
        super().__init__(scan_summary(scan), loss, rescan=lambda: scan_blocks(scan))

    def loss_and_gradient(self, theta) -> tuple[float, np.ndarray]:
        if self.loss.huber is None:
            return super().loss_and_gradient(theta)
        return pass_loss_and_gradient(scan_blocks(self.scan), self.loss, theta, self.n_rows)

    def standardized(self, shift: np.ndarray, scale: np.ndarray) -> "StandardizedRows":
        return StandardizedRows(self, shift, scale)

    def iter_batches(self, batch_size: int, rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(X, y)`` mini-batches covering every row once, in an order drawn from ``rng``."""
        chunks = self.scan.chunks()
        return shuffled_batches(len(chunks), lambda i: self.scan.batches(chunks[i]), batch_size, rng,
                                len(self.scan.feature_names), pool_bytes=SHUFFLE_BYTES)

    def batch_gradient(self, batch, theta) -> np.ndarray:
        X_batch, y_batch = batch
        return self.loss.batch_gradient(X_batch, y_batch, np.asarray(theta, dtype=np.float64), self.n_rows)


class StandardizedRows(StatsObjective):
    """The objective of the standardized features z = (x − shift)/scale of rows that are read, not held (a stream
    of files, Dask partitions): the squared loss and its gradient from the summary standardized in place (no pass,
    ``StatsObjective.standardized``); Huber's loss from a pass; mini-batches and further passes standardized as
    they are read. The descent sees well-scaled columns whichever way it walks the rows."""

    def __init__(self, source: StatsObjective, shift: np.ndarray, scale: np.ndarray):
        super().__init__(StatsObjective.standardized(source, shift, scale).summary, source.loss,
                         rescan=lambda: self.standardize(source.rescan()))
        self.name, self.source, self.shift, self.spread = source.name, source, shift, scale

    def standardize(self, blocks):
        return (((X - self.shift) / self.spread, y) for X, y in blocks)

    def loss_and_gradient(self, theta) -> tuple[float, np.ndarray]:
        if self.loss.huber is None:
            return super().loss_and_gradient(theta)
        return pass_loss_and_gradient(self.rescan(), self.loss, theta, self.n_rows)

    def iter_batches(self, batch_size: int, rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return self.standardize(self.source.iter_batches(batch_size, rng))

    def batch_gradient(self, batch, theta) -> np.ndarray:
        return self.source.batch_gradient(batch, theta)


# Mini-batch SGD over data read in chunks shuffles its rows in a pool of this many bytes ((d + 1)·8 bytes a row:
# 2^19 rows at d = 15, 2^18 at d = 31), whatever the size of the files: memory stays bounded (one pool, no copy of
# it; the batches are gathered from it) and consecutive batches are not all drawn from one stretch of a chunk,
# whose rows may be alike (files written in order of time, of place, …). Rows further apart than a pool are mixed
# only by the chunks' order: a single sorted CSV file is shuffled within windows of this size (split it into
# several files, or Parquet row groups, for a wider shuffle).
SHUFFLE_BYTES = 64 * 2**20
# The pool is filled from this many chunks read side by side, a piece of each in turn: a chunk larger than the
# pool (a big CSV file, a big row group) still shares each pool with others.
INTERLEAVE = 4


def pool_rows(d: int, batch_size: int, pool_bytes: int = SHUFFLE_BYTES) -> int:
    """The rows a shuffle pool of ``pool_bytes`` holds at d features (at least one batch)."""
    return max(pool_bytes // (8 * (d + 1)), batch_size, 1)


def shuffled_batches(n_chunks: int, read, batch_size: int, rng: np.random.Generator, d: int,
                     pool_bytes: int = SHUFFLE_BYTES, interleave: int = INTERLEAVE):
    """Mini-batches over chunks read a few at a time, in a seeded order: the chunks taken in a permuted order,
    ``interleave`` of them read side by side into a pool of ``pool_bytes`` (``pool_rows``), the full pool
    shuffled and cut into batches. Rows left over start the next pool, so every batch but the last has
    ``batch_size`` rows; every row is in exactly one batch an epoch. Memory: the pool, whatever the data.

    ``read(i)`` yields the ``(X, y)`` blocks of chunk ``i``.
    """
    capacity = pool_rows(d, batch_size, pool_bytes)
    pool_X, pool_y, held = np.empty((capacity, d)), np.empty(capacity), 0

    def drain(last: bool):
        order = rng.permutation(held)
        full = held if last else held - held % batch_size
        for start in range(0, full, batch_size):
            rows = order[start:start + batch_size]
            yield pool_X[rows], pool_y[rows]          # gathered copies: the pool is refilled after
        rest = order[full:]
        pool_X[:len(rest)], pool_y[:len(rest)] = pool_X[rest], pool_y[rest]
        return len(rest)

    piece = max(capacity // (2 * interleave), 1)     # a pool holds pieces of several chunks
    for X, y in interleaved(rng.permutation(n_chunks), read, interleave, piece):
        start = 0
        while start < len(y):
            take = min(len(y) - start, capacity - held)
            pool_X[held:held + take], pool_y[held:held + take] = X[start:start + take], y[start:start + take]
            held, start = held + take, start + take
            if held == capacity:
                held = yield from drain(last=False)
    if held:
        yield from drain(last=True)


def interleaved(chunks, read, width: int, piece: int):
    """The blocks of ``chunks`` (in that order), ``width`` chunks read side by side: a piece of at most ``piece``
    rows from each in turn, a finished chunk's place taken by the next."""
    pending = iter(chunks)
    readers = [_pieces(read(int(i)), piece) for i in itertools.islice(pending, width)]
    while readers:
        for reader in list(readers):
            block = next(reader, None)
            if block is not None:
                yield block
                continue
            readers.remove(reader)
            following = next(pending, None)
            if following is not None:
                readers.append(_pieces(read(int(following)), piece))


def _pieces(blocks, rows: int):
    for X, y in blocks:
        for start in range(0, len(y), rows):
            yield X[start:start + rows], y[start:start + rows]


def pass_loss_and_gradient(blocks, loss: Loss, theta, n_rows: int) -> tuple[float, np.ndarray]:
    """A loss with no sufficient statistics (Huber's), and its gradient, summed over one pass of the blocks:
    Σ ρ(rᵢ) and 2·Σ ψ(rᵢ)·[xᵢ, 1] (each times 1/n for a mean)."""
    theta = np.asarray(theta, dtype=np.float64)
    value, grad = 0.0, np.zeros_like(theta)
    d = theta.shape[0] - loss.fit_intercept
    for X, y in blocks:
        r = loss.residual(X, y, theta)
        value += float(loss.rho(r).sum())
        psi = loss.psi(r)
        grad[:d] += 2 * (X.T @ psi)
        if loss.fit_intercept:
            grad[d] += 2 * psi.sum()
    return value * loss.scale(n_rows), grad * loss.scale(n_rows)

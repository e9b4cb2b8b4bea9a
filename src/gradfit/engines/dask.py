"""The dask engine: data on a Dask cluster (a ``distributed.LocalCluster`` unless an address is given).

Full-batch gradient descent: each partition is reduced to the stats summary on the worker
that holds it, and the summaries are merged pairwise in a tree (``Summary.merge``), so only
O(d²) numbers reach the client; the iterations then run on the client. Mini-batch SGD
(``iter_batches``) reads one partition at a time, a pass per epoch. The tree has a fixed
shape, so the result does not depend on which worker ran what, nor on a worker lost and
its tasks recomputed.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass

import numpy as np

from gradfit.data.arrays import check_distinct, check_finite, check_rows, default_feature_names, shown
from gradfit.engines.stats import StatsObjective, Summary, array_blocks, fold_summaries, summarize
from gradfit.errors import DataError, missing_extra
from gradfit.loss import Loss

PARTITION_ROWS = 250_000
# A file's consecutive Parquet row groups are joined into partitions of at least this many rows: a task per
# row group read ~5 ms more per row group than one pass over the file did, and at scale the scheduler's
# ~1 ms a task is what the partition size decides (benchmarks/README.md, the time model).
FILE_PARTITION_ROWS = 1 << 20


def _dask():
    try:
        import dask
        import dask.array as da
        import distributed
    except ImportError:
        raise missing_extra("dask", "dask") from None
    return dask, da, distributed


def _to_array(frame):
    """A dask dataframe's (or series') values as a dask array with known chunks.

    Not ``to_dask_array(lengths=True)``: on a column subset of several Parquet files it counts the rows of the
    optimized graph's partitions (small files fused) against the unoptimized partition count and fails with
    "The number of items in 'lengths' does not match the number of partitions" (dask issue #12411).
    ``compute_chunk_sizes`` measures the blocks of the array itself — the same one pass over the data.
    """
    return frame.to_dask_array().compute_chunk_sizes()


@dataclass
class DaskData:
    """``X`` (n×d) and ``y`` (n) as Dask arrays chunked by rows only."""

    X: object
    y: object
    feature_names: tuple[str, ...]
    target_name: str = "y"
    source: str | None = None
    # Files (``from_scan``): each chunk (a Parquet row group, a CSV file) is read by gradfit's own reader on a
    # worker; the summary's tasks read and reduce a chunk each, so nothing but its summary leaves the worker.
    scan: object | None = None    # the files these data were read from (their row count is set once known)
    chunks: tuple = ()

    @property
    def n_rows(self) -> float:
        """The number of rows (NaN while unknown: a CSV read by Dask counts them when it reads)."""
        return self.X.shape[0]

    @classmethod
    def from_arrays(cls, X, y, names=None, target="y") -> "DaskData":
        _, da, _ = _dask()
        X = np.asarray(X, dtype=np.float64)
        rows = max(PARTITION_ROWS // max(X.shape[1], 1), 1024)
        return cls.from_dask(da.from_array(X, chunks=(rows, -1)), da.from_array(np.asarray(y, dtype=np.float64),
                                                                                chunks=rows), names, target)

    @classmethod
    def from_dask(cls, X, y, names=None, target="y") -> "DaskData":
        """Dask arrays or dataframes; a dataframe's column names become the feature names."""
        _check_frames(X, y)
        _, da, _ = _dask()
        if hasattr(X, "columns"):
            names = names or tuple(str(c) for c in X.columns)
            X = _to_array(X)
        if hasattr(y, "to_dask_array"):
            target = str(getattr(y, "name", None) or target)
            y = _to_array(y)
        if X.ndim == 1:
            X = X[:, None]
        if X.ndim != 2 or y.ndim != 1:
            raise DataError(f"X must be 2-D (rows × features) and y 1-D; got shapes {X.shape} and {y.shape}.")
        _check_numeric({"X": X.dtype, "y": y.dtype})
        X = X.astype(np.float64).rechunk({1: -1})
        y = y.astype(np.float64).rechunk(X.chunks[0])
        names = tuple(names) if names else default_feature_names(X.shape[1])
        return cls(X, y, names, target)

    @classmethod
    def from_scan(cls, scan) -> "DaskData":
        """Files as Dask arrays, a partition per chunk (a file's row groups joined up to ``FILE_PARTITION_ROWS``
        rows, or a CSV file), each read on a worker by gradfit's own reader — the same checks and messages as in
        memory and streamed, and partitions that do not depend on which columns the files also hold. Parquet row counts come from the
        files' metadata (no pass to count them); CSV files are counted when read. The summary's tasks read
        and reduce a chunk each on its worker (``tree_summary``): only the summary travels."""
        dask, da, _ = _dask()
        d, parts_X, parts_y = len(scan.feature_names), [], []
        chunks = tuple(scan.chunks(FILE_PARTITION_ROWS))
        for chunk in chunks:
            rows = np.nan if chunk.rows is None else chunk.rows     # CSV files: unknown until read
            X, y = dask.delayed(read_chunk, nout=2, pure=True)(scan, chunk)
            parts_X.append(da.from_delayed(X, shape=(rows, d), dtype=np.float64))
            parts_y.append(da.from_delayed(y, shape=(rows,), dtype=np.float64))
        if not parts_X:
            raise DataError(f"{scan.source} has no rows.")
        return cls(da.concatenate(parts_X), da.concatenate(parts_y), scan.feature_names, scan.target_name,
                   scan.source, scan, chunks)

    def partitions(self):
        """Delayed ``(X, y, first_row)`` per partition (first_row 0 where the sizes are unknown: files,
        whose reader names the file's own rows)."""
        sizes = self.X.chunks[0]
        starts = np.cumsum((0,) + sizes[:-1]) if all(np.isfinite(sizes)) else np.zeros(len(sizes), dtype=int)
        return list(zip(self.X.to_delayed().ravel(), self.y.to_delayed().ravel(), starts.astype(int).tolist()))


def _check_frames(X, y) -> None:
    """A Dask frame's columns: each named once, each of a numeric dtype (checked before anything runs)."""
    if hasattr(X, "columns"):
        check_distinct([str(c) for c in X.columns])
        _check_numeric(dict(X.dtypes.items()))
    if hasattr(y, "to_dask_array") and hasattr(y, "dtype"):
        _check_numeric({str(getattr(y, "name", None) or "y"): y.dtype})


def _check_numeric(dtypes: dict) -> None:
    """Dask data are checked by dtype before anything runs (a cast would turn dates into nanoseconds)."""
    for name, dtype in dtypes.items():
        kind = getattr(dtype, "kind", "O")
        if kind in "mM":
            raise DataError(f"Column {shown(str(name))} holds dates or times ({dtype}), not numbers. gradfit does not "
                            "guess a unit: convert it to a number first (for example days since the first date), "
                            "or leave the column out.")
        if kind not in "biuf":
            raise DataError(f"Column {shown(str(name))} has dtype {dtype}, not a number; gradfit fits numbers only. "
                            "Convert it (.astype(float)) or encode it as numeric columns, or leave it out.")


def connect(scheduler, stack: ExitStack):
    """The Dask client: ``scheduler`` itself when it is a ``distributed.Client``, a client of the
    scheduler at that address, the current client, or else a ``LocalCluster`` for this fit —
    what gradfit started is closed with ``stack``."""
    _, _, distributed = _dask()
    if isinstance(scheduler, distributed.Client):
        return scheduler
    if scheduler:
        return stack.enter_context(distributed.Client(scheduler))
    try:
        return distributed.get_client()
    except ValueError:
        pass
    return stack.enter_context(distributed.Client(stack.enter_context(local_cluster())))


CLUSTER_ATTEMPTS = 3


def local_cluster(attempts: int = CLUSTER_ATTEMPTS):
    """A ``LocalCluster`` of worker processes; a worker that dies while the cluster starts (killed, out
    of memory) costs a fresh start, up to ``attempts`` times, then a message that says what to do."""
    _, _, distributed = _dask()
    from gradfit.errors import ConfigError

    for attempt in range(1, attempts + 1):
        try:
            # No dashboard; the scheduler's small HTTP server on a free port (":8787" may be taken); the
            # workers' logs (a failed task, whose error reaches the user as gradfit's message) kept off stderr.
            return distributed.LocalCluster(processes=True, dashboard_address=None, silence_logs=logging.CRITICAL,
                                            scheduler_kwargs={"dashboard_address": ":0"})
        except Exception as exc:   # distributed raises plain Exceptions ("Nanny failed to start", timeouts)
            if attempt == attempts:
                raise ConfigError(
                    f"Could not start a local Dask cluster ({attempts} attempts; the last said: "
                    f"{str(exc)[:200] or type(exc).__name__}). In a script, start the fit under "
                    "`if __name__ == \"__main__\":` (worker processes import the script); otherwise check "
                    "memory and process limits, or give a running cluster with --scheduler ADDRESS "
                    "(scheduler= in Python)."
                ) from None


def read_chunk(scan, chunk) -> tuple[np.ndarray, np.ndarray]:
    """One chunk of a ``Scan`` (a Parquet row group or a CSV file), read and validated on a worker."""
    batches = list(scan.column_batches(chunk))      # validated: a missing value is named by file and row
    names = scan.feature_names
    n = sum(b[scan.target_name].shape[0] for b in batches)
    X, y = np.empty((n, len(names)), order="F"), np.empty(n)   # column by column: contiguous writes
    start = 0
    for b in batches:
        stop = start + b[scan.target_name].shape[0]
        for j, name in enumerate(names):
            X[start:stop, j] = b[name]
        y[start:stop] = b[scan.target_name]
        start = stop
    return X, y


def chunk_summary(scan, chunk) -> Summary:
    """The summary of one chunk of a ``Scan`` (a row group, a CSV file), read and reduced on a worker as the stream
    engine reduces a whole scan (``stream.scan_summary``: the kernel takes the batch's columns as they are read, the
    finiteness check rides in the totals and a missing value is named by file and row)."""
    from gradfit.engines.stream import scan_summary

    return scan_summary(scan, chunk)


def partition_summary(X, y, first_row: int, names: tuple[str, ...], target: str) -> Summary:
    """One partition's summary (runs on a worker); refuses missing values with their row.

    The finiteness check rides in the summary's pass: only when its totals are not finite are the
    columns searched for the first missing or infinite value (the message names its row)."""
    if not len(y):
        return Summary(0, np.zeros(X.shape[1] + 1), np.zeros((X.shape[1] + 1,) * 2))
    summary = summarize([(X, y)])
    if not (np.isfinite(summary.M).all() and np.isfinite(summary.mean).all()):
        for j, name in enumerate(names):
            check_finite(X[:, j], name, offset=first_row)
        check_finite(y, target, offset=first_row)
    return summary


def tree_summary(data: DaskData):
    """The delayed summary of all partitions, merged pairwise level by level."""
    import dask

    if data.chunks:
        level = [dask.delayed(chunk_summary, pure=True)(data.scan, chunk) for chunk in data.chunks]
    else:
        level = [dask.delayed(partition_summary)(X, y, start, data.feature_names, data.target_name)
                 for X, y, start in data.partitions()]
    while len(level) > 1:
        level = [dask.delayed(Summary.merge)(*level[i:i + 2]) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
    return level[0]


def partition_fold_summaries(X, y, first_row: int, names, target, folds: int, seed: int) -> list[Summary]:
    """One partition's summary of each cross-validation fold (runs on a worker; rows counted from ``first_row``)."""
    for j, name in enumerate(names):
        check_finite(X[:, j], name, offset=first_row)
    check_finite(y, target, offset=first_row)
    empty = Summary(0, np.zeros(X.shape[1] + 1), np.zeros((X.shape[1] + 1,) * 2))
    return fold_summaries([(X, y)], folds, seed, first_row) or [empty] * folds


def _merge_lists(a: list[Summary], b: list[Summary]) -> list[Summary]:
    return [x.merge(z) for x, z in zip(a, b)]


def dask_fold_summaries(data: DaskData, folds: int, seed: int, scheduler=None) -> list[Summary]:
    """Every fold's summary in one pass over the partitions, merged in a tree on the cluster."""
    import dask

    level = [dask.delayed(partition_fold_summaries)(X, y, start, data.feature_names, data.target_name, folds, seed)
             for X, y, start in data.partitions()]
    while len(level) > 1:
        level = [dask.delayed(_merge_lists)(*level[i:i + 2]) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
    with ExitStack() as stack:
        client = connect(scheduler, stack)
        return client.compute(level[0]).result()


class DaskObjective(StatsObjective):
    name = "dask"

    def __init__(self, data: DaskData, loss: Loss, *, scheduler=None):
        self.data, self._stack = data, ExitStack()
        try:
            self.client = connect(scheduler, self._stack)
            summary = self.client.compute(tree_summary(data)).result()
            check_rows(summary.n, f"'{data.source}'" if data.source else "the data")
            if data.scan is not None:
                data.scan.n_rows = summary.n
        except BaseException:
            self._stack.close()
            raise
        super().__init__(summary, loss, rescan=self._partitions)

    def close(self) -> None:
        """Close the client and the cluster this fit started (none when it used the caller's)."""
        self._stack.close()

    def _read(self, i: int):
        """Partition ``i`` as numpy arrays on the client."""
        X, y, _ = self.data.partitions()[i]
        return [tuple(self.client.compute([X, y], sync=True))]

    def _partitions(self):
        """A pass over the partitions, one at a time on the client (for the QR pass)."""
        for i in range(len(self.data.partitions())):
            for X, y in self._read(i):
                yield from array_blocks(X, y)

    def standardized(self, shift: np.ndarray, scale: np.ndarray):
        from gradfit.engines.stream import StandardizedRows

        return StandardizedRows(self, shift, scale)

    def iter_batches(self, batch_size: int, rng: np.random.Generator):
        """Mini-batches: partitions in a seeded order, their rows shuffled in pools (``stream.shuffled_batches``),
        one pass per epoch. One partition at a time reaches the client (it arrives whole: side by side, several
        would hold several partitions), so the client holds a partition and the pool."""
        from gradfit.engines.stream import shuffled_batches

        return shuffled_batches(len(self.data.partitions()), self._read, batch_size, rng,
                                len(self.data.feature_names), interleave=1)

    def batch_gradient(self, batch, theta) -> np.ndarray:
        X_batch, y_batch = batch
        return self.loss.batch_gradient(X_batch, y_batch, np.asarray(theta, dtype=np.float64), self.n_rows)

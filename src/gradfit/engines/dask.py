"""The dask engine: data on a Dask cluster (a ``distributed.LocalCluster`` unless an address is given).

Full-batch gradient descent: each partition is reduced to the stats summary on the worker
that holds it, and the summaries are merged pairwise in a tree (``Summary.merge``), so only
O(d²) numbers reach the client; the iterations then run on the client. Mini-batch SGD
(``iter_batches``) reads one partition at a time, a pass per epoch. The tree has a fixed
shape, so the result does not depend on which worker ran what, nor on a worker lost and
its tasks recomputed.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass

import numpy as np

from gradfit.data.arrays import check_finite, default_feature_names
from gradfit.engines.stats import StatsObjective, Summary, array_blocks, summarize
from gradfit.errors import DataError, missing_extra
from gradfit.loss import Loss

PARTITION_ROWS = 250_000


def _dask():
    try:
        import dask
        import dask.array as da
        import distributed
    except ImportError:
        raise missing_extra("dask", "dask") from None
    return dask, da, distributed


@dataclass
class DaskData:
    """``X`` (n×d) and ``y`` (n) as Dask arrays chunked by rows only."""

    X: object
    y: object
    feature_names: tuple[str, ...]
    target_name: str = "y"
    source: str | None = None
    # Files read by the workers (``from_scan``, Parquet): the summary's tasks read and reduce a row group
    # each, so nothing but its summary leaves the worker.
    scan: object = None
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
        _, da, _ = _dask()
        if hasattr(X, "columns"):
            names = names or tuple(str(c) for c in X.columns)
            X = X.to_dask_array(lengths=True)
        if hasattr(y, "to_dask_array"):
            target = str(getattr(y, "name", None) or target)
            y = y.to_dask_array(lengths=True)
        if X.ndim == 1:
            X = X[:, None]
        if X.ndim != 2 or y.ndim != 1:
            raise DataError(f"X must be 2-D (rows × features) and y 1-D; got shapes {X.shape} and {y.shape}.")
        X = X.astype(np.float64).rechunk({1: -1})
        y = y.astype(np.float64).rechunk(X.chunks[0])
        names = tuple(names) if names else default_feature_names(X.shape[1])
        return cls(X, y, names, target)

    @classmethod
    def from_scan(cls, scan) -> "DaskData":
        """Files read by the workers themselves. Parquet: one partition per row group, its row count
        from the file's metadata (no pass to count them); each worker reads and validates its row groups
        (``Scan.batches``: a missing value is named by file and row). CSV: ``dask.dataframe.read_csv``."""
        _dask()
        if scan.format == "parquet":
            return cls._from_row_groups(scan)
        import dask.dataframe as dd

        frame = dd.read_csv(list(scan.files), usecols=scan.columns, dtype={c: "float64" for c in scan.columns})
        data = cls.from_dask(frame[list(scan.feature_names)], frame[scan.target_name], scan.feature_names,
                             scan.target_name)
        data.source = scan.source
        return data

    @classmethod
    def _from_row_groups(cls, scan) -> "DaskData":
        import dask
        import pyarrow.parquet as pq

        _, da, _ = _dask()
        d = len(scan.feature_names)
        parts_X, parts_y = [], []
        counts = {f: pq.ParquetFile(f).metadata for f in scan.files}
        for chunk in scan.chunks():
            rows = counts[chunk.file].row_group(chunk.row_group).num_rows
            block = dask.delayed(read_chunk, pure=True, nout=2)(scan, chunk)
            parts_X.append(da.from_delayed(block[0], shape=(rows, d), dtype=np.float64))
            parts_y.append(da.from_delayed(block[1], shape=(rows,), dtype=np.float64))
        if not parts_X:
            raise DataError(f"{scan.source} has no rows.")
        data = cls(da.concatenate(parts_X), da.concatenate(parts_y), scan.feature_names, scan.target_name)
        data.source, data.scan, data.chunks = scan.source, scan, tuple(scan.chunks())
        return data

    def partitions(self):
        """Delayed ``(X, y, first_row)`` per partition."""
        starts = np.cumsum((0,) + self.X.chunks[0][:-1])
        return list(zip(self.X.to_delayed().ravel(), self.y.to_delayed().ravel(), starts.tolist()))


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
    cluster = stack.enter_context(distributed.LocalCluster(processes=True, dashboard_address=None))
    return stack.enter_context(distributed.Client(cluster))


def read_chunk(scan, chunk) -> tuple[np.ndarray, np.ndarray]:
    """One chunk of a ``Scan`` (a Parquet row group), read and validated on a worker."""
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
    """The summary of one row group of a ``Scan``, read and reduced on a worker: the kernel takes the
    batch's columns as they are read (validated: a missing value is named by file and row)."""
    d = len(scan.feature_names)
    batches = [([b[c] for c in scan.feature_names], b[scan.target_name]) for b in scan.column_batches(chunk)]
    if not sum(len(y) for _, y in batches):
        return Summary(0, np.zeros(d + 1), np.zeros((d + 1, d + 1)))
    return summarize(batches)


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

    if data.scan is not None:
        level = [dask.delayed(chunk_summary, pure=True)(data.scan, chunk) for chunk in data.chunks]
    else:
        level = [dask.delayed(partition_summary)(X, y, start, data.feature_names, data.target_name)
                 for X, y, start in data.partitions()]
    while len(level) > 1:
        level = [dask.delayed(Summary.merge)(*level[i:i + 2]) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
    return level[0]


class DaskObjective(StatsObjective):
    name = "dask"

    def __init__(self, data: DaskData, loss: Loss, *, scheduler=None):
        self.data, self._stack = data, ExitStack()
        try:
            self.client = connect(scheduler, self._stack)
            summary = self.client.compute(tree_summary(data)).result()
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

    def iter_batches(self, batch_size: int, rng: np.random.Generator):
        """Mini-batches: partitions in a seeded order, rows shuffled within each, one pass per epoch."""
        from gradfit.engines.stream import shuffled_batches

        return shuffled_batches(len(self.data.partitions()), self._read, batch_size, rng,
                                len(self.data.feature_names))

    def batch_gradient(self, batch, theta) -> np.ndarray:
        X_batch, y_batch = batch
        return self.loss.batch_gradient(X_batch, y_batch, np.asarray(theta, dtype=np.float64), self.n_rows)

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
import time
from contextlib import ExitStack
from dataclasses import dataclass

import numpy as np

from gradfit.data.arrays import check_distinct, check_finite, check_rows, default_feature_names, shown
from gradfit.engines.stats import StatsObjective, Summary, array_blocks, fold_summaries, summarize
from gradfit.errors import ConfigError, DataError, missing_extra
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


# A scheduler address must answer within this many seconds: to the connection, then with the greeting every Dask
# scheduler sends first (a port that accepts and never speaks, or an HTTP server, is "not a Dask scheduler").
CONNECT_TIMEOUT = 10
SCHEMES = ("tcp", "tls", "ucx", "ws", "wss")


def engine_for_scheduler(scheduler, engine: str) -> str:
    """The engine of a run given ``scheduler`` (an address or a ``distributed.Client``): it implies the dask engine,
    so 'auto' becomes 'dask'; another engine with it is a ConfigError (the run would not use the cluster). The
    address is checked for its form here; whether a scheduler answers there, when the fit connects."""
    if scheduler is None:
        return engine
    if isinstance(scheduler, str):
        check_address(scheduler)
    if engine not in ("auto", "dask"):
        raise ConfigError(f"A scheduler (--scheduler, scheduler=) runs the fit on a Dask cluster, with engine='dask'; "
                          f"engine={engine!r} would not use it. Leave --engine out (or give --engine dask) to fit on "
                          "the cluster, or leave --scheduler out to fit here.")
    return "dask"


def check_address(address: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of a scheduler address (``tcp://10.0.0.5:8786``, ``10.0.0.5:8786``), or the
    ConfigError that says what is wrong with it."""
    if not address.strip():
        raise ConfigError("The scheduler address is empty (--scheduler ''). Give the address of a running Dask "
                          "scheduler, such as tcp://10.0.0.5:8786, or leave --scheduler out for a local cluster.")
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    host, colon, port = rest.rpartition(":")
    if scheme not in SCHEMES or not colon or not host or not port.isdigit() or not 0 < int(port) < 65536 \
            or any(c.isspace() or c in "/?#@" for c in rest):
        raise ConfigError(f"{shown(address)} is not a Dask scheduler address. Give one as PROTOCOL://HOST:PORT, "
                          f"such as tcp://10.0.0.5:8786 (the protocol one of {', '.join(SCHEMES)}; tcp when left "
                          "out), as the scheduler prints it when it starts.")
    return scheme, host.strip("[]"), int(port)


def probe_scheduler(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Check that a Dask scheduler answers at a tcp address within ``timeout`` seconds: the connection, then its
    greeting (every scheduler speaks first: an 8-byte length, then the handshake, which names its pickle
    protocol). Anything else is a ConfigError that says which, before distributed's client — which waits forever
    on a silent port and reads an HTTP reply as a frame length of exabytes — is handed the address."""
    import socket
    import struct

    scheme, host, port = check_address(address)
    if scheme != "tcp":            # tls, ucx, websockets: the greeting is not plain bytes here
        return
    where = f"the Dask scheduler at {shown(address)}"
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except (socket.timeout, TimeoutError):
        raise ConfigError(f"No answer from {where} within {timeout:g} s (no connection). Check the address, that "
                          "the scheduler is running, and that no firewall is in the way.") from None
    except OSError as exc:
        raise ConfigError(f"Could not connect to {where}: {exc.strerror or exc}. Check the address and that the "
                          "scheduler is running (dask scheduler prints its address when it starts).") from None
    def not_dask(what: str) -> ConfigError:
        return ConfigError(f"{shown(address)} accepted the connection but is not a Dask scheduler: {what}. Check the "
                           "port: a Dask scheduler listens on 8786 by default (8787 is its dashboard, a web page).")

    with sock:
        deadline = time.monotonic() + timeout      # for the whole greeting, however slowly it comes
        try:
            head = _receive(sock, 8, deadline)
            length = struct.unpack("<Q", head)[0] if len(head) == 8 else 0
            greeting = _receive(sock, length, deadline) if 16 <= length <= 1 << 16 else b""
        except (socket.timeout, TimeoutError):
            raise not_dask(f"it said nothing within {timeout:g} s") from None
        except OSError as exc:
            raise not_dask(f"the connection failed ({exc.strerror or exc})") from None
    if b"pickle-protocol" not in greeting:
        said = head.decode("ascii", "replace").strip()
        raise not_dask(f"it answered {shown(said)}" if said.isprintable() and said else
                       "its answer is not a Dask handshake")


def _receive(sock, n: int, deadline: float) -> bytes:
    """Up to ``n`` bytes from ``sock`` (fewer where it closes first) before ``deadline`` (``time.monotonic``), or
    ``TimeoutError``."""
    data = b""
    while len(data) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        block = sock.recv(n - len(data))
        if not block:
            break
        data += block
    return data


def connect(scheduler, stack: ExitStack):
    """The Dask client: ``scheduler`` itself when it is a ``distributed.Client``, a client of the
    scheduler at that address (checked first: ``probe_scheduler``), the current client, or else a
    ``LocalCluster`` for this fit — what gradfit started is closed with ``stack``."""
    _, _, distributed = _dask()
    if isinstance(scheduler, distributed.Client):
        return scheduler
    if scheduler is not None:
        probe_scheduler(scheduler)
        try:
            return stack.enter_context(distributed.Client(scheduler, timeout=CONNECT_TIMEOUT))
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"Could not connect to the Dask scheduler at {shown(scheduler)} within "
                              f"{CONNECT_TIMEOUT} s ({str(exc)[:200] or type(exc).__name__}). Check the address "
                              "and that the scheduler is running.") from None
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
    summary = summarize([(X, y)], threads=1)     # a worker's task: the cluster's own threads run the partitions
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
        return computed(client, level[0], data)


def computed(client, work, data: DaskData):
    """``work`` computed on the cluster; a worker killed while computing it (out of memory, most often: the nanny
    ends a worker past its memory limit) is a DataError that names the partitions' size and what to do."""
    _, _, distributed = _dask()
    try:
        return client.compute(work, sync=True)
    except distributed.KilledWorker as exc:
        raise DataError(f"A Dask worker died while computing the fit ({str(exc)[:160]}); most often it ran out of "
                        f"memory. The data are in {partition_size(data)}. Give each worker more memory (dask worker "
                        "--memory-limit), or make the partitions smaller: rechunk Dask arrays by rows "
                        "(X.rechunk({0: ROWS})) or repartition frames; split big files into several, or write "
                        "Parquet row groups of fewer rows.") from None


def partition_size(data: DaskData) -> str:
    """The largest partition of ``data``, for a message: its rows and memory, or its file's size (CSV files, whose
    rows are known only once read)."""
    d, sizes = len(data.feature_names), data.X.chunks[0]
    if all(np.isfinite(sizes)):
        rows = int(max(sizes))
        return (f"partitions of up to {rows:,} rows × {d + 1} columns ({rows * (d + 1) * 8 / 2**20:,.0f} MiB each as "
                "float64; a worker holds a partition, its copy as read and its neighbours' at once)")
    from pathlib import Path

    largest = max(data.chunks, key=lambda c: Path(c.file).stat().st_size)
    return (f"partitions of a whole CSV file each, the largest '{largest.file}' "
            f"({Path(largest.file).stat().st_size / 2**20:,.0f} MiB on disk, read whole by one worker)")


class DaskObjective(StatsObjective):
    name = "dask"

    def __init__(self, data: DaskData, loss: Loss, *, scheduler=None):
        self.data, self._stack = data, ExitStack()
        try:
            self.client = connect(scheduler, self._stack)
            summary = computed(self.client, tree_summary(data), data)
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
        return [tuple(computed(self.client, [X, y], self.data))]

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

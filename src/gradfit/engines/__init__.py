"""Objectives ("engines"): the same loss and gradient, computed where the data live.

An engine builds an ``Objective`` (the Protocol below: exactly what the descent loop and
``fit`` use). ``choose_engine`` is the one answer to ``engine="auto"``; ``make_objective``
builds the chosen engine's objective from the registry. Engines know the ``Loss`` they
evaluate, never the update rule that uses it.
"""

from __future__ import annotations

from typing import Callable

from gradfit.data.arrays import XY, SparseXY
from gradfit.data.files import Scan
from gradfit.errors import ConfigError
from gradfit.engines.base import Objective  # noqa: F401  (the Protocol, re-exported)
from gradfit.loss import Loss

# engine="auto" reduces full-batch runs over this many rows to the stats summary (one pass). Below it the
# numpy engine (the formulas as written, on the rows) costs a few milliseconds; above, a read per iteration
# and the exact reference's QR pass made it 25× the summary's cost at 5·10⁴ rows (55 ms against 1.7 ms).
STATS_MIN_ROWS = 10_000
# Files that hold up to this many bytes (a compressed file: decompressed) are read into memory by
# engine="auto"; larger ones (or several) stream.
IN_MEMORY_BYTES = 256 * 2**20
# The engines that need the whole data in memory as arrays.
IN_MEMORY = ("python", "numpy", "torch")


def _python(data: XY, loss: Loss, **_):
    from gradfit.engines.python import PythonObjective

    return PythonObjective(data.X.tolist(), data.y.tolist(), loss)


def _numpy(data: XY, loss: Loss, *, dtype, **_):
    from gradfit.engines.numpy import NumpyObjective

    return NumpyObjective(data.X, data.y, loss, dtype=dtype)


def _torch(data: XY, loss: Loss, *, dtype, device, **_):
    from gradfit.engines.torch import TorchObjective

    return TorchObjective(data.X, data.y, loss, dtype=dtype, device=device)


def _stats(data, loss: Loss, **_):
    if isinstance(data, Scan):   # the summary of files is the stream engine's
        return _stream(data, loss)
    from gradfit.engines.stats import StatsObjective

    if isinstance(data, SparseXY):   # a sparse X: its summary by sparse products
        return StatsObjective.from_sparse(data.X, data.y, loss)

    return StatsObjective.from_arrays(data.X, data.y, loss)


def _stream(data: Scan, loss: Loss, **_):
    from gradfit.engines.stream import StreamObjective

    return StreamObjective(data, loss)


def _dask(data, loss: Loss, *, scheduler=None, **_):
    from gradfit.engines.dask import DaskData, DaskObjective

    if isinstance(data, XY):
        data = DaskData.from_arrays(data.X, data.y, data.feature_names, data.target_name)
    elif isinstance(data, Scan):
        data = DaskData.from_scan(data)
    return DaskObjective(data, loss, scheduler=scheduler)


REGISTRY: dict[str, Callable[..., Objective]] = {
    "python": _python, "numpy": _numpy, "torch": _torch, "stats": _stats, "stream": _stream, "dask": _dask,
}
ENGINES = ("auto", *REGISTRY)


def choose_engine(data, *, engine: str = "auto", optimizer: str = "gd", dtype: str = "float64",
                  device: str = "cpu", weighted: bool = False, in_memory_only: tuple[str, ...] = (),
                  summarizable: bool = True) -> str:
    """The engine that runs: ``engine`` checked against the data, or the answer to ``"auto"``.

    auto: Dask data → dask; CUDA → torch; files → read whole (numpy) when one file holding at most
    ``IN_MEMORY_BYTES`` (decompressed) or an option needs them in memory, else streamed; arrays → stats for
    full-batch float64 runs over ``STATS_MIN_ROWS`` rows or more, else numpy.
    ``in_memory_only`` names options of the run that need the data in memory (for the message).
    ``summarizable=False`` (Huber's loss): no summary holds the loss, so never stats; python and dask refuse it.
    """
    is_dask = not isinstance(data, (XY, Scan, SparseXY))
    if engine == "auto":
        if isinstance(data, SparseXY):
            engine = "stats"
        elif is_dask:
            engine = "dask"
        elif device == "cuda":
            engine = "torch"
        elif isinstance(data, Scan):
            small = len(data.files) == 1 and data.bytes_to_read(IN_MEMORY_BYTES) <= IN_MEMORY_BYTES
            engine = "numpy" if small or weighted or in_memory_only else "stream"
        else:
            many = optimizer != "sgd" and dtype == "float64" and not weighted and data.n_rows >= STATS_MIN_ROWS
            engine = "stats" if many and summarizable else "numpy"
    if engine not in REGISTRY:
        raise ConfigError(f"Unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}.")
    _check_combination(engine, data, is_dask, optimizer=optimizer, dtype=dtype, device=device, weighted=weighted,
                       in_memory_only=in_memory_only)
    if not summarizable and engine in ("python", "stats", "dask"):
        raise ConfigError(f"loss='huber' runs on the numpy, torch or stream engine (a pass per iteration), not "
                          f"{engine!r}" + (": call .compute() to fit Dask data in memory." if is_dask else "."))
    return engine


def _check_combination(engine, data, is_dask, *, optimizer, dtype, device, weighted, in_memory_only) -> None:
    if isinstance(data, SparseXY) and (engine != "stats" or optimizer == "sgd" or dtype != "float64"):
        asked = (f"engine={engine!r}" if engine != "stats" else "optimizer='sgd'" if optimizer == "sgd"
                 else f"dtype={dtype!r}")
        raise ConfigError(f"A sparse X runs full-batch on the stats engine in float64 (a summary by sparse "
                          f"products), not with {asked}; give X.toarray() for that.")
    if device == "cuda" and engine != "torch":
        raise ConfigError(f"device='cuda' runs on the torch engine; engine={engine!r} computes on the CPU. "
                          "Use engine='torch' (--engine torch).")
    if engine in ("python", "stats", "stream", "dask") and dtype != "float64":
        raise ConfigError(f"The {engine} engine computes in float64; dtype={dtype!r} needs engine='numpy' or 'torch'"
                          + (" (which read the files whole into memory)." if isinstance(data, Scan) else "."))
    if weighted and optimizer == "sgd":
        raise ConfigError("Sample weights are used by the full-batch optimizers (gd, momentum, nesterov) and "
                          "solver='exact'; choose one of those instead of optimizer='sgd'.")
    if engine in ("stats", "stream", "dask") and weighted:
        raise ConfigError(f"Sample weights run on the python, numpy or torch engines, not {engine!r}.")
    if engine in ("python", "stats") and optimizer == "sgd":
        raise ConfigError(f"Mini-batch SGD (optimizer='sgd') needs the numpy, torch, stream or dask engine; the {engine} "
                          "engine " + ("replays the tutorial's full-batch loop." if engine == "python"
                                       else "reduces the data to a summary, which has no rows to sample."))
    if is_dask and engine != "dask":
        raise ConfigError(f"Dask inputs run on engine='dask' (or 'auto'), not {engine!r}; "
                          "call .compute() first to fit them in memory.")
    if engine == "stream" and not isinstance(data, Scan):
        raise ConfigError("engine='stream' reads files: give a path (CSV or Parquet, a glob or a "
                          "directory), or use engine='stats' for arrays in memory.")
    if engine in ("stream", "dask") and in_memory_only:
        raise ConfigError(f"{' and '.join(in_memory_only)} need the data in memory; the {engine} engine reads them "
                          "in chunks or on a cluster. Use engine='numpy' to read the file whole.")


def make_objective(engine: str, data, loss: Loss, *, dtype: str = "float64", device: str = "cpu",
                   scheduler=None) -> Objective:
    """The objective of the (chosen, concrete) ``engine`` over ``data``."""
    return REGISTRY[engine](data, loss, dtype=dtype, device=device, scheduler=scheduler)

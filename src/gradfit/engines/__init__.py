"""Objectives ("engines"): the same loss and gradient, computed where the data lives.

An engine is anything with ``loss_and_gradient(θ) -> (loss, gradient)``, ``loss(θ)``,
``gradient(θ)``, ``dtype``, ``n_rows`` and ``hessian_max_eigenvalue()``. The descent loop
(``gradfit.descent.run``) drives any of them. One that can be walked in mini-batches also has
``iter_batches(batch_size, rng)`` (every row once per epoch, in a seeded shuffled order).
"""

from __future__ import annotations

import numpy as np

from gradfit.errors import ConfigError

ENGINES = ("auto", "python", "numpy", "torch", "stats", "stream", "dask")
# engine="auto" reduces full-batch runs over this many rows to the stats summary (one pass).
STATS_MIN_ROWS = 100_000


def make_objective(engine: str, X: np.ndarray, y: np.ndarray, *, loss: str, fit_intercept: bool,
                   dtype: str = "float64", sample_weight=None, device: str = "cpu", full_batch: bool = True):
    """Build the objective of ``engine`` over the validated arrays ``X`` (n×d) and ``y`` (n)."""
    if engine == "auto":
        many = full_batch and dtype == "float64" and sample_weight is None and X.shape[0] >= STATS_MIN_ROWS
        engine = "torch" if device == "cuda" else "stats" if many else "numpy"
    if device == "cuda" and engine != "torch":
        raise ConfigError(f"device='cuda' runs on the torch engine; engine={engine!r} computes on the CPU. "
                          "Use engine='torch' (--engine torch).")
    if engine in ("python", "stats") and dtype != "float64":
        raise ConfigError(f"The {engine} engine computes in float64; dtype={dtype!r} needs engine='numpy'.")
    if engine in ("stats", "dask", "stream") and sample_weight is not None:
        raise ConfigError(f"Sample weights run on the python, numpy or torch engines, not {engine!r}.")
    if engine == "python":
        from gradfit.engines.python import PythonObjective

        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64).tolist()
        return PythonObjective(X.tolist(), y.tolist(), reduction=loss, fit_intercept=fit_intercept,
                               sample_weight=weights)
    if engine == "numpy":
        from gradfit.engines.numpy import NumpyObjective

        return NumpyObjective(X, y, reduction=loss, fit_intercept=fit_intercept, dtype=dtype,
                              sample_weight=sample_weight)
    if engine == "torch":
        from gradfit.engines.torch import TorchObjective

        return TorchObjective(X, y, reduction=loss, fit_intercept=fit_intercept, dtype=dtype,
                              sample_weight=sample_weight, device=device)
    if engine == "stats":
        from gradfit.engines.stats import StatsObjective

        return StatsObjective.from_arrays(X, y, reduction=loss, fit_intercept=fit_intercept)
    if engine == "dask":
        from gradfit.engines.dask import DaskData, DaskObjective

        return DaskObjective(DaskData.from_arrays(X, y), reduction=loss, fit_intercept=fit_intercept)
    if engine == "stream":
        raise ConfigError("engine='stream' reads files: give a path (CSV or Parquet, a glob or a "
                          "directory), or use engine='stats' for arrays in memory.")
    raise ConfigError(f"Unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}.")


def objective_for(data, engine: str, *, loss: str, fit_intercept: bool, dtype: str = "float64",
                  scheduler: str | None = None):
    """The objective for data not in memory: files (a ``Scan``) read in chunks, or Dask collections.

    Data for the in-memory engines are read whole before this (``fitting``); arrays go to
    ``make_objective``.
    """
    from gradfit.scan import Scan

    if isinstance(data, Scan) and engine != "dask":
        if dtype != "float64":
            raise ConfigError(f"Data read in chunks are summarized in float64; dtype={dtype!r} needs the file "
                              "in memory: use engine='numpy' (--engine numpy).")
        from gradfit.engines.stream import StreamObjective

        return StreamObjective(data, reduction=loss, fit_intercept=fit_intercept)
    if engine not in ("auto", "dask"):
        raise ConfigError(f"Dask inputs run on engine='dask' (or 'auto'), not {engine!r}; "
                          "call .compute() first to fit them in memory.")
    from gradfit.engines.dask import DaskData, DaskObjective

    dask_data = DaskData.from_scan(data) if isinstance(data, Scan) else data
    return DaskObjective(dask_data, reduction=loss, fit_intercept=fit_intercept, scheduler=scheduler)

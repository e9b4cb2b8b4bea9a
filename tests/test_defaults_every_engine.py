"""Issue 10: the defaults land within 1e-8 of the least-squares optimum in every full-batch engine.

numpy and stats on arrays, torch in float64, stream on a CSV file read in chunks (the summary gives the
standardization's means and scales) and dask on a several-file Parquet data set with an unused column,
on a real LocalCluster — each with no option but the engine, on real data sets no one tuned for.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from real_data import exact_optimum, load, relative_error

import gradfit

TARGET = 1e-8
DATA = ("longley", "diabetes", "r_trees")


def _check(result, d):
    error = relative_error(result.model.theta, exact_optimum(d.X, d.y))
    assert error <= TARGET, f"{result.engine}: {error:.3g} from the optimum after {result.n_iter} ({result.stop_reason})"
    assert result.converged
    assert error <= result.gap_bound + 4 * np.finfo(float).eps


def _fit(*args, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("error", gradfit.ConvergenceWarning)
        warnings.simplefilter("ignore", gradfit.GradfitWarning)    # collinearity notes on longley
        return gradfit.fit(*args, **options)


@pytest.mark.parametrize("name", DATA)
@pytest.mark.parametrize("engine", ["numpy", "stats"])
def test_in_memory_engines(engine, name):
    d = load(name)
    _check(_fit(d.X, d.y, engine=engine), d)


@pytest.mark.parametrize("name", DATA)
@pytest.mark.slow
def test_torch_engine_in_float64(name):
    pytest.importorskip("torch")
    d = load(name)
    _check(_fit(d.X, d.y, engine="torch", dtype="float64"), d)


@pytest.mark.parametrize("name", DATA)
def test_stream_engine_on_a_csv_file(name, tmp_path, monkeypatch):
    monkeypatch.setattr("gradfit.data.files.BATCH_ROWS", 7)      # many small blocks, as a large file has
    d = load(name)
    path = tmp_path / f"{name}.csv"
    np.savetxt(path, np.column_stack([d.X, d.y]), delimiter=",", fmt="%.17g", comments="",
               header=",".join([*d.feature_names, d.target_name]))
    scan = gradfit.open_files(path, list(d.feature_names), d.target_name)
    result = _fit(scan, engine="stream")
    assert result.engine == "stream"
    _check(result, d)


@pytest.mark.slow
def test_dask_engine_on_several_parquet_files(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    distributed = pytest.importorskip("distributed")
    dd = pytest.importorskip("dask.dataframe")
    d = load("diabetes")
    parts = np.array_split(np.arange(len(d.y)), 4)
    for k, rows in enumerate(parts):
        table = {name: d.X[rows, j] for j, name in enumerate(d.feature_names)}
        table[d.target_name] = d.y[rows]
        table["unused"] = np.arange(len(rows), dtype=np.float64)
        pq.write_table(pa.table(table), tmp_path / f"part-{k}.parquet", row_group_size=40)
    cluster = distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None,
                                       memory_limit="1GiB")
    with cluster, distributed.Client(cluster) as client:
        frame = dd.read_parquet(str(tmp_path / "*.parquet"))
        X, y = frame[list(d.feature_names)], frame[d.target_name]
        result = _fit(X, y, scheduler=client)
    assert result.engine == "dask"
    _check(result, d)

"""The dask engine on a real ``distributed.LocalCluster`` with two worker processes."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

da = pytest.importorskip("dask.array", reason="the dask extra is installed by `make test`")
distributed = pytest.importorskip("distributed")

import gradfit  # noqa: E402
import gradfit.engines.dask  # noqa: E402
from gradfit.loss import Loss  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                       dashboard_address=None, memory_limit="1GiB")
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def make_dask(n=40_000, d=3, chunk=2_000, seed=5):
    rs = da.random.RandomState(seed)
    X = rs.standard_normal((n, d), chunks=(chunk, d)) * 3.0 + 100.0
    y = X @ np.arange(1.0, d + 1) + 0.5 + rs.standard_normal(n, chunks=chunk)
    return X, y


def test_a_dask_fit_equals_the_numpy_fit(client):
    X, y = make_dask()
    result = gradfit.fit(X, y, iters=200, tol=None)
    reference = gradfit.fit(X.compute(), y.compute(), engine="numpy", iters=200, tol=None)
    assert result.engine == "dask"
    np.testing.assert_allclose(result.model.theta, reference.model.theta, rtol=1e-9)
    assert result.metrics["r2"] == pytest.approx(reference.metrics["r2"], rel=1e-12)


def test_a_dask_dataframe_keeps_its_column_names(client):
    import dask.dataframe as dd
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"u": rng.standard_normal(5000), "v": rng.standard_normal(5000)})
    frame["t"] = 2 * frame.u - frame.v + 1
    ddf = dd.from_pandas(frame, npartitions=4)
    result = gradfit.fit(ddf[["u", "v"]], ddf["t"], iters=500)
    assert result.model.feature_names == ("u", "v") and result.model.target_name == "t"
    np.testing.assert_allclose(result.model.theta, [2.0, -1.0, 1.0], atol=1e-6)


def test_files_with_engine_dask_equal_the_stream_engine(client, tmp_path, cli):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(1)
    for i in range(3):
        a = rng.standard_normal(1000)
        pq.write_table(pa.table({"a": a, "y": 4 * a + 2 + rng.standard_normal(1000)}), tmp_path / f"p{i}.parquet")
    common = ["fit", tmp_path / "*.parquet", "--x", "a", "--y", "y", "--iters", "50", "--quiet"]
    on_dask, streamed = cli(*common, "--engine", "dask", "--scheduler", client.scheduler.address), cli(*common)
    assert on_dask.code == 0, on_dask.err
    assert "engine dask" in on_dask.out and "engine stream" in streamed.out
    assert on_dask.out.split("w = ")[1][:14] == streamed.out.split("w = ")[1][:14]


def test_a_worker_killed_mid_fit_does_not_change_the_result(client):
    X, y = make_dask(n=400_000, d=4, chunk=2_000, seed=9)
    reference = gradfit.fit(X, y, iters=100, tol=None)     # undisturbed run on the cluster
    pids = client.run(os.getpid)
    outcome = {}
    fit = threading.Thread(target=lambda: outcome.update(result=gradfit.fit(X, y, iters=100, tol=None)))
    fit.start()
    deadline = time.monotonic() + 30
    while not any(client.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.005)
    victim = next(iter(pids.values()))
    os.kill(victim, signal.SIGKILL)
    killed_while_running = fit.is_alive()
    fit.join(timeout=120)
    assert killed_while_running, "the fit ended before a worker could be killed"
    np.testing.assert_array_equal(outcome["result"].model.theta, reference.model.theta)
    client.wait_for_workers(2, timeout=60)   # the nanny restarts the worker for the next tests


def test_iter_batches_pulls_every_row_once(client):
    X, y = make_dask(n=5_000, d=2, chunk=700)
    objective = gradfit.engines.dask.DaskObjective(gradfit.engines.dask.DaskData.from_dask(X, y), Loss("mse"))
    batches = list(objective.iter_batches(256, np.random.default_rng(0)))
    seen = np.concatenate([b for _, b in batches])
    np.testing.assert_array_equal(np.sort(seen), np.sort(y.compute()))
    assert {len(b) for _, b in batches[:-1]} == {256}


def test_numpy_arrays_run_on_the_cluster_when_asked(client):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((3000, 2))
    y = X @ [1.0, -3.0] + 2.0
    on_dask = gradfit.fit(X, y, engine="dask", iters=300, tol=None)
    in_memory = gradfit.fit(X, y, engine="numpy", iters=300, tol=None)
    assert on_dask.engine == "dask"
    np.testing.assert_allclose(on_dask.model.theta, in_memory.model.theta, rtol=1e-9)


def test_parquet_row_groups_are_read_and_reduced_on_the_workers(client, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(11)
    for i in range(3):
        X = rng.standard_normal((3000, 2)) + [10.0, -4.0]
        pq.write_table(pa.table({"a": X[:, 0], "unused": rng.standard_normal(3000), "b": X[:, 1],
                                 "y": X @ [2.0, -1.0] + 0.3 + 0.01 * rng.standard_normal(3000)}),
                       tmp_path / f"p{i}.parquet", row_group_size=700)
    scan = gradfit.open_files(str(tmp_path), ["a", "b"], "y")
    data = gradfit.engines.dask.DaskData.from_scan(scan)
    assert len(data.chunks) == 15 and data.X.chunks[0] == (700,) * 4 + (200,) + (700,) * 4 + (200,) + (700,) * 4 + (200,)
    on_dask = gradfit.fit(scan, None, engine="dask", scheduler=client)
    streamed = gradfit.fit(scan, None, engine="stream")
    np.testing.assert_allclose(on_dask.model.theta, streamed.model.theta, rtol=1e-12)
    assert on_dask.metrics == pytest.approx(streamed.metrics, rel=1e-12)

    table = pq.read_table(tmp_path / "p1.parquet").to_pydict()
    table["b"][1500] = float("nan")
    pq.write_table(pa.table(table), tmp_path / "p1.parquet", row_group_size=700)
    with pytest.raises(gradfit.DataError, match=r"Column 'b' in '.*p1.parquet' has 1 missing value.*row 1500"):
        gradfit.fit(gradfit.open_files(str(tmp_path), ["a", "b"], "y"), None, engine="dask", scheduler=client)

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
from patience import patience  # noqa: E402

pytestmark = pytest.mark.slow          # a Dask cluster: left out of make test-fast


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

    def run():
        try:
            outcome["result"] = gradfit.fit(X, y, iters=100, tol=None)
        except BaseException as exc:             # said by the assertion below, not lost in the thread
            outcome["error"] = exc

    fit = threading.Thread(target=run)
    fit.start()
    while not any(client.processing().values()) and fit.is_alive():   # the event: tasks are on the workers
        time.sleep(0.005)
    victim = next(iter(pids.values()))
    os.kill(victim, signal.SIGKILL)
    killed_while_running = fit.is_alive()
    fit.join(timeout=patience(600))              # a bound for a hang only (tests/patience.py): the fit ends either way
    assert not fit.is_alive(), f"the fit did not end within {patience(600):.0f} s of a worker being killed"
    assert killed_while_running, "the fit ended before a worker could be killed"
    assert "error" not in outcome, outcome.get("error")
    np.testing.assert_array_equal(outcome["result"].model.theta, reference.model.theta)
    client.wait_for_workers(2, timeout=patience(240))   # the nanny restarts the worker for the next tests


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


# --- files on the cluster, at realistic shapes -----------------------------------------------------

def _parquet_files(directory, *, files=4, rows=50_000, row_group=12_000, unused=True, seed=3):
    """``files`` Parquet files of ``rows`` rows, several row groups each, and (``unused``) columns
    the fit does not use (a number and a string)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    parts = []
    for i in range(files):
        X = rng.standard_normal((rows, 2)) * [1.0, 30.0] + [5.0, -2.0]
        y = X @ [1.5, -0.25] + 4.0 + rng.standard_normal(rows)
        columns = {"a": X[:, 0], "b": X[:, 1], "y": y}
        if unused:
            columns = {"note": np.full(rows, f"file {i}"), **columns, "unused": rng.standard_normal(rows)}
        pq.write_table(pa.table(columns), directory / f"part-{i}.parquet", row_group_size=row_group)
        parts.append((X, y))
    X = np.concatenate([p[0] for p in parts])
    return X, np.concatenate([p[1] for p in parts])


def _least_squares(X, y):
    return np.linalg.lstsq(np.column_stack([X, np.ones(len(y))]), y, rcond=None)[0]


def _printed(out: str, name: str) -> float:
    return float(out.split(f"{name} = ")[1].split()[0])


@pytest.mark.parametrize("unused", [True, False], ids=["unused-columns", "two-columns"])
def test_multi_file_parquet_with_row_groups_fits_on_the_cluster(client, tmp_path, cli, unused):
    X, y = _parquet_files(tmp_path, unused=unused)
    features = ("--x", "a", "--x", "b") if unused else ("--x", "a")
    if not unused:
        X = X[:, :1]
    res = cli("fit", tmp_path / "*.parquet", *features, "--y", "y", "--engine", "dask", "--scheduler",
              client.scheduler.address, "-q")
    assert res.code == 0, res.err
    assert "200000 rows" in res.out and "Training metrics (200000 rows)" in res.out
    expected = _least_squares(X, y)
    names = ("w[a]", "w[b]") if unused else ("w",)
    for name, value in zip((*names, "b"), expected):
        assert _printed(res.out, name) == pytest.approx(value, rel=1e-8)


def test_a_csv_glob_on_the_cluster_counts_its_rows_and_runs_sgd(client, tmp_path, cli):
    rng = np.random.default_rng(4)
    for i in range(3):
        a = rng.standard_normal(3000)
        lines = "".join(f"{v!r},text,{4 * v + 2 + e!r}\n" for v, e in zip(a.tolist(), (0.1 * rng.standard_normal(3000)).tolist()))
        (tmp_path / f"p{i}.csv").write_text("a,label,y\n" + lines)
    common = ("fit", tmp_path / "*.csv", "--x", "a", "--y", "y", "-q")
    cluster = ("--scheduler", client.scheduler.address)      # implies --engine dask
    res = cli(*common, *cluster)
    assert res.code == 0, res.err
    assert "Training metrics (9000 rows)" in res.out and "None" not in res.out
    assert _printed(res.out, "w") == pytest.approx(_printed(cli(*common, "--engine", "stream").out, "w"), rel=1e-12)
    sgd = cli(*common, *cluster, "--engine", "dask", "--optimizer", "sgd", "--lr", "0.01", "--epochs", "3")
    assert sgd.code in (0, 4), sgd.err
    assert _printed(sgd.out, "w") == pytest.approx(4.0, abs=0.05)


def test_a_bad_value_read_on_a_worker_is_named_with_its_file_and_line(client, tmp_path, cli):
    (tmp_path / "a.csv").write_text("x,y\n" + "".join(f"{i},{2 * i}\n" for i in range(50)))
    (tmp_path / "b.csv").write_text("x,y\n1,2\n\n3,four\n")
    res = cli("fit", tmp_path / "*.csv", "--x", "x", "--y", "y", "--engine", "dask", "--scheduler",
              client.scheduler.address)
    assert res.code == 1 and "Traceback" not in res.err
    assert "b.csv" in res.err and "'four'" in res.err and "line 4" in res.err


KILLER = '''
import os, pathlib, signal

def dask_setup(worker):
    """The first worker to start kills itself (kill -9), as a worker lost while the cluster starts."""
    try:
        os.close(os.open(os.environ["GRADFIT_KILL_MARKER"], os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    os.kill(os.getpid(), signal.SIGKILL)
'''


def test_a_worker_killed_while_gradfits_own_cluster_starts_does_not_fail_the_fit(tmp_path):
    import subprocess
    import sys

    X, y = _parquet_files(tmp_path, files=2, rows=5_000, unused=True)
    (tmp_path / "killer.py").write_text(KILLER)
    env = {**os.environ, "GRADFIT_KILL_MARKER": str(tmp_path / "killed"),
           "DASK_DISTRIBUTED__WORKER__PRELOAD": f'["{tmp_path / "killer.py"}"]'}
    proc = subprocess.run([sys.executable, "-m", "gradfit", "fit", str(tmp_path / "*.parquet"), "--x", "a", "--x", "b",
                           "--y", "y", "--engine", "dask", "-q"], capture_output=True, text=True, env=env, timeout=patience(300))
    assert (tmp_path / "killed").exists(), "no worker was killed"
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "warning" not in proc.stderr
    assert _printed(proc.stdout, "w[a]") == pytest.approx(_least_squares(X, y)[0], rel=1e-8)


def test_the_readme_dask_snippet_runs_as_a_script(tmp_path):
    import re
    import subprocess
    import sys
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme[readme.index("**A Dask cluster**"):]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert 'if __name__ == "__main__":' in snippet
    (tmp_path / "snippet.py").write_text(snippet)
    proc = subprocess.run([sys.executable, "snippet.py"], capture_output=True, text=True, cwd=tmp_path, timeout=patience(300))
    assert proc.returncode == 0, proc.stderr
    assert "engine dask" in proc.stdout or "dask" in proc.stdout


def test_dask_frames_with_dates_text_or_twice_named_columns_are_refused_before_running():
    import dask.dataframe as dd
    import pandas as pd

    from gradfit.errors import DataError

    frame = pd.DataFrame({"t": pd.date_range("2020", periods=40), "x": np.arange(40.0), "s": ["a"] * 40,
                          "y": np.arange(40.0) * 2})
    ddf = dd.from_pandas(frame, npartitions=2)
    with pytest.raises(DataError, match="'t' holds dates or times"):
        gradfit.engines.dask.DaskData.from_dask(ddf[["t", "x"]], ddf["y"])
    with pytest.raises(DataError, match="'s' has dtype"):
        gradfit.engines.dask.DaskData.from_dask(ddf[["s"]], ddf["y"])
    twice = dd.from_pandas(pd.DataFrame(np.ones((40, 2)), columns=["a", "a"]), npartitions=2)
    with pytest.raises(DataError, match="'a' more than once"):
        gradfit.engines.dask.DaskData.from_dask(twice, ddf["y"])


def test_parquet_row_groups_are_read_and_reduced_on_the_workers(client, tmp_path, monkeypatch):
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
    assert len(data.chunks) == 3 and data.X.chunks[0] == (3000,) * 3      # small files: a partition each
    monkeypatch.setattr(gradfit.engines.dask, "FILE_PARTITION_ROWS", 1400)  # row groups joined to ≥ 1400 rows
    data = gradfit.engines.dask.DaskData.from_scan(scan)
    assert [c.row_groups for c in data.chunks] == [(0, 1), (2, 3), (4,)] * 3
    assert data.X.chunks[0] == (1400, 1400, 200) * 3
    on_dask = gradfit.fit(scan, None, engine="dask", scheduler=client)
    streamed = gradfit.fit(scan, None, engine="stream")
    np.testing.assert_allclose(on_dask.model.theta, streamed.model.theta, rtol=1e-12)
    assert on_dask.metrics == pytest.approx(streamed.metrics, rel=1e-12)

    table = pq.read_table(tmp_path / "p1.parquet").to_pydict()
    table["b"][1500] = float("nan")
    pq.write_table(pa.table(table), tmp_path / "p1.parquet", row_group_size=700)
    with pytest.raises(gradfit.DataError, match=r"Column 'b' in '.*p1.parquet' has 1 missing value.*row 1500"):
        gradfit.fit(gradfit.open_files(str(tmp_path), ["a", "b"], "y"), None, engine="dask", scheduler=client)


def test_sgd_with_defaults_on_the_cluster_runs_standardized_with_the_step_of_the_rows(client, tmp_path):
    X, y = _parquet_files(tmp_path, files=2, rows=4000, row_group=1500)     # columns of scale 1 and 30
    scan = gradfit.open_files(str(tmp_path), ["a", "b"], "y")
    on_dask = gradfit.fit(scan, None, engine="dask", optimizer="sgd", batch_size=256, epochs=2, tol=None,
                          scheduler=client)
    in_memory = gradfit.fit(X, y, optimizer="sgd", batch_size=256, epochs=1, tol=None)
    assert on_dask.engine == "dask" and on_dask.standardized
    assert on_dask.lr == pytest.approx(in_memory.lr, rel=1e-9)
    # one batch of every row: full-batch descent through the mini-batch path, standardized rows and all
    whole = gradfit.fit(scan, None, engine="dask", optimizer="sgd", batch_size=len(y), epochs=60, tol=None,
                        scheduler=client)
    np.testing.assert_allclose(whole.model.theta, _least_squares(X, y), rtol=1e-9)

"""Data larger than memory: CSV and Parquet read chunk by chunk, one file, a glob or a directory."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import gradfit
from gradfit.engines.stream import StreamObjective
from gradfit.loss import Loss
from gradfit.data.files import open_files


def make_data(n=5000, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2)) * [2.0, 0.5] + [10.0, -1.0]
    return X, X @ [1.5, -4.0] + 2.0 + 0.1 * rng.standard_normal(n)


def write_parquet_parts(directory, X, y, parts=3, row_group_size=500):
    directory.mkdir(exist_ok=True)
    for i, rows in enumerate(np.array_split(np.arange(len(y)), parts)):
        table = pa.table({"a": X[rows, 0], "b": X[rows, 1], "target": y[rows]})
        pq.write_table(table, directory / f"part-{i}.parquet", row_group_size=row_group_size)
    return directory


def write_csv(path, X, y):
    lines = ["a,b,target"] + [f"{r[0]!r},{r[1]!r},{t!r}" for r, t in zip(X.tolist(), y.tolist())]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_parquet_glob_fits_like_the_numpy_engine_in_memory(tmp_path):
    X, y = make_data()
    write_parquet_parts(tmp_path / "data", X, y)
    scan = open_files(str(tmp_path / "data" / "*.parquet"), ["a", "b"], "target")
    streamed = gradfit.fit(scan, None, iters=200, tol=None)
    in_memory = gradfit.fit(X, y, engine="numpy", iters=200, tol=None)
    assert streamed.engine == "stream" and scan.n_rows == len(y)
    np.testing.assert_allclose(streamed.model.theta, in_memory.model.theta, rtol=1e-9)
    assert streamed.metrics["r2"] == pytest.approx(in_memory.metrics["r2"], rel=1e-12)


def test_a_csv_directory_streams_through_small_batches(tmp_path, monkeypatch):
    X, y = make_data(3000)
    (tmp_path / "csv").mkdir()
    write_csv(tmp_path / "csv" / "one.csv", X[:1000], y[:1000])
    write_csv(tmp_path / "csv" / "two.csv", X[1000:], y[1000:])
    monkeypatch.setattr("gradfit.data.files.BATCH_ROWS", 256)   # many chunks from small files
    scan = open_files(tmp_path / "csv", ["a", "b"], "target")
    streamed = gradfit.fit(scan, None, iters=100, tol=None, engine="stream")
    in_memory = gradfit.fit(X, y, engine="numpy", iters=100, tol=None)
    np.testing.assert_allclose(streamed.model.theta, in_memory.model.theta, rtol=1e-9)


def test_iter_batches_covers_every_row_once_in_a_seeded_order(tmp_path):
    X, y = make_data(2345)
    write_parquet_parts(tmp_path / "data", X, y, parts=2, row_group_size=300)
    objective = StreamObjective(open_files(tmp_path / "data", ["a", "b"], "target"), Loss("mse"))

    def epoch(seed):
        return list(objective.iter_batches(100, np.random.default_rng(seed)))

    batches = epoch(7)
    assert [len(b) for _, b in batches] == [100] * 23 + [45]
    seen = np.concatenate([b for _, b in batches])
    np.testing.assert_array_equal(np.sort(seen), np.sort(y))            # every row, once
    rows = np.vstack([Xb for Xb, _ in batches])
    np.testing.assert_array_equal(rows[np.argsort(seen)], X[np.argsort(y)])  # rows stay whole
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(batches, epoch(7)))  # same seed, same order
    assert not np.array_equal(seen, np.concatenate([b for _, b in epoch(8)]))
    assert not np.array_equal(seen, np.sort(seen))


def test_a_bad_value_in_a_later_csv_chunk_names_file_column_and_line(tmp_path, monkeypatch):
    X, y = make_data(2000)
    write_csv(tmp_path / "a.csv", X[:1000], y[:1000])
    bad = write_csv(tmp_path / "b.csv", X[1000:], y[1000:])
    lines = bad.read_text().splitlines()
    lines[901] = lines[901].split(",")[0] + ",oops," + lines[901].split(",")[2]
    bad.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr("gradfit.data.files.BATCH_ROWS", 128)
    with pytest.raises(gradfit.DataError) as info:
        gradfit.fit(open_files(tmp_path / "*.csv", ["a", "b"], "target"), None, iters=5)
    message = str(info.value)
    assert "b.csv" in message and "'b'" in message and "line 902" in message and "oops" in message


def test_a_missing_value_in_a_later_parquet_row_group_names_file_column_and_row(tmp_path):
    table = pa.table({"a": [float(i) for i in range(1000)], "target": [1.0] * 700 + [None] + [2.0] * 299})
    pq.write_table(table, tmp_path / "d.parquet", row_group_size=256)
    with pytest.raises(gradfit.DataError, match=r"Column 'target' in '.*d\.parquet' has 1 missing value.*row 700"):
        gradfit.fit(open_files(tmp_path / "d.parquet", ["a"], "target"), None, iters=5, engine="stream")


@pytest.mark.parametrize("pattern, message", [
    ("nothing-*.parquet", "No file matches"),
    ("missing.csv", "File not found"),
])
def test_paths_that_match_nothing_say_so(tmp_path, pattern, message):
    with pytest.raises(gradfit.DataError, match=message):
        open_files(tmp_path / pattern, ["a"], "target")


def test_an_unknown_column_lists_the_file_columns(tmp_path):
    X, y = make_data(100)
    write_parquet_parts(tmp_path / "data", X, y, parts=1)
    with pytest.raises(gradfit.DataError, match="'c' not found .* Its columns are: a, b, target"):
        open_files(tmp_path / "data", ["c"], "target")


def test_the_cli_fits_a_quoted_glob(cli, tmp_path):
    X, y = make_data()
    write_parquet_parts(tmp_path / "data", X, y)
    result = cli("fit", tmp_path / "data" / "*.parquet", "--x", "a", "--x", "b", "--y", "target",
                 "--iters", "300", "--quiet")
    assert result.code == 0, result.err
    assert "5000 rows" in result.out and "engine stream" in result.out and "R²" in result.out
    assert "MAE" not in result.out


@pytest.mark.slow
def test_the_cli_offers_the_scaling_engines_and_options(cli):
    result = cli("fit", "--help")
    for word in ("stats", "stream", "dask", "--checkpoint", "--every", "--resume", "--scheduler"):
        assert word in result.out


def test_engine_stream_on_arrays_in_memory_is_a_config_error():
    with pytest.raises(gradfit.ConfigError, match="reads files"):
        gradfit.fit([1, 2, 3], [3, 5, 7], engine="stream")


def test_minibatch_sgd_walks_the_chunks_and_reaches_the_optimum(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3000, 2))
    y = X @ [1.5, -4.0] + 2.0 + 0.1 * rng.standard_normal(3000)
    write_parquet_parts(tmp_path / "data", X, y)
    scan = open_files(str(tmp_path / "data" / "*.parquet"), ["a", "b"], "target")
    run = lambda: gradfit.fit(scan, None, optimizer="sgd", batch_size=64, lr=0.05, epochs=30, tol=None, seed=1)  # noqa: E731
    first, again = run(), run()
    assert first.engine == "stream" and first.n_updates > 30
    assert first.model.theta.tobytes() == again.model.theta.tobytes()   # the shuffle is seeded
    exact = gradfit.fit(X, y, solver="exact").model.theta
    np.testing.assert_allclose(first.model.theta, exact, atol=0.05)


def test_sgd_with_defaults_on_chunked_data_runs_as_in_memory_standardized_with_the_same_step(tmp_path):
    X, y = make_data()            # uncentred columns: unstandardized SGD would bring the intercept slowly
    write_parquet_parts(tmp_path / "data", X, y)
    scan = open_files(str(tmp_path / "data" / "*.parquet"), ["a", "b"], "target")
    streamed = gradfit.fit(scan, None, optimizer="sgd", batch_size=64, epochs=20, tol=None, seed=2)
    in_memory = gradfit.fit(X, y, optimizer="sgd", batch_size=64, epochs=20, tol=None, seed=2)
    assert streamed.engine == "stream" and in_memory.engine == "numpy"
    assert streamed.standardized and in_memory.standardized
    # 1/L_B from h_max (the summary) and the longest standardized row (one more pass): the in-memory step
    assert streamed.lr == pytest.approx(in_memory.lr, rel=1e-9)
    exact = gradfit.fit(X, y, solver="exact").model.theta
    # a constant step jitters about the optimum by ~0.05 here, streamed or in memory
    np.testing.assert_allclose(streamed.model.theta, exact, atol=0.15)
    np.testing.assert_allclose(in_memory.model.theta, exact, atol=0.15)
    raw = gradfit.fit(scan, None, optimizer="sgd", batch_size=64, epochs=20, tol=None, seed=2, standardize=False)
    assert np.abs(raw.model.theta - exact).max() > 5 * np.abs(streamed.model.theta - exact).max()


def test_float32_on_data_read_in_chunks_asks_for_the_numpy_engine(tmp_path):
    X, y = make_data(n=200)
    write_parquet_parts(tmp_path / "data", X, y)
    scan = open_files(str(tmp_path / "data" / "*.parquet"), ["a", "b"], "target")
    with pytest.raises(gradfit.ConfigError, match="engine='numpy'"):
        gradfit.fit(scan, None, dtype="float32")
    assert gradfit.fit(scan, None, dtype="float32", engine="numpy", iters=5).engine == "numpy"


@pytest.mark.slow
def test_a_parquet_fit_reads_without_importing_pandas_or_pyarrow_dataset(tmp_path):
    """The stream engine's Parquet path (pyarrow.parquet, the columns as views of their buffers) spares the
    fifth of a second that pyarrow.dataset and to_numpy spend importing pandas."""
    import subprocess
    import sys

    X, y = make_data(3000)
    write_parquet_parts(tmp_path / "data", X, y, parts=2)
    program = ("import sys, gradfit\n"
               f"r = gradfit.fit(gradfit.open_files({str(tmp_path / 'data')!r}, ['a', 'b'], 'target'), None)\n"
               "print(r.engine, sorted(m for m in ('pandas', 'pyarrow.dataset') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["stream", "[]"]


def test_a_float32_parquet_file_fits_as_its_float64_values_and_is_read_as_float32(tmp_path, monkeypatch):
    """float32 columns (several row groups, an unused column, a float64 one beside them) reach the summary's
    kernel as pyarrow read them, float32 (no float64 copy of each batch), and the fit is the float64 fit."""
    from gradfit.engines import stats

    X, y = make_data(20_000, seed=11)
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    table = pa.table({"a": X32[:, 0], "unused": np.zeros(len(y), np.float32), "b": X[:, 1], "target": y32})
    pq.write_table(table, tmp_path / "single.parquet", row_group_size=3000)
    seen = []
    original = stats.accumulate_columns

    def recorded(columns, y, *args, **kwargs):
        seen.append((tuple(c.dtype for c in columns), y.dtype))
        return original(columns, y, *args, **kwargs)

    monkeypatch.setattr(stats, "accumulate_columns", recorded)
    monkeypatch.setattr("gradfit.data.files.BATCH_ROWS", 2048)
    streamed = gradfit.fit(open_files(tmp_path / "single.parquet", ["a", "b"], "target"), None, engine="stream")
    in_memory = gradfit.fit(np.column_stack([X32[:, 0].astype(np.float64), X[:, 1]]), y32.astype(np.float64),
                            engine="stats")
    f32, f64 = np.dtype(np.float32), np.dtype(np.float64)
    assert len(seen) > 1 and set(seen) == {((f32, f64), f32)}
    np.testing.assert_allclose(streamed.model.theta, in_memory.model.theta, rtol=1e-6)
    assert streamed.metrics["r2"] == pytest.approx(in_memory.metrics["r2"], rel=1e-9)


def test_a_nan_in_a_float32_parquet_column_is_named_by_file_column_and_row(tmp_path):
    a = np.arange(1000, dtype=np.float32)
    a[777] = np.nan
    pq.write_table(pa.table({"a": a, "target": np.ones(1000, np.float32)}), tmp_path / "f.parquet", row_group_size=256)
    with pytest.raises(gradfit.DataError, match=r"Column 'a' in '.*f\.parquet' has 1 missing value.*row 777"):
        gradfit.fit(open_files(tmp_path / "f.parquet", ["a"], "target"), None, iters=5, engine="stream")


def test_sgd_batches_on_chunks_cover_every_row_once_and_mix_the_chunks():
    from gradfit.engines.stream import shuffled_batches

    sizes = (700, 300, 1000, 5, 0, 450)
    starts = np.cumsum((0,) + sizes[:-1])
    def read(i):            # a chunk's rows in two blocks; row r holds the value r
        rows = np.arange(starts[i], starts[i] + sizes[i], dtype=float)
        return [(rows[:len(rows) // 2, None], rows[:len(rows) // 2]), (rows[len(rows) // 2:, None], rows[len(rows) // 2:])]

    for pool, interleave in ((1, 1), (600, 1), (600, 4), (10**6, 4)):     # pool sizes in rows of 16 bytes (d = 1)
        batches = list(shuffled_batches(len(sizes), read, 64, np.random.default_rng(5), 1, pool_bytes=16 * pool,
                                        interleave=interleave))
        values = np.concatenate([y for _, y in batches])
        assert np.array_equal(np.sort(values), np.arange(sum(sizes)))            # every row, once
        assert all(len(y) == 64 for _, y in batches[:-1]) and 0 < len(batches[-1][1]) <= 64
        assert all(np.array_equal(X[:, 0], y) for X, y in batches)               # X and y stay paired
    chunk_of = np.searchsorted(starts, values, side="right")
    first = chunk_of[:64]                    # one pool (all rows): a batch draws from several chunks
    assert len(set(first.tolist())) >= 3


def test_sgd_pools_mix_chunks_larger_than_the_pool_and_hold_no_more_rows_than_it():
    from gradfit.engines.stream import shuffled_batches

    size, pool = 10_000, 1_000                  # each chunk ten pools long
    def read(i):
        for start in range(i * size, (i + 1) * size, 4096):
            rows = np.arange(start, min(start + 4096, (i + 1) * size), dtype=float)
            yield rows[:, None], rows

    batches = list(shuffled_batches(8, read, 50, np.random.default_rng(1), 1, pool_bytes=16 * pool))
    values = np.concatenate([y for _, y in batches])
    assert np.array_equal(np.sort(values), np.arange(8 * size))
    chunk_of = (values // size).astype(int)
    for k in range(0, len(values) - pool, pool):        # every pool: rows of several chunks, none beyond its size
        assert len(set(chunk_of[k:k + pool].tolist())) >= 3
    for k in range(0, len(values), pool):       # a pool holds a window of each chunk it reads, not the whole chunk
        window, chunks = values[k:k + pool], chunk_of[k:k + pool]
        assert max(np.ptp(window[chunks == c]) for c in set(chunks.tolist())) < pool


def test_resume_of_streamed_sgd_is_bit_exact_when_the_pools_span_several_chunks(tmp_path, monkeypatch):
    rng = np.random.default_rng(8)
    for i in range(5):                       # five CSV files of 300 rows; pools of 100 rows (32 bytes a row)
        X = rng.normal(size=(300, 3))
        rows = "".join(f"{a!r},{b!r},{c!r},{a - 2 * b + c + 1!r}\n" for a, b, c in X.tolist())
        (tmp_path / f"p{i}.csv").write_text("a,b,c,y\n" + rows)
    monkeypatch.setattr("gradfit.engines.stream.SHUFFLE_BYTES", 100 * 32)
    scan = open_files(tmp_path / "*.csv", ["a", "b", "c"], "y")
    options = dict(optimizer="sgd", batch_size=16, seed=4, tol=None, engine="stream", lr=0.01)
    path = tmp_path / "run.json"
    gradfit.fit(scan, None, checkpoint=path, every=1, epochs=3, **options)
    resumed = gradfit.fit(scan, None, resume=path, epochs=6, **options)
    straight = gradfit.fit(scan, None, epochs=6, **options)
    assert resumed.model.theta.tobytes() == straight.model.theta.tobytes()
    np.testing.assert_allclose(straight.model.theta, [1.0, -2.0, 1.0, 1.0], atol=0.05)

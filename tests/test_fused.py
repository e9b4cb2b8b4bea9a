"""One read of the data: the checks fused into the stats engine's summary give the answers of the
separate passes they replace, and gradfit.fit with its defaults reads a chunked source once."""

import importlib
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradfit
from gradfit.data import arrays, files
from gradfit.data.arrays import as_xy
from gradfit.data.standardize import Standardizer, collinear_features, collinear_from_comoments, comoments_of_summary
from gradfit.engines import stats
from gradfit.errors import DataError
from gradfit.metrics import Metrics, regression_metrics

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def data(seed, n, d, collinear=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 10, d) + rng.uniform(-5, 5, d)
    if collinear and d >= 3:
        X[:, -1] = X[:, 0] - 2 * X[:, 1] + 1e-7 * rng.normal(size=n)
    y = X @ rng.normal(size=d) + 3.0 + rng.normal(size=n)
    return X, y


def error_of(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DataError) as info:
            call()
    return str(info.value)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 60), d=st.integers(1, 5),
       bad=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6),
                              st.sampled_from([math.nan, math.inf, -math.inf])), min_size=1, max_size=4),
       dtype=st.sampled_from([np.float64, np.float32]))
def test_a_nan_or_infinity_anywhere_gives_the_same_message_through_the_summary(seed, n, d, bad, dtype):
    X, y = data(seed, n, d)
    X, y = X.astype(dtype), y.astype(dtype)      # float32: read by the summary as float32, named the same
    for i, j, value in bad:
        if j % (d + 1) == d:
            y[i % n] = value
        else:
            X[i % n, j % (d + 1)] = value
    unfused = error_of(lambda: as_xy(X, y))                 # the check as a pass of its own
    for engine in ("stats", "numpy"):                        # fused into the summary; checked up front
        assert error_of(lambda: gradfit.fit(X, y, engine=engine, iters=5)) == unfused
    assert "row" in unfused and ("Column" in unfused)


def test_the_message_names_the_row_and_column_at_the_default_engine_too():
    X, y = data(0, 200_000, 3)
    X[123_456, 1] = math.inf
    message = error_of(lambda: gradfit.fit(X, y))
    assert message == "Column 'x2' holds an infinite value at row 123456 (inf). Remove that row or replace the " \
                      "value with a finite number."
    X[123_456, 1], y[7] = 1.0, math.nan
    assert "Column 'y' has 1 missing value, the first at row 7" in error_of(lambda: gradfit.fit(X, y))


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(20, 400), d=st.integers(1, 6), intercept=st.booleans())
def test_metrics_from_the_summary_equal_those_of_a_prediction_pass(seed, n, d, intercept):
    X, y = data(seed, n, d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = gradfit.fit(X, y, engine="stats", iters=200, fit_intercept=intercept)
    unfused = regression_metrics(y, r.model.predict(X))
    # from the summary (MAE not paid for unless asked), or — where its 8 digits are not certain — from the rows
    assert ("mae" not in r.metrics) == isinstance(r.metrics, Metrics)
    for key in ("mse", "rmse", "r2"):
        assert r.metrics[key] == pytest.approx(unfused[key], rel=1e-8, abs=1e-12)
    assert r.metrics["mae"] == pytest.approx(unfused["mae"], rel=1e-12)
    assert "mae" in r.metrics


def test_a_nearly_exact_fit_measures_its_metrics_on_the_rows():
    # Σr² is ~1e-20 of Σ(y − ȳ)²: the summary cannot give it to 8 digits, so the rows are read.
    X, _ = data(1, 500, 3)
    y = X @ [1.0, 2.0, 3.0] + 4 + 1e-9 * np.random.default_rng(2).normal(size=500)
    r = gradfit.fit(X, y, engine="stats", solver="exact")
    unfused = regression_metrics(y, r.model.predict(X))
    assert r.metrics == pytest.approx(unfused, rel=1e-9)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(30, 3000), d=st.integers(2, 6),
       collinear=st.booleans(), intercept=st.booleans())
def test_collinearity_and_standardization_from_the_summary_equal_those_from_the_rows(seed, n, d, collinear, intercept):
    X, y = data(seed, n, d, collinear)
    names = [f"x{j}" for j in range(1, d + 1)]
    summary = stats.summarize([(X, y)])
    assert collinear_from_comoments(comoments_of_summary(summary, intercept), names) == \
        collinear_features(X, names, intercept)
    if collinear and d >= 3:
        assert collinear_features(X, names, intercept)          # found, and by both routes alike
    fused, rows = Standardizer.from_summary(summary, names, intercept), Standardizer.fit(X, names, intercept)
    np.testing.assert_allclose(fused.mean, rows.mean, rtol=1e-10, atol=1e-12 * np.abs(X).max())
    np.testing.assert_allclose(fused.scale, rows.scale, rtol=1e-10)


def test_the_collinearity_warning_comes_from_the_summary_on_the_stats_engine():
    X, y = data(3, 150_000, 4, collinear=True)
    with pytest.warns(gradfit.GradfitWarning, match=r"'x1', 'x2', 'x4' are \(nearly\) collinear"):
        gradfit.fit(X, y, iters=10, tol=None)


def test_fortran_ordered_and_float32_inputs_give_the_same_fit():
    X, y = data(4, 120_000, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = gradfit.fit(X, y)
        f = gradfit.fit(np.asfortranarray(X), y)
        single = gradfit.fit(X.astype(np.float32), y)
        reference = gradfit.fit(X.astype(np.float32).astype(np.float64), y)
    assert c.engine == f.engine == single.engine == "stats"
    np.testing.assert_allclose(f.model.theta, c.model.theta, rtol=1e-12)
    np.testing.assert_array_equal(single.model.theta, reference.model.theta)


@pytest.mark.parametrize("layout", ["float32", "float32 X and y", "fortran"])
@pytest.mark.slow
def test_a_default_fit_makes_no_copy_of_float32_or_fortran_ordered_data(layout):
    """The summary's kernel reads float32 rows and Fortran-ordered columns where they are: the fit's peak of
    new memory stays far below one copy of X (a float64 copy of a float32 X is twice its size)."""
    import tracemalloc

    X, y = data(8, 200_000, 8)
    if layout == "fortran":
        X = np.asfortranarray(X)
    else:
        X, y = X.astype(np.float32), y.astype(np.float32) if layout == "float32 X and y" else y
    gradfit.fit(X[:1000], y[:1000])          # imports and first-call caches, outside the measurement
    tracemalloc.start()
    try:
        result = gradfit.fit(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.engine == "stats"
    assert peak < 0.25 * X.nbytes, f"peak {peak / 1e6:.1f} MB for X of {X.nbytes / 1e6:.1f} MB"


# --- no extra pass -----------------------------------------------------------------------------

def count_reads(monkeypatch):
    """Rows read from each file of a Scan, batch by batch."""
    reads = {}
    original = files.Scan._record_batches

    def counted(self, chunk):
        for batch, done in original(self, chunk):       # (record batch, bytes of the file read so far)
            reads[chunk.file] = reads.get(chunk.file, 0) + batch.num_rows
            yield batch, done

    monkeypatch.setattr(files.Scan, "_record_batches", counted)
    return reads


def write_parquet_parts(directory, parts=6, groups=8, rows=700, seed=5):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    for p in range(parts):
        X = rng.normal(size=(groups * rows, 3)) + [1.0, -2.0, 3.0]
        y = X @ [0.5, -1.0, 2.0] + 1.0 + 0.1 * rng.normal(size=groups * rows)
        table = pa.table({"a": X[:, 0], "b": X[:, 1], "unused": rng.normal(size=groups * rows),
                          "c": X[:, 2], "y": y})
        pq.write_table(table, directory / f"part-{p}.parquet", row_group_size=rows)
    return parts * groups


def test_fit_with_defaults_reads_every_chunk_of_a_scan_once(tmp_path, monkeypatch):
    n_chunks = write_parquet_parts(tmp_path)
    scan = gradfit.open_files(str(tmp_path), ["a", "b", "c"], "y")
    assert len(scan.chunks()) == n_chunks == 48        # row groups of 700 rows, in 6 files
    reads = count_reads(monkeypatch)
    r = gradfit.fit(scan, None)
    assert r.engine == "stream" and r.converged
    rows_per_file = n_chunks // 6 * 700
    assert len(reads) == 6 and set(reads.values()) == {rows_per_file}     # one pass: every row read once
    assert r.metrics["r2"] > 0.99 and "mae" not in r.metrics


def test_fit_with_defaults_on_arrays_makes_no_pass_besides_the_summary(monkeypatch):
    X, y = data(6, 150_000, 4)
    passes = []
    summarize = stats.summarize
    monkeypatch.setattr(stats, "summarize", lambda blocks: passes.append("summary") or summarize(blocks))
    fit_module, standardize = importlib.import_module("gradfit.fit"), importlib.import_module("gradfit.data.standardize")
    for module, name in ((arrays, "_all_finite"), (standardize, "collinear_features"),
                         (fit_module, "regression_metrics"), (importlib.import_module("gradfit.loss").Loss, "residual")):
        monkeypatch.setattr(module, name, lambda *a, _name=name, **k: pytest.fail(f"{_name} read the rows"))
    r = gradfit.fit(X, y)
    monkeypatch.undo()
    assert r.engine == "stats" and r.converged and passes == ["summary"] and isinstance(r.metrics, Metrics)
    assert r.metrics["r2"] == pytest.approx(regression_metrics(y, r.model.predict(X))["r2"], rel=1e-10)


def test_read_ahead_keeps_the_order_raises_the_readers_error_and_stops_the_reader():
    import threading

    from gradfit.engines.stream import read_ahead

    assert list(read_ahead(iter(range(100)))) == list(range(100))

    def failing():
        yield from range(3)
        raise DataError("bad row 3")

    got = []
    with pytest.raises(DataError, match="bad row 3"):
        for item in read_ahead(failing()):
            got.append(item)
    assert got == [0, 1, 2]
    before = threading.active_count()
    for item in read_ahead(iter(range(10**6))):     # leaving early: the reader stops, no thread left behind
        if item == 5:
            break
    assert threading.active_count() == before

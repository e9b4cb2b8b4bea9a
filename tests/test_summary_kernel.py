"""The C summary kernel: built here, and the same sums as the NumPy path it replaces."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strd import LONGLEY_CERTIFIED, LONGLEY_X, LONGLEY_Y, digits, exact_least_squares, filip_like

from gradfit.engines import stats
from gradfit.engines.stats import array_blocks, summarize
from gradfit.exact import solve_equilibrated


def numpy_summary(blocks):
    """The same summary with the kernel switched off: the NumPy fallback."""
    kernel, stats._summary = stats._summary, None
    try:
        return summarize(blocks)
    finally:
        stats._summary = kernel


def assert_same_summary(a, b, rtol=1e-12):
    assert a.n == b.n
    scale = np.sqrt(np.outer(np.diag(b.M), np.diag(b.M))) + 1e-300   # relative to the entries' size
    np.testing.assert_allclose(a.mean, b.mean, rtol=rtol, atol=rtol * np.sqrt(np.diag(b.M) / b.n).max())
    assert np.max(np.abs(a.M - b.M) / np.maximum(scale, 1e-300)) < rtol
    np.testing.assert_array_equal(a.M, a.M.T)


def test_the_kernel_is_built_in_this_environment():
    # `make test` installs gradfit with `pip install -e`, which compiles the kernel; a silent
    # build failure (the extension is optional) would otherwise leave the slow path unnoticed.
    assert stats._summary is not None, "gradfit.engines._summary was not built: is a C compiler installed?"
    assert stats._summary.ISA in {"avx512f", "avx2", "sse2", "generic"}


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 700), d=st.integers(1, 64), seed=st.integers(0, 2**32 - 1),
       layout=st.sampled_from(["c", "fortran", "strided"]), block=st.sampled_from([None, 1, 5, 97]))
def test_kernel_matches_the_numpy_path(n, d, seed, layout, block):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.01, 100, d) + rng.uniform(-1e3, 1e3, d)
    y = X @ rng.standard_normal(d) + rng.standard_normal(n)
    if layout == "fortran":
        X = np.asfortranarray(X)
    elif layout == "strided":
        X, y = np.repeat(X, 2, axis=0)[::2], np.repeat(y, 2)[::2]
    blocks = (lambda: array_blocks(X, y, rows=block)) if block else (lambda: [(X, y)])
    assert_same_summary(summarize(blocks()), numpy_summary(blocks()))


@pytest.mark.parametrize("isa", stats._summary.KERNELS if stats._summary else [])
@pytest.mark.parametrize("d", [1, 2, 7, 16, 33, 128])
@pytest.mark.slow
def test_every_kernel_matches_the_numpy_path_over_many_tiles(isa, d):
    # Each instruction set's version this CPU can run, not only the one chosen by default.
    rng = np.random.default_rng(d)
    n = 30_011                          # several flushes of the kernel's partial sums, a ragged last tile
    X, y = rng.standard_normal((n, d)) + 5.0, rng.standard_normal(n) - 3.0
    shift = np.append(X[:10].mean(axis=0), y[:10].mean())
    S, s = np.zeros((d + 1, d + 1)), np.zeros(d + 1)
    stats._summary.accumulate(X, y, shift, S, s, isa)
    kernel, stats._summary = stats._summary, None
    try:
        S_ref, s_ref = np.zeros((d + 1, d + 1)), np.zeros(d + 1)
        stats.accumulate(X, y, shift, S_ref, s_ref)
    finally:
        stats._summary = kernel
    scale = np.sqrt(np.outer(np.diag(S_ref), np.diag(S_ref)))
    assert np.max(np.abs(S - S_ref) / scale) < 1e-12
    assert np.max(np.abs(s - s_ref)) < 1e-12 * np.sqrt(n * np.diag(S_ref)).max()


@pytest.mark.parametrize("isa", stats._summary.KERNELS if stats._summary else [])
@pytest.mark.parametrize("d", [1, 3, 16, 33])
def test_the_kernel_over_columns_held_apart_gives_the_sums_over_rows(isa, d):
    # A file's batch (or a Fortran-ordered X) reaches the kernel as d separate columns.
    rng = np.random.default_rng(d + 100)
    n = 20_003
    X, y = rng.standard_normal((n, d)) * 7.0 - 2.0, rng.standard_normal(n) + 4.0
    shift = np.append(X[:10].mean(axis=0), y[:10].mean())
    rows, columns = [(np.zeros((d + 1, d + 1)), np.zeros(d + 1)) for _ in range(2)]
    stats._summary.accumulate(X, y, shift, *rows, isa)
    stats._summary.accumulate_columns([X[:, j].copy() for j in range(d)], y, shift, *columns, isa)
    scale = np.sqrt(np.outer(np.diag(rows[0]), np.diag(rows[0])))
    assert np.max(np.abs(columns[0] - rows[0]) / scale) < 1e-12
    assert np.max(np.abs(columns[1] - rows[1])) < 1e-12 * np.sqrt(n * np.diag(rows[0])).max()


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 5000), d=st.integers(1, 20), seed=st.integers(0, 2**32 - 1), batch=st.integers(1, 3000))
def test_a_pass_over_column_batches_matches_the_numpy_path(n, d, seed, batch):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.01, 100, d) + rng.uniform(-1e3, 1e3, d)
    y = X @ rng.standard_normal(d) + rng.standard_normal(n)
    batches = [([X[i:i + batch, j].copy() for j in range(d)], y[i:i + batch]) for i in range(0, n, batch)]
    assert_same_summary(summarize(batches), numpy_summary(array_blocks(X, y, rows=batch)))
    assert_same_summary(numpy_summary(batches), numpy_summary([(X, y)]))     # the fallback takes columns too


def test_the_column_kernel_rejects_mismatched_columns():
    K, S, s = np.zeros(3), np.zeros((3, 3)), np.zeros(3)
    with pytest.raises(ValueError, match="columns"):
        stats._summary.accumulate_columns([np.zeros(4)], np.zeros(4), K, S, s)
    with pytest.raises(ValueError, match="column"):
        stats._summary.accumulate_columns([np.zeros(4), np.zeros(5)], np.zeros(4), K, S, s)


def comoment_digits(X, y, exact):
    """Digits of the optimum solved from the one-pass co-moments alone (no QR pass)."""
    M = summarize([(X, y)]).M
    return digits(solve_equilibrated(M[:-1, :-1], M[:-1, -1]), exact)


@pytest.mark.parametrize("data", ["longley", "filip4", "filip6"])
def test_ill_conditioned_data_keep_their_digits(data):
    if data == "longley":
        X, y, exact = LONGLEY_X, LONGLEY_Y, LONGLEY_CERTIFIED[:-1]
    else:
        X, y = filip_like(degree=int(data[-1]))
        exact = exact_least_squares(X, y)[:-1]
    kernel = comoment_digits(X, y, exact)
    kernel_off, stats._summary = stats._summary, None
    try:
        numpy = comoment_digits(X, y, exact)
    finally:
        stats._summary = kernel_off
    assert kernel >= numpy - 0.3                       # as many digits as the NumPy path keeps
    if data == "longley":
        assert kernel >= 12                           # benchmarks/README.md: 12.8 from the co-moments


def test_kernel_rejects_mismatched_buffers():
    X, y, shift = np.ones((4, 3)), np.ones(4), np.zeros(4)
    with pytest.raises(ValueError, match="X has"):
        stats._summary.accumulate(np.ones((4, 2)), y, shift, np.zeros((4, 4)), np.zeros(4))
    with pytest.raises(ValueError, match="S has"):
        stats._summary.accumulate(X, y, shift, np.zeros((3, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="no vax kernel"):
        stats._summary.accumulate(X, y, shift, np.zeros((4, 4)), np.zeros(4), "vax")


# --- float32 input: read where it is, summed in float64 -----------------------------------------------

def upcast_sums(X, y, shift):
    """The reference: NumPy on the float64 values of the float32 data."""
    Z = np.column_stack([np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)]) - shift
    return Z.T @ Z, Z.sum(axis=0), np.abs(Z).sum(axis=0)


def assert_sums_agree(S, s, reference, rtol=1e-12):
    S_ref, s_ref, size = reference
    scale = np.sqrt(np.outer(np.diag(S_ref), np.diag(S_ref))) + 1e-300
    assert np.max(np.abs(S - S_ref) / scale) < rtol
    assert np.max(np.abs(s - s_ref) / (size + 1e-300)) < rtol


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 900), d=st.integers(1, 40), seed=st.integers(0, 2**32 - 1),
       isa=st.sampled_from(stats._summary.KERNELS if stats._summary else ["none"]),
       layout=st.sampled_from(["rows", "columns", "mixed columns", "float64 X, float32 y"]))
def test_float32_rows_and_columns_give_numpys_float64_sums_of_the_same_values(n, d, seed, isa, layout):
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((n, d)) * rng.uniform(0.01, 100, d) + rng.uniform(-1e3, 1e3, d)).astype(np.float32)
    y = (X @ rng.standard_normal(d).astype(np.float32) + rng.standard_normal(n)).astype(np.float32)
    shift = np.append(X[:7].mean(axis=0, dtype=np.float64), y[:7].mean(dtype=np.float64))
    S, s = np.zeros((d + 1, d + 1)), np.zeros(d + 1)
    if layout == "rows":
        stats._summary.accumulate(X, y, shift, S, s, isa)
    elif layout == "float64 X, float32 y":
        X = X.astype(np.float64)
        stats._summary.accumulate(X, y, shift, S, s, isa)
    else:       # each column contiguous; "mixed": every third one float64, so that W-wide groups break up
        columns = [np.ascontiguousarray(X[:, j], dtype=np.float64 if layout == "mixed columns" and j % 3 == 1
                                        else np.float32) for j in range(d)]
        stats._summary.accumulate_columns(columns, y, shift, S, s, isa)
    assert_sums_agree(S, s, upcast_sums(X, y, shift))


@pytest.mark.parametrize("isa", stats._summary.KERNELS if stats._summary else [])
@pytest.mark.parametrize("d", [1, 8, 16, 33])
@pytest.mark.slow
def test_float32_over_many_tiles_in_every_kernel(isa, d):
    rng = np.random.default_rng(d + 7)
    n = 20_011                          # several flushes, a ragged last tile, rows left over after the transposes
    X, y = (rng.standard_normal((n, d)) + 5.0).astype(np.float32), (rng.standard_normal(n) - 3.0).astype(np.float32)
    shift = np.append(X[:10].mean(axis=0, dtype=np.float64), y[:10].mean(dtype=np.float64))
    reference = upcast_sums(X, y, shift)
    for columns in (False, True):
        S, s = np.zeros((d + 1, d + 1)), np.zeros(d + 1)
        if columns:
            stats._summary.accumulate_columns([np.ascontiguousarray(X[:, j]) for j in range(d)], y, shift, S, s, isa)
        else:
            stats._summary.accumulate(X, y, shift, S, s, isa)
        assert_sums_agree(S, s, reference)


def test_summarize_reads_float32_where_it_is():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((5000, 4)).astype(np.float32), rng.standard_normal(5000).astype(np.float32)
    reference = numpy_summary([(X.astype(np.float64), y.astype(np.float64))])
    for X_in in (X, np.asfortranarray(X)):
        assert_same_summary(summarize([(X_in, y)]), reference)
    assert_same_summary(numpy_summary([(X, y)]), reference)      # without the kernel: the same float64 sums
    assert_same_summary(numpy_summary([([X[:, j].copy() for j in range(4)], y)]), reference)


def test_the_kernel_refuses_values_that_are_not_float64_or_float32():
    y, shift, S, s = np.ones(4), np.zeros(3), np.zeros((3, 3)), np.zeros(3)
    with pytest.raises(ValueError, match="X must hold float64 or float32"):
        stats._summary.accumulate(np.ones((4, 2), dtype=np.int64), y, shift, S, s)
    with pytest.raises(ValueError, match="a column must hold float64 or float32"):
        stats._summary.accumulate_columns([np.ones(4), np.ones(4, dtype=np.float16)], y, shift, S, s)
    with pytest.raises(ValueError, match="y must hold float64 or float32"):
        stats._summary.accumulate(np.ones((4, 2)), np.ones(4, dtype=np.int32), shift, S, s)

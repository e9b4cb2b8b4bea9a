"""The one-pass summary on every core: the pass cut into pieces summed on threads at once equals the pass in
one piece to rounding, gives the same bits on every run and on any number of threads, and the same fit.

How close "to rounding" is: both ways sum the same products p = (zᵢ − Kᵢ)(zⱼ − Kⱼ) (the shift and the float32
widening are the same exact-per-row operations either way). The kernel rounds each product once, adds at most
FLUSH + TILE rows into a partial sum, then adds the partials (one per FLUSH rows) into the total; the P pieces'
totals are then added in order. Recursive summation of k terms errs by at most (k − 1)·u·Σ|terms| (u = ε/2), so
each way is within (FLUSH + TILE + n/FLUSH + P + 2)·u·Σ|p| of the exact sum, and they are within twice that of
each other: at n = 30 011 about 1e-12 of Σ|p|, though the data below are shifted by 1e6 and scaled from 1e-3 to 1e4.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import gradfit
from gradfit.engines import stats
from gradfit.errors import ConfigError

FLUSH, TILE = 4096, 768       # _summary.c's FLUSH_ROWS, and the most rows of one tile (d = 1: 24 KiB / 32 B)
EPS = np.finfo(np.float64).eps


def hostile(n, d, seed, dtype=np.float64, order="C"):
    """Rows shifted far from zero and scaled over seven orders of magnitude."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * np.logspace(-3, 4, d) + 1e6
    y = X @ rng.standard_normal(d) + rng.standard_normal(n) * 1e-2 - 3e5
    return np.asarray(X, dtype=dtype, order=order), y.astype(dtype)


def sums(X, y, threads, kernel=True):
    """``stats.accumulate``'s S and s about the shift of the first rows, on ``threads`` threads."""
    d = X.shape[1]
    shift = np.append(np.asarray(X[:10], np.float64).mean(axis=0), float(np.mean(y[:10])))
    S, s = np.zeros((d + 1, d + 1)), np.zeros(d + 1)
    saved = stats._summary
    stats._summary = saved if kernel else None
    try:
        stats.accumulate(X, y, shift, S, s, threads)
    finally:
        stats._summary = saved
    return S, s, shift


def assert_within_rounding(a, b, X, y, shift, pieces):
    """The bound of the module's docstring, entry by entry."""
    S, s = a
    S_ref, s_ref = b
    Z = np.abs(np.column_stack([np.asarray(X, np.float64), np.asarray(y, np.float64)]) - shift)
    n = Z.shape[0]
    each_way = (FLUSH + TILE + n // FLUSH + pieces + 2) * EPS / 2
    assert np.all(np.abs(S - S_ref) <= 2 * each_way * (Z.T @ Z))
    assert np.all(np.abs(s - s_ref) <= 2 * each_way * Z.sum(axis=0))


LAYOUTS = [
    pytest.param(np.float64, "C", True, id="float64"),
    pytest.param(np.float64, "F", True, id="Fortran"),
    pytest.param(np.float32, "C", True, id="float32"),
    pytest.param(np.float32, "F", True, id="float32-Fortran"),
    pytest.param(np.float64, "C", False, id="numpy-fallback"),
]


@pytest.mark.parametrize("dtype, order, kernel", LAYOUTS)
@pytest.mark.parametrize("n, d, piece, threads", [(30_011, 16, 1000, 2), (30_011, 3, 4999, 7), (10_007, 1, 3333, 3),
                                                  (5, 4, 1, 8), (2, 2, 1, 3)])
def test_pieces_summed_at_once_equal_the_pass_in_one_piece_to_rounding(monkeypatch, dtype, order, kernel, n, d,
                                                                         piece, threads):
    # odd counts that the pieces do not divide, and fewer rows than threads (5 rows on 8, 2 on 3)
    X, y = hostile(n, d, seed=n + d, dtype=dtype, order=order)
    S1, s1, shift = sums(X, y, 1, kernel)
    monkeypatch.setattr(stats, "PIECE_ROWS", piece)
    ST, sT, _ = sums(X, y, threads, kernel)
    assert_within_rounding((ST, sT), (S1, s1), X, y, shift, n // piece)
    np.testing.assert_array_equal(ST, ST.T)


def test_strided_rows_in_pieces_equal_the_pass_in_one_piece(monkeypatch):
    X, y = hostile(20_001, 5, seed=3)
    X, y = X[::2], y[::2]                     # neither C- nor Fortran-contiguous: copied a block at a time
    S1, s1, shift = sums(X, y, 1)
    monkeypatch.setattr(stats, "PIECE_ROWS", 2500)
    S4, s4, _ = sums(X, y, 4)
    assert_within_rounding((S4, s4), (S1, s1), X, y, shift, 4)


@pytest.mark.parametrize("dtype, order, kernel", LAYOUTS)
def test_the_same_bits_on_every_run_and_on_any_number_of_threads(monkeypatch, dtype, order, kernel):
    X, y = hostile(30_011, 16, seed=11, dtype=dtype, order=order)
    monkeypatch.setattr(stats, "PIECE_ROWS", 2000)
    first = sums(X, y, 3, kernel)
    for threads in (3, 3, 1, 2, 5, 16):
        again = sums(X, y, threads, kernel)
        np.testing.assert_array_equal(again[0], first[0])
        np.testing.assert_array_equal(again[1], first[1])


def test_the_pieces_run_at_the_same_time_on_threads_of_their_own(monkeypatch):
    # Each piece waits at a barrier for all the others: were the pieces summed one after another, the first
    # would wait for ever (the timeout only turns that hang into a failure).
    barrier, seen = threading.Barrier(4, timeout=60), set()

    def add(a, b, S, s):
        seen.add(threading.get_ident())
        barrier.wait()
        s += b - a
    monkeypatch.setattr(stats, "PIECE_ROWS", 2)
    s = np.zeros(1)
    stats.in_pieces(9, add, np.zeros((1, 1)), s, threads=4)    # 4 pieces of 2 or 3 rows
    assert len(seen) == 4 and s[0] == 9


@pytest.mark.parametrize("rows, blocks", [(10, 3), (7, 7), (3, 8), (0, 4), (1_000_003, 16)])
def test_row_blocks_cover_the_rows_once_none_empty_as_even_as_whole_rows_allow(rows, blocks):
    bounds = stats.row_blocks(rows, blocks)
    sizes = np.diff(bounds)
    assert bounds[0] == 0 and bounds[-1] == rows
    assert len(sizes) == max(1, min(blocks, rows))
    assert rows == 0 or (sizes.min() >= 1 and sizes.max() - sizes.min() <= 1)


def test_the_thread_count_honours_gradfit_threads_and_keeps_small_arrays_on_one(monkeypatch):
    big = 64 * stats.PIECE_ROWS
    monkeypatch.setenv("GRADFIT_THREADS", "1")
    assert stats.thread_count(big) == 1
    monkeypatch.setenv("GRADFIT_THREADS", "3")
    assert stats.thread_count(big) == 3
    assert stats.thread_count(2 * stats.PIECE_ROWS - 1) == 1      # a thread per piece at most
    assert stats.thread_count(2 * stats.PIECE_ROWS) == 2
    monkeypatch.delenv("GRADFIT_THREADS")
    assert stats.thread_count(big) == min(64, len(stats.os.sched_getaffinity(0)))


@pytest.mark.parametrize("text", ["0", "-2", "two", "1.5"])
def test_a_thread_count_that_is_not_a_whole_number_at_least_one_is_refused_by_name(monkeypatch, text):
    monkeypatch.setenv("GRADFIT_THREADS", text)
    with pytest.raises(ConfigError, match="GRADFIT_THREADS"):
        stats.thread_count(10**7)
    X, y = hostile(50, 3, seed=1)              # a pass of one piece reads it too
    with pytest.raises(ConfigError, match="GRADFIT_THREADS"):
        stats.summarize([(X, y)])


def test_the_summary_and_the_fit_on_every_core_are_those_on_one(monkeypatch):
    n = 3 * stats.PIECE_ROWS + 17              # three pieces of ragged size on three threads
    X, y = hostile(n, 4, seed=5)
    monkeypatch.setenv("GRADFIT_THREADS", "1")
    one, fit_one = stats.summarize([(X, y)]), gradfit.fit(X, y)
    monkeypatch.setenv("GRADFIT_THREADS", "3")
    assert stats.thread_count(n) == 3
    three, fit_three = stats.summarize([(X, y)]), gradfit.fit(X, y)
    # the pieces depend on the rows alone: the same bits on one thread and on three, so the same fit
    np.testing.assert_array_equal(three.M, one.M)
    np.testing.assert_array_equal(three.mean, one.mean)
    assert fit_three.n_iter == fit_one.n_iter and fit_three.stop_reason == fit_one.stop_reason
    assert fit_three.model.weights == fit_one.model.weights and fit_three.model.bias == fit_one.model.bias
    monkeypatch.setattr(stats, "PIECE_ROWS", 10 * n)                 # the pass in one piece, as before pieces
    whole = stats.summarize([(X, y)])
    scale = np.sqrt(np.outer(np.diag(whole.M), np.diag(whole.M)))  # relative to the entries' size
    assert np.max(np.abs(three.M - whole.M) / scale) < 1e-12
    np.testing.assert_allclose(three.mean, whole.mean, rtol=1e-15)

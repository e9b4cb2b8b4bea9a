"""gradfit.exact: θ* to ≥ 12 correct digits, measured against answers computed in rational arithmetic."""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exact_problems import (LONGLEY_X, LONGLEY_Y, certified, certified_problems, digits, filip_like, numpy_lstsq,
                            numpy_qr, uneven_blocks)
from gradfit import exact
from gradfit.errors import DataError

PROBLEMS = certified_problems()
IDS = [name for name, *_ in PROBLEMS]


def by_blocks(X, y, fit_intercept=True, sample_weight=None, **kwargs):
    """solve_blocks over blocks of 1, 5, 17, 3 rows, then 29 at a time."""
    return exact.solve_blocks(uneven_blocks(X, y, sample_weight=sample_weight), d=X.shape[1],
                              fit_intercept=fit_intercept, **kwargs)


def in_memory(X, y, fit_intercept=True, sample_weight=None):
    return exact.solve(X, y, fit_intercept=fit_intercept, sample_weight=sample_weight)


SOLVERS = [pytest.param(in_memory, id="solve"), pytest.param(by_blocks, id="solve_blocks")]


def no_warning(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kwargs)


# --- the double-double building blocks ------------------------------------------------------

def test_two_sum_and_two_product_are_error_free():
    rng = np.random.default_rng(0)
    a = rng.standard_normal(200) * 10.0 ** rng.integers(-30, 30, 200)
    b = rng.standard_normal(200) * 10.0 ** rng.integers(-30, 30, 200)
    s, e = exact.two_sum(a, b)
    p, f = exact.two_product(a, b)
    for i in range(200):
        assert Fraction(s[i]) + Fraction(e[i]) == Fraction(a[i]) + Fraction(b[i])
        assert Fraction(p[i]) + Fraction(f[i]) == Fraction(a[i]) * Fraction(b[i])


@pytest.mark.parametrize("m", [1, 2, 7, 64, 1001])
def test_row_sums_are_accurate_to_twice_the_precision(m):
    rng = np.random.default_rng(m)
    P = rng.standard_normal((3, m)) * 10.0 ** rng.integers(-8, 8, (3, m))
    P[0] = np.concatenate([P[0, : m // 2], -P[0, : m // 2], P[0, m // 2 * 2:]])  # heavy cancellation
    hi, lo = exact.row_sums(P.copy())
    for row, h, l in zip(P, hi, lo):
        exact_sum = sum(Fraction(v) for v in row)
        assert abs(Fraction(h) + Fraction(l) - exact_sum) <= 1e-28 * sum(abs(Fraction(v)) for v in row)


# --- the tutorial ---------------------------------------------------------------------------

def test_second_tutorial_data_set_gives_24_13_and_21_13():
    theta = exact.solve([[1.0], [1.5], [3.0]], [3.0, 5.0, 7.0])
    assert theta.tolist() == [24 / 13, 21 / 13]


# --- NIST-class problems: ≥ 12 digits, never fewer than numpy's QR ---------------------------

@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("name, X, y, theta_star", PROBLEMS, ids=IDS)
def test_at_least_12_digits_and_never_fewer_than_numpy_qr(solver, name, X, y, theta_star):
    theta = no_warning(solver, X, y)
    assert digits(theta, theta_star) >= 12
    assert digits(theta, theta_star) >= digits(numpy_qr(X, y), theta_star)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("name, X, y, theta_star", PROBLEMS, ids=IDS)
@pytest.mark.slow
def test_at_least_12_digits_without_intercept(solver, name, X, y, theta_star):
    theta_star = certified(X, y, fit_intercept=False)
    theta = no_warning(solver, X, y, fit_intercept=False)
    assert theta.shape == (X.shape[1],)
    assert digits(theta, theta_star) >= 12
    assert digits(theta, theta_star) >= digits(numpy_qr(X, y, fit_intercept=False), theta_star)


def test_degree_10_polynomial_where_lstsq_keeps_no_digit():
    X, y = filip_like(degree=10)
    theta_star = certified(X, y)
    assert digits(numpy_lstsq(X, y), theta_star) < 1       # the problem this module exists for
    assert digits(exact.solve(X, y), theta_star) >= 12


def test_large_residual_answer_is_all_ones():
    name, X, y, theta_star = next(p for p in PROBLEMS if p[0].startswith("Wampler-5"))
    assert theta_star.tolist() == [1.0] * 6
    assert np.linalg.norm(y - X @ theta_star[:5] - 1) > 1e3 * np.linalg.norm(X @ theta_star[:5] + 1)
    assert digits(exact.solve(X, y), theta_star) >= 12
    assert digits(numpy_qr(X, y), theta_star) < 6           # refining θ alone would stall here


# --- passes over the data ------------------------------------------------------------------

def counting(blocks):
    calls = []

    def passes():
        calls.append(1)
        return blocks()

    return passes, calls


def test_well_conditioned_data_take_one_refinement_pass():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((500, 4))
    y = X @ [1.0, -2.0, 0.5, 3.0] + rng.standard_normal(500)
    passes, calls = counting(uneven_blocks(X, y))
    exact.solve_blocks(passes, d=4)
    assert len(calls) == 2                                  # the TSQR pass and one refinement pass


def test_ill_conditioned_data_take_only_the_passes_they_need():
    X, y = filip_like(degree=10)
    passes, calls = counting(uneven_blocks(X, y))
    theta = exact.solve_blocks(passes, d=10)
    assert digits(theta, certified(X, y)) >= 12
    assert len(calls) <= 4


def test_given_means_centre_without_changing_the_answer():
    name, X, y, theta_star = next(p for p in PROBLEMS if p[0].startswith("Longley +"))
    mean = np.column_stack([X, y]).mean(axis=0)
    assert digits(by_blocks(X, y, mean=mean), theta_star) >= 12
    assert digits(by_blocks(X, y, mean=np.zeros(7)), theta_star) >= 12   # a poor centre costs passes, not digits


def test_blocks_may_be_generators_of_any_sizes_including_empty():
    X, y = LONGLEY_X, LONGLEY_Y

    def blocks():
        yield X[:0], y[:0]
        yield X[:7], y[:7]
        yield X[7:], y[7:]

    assert digits(exact.solve_blocks(blocks, d=6), certified(X, y)) >= 12


# --- random well-conditioned data: what lstsq says ------------------------------------------

@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("solver", SOLVERS)
def test_agrees_with_lstsq_on_well_conditioned_data(solver, fit_intercept):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((300, 6)) * [1, 10, 0.1, 1, 5, 2] + [0, 1, -3, 2, 0, 10]
    y = X @ rng.standard_normal(6) + 4.0 + rng.standard_normal(300)
    theta, reference = solver(X, y, fit_intercept=fit_intercept), numpy_lstsq(X, y, fit_intercept)
    np.testing.assert_allclose(theta, reference, rtol=1e-12, atol=0)


# --- sample weights --------------------------------------------------------------------------

@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("solver", SOLVERS)
def test_integer_weights_equal_repeated_rows(solver, fit_intercept):
    X, y = filip_like(degree=6)
    weights = np.random.default_rng(1).integers(1, 4, len(y)).astype(float)
    repeated = exact.solve(np.repeat(X, weights.astype(int), axis=0), np.repeat(y, weights.astype(int)),
                           fit_intercept=fit_intercept)
    theta = solver(X, y, fit_intercept=fit_intercept, sample_weight=weights)
    theta_star = certified(X, y, fit_intercept, weights)
    assert digits(theta, theta_star) >= 12 and digits(repeated, theta_star) >= 12
    np.testing.assert_allclose(theta, repeated, rtol=1e-13, atol=0)


@pytest.mark.parametrize("solver", SOLVERS)
def test_weight_zero_is_a_row_absent(solver):
    X, y = LONGLEY_X.copy(), LONGLEY_Y.copy()
    weights = np.ones(16)
    weights[[0, 5, 6]] = 0.0
    X[5], y[6] = 1e300, -1e300                     # what a row of weight 0 holds does not matter
    theta = solver(X, y, sample_weight=weights)
    keep = weights > 0
    theta_star = certified(X[keep], y[keep])
    assert digits(theta, theta_star) >= 12


@pytest.mark.parametrize("solver", SOLVERS)
def test_fractional_weights_on_an_ill_conditioned_design(solver):
    X, y = filip_like(degree=9)
    weights = np.random.default_rng(2).uniform(0, 2, len(y))
    assert digits(solver(X, y, sample_weight=weights), certified(X, y, True, weights)) >= 12


# --- not unique: the minimum-norm solution, as lstsq ----------------------------------------

@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("solver", SOLVERS)
def test_more_features_than_rows_gives_lstsq_minimum_norm(solver, fit_intercept):
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((4, 9)) + 2.0, rng.standard_normal(4)
    reference = numpy_lstsq(X, y, fit_intercept)
    np.testing.assert_allclose(solver(X, y, fit_intercept=fit_intercept), reference, rtol=1e-10,
                               atol=1e-10 * np.abs(reference).max())


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("solver", SOLVERS)
def test_exactly_collinear_columns_give_lstsq_minimum_norm(solver, fit_intercept):
    rng = np.random.default_rng(6)
    a, b = rng.integers(-50, 50, 40).astype(float), rng.integers(-50, 50, 40).astype(float)
    X = np.column_stack([a, b, a + b, 2 * a, np.full(40, 7.0)])     # exact in float64
    y = a - 0.5 * b + rng.standard_normal(40)
    reference = numpy_lstsq(X, y, fit_intercept)
    np.testing.assert_allclose(solver(X, y, fit_intercept=fit_intercept), reference, rtol=1e-10,
                               atol=1e-10 * np.abs(reference).max())


def test_weighted_rank_deficiency_follows_the_weights():
    X = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0], [1.0, 5.0]])
    y = np.array([1.0, 2.0, 2.5, 9.0])
    weights = np.array([1.0, 2.0, 1.0, 0.0])      # without the last row the columns are collinear
    root = np.sqrt(weights)[:, None]
    reference = np.linalg.lstsq(np.column_stack([X, np.ones(4)]) * root, y * root[:, 0], rcond=None)[0]
    np.testing.assert_allclose(exact.solve(X, y, sample_weight=weights), reference, rtol=1e-10)


# --- random designs against the rational answer ---------------------------------------------

@st.composite
def designs(draw):
    """Small designs: condition number up to 1e8 after scaling, uncentred, columns scaled 1e-6..1e6."""
    n, d = draw(st.integers(8, 30)), draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    U = np.linalg.qr(rng.standard_normal((n, d)))[0]
    V = np.linalg.qr(rng.standard_normal((d, d)))[0]
    Z = (U * np.logspace(0, -draw(st.floats(0, 8)), d)) @ V.T
    Z = Z + rng.uniform(-3, 3, d) * Z.std(axis=0)                 # uncentred
    X = Z * 10.0 ** np.array(draw(st.lists(st.integers(-6, 6), min_size=d, max_size=d)))
    y = Z @ rng.standard_normal(d) + 10.0 ** draw(st.integers(-8, 0)) * rng.standard_normal(n)
    absent = (rng.uniform(size=n) < 0.2) & (np.arange(n) >= d + 2)   # keep the answer unique
    weights = np.where(absent, 0.0, rng.uniform(0.01, 3, n)) if draw(st.booleans()) else None
    return X, y, draw(st.booleans()), weights


@settings(max_examples=40, deadline=None)
@given(designs())
def test_random_designs_keep_at_least_10_digits(problem):
    X, y, fit_intercept, weights = problem
    theta_star = certified(X, y, fit_intercept, weights)
    assert digits(exact.solve(X, y, fit_intercept=fit_intercept, sample_weight=weights), theta_star) >= 10


# --- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("X, y, weights, words", [
    ([[1.0], [2.0]], [1.0], None, "same number of rows"),
    ([[1.0], [np.nan]], [1.0, 2.0], None, "finite"),
    ([[1.0], [2.0]], [1.0, np.inf], None, "finite"),
    ([[1.0], [2.0]], [1.0, 2.0], [1.0, -1.0], "≥ 0"),
    ([[1.0], [2.0]], [1.0, 2.0], [0.0, 0.0], "every sample weight is 0"),
    ([[1.0], [2.0]], [1.0, 2.0], [1.0], "2 rows"),
    (np.zeros((0, 2)), [], None, "No rows"),
])
def test_bad_input_is_a_data_error_that_says_what(X, y, weights, words):
    with pytest.raises(DataError, match=words):
        exact.solve(X, y, sample_weight=weights)


def test_mean_of_the_wrong_length_is_a_data_error():
    with pytest.raises(DataError, match="column means"):
        by_blocks(LONGLEY_X, LONGLEY_Y, mean=np.zeros(6))


def test_no_rows_in_the_blocks_is_a_data_error():
    with pytest.raises(DataError, match="No rows"):
        exact.solve_blocks(lambda: iter([]), d=2)
    with pytest.raises(DataError, match="No rows"):
        exact.solve_blocks(lambda: iter([(np.ones((3, 2)), np.ones(3), np.zeros(3))]), d=2, fit_intercept=False)

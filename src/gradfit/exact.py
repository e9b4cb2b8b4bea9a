"""θ*, the exact least-squares optimum: the one place gradfit computes it.

    θ* = argmin Σᵢ sᵢ (xᵢ·w + b − yᵢ)²,   θ = [w₁, …, w_d, b]   (no b without an intercept)

>>> solve([[1.0], [2.0], [3.0]], [3.0, 5.0, 7.0])
array([2., 1.])

Write ``A = [X 1]`` (or ``X``), ``S = diag(s)``. The algorithm, and why each step:

1. **Change of variables** ``θ = T·φ``: centre the columns on (approximately) their means and
   scale them to unit norm. With ``ψ = D·φ``: ``w = ψ_w``, ``b = ψ_b − x̄·ψ_w``, so
   ``A·T = [X − 1x̄ᵀ, 1]·D`` exactly (without an intercept ``T = D``: nothing to centre on).
   Centring is what keeps large column means (Longley's years, a column plus 1e6) from costing
   digits. Any shift near the means serves, because the refinement below measures its
   residuals on the original data: ``solve`` takes the exact means (one BLAS product),
   ``solve_blocks`` the ``mean`` it is given or else the first block's, so it never needs a
   pass of its own. ``D`` holds powers of two (scaling is then exact), taken from the column
   norms of R after the pass, since Householder QR does not care how columns are scaled but
   the rank decision does.
2. **Householder QR, one block at a time (TSQR)** of ``√sᵢ·[xᵢ − x̄, 1, yᵢ − ȳ]``: stack the
   running R on the next block and factor again (LAPACK ``dgeqrf``), so ``RᵀR = Σ zᵢzᵢᵀ``
   without ever forming a product of the data with itself. The last column of R is ``Qᵀy``,
   so this one pass already gives plain Householder QR's answer ``θ₀``. Memory: O(d²) plus a
   block.
3. **Rank**: a column-pivoted QR of the small equilibrated R (a rank-revealing factorisation of
   the whole design, since both have the same right singular structure). Columns whose pivot
   falls below ``RANK_RTOL`` of the largest are dropped for a basic solution, and at the end
   the null-space component is projected out in θ-coordinates: the minimum-norm solution, as
   ``numpy.linalg.lstsq`` gives (exactly collinear columns, p > n), and as silently. The rank
   is judged after equilibration, so a design that lstsq truncates only because its columns
   are badly scaled (the degree-10 polynomial) is solved as the full-rank problem it is.
4. **Iterative refinement with compensated residuals**, one pass over the data each::

       g  = Aᵀ S (y − A θ)            in double-double: TwoSum, TwoProduct (Dekker's split)
       δφ = (RᵀR)⁻¹ Tᵀ g              two triangular solves with the small R
       θ  ← θ + T δφ                  θ carried as a double-double

   This is Björck's refinement of the augmented system ``[I A; Aᵀ 0][r; θ] = [y; 0]`` with
   ``Q = A R⁻¹`` (only R is kept, so it works over passes): the correction of θ reduces to the
   corrected semi-normal equations above. Its fixed point is ``Aᵀ S (y − Aθ) = 0`` computed
   to ~ε², i.e. the exact optimum whatever the size of the residual — refining θ alone with
   ``R⁻¹Qᵀr`` stalls at ~κ²ε·‖r‖ on large-residual (Wampler-like) problems, and ``Aᵀr`` with r
   rounded to double stalls the same way; here r stays a double-double through the product.
   θ is a double-double too, so the result is the float64 nearest θ*, not a few ulps off it.
   Each pass contracts the error by ~κ(A·T)·ε (measured: ~κε/5): exact up to κ ≈ 1e12 after
   equilibration; nearer 1/RANK_RTOL a ``GradfitWarning`` says the digits may not be there, and
   beyond it the design counts as rank-deficient (step 3). Passes stop when
   the next one is predicted to change no coefficient by more than its rounding: one
   refinement pass on well-conditioned data, two on the degree-10 polynomial.

The double-double arithmetic is plain float64 NumPy, platform-independent (``np.longdouble``
is plain double on some machines, so it is not used). Values must stay below ~1e290 in
magnitude (Dekker's split multiplies by 2²⁷ + 1).

Not done: refining from the one-pass summary alone (no pass over the data). Even co-moments
kept in double-double would leave an error ~κ²ε² — enough below κ ≈ 1e6, not for the
degree-10 polynomial (κ ≈ 2.5e9 after equilibration) — so θ* reads the data again.

Cost at n = 10⁶, d = 16, one BLAS thread: the TSQR pass ~0.13 s, a refinement pass ~0.35 s
(~40 vectorised operations per value), about what ``numpy.linalg.lstsq`` takes in all
(benchmarks/README.md, accuracy section).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np

from gradfit.errors import DataError, GradfitWarning


def _linalg():
    """``scipy.linalg``, imported when a solve with more than ``SMALL_P`` columns needs it (it costs 0.15–0.4 s)."""
    import scipy.linalg

    return scipy.linalg


SMALL_P = 64    # up to this many columns the small factorisations below run in NumPy: a small fit imports no SciPy


def solve_triangular(R, b, trans: bool = False):
    """R⁻¹b, or R⁻ᵀb with ``trans``, for upper-triangular R (k × k, nonzero diagonal): substitution.

    Small R: NumPy's LU solve, which on a triangular matrix pivots nowhere (every entry below the diagonal is 0)
    and is the substitution itself; Rᵀ (lower) is solved as the upper-triangular J·Rᵀ·J (J reverses the order)."""
    if R.shape[0] > SMALL_P:
        return _linalg().solve_triangular(R, b, trans="T" if trans else "N")
    if not trans:
        return np.linalg.solve(R, b)
    return np.linalg.solve(R.T[::-1, ::-1], b[::-1])[::-1]


def pivoted_qr(A):
    """A·P = Q·R with column pivoting (Businger & Golub; LAPACK's dgeqp3): ``(Q, R, piv)``, A[:, piv] = Q·R, the
    column of largest remaining norm taken at each step, so |R₁₁| ≥ |R₂₂| ≥ … reveals the rank.

    Small A: Householder reflections in NumPy, the norms recomputed at each step (no downdating)."""
    if A.shape[1] > SMALL_P:
        return _linalg().qr(A, pivoting=True)
    R = np.array(A, dtype=np.float64)
    m, n = R.shape
    Q, piv = np.eye(m), np.arange(n)
    for k in range(min(m, n)):
        j = k + int(np.argmax(np.linalg.norm(R[k:, k:], axis=0)))
        R[:, [k, j]], piv[[k, j]] = R[:, [j, k]], piv[[j, k]]
        x = R[k:, k]
        size = np.linalg.norm(x)
        if size == 0:
            break                                       # the rest is 0
        v = x.copy()
        v[0] += np.copysign(size, x[0])                 # H = I − 2vvᵀ/vᵀv maps x to −sign(x₀)‖x‖e₁
        v /= np.linalg.norm(v)
        R[k:, k:] -= 2.0 * np.outer(v, v @ R[k:, k:])
        Q[:, k:] -= 2.0 * np.outer(Q[:, k:] @ v, v)
        R[k + 1:, k] = 0.0
    return Q, np.triu(R), piv


EPS = np.finfo(np.float64).eps          # 2⁻⁵², the spacing of doubles at 1
SPLITTER = 134217729.0                  # 2²⁷ + 1: Dekker's split into two 26-bit halves
CHUNK_VALUES = 32768                    # values per vectorised double-double step: p·rows fit in cache
QR_BLOCK_ROWS = 4096                    # rows per TSQR step of the in-memory solve
RANK_RTOL = 1e-13                       # pivot / largest pivot of the equilibrated R below this: dependent
MAX_REFINEMENTS = 10
DIGITS_WARNING = 1e-12                  # warn when the estimated relative error exceeds this

Block = tuple  # (X, y) or (X, y, sample_weight), float64
Blocks = Callable[[], Iterator[Block]]


# --- error-free transformations: a double-double is hi + lo with |lo| ≤ ulp(hi)/2 ---------------

def two_sum(a, b):
    """s + e = a + b exactly, s = fl(a + b) (Knuth's TwoSum: e = (a − (s − b')) + (b − b'), b' = s − a).

    Arrays only; the operations are done in place where they can, because a fresh temporary
    per operation costs more than the arithmetic.
    """
    s = a + b
    b_in = s - a                      # b' : the part of b that went into s
    e = s - b_in
    np.subtract(a, e, out=e)          # a − (s − b')
    np.subtract(b, b_in, out=b_in)    # b − b'
    e += b_in
    return s, e


def split(a):
    """hi + lo = a exactly, each half with at most 26 significant bits (Dekker: hi = c − (c − a), c = 2²⁷+1 · a)."""
    c = SPLITTER * a
    hi = c - a
    np.subtract(c, hi, out=hi)
    return hi, a - hi


def two_product(a, b, a_parts=None, b_parts=None):
    """p + e = a·b exactly, p = fl(a·b) (Dekker's TwoProduct); ``*_parts`` = split(·) if known.

    e = ((a_hi·b_hi − p) + a_hi·b_lo + a_lo·b_hi) + a_lo·b_lo, summed in that order.
    """
    a_hi, a_lo = a_parts or split(a)
    b_hi, b_lo = b_parts or split(b)
    p = a * b
    e = a_hi * b_hi
    e -= p
    term = a_hi * b_lo
    e += term
    np.multiply(a_lo, b_hi, out=term)
    e += term
    np.multiply(a_lo, b_lo, out=term)
    e += term
    return p, e


def row_sums(P):
    """Σⱼ P[:, j] as hi + lo, to ~ε² of Σ|P|: pairwise TwoSum, the rounding errors summed apart."""
    err = np.zeros(P.shape[0])
    while P.shape[1] > 1:
        half = P.shape[1] // 2
        odd = P[:, 2 * half:]
        P, e = two_sum(P[:, :half], P[:, half:2 * half])
        err += e.sum(axis=1)
        if odd.shape[1]:
            P[:, 0], e = two_sum(P[:, 0], odd[:, 0])
            err += e
    total = P[:, 0] if P.shape[1] else np.zeros(P.shape[0])
    return two_sum(total, err)


def dd_add(x, y):
    """(hi, lo) + (hi, lo) as a double-double."""
    s, e = two_sum(x[0], y[0])
    return two_sum(s, e + x[1] + y[1])


# --- one pass: the compensated gradient g = Aᵀ S (y − Aθ) -----------------------------------

def gradient_chunk(A, y, s, theta):
    """g = Aᵀ S (y − Aθ) over one chunk, as (hi, lo); ``A`` is the chunk's design transposed (p × m),
    θ a double-double (hi, lo).

    r = y − Σⱼ θⱼ Aⱼ is summed with TwoSum over the exact products (Ogita, Rump & Oishi's Sum2),
    then Aᵀ(s ⊙ r) with r still a double-double: rounding r to double first would leave an
    error ε·|A|ᵀ|r| in g, which is what stops refinement on large-residual problems.
    """
    A_parts = split(A)
    P, E = two_product(A, -theta[0][:, None], A_parts)
    r, r_err = y, E.sum(axis=0) - theta[1] @ A              # θ_lo·A: terms of order ε, plain double
    for row in P:
        r, e = two_sum(r, row)
        r_err += e
    r_hi, r_lo = two_sum(r, r_err)
    if s is not None:                                     # s ⊙ r, still double-double
        r_hi, e = two_product(s, r_hi)
        r_hi, r_lo = two_sum(r_hi, e + s * r_lo)
    P, E = two_product(A, r_hi, A_parts)                  # Aⱼᵢ·rᵢ exactly, as P + E
    hi, lo = row_sums(P)
    return hi, lo + E.sum(axis=1) + A @ r_lo


def design_chunks(blocks: Iterable[Block], fit_intercept: bool):
    """(Aᵀ, y, s) in chunks of about CHUNK_VALUES values; Aᵀ = [X 1]ᵀ (or Xᵀ), contiguous rows."""
    for block in blocks:
        X, y, s = unpack(block)
        rows = max(64, CHUNK_VALUES // (X.shape[1] + 1))
        for start in range(0, X.shape[0], rows):
            stop = start + rows
            Xc = X[start:stop]
            A = np.empty((Xc.shape[1] + fit_intercept, Xc.shape[0]))
            A[:Xc.shape[1]] = Xc.T
            if fit_intercept:
                A[-1] = 1.0
            yield A, y[start:stop], (None if s is None else s[start:stop])


def gradient(blocks: Iterable[Block], theta, fit_intercept: bool):
    """g = Aᵀ S (y − Aθ) over all blocks, θ and g double-doubles (hi, lo): one pass."""
    g = (np.zeros_like(theta[0]), np.zeros_like(theta[0]))
    for A, y, s in design_chunks(blocks, fit_intercept):
        g = dd_add(g, gradient_chunk(A, y, s, theta))
    return g


# --- one pass: TSQR of the centred, weighted rows ------------------------------------------

def unpack(block: Block):
    """(X, y, s) as float64 arrays, rows of weight 0 left out; s is None without sample weights."""
    X, y, *rest = block
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    s = rest[0] if rest and rest[0] is not None else None
    if s is None:
        return X, y, None
    s = np.asarray(s, dtype=np.float64)
    keep = s > 0
    return (X, y, s) if keep.all() else (X[keep], y[keep], s[keep])


def weighted_mean(X, y, s):
    """Column means of [X, y], weighted by s (None: unweighted); at least one row of positive weight."""
    if s is None:
        return np.append(X.mean(axis=0), y.mean())
    return np.append(s @ X, s @ y) / s.sum()


def tsqr(blocks: Iterable[Block], d: int, fit_intercept: bool, mean):
    """R of √sᵢ·[xᵢ − x̄, 1, yᵢ − ȳ] ((d+2) × (d+2), zero rows added when n is small) and the shift.

    ``[R; Z] = Q·R'`` keeps ``R'ᵀR' = RᵀR + ZᵀZ``. Without ``mean`` the shift is the first
    block's mean: a change of variables needs no exact mean, only one near it.
    """
    p = d + fit_intercept
    shift = None if fit_intercept else np.zeros(d + 1)
    if fit_intercept and mean is not None:
        shift = np.asarray(mean, dtype=np.float64)
    R = np.zeros((0, p + 1))
    for block in blocks:
        X, y, s = unpack(block)                            # rows of weight 0 already left out
        if not len(y):
            continue
        if shift is None:
            shift = weighted_mean(X, y, s)
        Z = np.empty((X.shape[0], p + 1))
        Z[:, :d] = X - shift[:d]
        if fit_intercept:
            Z[:, d] = 1.0
        Z[:, p] = y - shift[d]
        if s is not None:
            Z *= np.sqrt(s)[:, None]                       # √sᵢ·zᵢ: Σ sᵢ zᵢzᵢᵀ
        R = np.linalg.qr(np.vstack([R, Z]), mode="r")
    if not R.shape[0]:
        raise DataError("No rows to fit: the blocks are empty, or every sample weight is 0.")
    return np.vstack([R, np.zeros((p + 1 - R.shape[0], p + 1))]), shift


# --- the small factorisation and the change of variables ------------------------------------

def phi_to_theta(phi, D, xbar, fit_intercept):
    """θ = T·φ (linear, columnwise for a matrix): w = D_w φ_w, b = D_b φ_b − x̄·w."""
    theta = D[:, None] * phi if phi.ndim == 2 else D * phi
    if fit_intercept:
        theta[-1] = theta[-1] - xbar @ theta[:-1]
    return theta


@dataclass(frozen=True)
class Factor:
    """θ = T·φ, and R of A·T on the kept columns of φ (pivot order), from the TSQR R."""

    xbar: np.ndarray          # the shift of the features (zeros without an intercept)
    D: np.ndarray             # column scales, powers of two
    R: np.ndarray             # k × k upper triangular
    kept: np.ndarray          # the k columns of φ kept
    null: np.ndarray          # p × (p − k): a basis of the null space of A, in θ-coordinates
    fit_intercept: bool

    def to_theta(self, phi):
        return phi_to_theta(phi, self.D, self.xbar, self.fit_intercept)

    def gradient_to_phi(self, g):
        """Tᵀg = D·[g_w − x̄·g_b, g_b], the subtraction in double-double (x̄ may be large)."""
        hi, lo = g
        if self.fit_intercept:
            p, e = two_product(self.xbar, hi[-1:])
            w_hi, w_err = two_sum(hi[:-1], -p)
            hi = np.append(w_hi + (w_err + lo[:-1] - e - self.xbar * lo[-1]), hi[-1] + lo[-1])
        else:
            hi = hi + lo
        return self.D * hi

    def correction(self, g):
        """δφ = (RᵀR)⁻¹ Tᵀg on the kept columns (0 elsewhere); returns (T·δφ, δφ)."""
        h = self.gradient_to_phi(g)[self.kept]
        u = solve_triangular(self.R, h, trans=True)
        dphi = np.zeros(self.D.shape[0])
        dphi[self.kept] = solve_triangular(self.R, u)
        return self.to_theta(dphi), dphi

    def min_norm(self, theta):
        """θ − N(NᵀN)⁻¹Nᵀθ: the least-norm point of θ + null(A)."""
        if not self.null.shape[1]:
            return theta
        Q = np.linalg.qr(self.null)[0]
        return theta - Q @ (Q.T @ theta)

    def unit_scale(self):
        """|T|·1: how much a unit of every φ can move each θ."""
        scale = self.D.copy()
        if self.fit_intercept:
            scale[-1] += np.abs(self.xbar) @ self.D[:-1]
        return scale

    def condition(self) -> float:
        return float(np.linalg.cond(self.R)) if self.R.size else 1.0


def factor(R_aug: np.ndarray, shift: np.ndarray, fit_intercept: bool):
    """The Factor and the first solution (φ₀, θ₀: plain Householder QR's) from the TSQR R."""
    p = R_aug.shape[1] - 1
    d = p - fit_intercept
    norms = np.linalg.norm(R_aug[:, :p], axis=0)            # = the column norms of A·T before D
    D = np.exp2(-np.round(np.log2(np.where(norms > 0, norms, 1.0))))
    # Rank: a pivoted QR of the equilibrated R, R_eq·P = Q₂·[R11 R12; 0 R22], R22 ≈ 0 dropped.
    Q2, R2, piv = pivoted_qr(R_aug[:p, :p] * D)
    pivots = np.abs(np.diag(R2))
    k = int(np.sum(pivots > RANK_RTOL * pivots[0])) if p and pivots[0] > 0 else 0
    R11, R12 = R2[:k, :k], R2[:k, k:]
    # Null space of A·T: φ_kept = −R11⁻¹R12·t, φ_dropped = t.
    null_phi = np.zeros((p, p - k))
    if k:
        null_phi[piv[:k]] = -solve_triangular(R11, R12)
    null_phi[piv[k:], np.arange(p - k)] = 1.0
    xbar = shift[:d]
    f = Factor(xbar, D, R11, piv[:k], phi_to_theta(null_phi, D, xbar, fit_intercept), fit_intercept)
    phi0 = np.zeros(p)
    if k:
        phi0[piv[:k]] = solve_triangular(R11, (Q2.T @ R_aug[:p, p])[:k])
    theta0 = f.to_theta(phi0)
    if fit_intercept:
        theta0[-1] += shift[d]                              # y was centred on ȳ
    return f, phi0, theta0


# --- refinement -------------------------------------------------------------------------------

def refine(passes: Blocks, f: Factor, phi, theta, max_refinements: int) -> np.ndarray:
    """Refinement passes while the next one is expected to change a coefficient (see module doc).

    ρ, the contraction of one pass, is measured from successive corrections, and bounded
    below by ~κ·ε (the only estimate before the second pass). With ρ known, the error left
    after a correction δ is about ρ/(1 − ρ)·|δ|; below the rounding of every coefficient,
    another pass could not change the answer.
    """
    # κ·ε·4p: measured contractions were ~κ·ε/5 (Filip-like degree 10), so this errs high.
    bound = f.condition() * EPS * 4 * max(len(theta), 1)
    theta = (theta, np.zeros_like(theta))                   # θ carried as a double-double
    previous, rho, left = None, bound, math.inf             # left: the error estimated to remain
    for _ in range(max_refinements):
        delta, dphi = f.correction(gradient(passes(), theta, f.fit_intercept))
        size = np.linalg.norm(dphi)
        if previous is not None:
            if size >= previous:                            # no longer contracting: rounding level
                left = size                                 # (or diverging); keep θ as it is
                break
            rho = max(size / previous, bound)
        theta, phi, previous = dd_add(theta, (delta, 0.0)), phi + dphi, size
        left = rho / (1 - rho) * size if rho < 1 else math.inf
        # Negligible: below a coefficient's rounding, or ε² of the whole answer (a coefficient of 0).
        negligible = EPS * np.abs(theta[0]) + EPS ** 2 * np.linalg.norm(phi) * f.unit_scale()
        if rho < 1 and np.all(rho / (1 - rho) * np.abs(delta) <= negligible):
            break
    if left > DIGITS_WARNING * np.linalg.norm(phi):
        warnings.warn(
            f"The exact least-squares solver stopped with an estimated relative error of "
            f"{left / np.linalg.norm(phi):.0e} (condition number of the equilibrated design "
            f"~{f.condition():.1e}); θ* may have fewer than 12 correct digits.", GradfitWarning, stacklevel=3)
    return theta[0] + theta[1]


# --- the public functions -------------------------------------------------------------------

def solve_blocks(blocks: Blocks, *, d: int, fit_intercept: bool = True, mean=None,
                 max_refinements: int = MAX_REFINEMENTS) -> np.ndarray:
    """θ* from passes over the data: ``blocks()`` gives a fresh iterator of float64 blocks each call.

    A block is ``(X, y)`` or ``(X, y, sample_weight)``. One TSQR pass, then refinement passes
    while they still change the answer (usually one or two). ``mean``: the (weighted) column
    means of ``[X, y]``, e.g. from a one-pass summary; without it the first block's mean is the
    centre, which serves as well unless that block is far from typical. Memory: O(d²) plus one block.

    >>> X = np.array([[1.0], [2.0], [3.0]]); y = np.array([3.0, 5.0, 7.0])
    >>> solve_blocks(lambda: iter([(X[:1], y[:1]), (X[1:], y[1:])]), d=1)
    array([2., 1.])
    """
    if mean is not None and np.shape(mean) != (d + 1,):       # the one check: blocks are trusted
        raise DataError(f"mean has shape {np.shape(mean)}: it holds the column means of [X, y], {d + 1} values.")
    R_aug, shift = tsqr(blocks(), d, fit_intercept, mean)
    f, phi, theta = factor(R_aug, shift, fit_intercept)
    theta = refine(blocks, f, phi, theta, max_refinements)
    return f.min_norm(theta)


def solve(X, y, *, fit_intercept: bool = True, sample_weight=None) -> np.ndarray:
    """θ* = [w₁..w_d, b] (no b without intercept) minimising Σ sᵢ (xᵢ·w + b − yᵢ)², in memory.

    The minimum-norm solution when it is not unique (collinear columns, p > n), as
    ``numpy.linalg.lstsq``. A row of weight 0 contributes nothing.

    >>> solve([[1.0], [1.5], [3.0]], [3.0, 5.0, 7.0])    # w = 24/13, b = 21/13
    array([1.84615385, 1.61538462])
    """
    X, y, s = validate(X, y, sample_weight)
    mean = weighted_mean(X, y, s) if fit_intercept else None

    def blocks():
        for start in range(0, X.shape[0], QR_BLOCK_ROWS):
            rows = slice(start, start + QR_BLOCK_ROWS)
            yield X[rows], y[rows], (None if s is None else s[rows])

    return solve_blocks(blocks, d=X.shape[1], fit_intercept=fit_intercept, mean=mean)


def validate(X, y, sample_weight):
    """float64 arrays X (n × d), y (n,), s (n,) or None; finite, weights ≥ 0 and not all 0."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    y = np.asarray(y, dtype=np.float64).ravel()
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise DataError(f"X has shape {X.shape} and y {y.shape}: they need the same number of rows.")
    if X.shape[0] == 0:
        raise DataError("No rows to fit.")
    if not (all_finite(X) and all_finite(y)):
        raise DataError("X and y must be finite (no NaN or infinity).")
    s = None
    if sample_weight is not None:
        s = np.asarray(sample_weight, dtype=np.float64).ravel()
        if s.shape != y.shape:
            raise DataError(f"sample_weight has {s.shape[0]} values for {y.shape[0]} rows.")
        if not all_finite(s) or (s < 0).any():
            raise DataError("sample_weight must be finite and ≥ 0.")
        if not (s > 0).any():
            raise DataError("No rows to fit: every sample weight is 0.")
    return X, y, s


def all_finite(a: np.ndarray) -> bool:
    """No NaN or infinity: one sum (NaN and ±inf propagate), elementwise only if the sum overflowed."""
    return bool(np.isfinite(a.sum()) or np.isfinite(a).all())


# --- θ* from a one-pass summary (the stats, stream and dask engines) -----------------------------

OPTIMUM_DIGITS = 9       # below this many expected digits the optimum takes the QR pass


def design(X: np.ndarray, fit_intercept: bool, sample_weight=None) -> np.ndarray:
    """A = [X 1] (or X), rows scaled by √sᵢ with sample weights, so that Loss ∝ ‖Aθ − y‖²."""
    A = np.column_stack([X, np.ones(X.shape[0])]) if fit_intercept else np.asarray(X, dtype=np.float64)
    return A if sample_weight is None else A * np.sqrt(sample_weight)[:, None]


def from_summary(summary, fit_intercept: bool, rescan: Callable[[], Iterable] | None = None,
                 second_pass: bool = True) -> np.ndarray | None:
    """θ* from the count, means and co-moments of ``[x, y]``; a QR pass (``rescan``) when ill-conditioned.

    With ``second_pass=False`` an ill-conditioned problem gives ``None`` rather than reading
    the data again (the caller then does without the reference).
    """
    d, n = summary.d, summary.n
    xbar, ybar, M = summary.mean[:d], summary.mean[d], summary.M
    if not fit_intercept:
        # Without the bias the raw (uncentred) products are the ones to solve.
        G = M[:d, :d] + n * np.outer(xbar, xbar)
        return solve_equilibrated(G, M[:d, d] + n * xbar * ybar)
    digits = expected_digits(M)
    if digits >= OPTIMUM_DIGITS or rescan is None:
        w = solve_equilibrated(M[:d, :d], M[:d, d])
    elif not second_pass:
        return None
    else:
        warnings.warn(
            f"The features are ill-conditioned: solved from the one-pass summary, the exact optimum would "
            f"keep only about {max(digits, 0):.0f} correct digits, so gradfit took a second, QR-based pass (and refinement passes) "
            "over the data for it.", GradfitWarning, stacklevel=2)
        return solve_blocks(rescan, d=d, fit_intercept=True, mean=summary.mean)
    return np.append(w, ybar - xbar @ w)


def solve_equilibrated(M: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """w from ``M·w = rhs``, the columns scaled to unit diagonal first (equilibration)."""
    diag = np.diag(M)
    s = 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0))
    return s * np.linalg.lstsq(M * np.outer(s, s), rhs * s, rcond=None)[0]


def condition_number(M: np.ndarray) -> float:
    """Condition number of the equilibrated co-moment matrix of the features."""
    Mxx = M[:-1, :-1]
    diag = np.diag(Mxx)
    if not diag.size:
        return 1.0
    if (diag <= 0).any():
        return math.inf
    s = 1.0 / np.sqrt(diag)
    return float(np.linalg.cond(Mxx * np.outer(s, s)))


def expected_digits(M: np.ndarray) -> float:
    """Digits the optimum keeps when solved from the co-moments: −log10(κ(M)·ε), κ(M) = κ(Xc)²."""
    kappa = condition_number(M)
    return -math.log10(kappa * EPS) if math.isfinite(kappa) else 0.0


# --- how far a run is from θ* -------------------------------------------------------------

def param_gap(theta, theta_star) -> float:
    """‖θ − θ*‖ / ‖θ*‖ (the plain distance when θ* = 0)."""
    distance = float(np.linalg.norm(np.asarray(theta) - theta_star))
    size = float(np.linalg.norm(theta_star))
    return distance / size if size > 0 else distance


def record_gaps(history, theta_star, loss_star: float) -> None:
    """Fill the history's loss and parameter gaps, one per recorded iteration."""
    history.loss_gap = [loss - loss_star for loss in history.loss]
    if not len(history):
        history.param_gap = []
        return
    size = float(np.linalg.norm(theta_star))    # param_gap for every record at once, not one call per record
    distance = np.linalg.norm(history.thetas - np.asarray(theta_star), axis=1)
    history.param_gap = (distance / size if size > 0 else distance).tolist()


# --- ridge: the closed form of the L2 penalty ---------------------------------------------------

def ridge(X, y, D, *, fit_intercept: bool = True, sample_weight=None) -> np.ndarray:
    """θ* of ``Σᵢ sᵢ·rᵢ² + Σⱼ Dⱼ·wⱼ²`` (ridge; the intercept is not penalized): least squares by QR on the
    (weighted, centred) rows with the rows ``√Dⱼ·eⱼ`` appended, so the squared condition number is never formed."""
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    s = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    d = X.shape[1]
    xbar, ybar = (s @ X / s.sum(), s @ y / s.sum()) if fit_intercept else (np.zeros(d), 0.0)
    root = np.sqrt(s)
    A = np.vstack([(X - xbar) * root[:, None], np.diag(np.sqrt(np.asarray(D, dtype=np.float64)))])
    rhs = np.concatenate([(y - ybar) * root, np.zeros(d)])
    w = np.linalg.lstsq(A, rhs, rcond=None)[0]
    return np.append(w, ybar - xbar @ w) if fit_intercept else w


def ridge_from_summary(summary, D, fit_intercept: bool = True) -> np.ndarray:
    """The same from a one-pass summary: ``(Mxx + diag(D))·w = Mxy``, ``b = ȳ − x̄·w`` (uncentred products
    without intercept). The penalty bounds the condition number, so the summary keeps the digits."""
    d, n = summary.d, summary.n
    xbar, ybar, M = summary.mean[:d], summary.mean[d], summary.M
    D = np.diag(np.asarray(D, dtype=np.float64))
    if not fit_intercept:
        return solve_equilibrated(M[:d, :d] + n * np.outer(xbar, xbar) + D, M[:d, d] + n * xbar * ybar)
    w = solve_equilibrated(M[:d, :d] + D, M[:d, d])
    return np.append(w, ybar - xbar @ w)

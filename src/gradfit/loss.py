"""The squared-error loss and its hand-derived gradient: the one place that knows "sse" from "mse".

With ``A = [X 1]`` (a column of ones for the bias), ``θ = [w, b]`` and the residual
``r = Aθ − y``::

    Loss(θ)   = Σᵢ rᵢ²            (reduction "sse", the tutorial's)   or  (1/n)·Σᵢ rᵢ²  ("mse")
    ∂Loss/∂w  = Σᵢ 2·rᵢ·xᵢ = 2·Xᵀr                                   (chain rule: ∂L/∂f · ∂f/∂w)
    ∂Loss/∂b  = Σᵢ 2·rᵢ    = 2·Σr
    Hessian   = 2·AᵀA                                               (constant: the loss is quadratic)

With sample weights ``sᵢ`` every sum is weighted: ``Loss = Σᵢ sᵢ·rᵢ²`` (divided by ``Σᵢ sᵢ``
for "mse", so that a weight of 2 counts exactly like a repeated row), ``∇ = 2·Aᵀ(s∘r)``,
``Hessian = 2·AᵀSA``.

Gradient descent on a quadratic converges exactly when ``λ < 2 / h_max(Hessian)``.
The python engine spells the same sums out as the tutorial's loops.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from gradfit.model import split


class PenaltyKind(enum.StrEnum):
    NONE = "none"
    L2 = "l2"                  # ridge: a gradient term
    L1 = "l1"                  # lasso: a proximal step (soft-thresholding)
    ELASTICNET = "elasticnet"  # both


@dataclass(frozen=True)
class Penalty:
    """What is added to the loss, in scikit-learn's scaling (``ElasticNet``, ``SGDRegressor``)::

        1/(2n)·‖y − Xw − b‖² + α·ρ·‖w‖₁ + α·(1 − ρ)/2·‖w‖²        (ρ = l1_ratio; b never penalized)

    gradfit's own loss is ``Σ r²`` ("sse") or ``(1/n)·Σ r²`` ("mse"), so the penalty enters it
    multiplied by ``Loss.penalty_factor`` (2n or 2): the minimiser is scikit-learn's, whatever the
    reduction. ``scale`` says on which scale w is penalized: "given" (the features as they are,
    scikit-learn's convention) or "standardized" (each wⱼ·sⱼ, sⱼ the column's standard deviation:
    glmnet's convention, coefficients still reported on the given scale).
    """

    kind: PenaltyKind = PenaltyKind.NONE
    alpha: float = 0.0
    l1_ratio: float = 0.0
    scale: str = "given"

    def __post_init__(self):
        object.__setattr__(self, "kind", PenaltyKind(self.kind))

    @property
    def active(self) -> bool:
        return self.kind is not PenaltyKind.NONE and self.alpha > 0

    @property
    def l1(self) -> float:
        """α·ρ: the weight of ‖w‖₁."""
        return self.alpha * self.l1_ratio if self.active else 0.0

    @property
    def l2(self) -> float:
        """α·(1 − ρ): the weight of ½‖w‖²."""
        return self.alpha * (1.0 - self.l1_ratio) if self.active else 0.0

    @property
    def proximal(self) -> bool:
        """Whether the descent needs a proximal step (an L1 part), not only a gradient term."""
        return self.l1 > 0


class Reduction(enum.StrEnum):
    SSE = "sse"   # Σ rᵢ², the tutorial's
    MSE = "mse"   # (1/n)·Σ rᵢ²


@dataclass(frozen=True)
class Loss:
    """What is minimised: the reduction, whether θ holds a bias, and the rows' weights."""

    reduction: Reduction = Reduction.MSE
    fit_intercept: bool = True
    sample_weight: np.ndarray | None = field(default=None, compare=False, repr=False)
    penalty: Penalty = field(default_factory=Penalty)
    huber: float | None = None   # ε of the Huber loss (scikit-learn's SGDRegressor loss="huber"); None: squared

    @property
    def name(self) -> str:
        """What the loss is called: sse, mse or huber."""
        return "huber" if self.huber is not None else self.reduction.value

    def rho(self, r: np.ndarray) -> np.ndarray:
        """Each row's loss: r² (squared), or Huber's r² for |r| ≤ ε and 2ε|r| − ε² beyond (twice scikit-learn's
        ½r² / ε|r| − ½ε², so that the squared loss is the limit ε → ∞ and the penalty scaling is the same)."""
        if self.huber is None:
            return r * r
        a = np.abs(r)
        return np.where(a <= self.huber, r * r, 2 * self.huber * a - self.huber * self.huber)

    def psi(self, r: np.ndarray) -> np.ndarray:
        """Half the derivative of ``rho``: r, or r clipped to [−ε, ε] (outliers pull with a bounded force)."""
        return r if self.huber is None else np.clip(r, -self.huber, self.huber)

    def __post_init__(self):
        object.__setattr__(self, "reduction", Reduction(self.reduction))

    def penalty_factor(self, n_rows: int) -> float:
        """What scikit-learn's penalty is multiplied by in this loss: 2·W·scale (2 for "mse", 2n for "sse";
        W = n or Σ sᵢ), since the loss is 2·W·scale times scikit-learn's 1/(2W)·Σ sᵢ·rᵢ²."""
        return 2.0 * self.total_weight(n_rows) * self.scale(n_rows)

    @property
    def is_sum(self) -> bool:
        return self.reduction is Reduction.SSE

    def total_weight(self, n_rows: int) -> float:
        """n, or Σ sᵢ with sample weights: what "mse" divides by."""
        return n_rows if self.sample_weight is None else float(np.sum(self.sample_weight))

    def scale(self, n_rows: int) -> float:
        """The factor in front of the sum: 1 for "sse", 1/n for "mse" (n = Σ weights when weighted)."""
        return 1.0 if self.is_sum else 1.0 / self.total_weight(n_rows)

    def residual(self, X: np.ndarray, y: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """r = Xw + b − y."""
        w, b = split(theta, self.fit_intercept)
        return X @ w + b - y if self.fit_intercept else X @ w - y

    def value(self, r: np.ndarray, weight=None) -> float:
        """Loss = Σ r² (or its mean); Σ s·r² (or / Σ s) with sample weights."""
        weight = self.sample_weight if weight is None else weight
        if self.huber is not None:
            rho = self.rho(r)
            return float(rho.sum() if weight is None else weight @ rho) * self.scale(r.shape[0])
        total = float(r @ r) if weight is None else float((weight * r) @ r)
        return total * self.scale(r.shape[0])

    def gradient(self, X: np.ndarray, r: np.ndarray) -> np.ndarray:
        """∂Loss/∂w = 2·Xᵀr, ∂Loss/∂b = 2·Σr (r weighted by s; each divided by n or Σ s for "mse")."""
        r = self.psi(r)
        sr = r if self.sample_weight is None else self.sample_weight * r
        grad_w = 2 * (X.T @ sr)
        grad = np.append(grad_w, 2 * sr.sum()) if self.fit_intercept else grad_w
        return grad * self.scale(r.shape[0])

    def batch_gradient(self, X_batch, y_batch, theta, n_rows: int) -> np.ndarray:
        """An unbiased estimate of the full gradient from one mini-batch (unweighted rows).

        "mse": the batch's own mean gradient; "sse": the batch's sum scaled by n / |batch|.
        """
        r = self.psi(self.residual(X_batch, y_batch, theta))
        grad_w = 2 * (X_batch.T @ r)
        grad = np.append(grad_w, 2 * r.sum()) if self.fit_intercept else grad_w
        return grad * self.batch_factor(n_rows, X_batch.shape[0])

    def batch_factor(self, n_rows: int, batch_rows: int) -> float:
        """What a batch's summed gradient is multiplied by to estimate the full one: n/|B| or 1/|B|."""
        return (n_rows if self.is_sum else 1.0) / batch_rows

    def hessian(self, G: np.ndarray, n_rows: int) -> np.ndarray:
        """Hessian of the loss from the Gram matrix G = AᵀSA: 2·G (divided by n for "mse"). For Huber's loss an
        upper bound (its Hessian keeps only the rows with |r| ≤ ε), so 1/h_max is still a safe step."""
        return 2 * G * self.scale(n_rows)

    def row_curvature(self, blocks, n_rows: int) -> float:
        """The largest curvature of one row's term, maxᵢ 2‖aᵢ‖² (aᵢ = [xᵢ, 1] with an intercept), scaled as a
        mini-batch gradient is; ``blocks`` gives X in one or more blocks of rows (a pass over data read in chunks)."""
        longest = max((float(np.einsum("ij,ij->i", X, X).max()) for X in blocks if len(X)), default=0.0)
        return 2 * (longest + self.fit_intercept) * (n_rows if self.is_sum else 1.0)


@dataclass(frozen=True)
class PenaltyTerms:
    """The penalty in the coordinates θ that are descended: ``½·Σⱼ κⱼ·θⱼ² + Σⱼ τⱼ·|θⱼ|``.

    ``κ`` (curvature, the L2 part: a gradient term ``κ∘θ``) and ``τ`` (threshold, the L1 part: the
    soft-threshold ``θⱼ ← sign(θⱼ)·max(|θⱼ| − λ·τⱼ, 0)`` after a step of λ) are 0 at the intercept.
    """

    curvature: np.ndarray
    threshold: np.ndarray

    @classmethod
    def of(cls, loss: Loss, n_rows: int, weights: np.ndarray) -> "PenaltyTerms":
        """The terms of ``loss.penalty`` where the penalized coefficient j is ``weights[j]·θⱼ`` (one weight per
        feature: 1 on the given scale without standardizing, 1/sⱼ when descending on standardized features, …)."""
        c, p = loss.penalty_factor(n_rows), loss.penalty
        u = np.asarray(weights, dtype=np.float64)
        if loss.fit_intercept:
            u = np.append(u, 0.0)
        return cls(c * p.l2 * u * u, c * p.l1 * np.abs(u))

    @property
    def proximal(self) -> bool:
        return bool(np.any(self.threshold > 0))

    def value(self, theta) -> float:
        theta = np.asarray(theta, dtype=np.float64)
        return float(0.5 * (self.curvature * theta) @ theta + self.threshold @ np.abs(theta))

    def gradient(self, theta) -> np.ndarray:
        """∇ of the smooth (L2) part: κ∘θ."""
        return self.curvature * theta

    def prox(self, theta, lr: float) -> np.ndarray:
        """The proximal step of the L1 part after a step of λ: soft-thresholding by λ·τⱼ."""
        return np.sign(theta) * np.maximum(np.abs(theta) - lr * self.threshold, 0.0)

    def subgradient(self, theta, grad) -> np.ndarray:
        """The least-norm element of ∂(f + Σ τⱼ|θⱼ|) at θ, ``grad`` = ∇f(θ): ∇f + τ·sign(θ) where θⱼ ≠ 0,
        the gradient soft-thresholded by τ where θⱼ = 0. It is 0 exactly at the optimum."""
        at_zero = theta == 0
        moved = grad + self.threshold * np.sign(theta)
        kept = np.sign(grad) * np.maximum(np.abs(grad) - self.threshold, 0.0)
        return np.where(at_zero, kept, moved)


def gram(X: np.ndarray, fit_intercept: bool, sample_weight=None) -> np.ndarray:
    """AᵀA with A = [X 1] (or X alone without intercept), AᵀSA with weights, in float64."""
    X = np.asarray(X, dtype=np.float64)
    SX = X if sample_weight is None else X * np.asarray(sample_weight, dtype=np.float64)[:, None]
    if not fit_intercept:
        return SX.T @ X
    d = X.shape[1]
    G = np.empty((d + 1, d + 1))
    G[:d, :d] = SX.T @ X
    G[:d, d] = G[d, :d] = SX.sum(axis=0)
    G[d, d] = X.shape[0] if sample_weight is None else float(np.sum(sample_weight))
    return G


LANCZOS_FROM = 500   # below this size, a full eigendecomposition is as cheap and exact


def extreme_eigenvalues(H: np.ndarray) -> tuple[float, float]:
    """(h_min, h_max) of a symmetric positive semi-definite matrix (Lanczos, ``eigsh``, when it is large)."""
    if H.shape[0] <= LANCZOS_FROM:
        eigenvalues = np.linalg.eigvalsh(H)
        return max(float(eigenvalues[0]), 0.0), float(eigenvalues[-1])
    from scipy.sparse.linalg import eigsh

    high = float(eigsh(H, k=1, which="LA", tol=1e-10, return_eigenvectors=False)[0])
    low = float(eigsh(H, k=1, which="SA", tol=1e-10, return_eigenvectors=False)[0])
    return max(low, 0.0), high


class Curvature(NamedTuple):
    """What the Hessian's spectrum says about descent and about the optimum.

    ``mu`` is the smallest eigenvalue the data determine: the smallest one overall when the Hessian has
    full rank, else the smallest *positive* one — eigenvalues below ``size·ε·h_max`` are zero to working
    precision (NumPy's ``matrix_rank`` rule). Then the least-squares optima form an affine set, the gradient
    and θ − (the nearest optimum) both lie in the Hessian's range, and ‖θ − θ*‖ ≤ ‖∇L(θ)‖/μ still holds
    for the nearest optimum θ*: the certificate survives a constant column or more features than rows.
    """

    mu: float
    lambda_max: float
    rank: int
    size: int

    @property
    def identified(self) -> bool:
        """Whether the data determine every parameter (a unique optimum)."""
        return self.rank == self.size


def singular_below(h_max: float, size: int) -> float:
    """Eigenvalues of a size × size Hessian at or below this are zero to working precision: size·ε·h_max
    (NumPy's ``matrix_rank`` rule). gradfit's one threshold of "singular": fit, cv and the explanation."""
    return size * np.finfo(np.float64).eps * h_max


def curvature(H: np.ndarray) -> Curvature:
    """The Hessian's smallest determined eigenvalue, its largest, and its numerical rank."""
    size = H.shape[0]
    low, high = extreme_eigenvalues(H)
    zero = singular_below(high, size)
    if low > zero or high <= 0:
        return Curvature(low, high, size if high > 0 else 0, size)
    eigenvalues = np.linalg.eigvalsh(H)    # singular: the smallest positive eigenvalue needs the spectrum
    positive = eigenvalues[eigenvalues > zero]
    return Curvature(float(positive[0]), high, len(positive), size)


def preconditioner(H: np.ndarray, spectrum: Curvature) -> np.ndarray:
    """P ≈ H⁻¹ for descent in the metric of the Hessian. With full rank, from the Cholesky factor of the
    equilibrated Hessian D·H·D (D = diag(H)^−½, which keeps the factor accurate when the columns' scales differ):
    P = D·(DHD)⁻¹·D. Singular (``spectrum.rank`` below the size), or not positive definite to working precision:
    the pseudo-inverse on the range, from H's eigenvectors with eigenvalues above ``size·ε·h_max`` (NumPy's
    ``matrix_rank`` rule) — steps then stay in the range, and from θ₀ = 0 the run reaches the minimum-norm optimum."""
    size = H.shape[0]
    if spectrum.identified and spectrum.mu > 0:
        d = 1 / np.sqrt(np.diag(H))
        try:
            L = np.linalg.cholesky(H * d[:, None] * d[None, :])
            inverse = np.linalg.solve(L, np.eye(size))
            return (inverse.T @ inverse) * d[:, None] * d[None, :]
        except np.linalg.LinAlgError:
            pass
    eigenvalues, vectors = np.linalg.eigh(H)
    keep = eigenvalues > size * np.finfo(np.float64).eps * max(float(eigenvalues[-1]), 0.0)
    return (vectors[:, keep] / eigenvalues[keep]) @ vectors[:, keep].T


def minibatch_curvature(lambda_max: float, row: float, n: int, batch_size: int) -> float:
    """The curvature that bounds a mini-batch SGD step (expected smoothness, Gower et al. 2019).

    L_B = n(B − 1)/(B(n − 1))·L + (n − B)/(B(n − 1))·L_row, with L the full Hessian's h_max and
    L_row the curvature of one row: B = n gives L, B = 1 gives L_row — a step of 1/L_B is then
    safe for any batch.
    """
    B = min(batch_size, n)
    if n == 1:
        return lambda_max
    return n * (B - 1) / (B * (n - 1)) * lambda_max + (n - B) / (B * (n - 1)) * row


def stable_lr_bound(lambda_max: float) -> float:
    """The largest learning rate for which gradient descent converges: 2 / h_max."""
    return 2.0 / lambda_max if lambda_max > 0 else float("inf")

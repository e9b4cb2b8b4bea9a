"""Inference for a fitted linear model, whatever solver found it: the OLS summary table.

With ``A = [X 1]`` (rows scaled by √sᵢ under sample weights), n rows, p parameters and the
residual ``r = y − Aθ`` at the fitted θ::

    σ̂²      = ‖r‖² / (n − p)                   residual variance (its root: the residual standard error)
    Cov(θ̂)  = σ̂²·(AᵀA)⁻¹                        standard errors: √ of its diagonal
    t       = θ̂ / se,   p-value = 2·P(T > |t|)   T ~ Student's t with n − p degrees of freedom
    95% CI  = θ̂ ± t₀.₉₇₅·se
    R²      = 1 − ‖r‖² / TSS,  adjusted R² = 1 − (n − k)/(n − p)·(1 − R²)   (k = 1 with intercept)
    F       = ((TSS − ‖r‖²)/(p − k)) / σ̂²
    cond    = √(s_max / s_min), s the eigenvalues of AᵀA

the same definitions as statsmodels' OLS/WLS, which the tests compare against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradfit.exact import design
from gradfit.errors import DataError, missing_extra


@dataclass(frozen=True)
class Summary:
    names: tuple[str, ...]
    coef: np.ndarray
    std_err: np.ndarray
    t: np.ndarray
    p_value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    r2: float
    adj_r2: float
    f_statistic: float
    f_p_value: float
    residual_std_error: float
    condition_number: float
    n_rows: int
    df_resid: int
    df_model: int

    def __str__(self) -> str:
        width = max(9, *(len(n) for n in self.names))
        head = f"{'':{width}}  {'coef':>12} {'std err':>11} {'t':>9} {'P>|t|':>9} {'[0.025':>12} {'0.975]':>12}"
        lines = [head, "-" * len(head)]
        for i, name in enumerate(self.names):
            lines.append(f"{name:{width}}  {self.coef[i]:12.6g} {self.std_err[i]:11.4g} {self.t[i]:9.3f} "
                         f"{self.p_value[i]:9.3g} {self.ci_low[i]:12.6g} {self.ci_high[i]:12.6g}")
        lines += [
            "-" * len(head),
            f"R² = {self.r2:.6g}   adjusted R² = {self.adj_r2:.6g}   "
            f"F({self.df_model}, {self.df_resid}) = {self.f_statistic:.6g} (p = {self.f_p_value:.3g})",
            f"residual standard error = {self.residual_std_error:.6g} on {self.df_resid} degrees of freedom   "
            f"condition number = {self.condition_number:.4g}",
        ]
        return "\n".join(lines)


def summarize(X, y, theta, *, names, fit_intercept: bool, sample_weight=None) -> Summary:
    """The OLS (WLS with weights) summary of the parameters ``theta`` on the data ``(X, y)``.

    Rows of weight 0 are absent, as in R's ``lm``: they count neither in n nor in the degrees of freedom.
    """
    if sample_weight is not None and (sample_weight == 0).any():
        keep = sample_weight > 0
        X, y, sample_weight = X[keep], y[keep], sample_weight[keep]
    A = design(X, fit_intercept, sample_weight)
    root_w = 1.0 if sample_weight is None else np.sqrt(sample_weight)
    b = y * root_w
    theta = np.asarray(theta, dtype=np.float64)
    n, p = A.shape
    _check_dof(n, p)
    r = b - A @ theta
    pinv = np.linalg.pinv(A)
    if fit_intercept:
        w = np.ones(n) if sample_weight is None else sample_weight
        tss = float(w @ (y - np.average(y, weights=w)) ** 2)
    else:
        tss = float(b @ b)
    return _table(theta, float(r @ r), tss, n, np.einsum("ij,ij->i", pinv, pinv), np.linalg.eigvalsh(A.T @ A),
                  names, fit_intercept)


def summarize_gram(G: np.ndarray, theta, ssr: float, tss: float, n: int, *, names, fit_intercept: bool) -> Summary:
    """The same table from AᵀA, the residual and total sums of squares (a one-pass summary's, no rows needed)."""
    theta = np.asarray(theta, dtype=np.float64)
    _check_dof(n, G.shape[0])
    diag = np.diag(G)
    s = 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0))          # equilibrate before inverting
    inverse = np.linalg.pinv(G * np.outer(s, s)) * np.outer(s, s)
    return _table(theta, ssr, tss, n, np.diag(inverse), np.linalg.eigvalsh(G), names, fit_intercept)


def summarize_result(result) -> Summary:
    """The summary of a ``FitResult``: from its rows when in memory, else from its one-pass summary."""
    names, fit_intercept = result.model.feature_names, result.model.fit_intercept
    if result.in_memory:
        d = result.data
        return summarize(d.X, d.y, result.model.theta, names=names, fit_intercept=fit_intercept,
                         sample_weight=d.weight)
    summary = result.data_summary
    if summary is None:
        raise DataError("This result carries neither its rows nor a one-pass summary of them; refit to get its summary.")
    n = summary.n
    xbar, ybar = summary.mean[:-1], summary.mean[-1]
    G = summary.M[:-1, :-1] + n * np.outer(xbar, xbar)
    if fit_intercept:
        G = np.block([[G, n * xbar[:, None]], [n * xbar[None, :], np.array([[float(n)]])]])
    tss = summary.M[-1, -1] if fit_intercept else summary.M[-1, -1] + n * ybar * ybar
    ssr = result.loss / result.loss_spec.scale(n)
    return summarize_gram(G, result.model.theta, ssr, tss, n, names=names, fit_intercept=fit_intercept)


def _check_dof(n: int, p: int) -> None:
    if n - p <= 0:
        raise DataError(f"The summary needs more rows than parameters: {n} rows for {p} parameters "
                        "leave no degrees of freedom for the residual variance. Add rows or drop features.")


def _table(theta, ssr: float, tss: float, n: int, inverse_diag, eig, names, fit_intercept: bool) -> Summary:
    """σ̂², standard errors, t, p, CIs, R², F from the sums of squares and diag((AᵀA)⁻¹)."""
    try:
        from scipy import stats
    except ImportError:  # pragma: no cover - scipy is a dependency
        raise missing_extra("scipy", "inference") from None
    p, k = len(theta), int(fit_intercept)
    df_resid = n - p
    sigma2 = ssr / df_resid
    std_err = np.sqrt(sigma2 * inverse_diag)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = theta / std_err
    p_value = 2 * stats.t.sf(np.abs(t), df_resid)
    half = stats.t.ppf(0.975, df_resid) * std_err
    r2 = 1 - ssr / tss if tss > 0 else math.nan
    df_model = p - k
    f = ((tss - ssr) / df_model) / sigma2 if df_model > 0 and sigma2 > 0 else math.nan
    return Summary(
        names=tuple(names) + (("const",) if fit_intercept else ()), coef=theta, std_err=std_err, t=t,
        p_value=p_value, ci_low=theta - half, ci_high=theta + half, r2=r2,
        adj_r2=1 - (n - k) / df_resid * (1 - r2), f_statistic=f,
        f_p_value=float(stats.f.sf(f, df_model, df_resid)) if math.isfinite(f) else math.nan,
        residual_std_error=math.sqrt(sigma2),
        condition_number=math.sqrt(eig[-1] / eig[0]) if eig[0] > 0 else math.inf,
        n_rows=n, df_resid=df_resid, df_model=df_model,
    )

"""Issue 10: do the defaults reach the least-squares answer? Iterations and time to 1e-8, side by side.

    python benchmarks/defaults.py            # every real data set, and synthetic κ = 1e1 … 1e8
    python benchmarks/defaults.py --quick    # three real data sets, κ = 1e2 and 1e6, smaller budgets

On each real data set of ``tests/real_data.py`` and on synthetic data (n = 10 000, d = 8, uncentred,
column scales 1e-3 … 1e3, the standardized columns' condition number κ set exactly), every method runs
from its defaults and is measured against θ* = [w…, b] of the float data, computed exactly in rational
arithmetic (``real_data.exact_optimum``): the error is max |θ − θ*| / max |θ*| (relative, max-norm), the
target 1e-8.

| method | what runs |
|---|---|
| gradfit defaults | ``gradfit.fit(X, y)``: no options; its own stopping rule decides the iterations |
| gradfit GD 1/L raw | ``gradfit.fit(X, y, lr="auto", optimizer="gd", standardize=False, tol=None, iters=BUDGET)`` |
| sk SGDRegressor | ``SGDRegressor().fit(X, y)``: scikit-learn's defaults (L2 penalty α = 1e-4, invscaling, tol 1e-3) |
| sk Scaler+SGD | ``make_pipeline(StandardScaler(), SGDRegressor())`` |
| torch SGD | ``nn.Linear``, ``nn.MSELoss``, ``optim.SGD(lr=0.01)``, full batch, X standardized, float64 |
| torch Adam | the same with ``optim.Adam(lr=1e-3)`` |
| numpy lstsq | ``np.linalg.lstsq(np.column_stack([X, ones]), y, rcond=None)`` |

For the iterative methods that do not stop by themselves (plain GD, PyTorch), the error is checked after
every step (outside the timer) and the run stops at the first step within 1e-8, or after the budget:
"not reached" then gives the final error. Times are wall-clock seconds in this process, one thread per
library (``GRADFIT_BENCH_THREADS``), best of three for runs under a second; the table gives them as
multiples of ``lstsq``'s time on the same data. Results go to ``benchmarks/defaults.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

THREADS = os.environ.setdefault("GRADFIT_BENCH_THREADS", "1")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, THREADS)

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from real_data import NAMES, exact_optimum, load, relative_error  # noqa: E402

import gradfit  # noqa: E402

TARGET = 1e-8
SEED = 20261010
KAPPAS = (1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8)
QUICK_NAMES = ("longley", "diabetes", "r_trees")
QUICK_KAPPAS = (1e2, 1e6)
METHODS = ("gradfit defaults", "gradfit GD 1/L raw", "sk SGDRegressor", "sk Scaler+SGD", "torch SGD", "torch Adam",
           "numpy lstsq")


@dataclass
class Outcome:
    reached: bool                 # final (or first-reached) error ≤ TARGET
    iterations: int | None        # iterations (epochs for SGDRegressor) run, or to the first step within TARGET
    seconds: float
    error: float                  # max |θ − θ*| / max |θ*| at the end
    note: str = ""                # what else the table should say (claims to have converged, diverged, …)
    extra: dict = field(default_factory=dict)


# --- data ---------------------------------------------------------------------------------------

def standardized_condition(X) -> float:
    """κ of the standardized columns: what conditioning remains once the scales and means are taken out."""
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    s = np.linalg.svd(Z, compute_uv=False)
    return float(s[0] / s[-1])


def synthetic(kappa: float, n: int = 10_000, d: int = 8):
    """Columns whose standardized version has condition number exactly ``kappa`` (singular values
    geometric from 1 to 1/κ, made unit-variance by alternating projections), then uncentred and scaled:
    column j = σ_j·(m_j + z_j), σ_j from 1e-3 to 1e3, m_j from 10 to 1000 (means 10–1000 spreads away
    from zero, like years or prices). y = Xw + b + noise, each feature contributing on the same order."""
    rng = np.random.default_rng([SEED, round(math.log10(kappa))])
    singular = np.geomspace(1.0, 1.0 / kappa, d)
    Z = rng.standard_normal((n, d))
    for _ in range(50):
        U, _, Vt = np.linalg.svd(Z, full_matrices=False)
        Z = (U * singular) @ Vt
        Z = (Z - Z.mean(axis=0)) / Z.std(axis=0)
    scales = rng.permutation(np.geomspace(1e-3, 1e3, d))
    X = scales * (10.0 ** rng.uniform(1, 3, d) + Z)
    w = rng.standard_normal(d) / scales
    y = X @ w + 100.0 * rng.standard_normal() + 0.1 * rng.standard_normal(n)
    return X, y


def data_sets(quick: bool):
    for name in QUICK_NAMES if quick else NAMES:
        d = load(name)
        yield name, d.X, d.y
    for kappa in QUICK_KAPPAS if quick else KAPPAS:
        X, y = synthetic(kappa)
        yield f"synthetic κ=1e{round(math.log10(kappa))}", X, y


# --- the methods ----------------------------------------------------------------------------------

def best_of(run, repeats: int = 3, under: float = 1.0):
    """(result, seconds): the fastest of up to ``repeats`` runs, repeated only while a run takes < ``under`` s."""
    best, result = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
        if best >= under:
            break
    return result, best


def gradfit_defaults(X, y, theta_star, budget):
    def run():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            return gradfit.fit(X, y), sorted({w.category.__name__ for w in caught})

    (result, warned), seconds = best_of(run)
    error = relative_error(result.model.theta, theta_star)
    converged = bool(result.converged)
    note = ""
    if converged and error > TARGET:
        note = "says converged"
    elif not converged and "ConvergenceWarning" not in warned:
        note = "silent"
    extra = {"converged": converged, "stop_reason": str(result.stop_reason), "warnings": warned,
             "engine": result.engine, "optimizer": result.optimizer,
             "gap_bound": _float(getattr(result, "gap_bound", None))}    # None before issue 10
    return Outcome(error <= TARGET, result.n_iter, seconds, error, note, extra)


class _Reached(Exception):
    pass


def gradfit_plain_gd(X, y, theta_star, budget):
    """Plain GD at 1/L on the raw data; a callback checks the error after every iteration (its own time
    is taken out) and stops the run at the first one within the target."""
    state = {"iteration": None, "error": math.inf, "callback_seconds": 0.0, "at": None}

    def check(loop):
        entered = time.perf_counter()
        state["error"] = relative_error(loop.theta, theta_star)
        if state["error"] <= TARGET:
            state["iteration"], state["at"] = loop.iteration, entered
            raise _Reached
        state["callback_seconds"] += time.perf_counter() - entered

    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = gradfit.fit(X, y, lr="auto", optimizer="gd", standardize=False, tol=None, iters=budget,
                                 callbacks=(check,))
    except _Reached:
        seconds = state["at"] - start - state["callback_seconds"]
        return Outcome(True, state["iteration"], seconds, state["error"])
    except gradfit.DivergenceError as exc:
        return Outcome(False, None, time.perf_counter() - start, math.inf, "diverged", {"message": str(exc)[:200]})
    seconds = time.perf_counter() - start - state["callback_seconds"]
    error = relative_error(result.model.theta, theta_star)
    return Outcome(error <= TARGET, result.n_iter, seconds, error, extra={"lr": result.lr})


def sklearn_sgd(X, y, theta_star, budget, scaled: bool):
    from sklearn.linear_model import SGDRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def run():
        model = make_pipeline(StandardScaler(), SGDRegressor()) if scaled else SGDRegressor()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with np.errstate(all="ignore"):
                model.fit(X, y)
        return model, sorted({w.category.__name__ for w in caught})

    try:
        (model, warned), seconds = best_of(run)
    except (ValueError, FloatingPointError) as exc:   # "Floating-point under-/overflow occurred at epoch #k"
        return Outcome(False, None, math.nan, math.inf, "error: " + str(exc).split(".")[0][:80])
    if scaled:
        scaler, sgd = model.steps[0][1], model.steps[1][1]
        weights = sgd.coef_ / scaler.scale_
        theta = np.append(weights, sgd.intercept_[0] - weights @ scaler.mean_)
    else:
        sgd = model
        theta = np.append(sgd.coef_, sgd.intercept_[0])
    error = relative_error(theta, theta_star) if np.all(np.isfinite(theta)) else math.inf
    return Outcome(error <= TARGET, int(sgd.n_iter_), seconds, error, "diverged" if not math.isfinite(error) else "",
                   {"warnings": warned, "updates": int(sgd.t_)})


def torch_loop(X, y, theta_star, budget, optimizer: str):
    """What a PyTorch user writes: standardize X, nn.Linear, MSELoss, full batch, the optimizer's usual lr."""
    import torch

    torch.set_num_threads(int(THREADS))
    torch.manual_seed(0)
    mean, std = X.mean(axis=0), X.std(axis=0)
    inputs = torch.tensor((X - mean) / std, dtype=torch.float64)
    targets = torch.tensor(y, dtype=torch.float64).reshape(-1, 1)
    model = torch.nn.Linear(X.shape[1], 1, dtype=torch.float64)
    loss_fn = torch.nn.MSELoss()
    opt = (torch.optim.SGD(model.parameters(), lr=0.01) if optimizer == "sgd"
           else torch.optim.Adam(model.parameters(), lr=1e-3))

    def theta_original():
        w = model.weight.detach().numpy().ravel() / std
        return np.append(w, model.bias.item() - w @ mean)

    seconds, error = 0.0, math.inf
    for step in range(1, budget + 1):
        start = time.perf_counter()
        opt.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        opt.step()
        seconds += time.perf_counter() - start
        error = relative_error(theta_original(), theta_star)
        if not math.isfinite(error):
            return Outcome(False, step, seconds, math.inf, "diverged")
        if error <= TARGET:
            return Outcome(True, step, seconds, error)
    return Outcome(False, budget, seconds, error)


def numpy_lstsq(X, y, theta_star, budget):
    A = np.column_stack([X, np.ones(len(y))])
    theta, seconds = best_of(lambda: np.linalg.lstsq(A, y, rcond=None)[0], repeats=5)
    error = relative_error(theta, theta_star)
    return Outcome(error <= TARGET, None, seconds, error)


RUNNERS = {
    "gradfit defaults": gradfit_defaults,
    "gradfit GD 1/L raw": gradfit_plain_gd,
    "sk SGDRegressor": lambda *a: sklearn_sgd(*a, scaled=False),
    "sk Scaler+SGD": lambda *a: sklearn_sgd(*a, scaled=True),
    "torch SGD": lambda *a: torch_loop(*a, optimizer="sgd"),
    "torch Adam": lambda *a: torch_loop(*a, optimizer="adam"),
    "numpy lstsq": numpy_lstsq,
}


def _float(value):
    return None if value is None else float(value)


def plain_json(value):
    """Non-finite floats as the strings "inf" / "nan", so that the file is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    return value


# --- the table ------------------------------------------------------------------------------------

def cell(outcome: Outcome, lstsq_seconds: float, method: str) -> str:
    """✓ iterations · milliseconds · multiple of lstsq's time; or ✗ the final error after the iterations run."""
    iterations = "" if outcome.iterations is None else f"{outcome.iterations} it"
    if method == "numpy lstsq":
        text = f"{'✓' if outcome.reached else '✗'} {outcome.seconds * 1e3:.2g} ms, error {outcome.error:.0e}"
    elif outcome.reached:
        ratio = outcome.seconds / lstsq_seconds
        text = " · ".join(p for p in (f"✓ {iterations}", f"{outcome.seconds * 1e3:.3g} ms", f"{ratio:.3g}×") if p)
    elif outcome.note.startswith("error"):
        return f"✗ {outcome.note}"
    else:
        what = "diverged" if not math.isfinite(outcome.error) else f"{outcome.error:.1e}"
        text = f"✗ {what}" + (f" after {iterations}" if iterations else "")
    if outcome.note and outcome.note != "diverged":
        text += f" **({outcome.note})**"
    return text


def markdown(rows: list[dict]) -> str:
    head = ["data", "n", "d", "κ std", *METHODS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        lstsq = row["methods"]["numpy lstsq"]["seconds"]
        cells = [cell(Outcome(**row["methods"][m]), lstsq, m) for m in METHODS]
        first = f"| {row['data']} | {row['n']} | {row['d']} | {row['kappa_std']:.2g} | "
        lines.append(first + " | ".join(cells) + " |")
    reached = {m: sum(r["methods"][m]["reached"] for r in rows) for m in METHODS}
    lines.append("| **reached 1e-8** | | | | " + " | ".join(f"**{reached[m]}/{len(rows)}**" for m in METHODS) + " |")
    return "\n".join(lines)


def environment() -> dict:
    import scipy
    import sklearn
    import statsmodels
    import torch

    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor()
    try:
        kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
        memory = f"{kib / 2**20:.0f} GiB"
    except (OSError, StopIteration):
        memory = "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": memory, "threads per library": int(THREADS),
            "python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__, "statsmodels": statsmodels.__version__, "torch": torch.__version__,
            "gradfit": gradfit.__version__,
            "gradfit from": str(Path(gradfit.__file__).parent)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small subset, smaller budgets")
    parser.add_argument("--budget", type=int, default=None,
                        help="most steps for plain GD and PyTorch (default 20000; 5000 with --quick)")
    parser.add_argument("--json", type=Path, default=Path(__file__).resolve().parent / "defaults.json")
    args = parser.parse_args()
    budget = args.budget or (5_000 if args.quick else 20_000)
    env = environment()
    print(f"gradfit {env['gradfit']} from {env['gradfit from']}; budget {budget} steps", file=sys.stderr)
    rows, started = [], time.perf_counter()
    for name, X, y in data_sets(args.quick):
        theta_star = exact_optimum(X, y)
        row = {"data": name, "n": X.shape[0], "d": X.shape[1], "kappa_std": standardized_condition(X), "methods": {}}
        for method in METHODS:
            outcome = RUNNERS[method](X, y, theta_star, budget)
            row["methods"][method] = asdict(outcome)
        rows.append(row)
        print(f"  {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    table = markdown(rows)
    print(table)
    elapsed = time.perf_counter() - started
    print(f"\n{len(rows)} data sets in {elapsed:.0f} s", file=sys.stderr)
    doc = {"target": TARGET, "budget": budget, "quick": args.quick, "seconds": elapsed, "environment": env,
           "results": rows, "table": table}
    args.json.write_text(json.dumps(plain_json(doc), indent=1, allow_nan=False, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()

"""One-pass cross-validation against scikit-learn's LassoCV and RidgeCV (same folds, same alphas).

    python benchmarks/cv.py                          # n = 1e6, d = 16 and 128, 5 folds, 50 alphas (lasso), 10 (ridge)
    python benchmarks/cv.py --n 1e5 --d 16 --alphas 20
    python benchmarks/cv.py --stream-only --n 1e6 --d 128   # gradfit on Parquet files only, in its own process

Prints a Markdown table and writes benchmarks/cv_results.json. Every library runs with one thread
(OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=1; GRADFIT_BENCH_THREADS to change it). The streamed case writes the
data to Parquet files (several files, row groups of 65 536 rows) and runs ``gradfit.cv`` on them in a fresh
process, whose peak memory (ru_maxrss) is reported next to the data's size.
"""

from __future__ import annotations

import os

THREADS = os.environ.get("GRADFIT_BENCH_THREADS", "1")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = THREADS

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent


def make_data(n: int, d: int, seed: int = 0):
    """Features with unequal scales and non-zero means, a sparse truth (a quarter of the weights), noise."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X *= rng.uniform(0.5, 5, d)
    X += rng.uniform(-3, 3, d)
    w = rng.standard_normal(d) * (np.arange(d) % 4 == 0)
    y = X @ w + 1.5 + 2.0 * rng.standard_normal(n)
    return X, y


def splits(n: int, folds: int, seed: int):
    from gradfit.engines.stats import fold_of

    fold = fold_of(np.arange(n), folds, seed)
    return [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(folds)]


def timed(function):
    start = time.perf_counter()
    value = function()
    return time.perf_counter() - start, value


def run_cell(n: int, d: int, folds: int, alphas: int, ridge_alphas: int, skip_sklearn: bool) -> list[dict]:
    import gradfit
    from sklearn.linear_model import LassoCV, RidgeCV

    X, y = make_data(n, d)
    rows = []
    seconds, lasso = timed(lambda: gradfit.cv(X, y, penalty="l1", alphas=alphas, folds=folds))
    rows.append({"n": n, "d": d, "method": "gradfit.cv lasso", "alphas": alphas, "seconds": seconds,
                 "alpha_min": lasso.alpha_min})
    if not skip_sklearn:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seconds, sk = timed(lambda: LassoCV(alphas=lasso.alphas, cv=splits(n, folds, 0), n_jobs=1).fit(X, y))
        rows.append({"n": n, "d": d, "method": "sklearn LassoCV", "alphas": alphas, "seconds": seconds,
                     "alpha_min": float(sk.alpha_),
                     "mse_path_rel_diff": float(np.abs(sk.mse_path_ - lasso.mse_path).max() / sk.mse_path_.max())})
    grid = np.logspace(1, -4, ridge_alphas)
    seconds, ridge = timed(lambda: gradfit.cv(X, y, penalty="l2", alphas=grid, folds=folds))
    rows.append({"n": n, "d": d, "method": "gradfit.cv ridge", "alphas": ridge_alphas, "seconds": seconds,
                 "alpha_min": ridge.alpha_min})
    if not skip_sklearn:
        # RidgeCV's objective is ‖y − Xw − b‖² + a‖w‖² (no 1/(2n)): a = α·n_train is the same problem per fold only
        # up to the folds' sizes, so the alphas given are α·n·(K−1)/K; its choice is compared, not its errors.
        scaled = grid * n * (folds - 1) / folds
        seconds, sk = timed(lambda: RidgeCV(alphas=scaled, cv=splits(n, folds, 0)).fit(X, y))
        rows.append({"n": n, "d": d, "method": "sklearn RidgeCV", "alphas": ridge_alphas, "seconds": seconds,
                     "alpha_min": float(sk.alpha_) / (n * (folds - 1) / folds)})
    return rows


def stream_cell(n: int, d: int, folds: int, alphas: int, files: int = 4) -> dict:
    """gradfit.cv on Parquet files in a fresh process: its time and peak memory, against the data's size."""
    import pandas as pd

    with tempfile.TemporaryDirectory() as tmp:
        names = [f"x{j}" for j in range(d)]
        for i in range(files):   # written a file at a time: this process never holds more than a quarter
            X, y = make_data(n // files, d, seed=100 + i)
            pd.DataFrame(X, columns=names).assign(y=y).to_parquet(Path(tmp) / f"part{i}.parquet",
                                                                  row_group_size=65_536)
            del X, y
        size = sum(f.stat().st_size for f in Path(tmp).iterdir())
        code = ("import json, resource, time, gradfit\n"
                f"s = gradfit.open_files({tmp!r}, {names!r}, 'y')\n"
                "t = time.perf_counter()\n"
                f"r = gradfit.cv(s, penalty='l1', alphas={alphas}, folds={folds})\n"
                "t = time.perf_counter() - t\n"
                "print(json.dumps({'seconds': t, 'alpha_min': r.alpha_min, "
                "'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
    return {"n": n, "d": d, "method": "gradfit.cv lasso, streamed Parquet", "alphas": alphas,
            "file_mib": size / 2**20, **row}


def table(rows: list[dict]) -> str:
    lines = ["| n | d | method | alphas | seconds | ratio to gradfit | chosen α | note |", "|---|---|---|---|---|---|---|---|"]
    base = {}
    for r in rows:
        key = (r["n"], r["d"], "ridge" if "Ridge" in r["method"] or "ridge" in r["method"] else "lasso")
        if r["method"].startswith("gradfit.cv") and "streamed" not in r["method"]:
            base[key] = r["seconds"]
        ratio = r["seconds"] / base[key] if key in base and not r["method"].startswith("gradfit") else None
        note = []
        if "mse_path_rel_diff" in r:
            note.append(f"CV errors differ from gradfit's by {r['mse_path_rel_diff']:.1e} (relative)")
        if "peak_rss_mib" in r:
            note.append(f"files {r['file_mib']:.0f} MiB, peak memory {r['peak_rss_mib']:.0f} MiB")
        lines.append(f"| {r['n']:.0e} | {r['d']} | {r['method']} | {r['alphas']} | {r['seconds']:.2f} | "
                     f"{'' if ratio is None else f'{ratio:.1f}×'} | {r['alpha_min']:.4g} | {'; '.join(note)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=float, default=1e6)
    parser.add_argument("--d", default="16,128")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--alphas", type=int, default=50)
    parser.add_argument("--ridge-alphas", type=int, default=10)
    parser.add_argument("--skip-sklearn", action="store_true")
    parser.add_argument("--stream-only", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "cv_results.json")
    args = parser.parse_args()
    n = int(args.n)
    rows = []
    for d in (int(v) for v in args.d.split(",")):
        if not args.stream_only:
            rows += run_cell(n, d, args.folds, args.alphas, args.ridge_alphas, args.skip_sklearn)
        rows.append(stream_cell(n, d, args.folds, args.alphas))
        print(table(rows), flush=True)
    args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

"""gradfit against its peers, side by side in one process, on synthetic data with a fixed seed.

    python benchmarks/bench.py                         # the default grid (see --help)
    python benchmarks/bench.py --n 1e6 --d 16 --k 1000 --methods floor,stats,torch
    python benchmarks/bench.py --n 1e5 --d 1 --k 100 --methods floor --stream-gib 4   # larger than memory

Every method fits the same f(x) = w·x + b by full-batch gradient descent with the same
learning rate (1/λ_max, gradfit's lr="auto") for K iterations from zero, except
LinearRegression (a direct solver) and SGDRegressor (K epochs of per-row SGD). A method
whose per-iteration cost would make a cell too long (--budget seconds) runs fewer
iterations, and its time is extrapolated to K from them; the table says so.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

# One thread per library unless told otherwise (GRADFIT_BENCH_THREADS): on a small shared machine,
# BLAS and PyTorch threads that spin against other processes make timings meaningless.
THREADS = os.environ.setdefault("GRADFIT_BENCH_THREADS", "1")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, THREADS)

import numpy as np  # noqa: E402

from gradfit.loss import Loss  # noqa: E402

SEED = 20260101
CHUNK_ROWS = 1 << 20
METHODS = ("floor", "gradfit-stats", "gradfit-fit", "gradfit-numpy", "numpy-loop", "torch",
           "sk-sgd", "sk-linear", "dask-gradfit", "dask-loop")


# --- data -------------------------------------------------------------------------------------

def chunk(i: int, rows: int, d: int):
    """Rows of chunk ``i``: the same numbers whoever generates them (in memory or on a worker)."""
    rng = np.random.default_rng([SEED, d, i])
    X = rng.standard_normal((rows, d)) + np.linspace(-1.0, 1.0, d)
    w = np.linspace(1.0, -1.0, d) if d > 1 else np.array([2.0])
    y = X @ w + 0.5 + 0.1 * rng.standard_normal(rows)
    return X, y


def chunk_sizes(n: int):
    return [min(CHUNK_ROWS, n - s) for s in range(0, n, CHUNK_ROWS)]


def make_data(n: int, d: int):
    X, y = np.empty((n, d)), np.empty(n)
    start = 0
    for i, rows in enumerate(chunk_sizes(n)):
        X[start:start + rows], y[start:start + rows] = chunk(i, rows, d)
        start += rows
    return X, y


# --- the methods --------------------------------------------------------------------------------

def timed(f):
    start = time.perf_counter()
    out = f()
    return out, time.perf_counter() - start


def per_iteration(step, K: int, budget: float):
    """Run ``step(k)`` K times, or as many as fit ``budget`` seconds; (iterations run, seconds for K)."""
    _, first = timed(lambda: step(0))
    runs = K if first * K <= budget else max(2, min(K, int(budget / max(first, 1e-9))))
    _, rest = timed(lambda: [step(k) for k in range(1, runs)])
    seconds = first + rest
    return runs, seconds * K / runs


def floor(X, y, **_):
    """One read of the data: every value summed once (the best of three)."""
    s = min(timed(lambda: (np.add.reduce(X.reshape(-1)), np.add.reduce(y)))[1] for _ in range(3))
    return None, s, None


def gradfit_stats(X, y, lr, K, **_):
    """The stats engine on validated arrays: one pass to the summary, then K O(d²) iterations."""
    from gradfit import descent
    from gradfit.engines.stats import StatsObjective

    def run():
        objective = StatsObjective.from_arrays(X, y, Loss("mse", True))
        return descent.run(objective, np.zeros(X.shape[1] + 1), lr=lr, max_iter=K).theta

    theta, s = timed(run)
    return theta, s, None


def gradfit_fit(X, y, lr, K, **_):
    """``gradfit.fit`` end to end: validation, engine auto (stats), K iterations, metrics."""
    import gradfit

    result, s = timed(lambda: gradfit.fit(X, y, lr=lr, iters=K, tol=None))
    return result.model.theta, s, None


def gradfit_numpy(X, y, lr, K, budget, **_):
    from gradfit import descent
    from gradfit.engines.numpy import NumpyObjective

    objective = NumpyObjective(X, y, Loss("mse", True))
    theta = [np.zeros(X.shape[1] + 1)]

    def step(k):
        theta[0] = theta[0] - lr * objective.loss_and_gradient(theta[0])[1]

    runs, s = per_iteration(step, K, budget)
    return theta[0], s, runs


def numpy_loop(X, y, lr, K, budget, **_):
    """What one writes by hand: r = Xw + b − y; w −= λ·(2/n)Xᵀr; b −= λ·(2/n)Σr."""
    n, d = X.shape
    p = {"w": np.zeros(d), "b": 0.0}

    def step(k):
        r = X @ p["w"] + p["b"] - y
        p["w"] = p["w"] - lr * (2.0 / n) * (X.T @ r)
        p["b"] = p["b"] - lr * (2.0 / n) * r.sum()

    runs, s = per_iteration(step, K, budget)
    return np.append(p["w"], p["b"]), s, runs


def torch_loop(X, y, lr, K, budget, **_):
    """Idiomatic PyTorch: nn.Linear, MSELoss, backward(), optim.SGD, the whole batch each step."""
    import torch

    torch.set_num_threads(int(THREADS))
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y).unsqueeze(1)
    model = torch.nn.Linear(X.shape[1], 1, dtype=torch.float64)
    torch.nn.init.zeros_(model.weight), torch.nn.init.zeros_(model.bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    mse = torch.nn.MSELoss()

    def step(k):
        optimizer.zero_grad()
        loss = mse(model(Xt), yt)
        loss.backward()
        optimizer.step()

    runs, s = per_iteration(step, K, budget)
    return np.append(model.weight.detach().numpy().ravel(), model.bias.item()), s, runs


def sk_sgd(X, y, K, budget, **_):
    """scikit-learn's SGDRegressor: per-row SGD, K epochs (its own default schedule)."""
    from sklearn.linear_model import SGDRegressor

    model = SGDRegressor(penalty=None, max_iter=1, tol=None, random_state=0, warm_start=True)
    runs, s = per_iteration(lambda k: model.partial_fit(X, y), K, budget)
    return np.append(model.coef_, model.intercept_), s, runs


def sk_linear(X, y, **_):
    from sklearn.linear_model import LinearRegression

    model, s = timed(lambda: LinearRegression().fit(X, y))
    return np.append(model.coef_, model.intercept_), s, None


def dask_client():
    import distributed

    if not hasattr(dask_client, "client"):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None, memory_limit="3GiB")
        dask_client.client = distributed.Client(cluster)
    return dask_client.client


def dask_arrays(n, d):
    """The same data, generated on the workers chunk by chunk and kept there."""
    import dask
    import dask.array as da

    parts = [dask.delayed(chunk)(i, rows, d) for i, rows in enumerate(chunk_sizes(n))]
    X = da.concatenate([da.from_delayed(p[0], (r, d), np.float64) for p, r in zip(parts, chunk_sizes(n))])
    y = da.concatenate([da.from_delayed(p[1], (r,), np.float64) for p, r in zip(parts, chunk_sizes(n))])
    return dask_client().persist([X, y])


def dask_gradfit(n, d, lr, K, **_):
    import distributed

    import gradfit

    X, y = dask_arrays(n, d)
    distributed.wait([X, y])
    result, s = timed(lambda: gradfit.fit(X, y, lr=lr, iters=K, tol=None))
    return result.model.theta, s, None


def dask_loop(n, d, lr, K, budget, **_):
    """Full-batch GD written with Dask arrays: a pass over the cluster's data per iteration."""
    import distributed

    X, y = dask_arrays(n, d)
    distributed.wait([X, y])
    p = {"w": np.zeros(d), "b": 0.0}

    def step(k):
        r = X @ p["w"] + p["b"] - y
        gw, gb = dask_client().compute([X.T @ r, r.sum()], sync=True)
        p["w"], p["b"] = p["w"] - lr * (2.0 / n) * gw, p["b"] - lr * (2.0 / n) * gb

    runs, s = per_iteration(step, K, budget)
    return np.append(p["w"], p["b"]), s, runs


RUN = {"floor": floor, "gradfit-stats": gradfit_stats, "gradfit-fit": gradfit_fit, "gradfit-numpy": gradfit_numpy,
       "numpy-loop": numpy_loop, "torch": torch_loop, "sk-sgd": sk_sgd, "sk-linear": sk_linear,
       "dask-gradfit": dask_gradfit, "dask-loop": dask_loop}


# --- the grid ------------------------------------------------------------------------------------

def cell(n, d, K, methods, budget, cache):
    from gradfit import exact
    from gradfit.engines.stats import StatsObjective
    from gradfit.loss import extreme_eigenvalues

    X, y = cache.get((n, d)) or cache.setdefault((n, d), make_data(n, d))
    loss = Loss("mse", True)
    objective = StatsObjective.from_arrays(X, y, loss)
    lr = 1.0 / extreme_eigenvalues(loss.hessian(objective.gram(), n))[1]
    optimum = exact.from_summary(objective.summary, True)
    rows, floor_s = [], None
    for name in methods:
        theta, seconds, runs = RUN[name](X=X, y=y, n=n, d=d, lr=lr, K=K, budget=budget)
        if name == "floor":
            floor_s = seconds
        row = {"n": n, "d": d, "K": K, "method": name, "seconds": seconds,
               "ratio_to_floor": seconds / floor_s if floor_s else None,
               "iterations_run": runs if runs is not None else None,
               "extrapolated": runs is not None and runs < K}
        if theta is not None:
            row["loss"] = objective.loss_and_gradient(theta)[0]
            row["param_error"] = float(np.linalg.norm(theta - optimum) / np.linalg.norm(optimum))
        rows.append(row)
        print(format_row(row), flush=True)
    return rows


def format_row(r) -> str:
    seconds = f"{'~' if r['extrapolated'] else ''}{r['seconds']:.3g}"
    ratio = f"{r['ratio_to_floor']:.3g}" if r["ratio_to_floor"] else "–"
    loss = f"{r['loss']:.6g}" if "loss" in r else "–"
    err = f"{r['param_error']:.1e}" if "param_error" in r else "–"
    if r["extrapolated"]:
        seconds += f" (from {r['iterations_run']} iterations)"
    return f"| {r['n']:.0e} | {r['d']} | {r['K']} | {r['method']} | {seconds} | {ratio} | {loss} | {err} |"


HEADER = "| n | d | K | method | seconds | × floor | final loss (mse) | ‖θ − θ*‖/‖θ*‖ |\n|---|---|---|---|---|---|---|---|"


# --- larger than memory --------------------------------------------------------------------------

def write_parquet(directory: Path, gib: float, d: int = 16):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows_per_file = CHUNK_ROWS * 4
    n = int(gib * 2**30 / ((d + 1) * 8))
    directory.mkdir(parents=True, exist_ok=True)
    names = [f"x{j}" for j in range(1, d + 1)]
    for f, start in enumerate(range(0, n, rows_per_file)):
        path = directory / f"part-{f:03d}.parquet"
        if path.exists():
            continue
        with pq.ParquetWriter(path, pa.schema([(c, pa.float64()) for c in [*names, "y"]])) as writer:
            for i in range(start // CHUNK_ROWS, math.ceil(min(n, start + rows_per_file) / CHUNK_ROWS)):
                X, y = chunk(i, CHUNK_ROWS, d)
                writer.write_table(pa.table({**{c: X[:, j] for j, c in enumerate(names)}, "y": y}),
                                   row_group_size=CHUNK_ROWS // 4)
    return names


def stream_child(directory: str, task: str, d: int, K: int):
    """Run in a child process (so its peak RSS is its own): a pyarrow scan, or a gradfit fit."""
    import resource

    start = time.perf_counter()
    if task.startswith("pyarrow"):
        import pyarrow.dataset as ds

        dataset = ds.dataset(directory, format="parquet")
        if task == "pyarrow":        # its defaults: pre-buffering, deep read-ahead, all threads
            batches = dataset.to_batches()
        else:                        # the bounded-memory settings gradfit uses
            batches = dataset.to_batches(batch_size=65_536, batch_readahead=1, fragment_readahead=1,
                                         fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=False))
        out = {"rows": sum(b.num_rows for b in batches)}
    else:
        import gradfit
        from gradfit.scan import open_files

        scan = open_files(directory, [f"x{j}" for j in range(1, d + 1)], "y")
        result = gradfit.fit(scan, None, iters=K, tol=None)
        out = {"rows": scan.n_rows, "engine": result.engine, "r2": result.metrics["r2"]}
    out["seconds"] = time.perf_counter() - start
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def stream_benchmark(gib: float, cap_mib: int, K: int, directory: Path):
    d = 16
    write_parquet(directory, gib, d)
    size = sum(f.stat().st_size for f in directory.glob("*.parquet")) / 2**30
    results = {}
    for f in directory.glob("*.parquet"):  # warm the page cache, so both scans read from memory alike
        with open(f, "rb") as handle:
            while handle.read(1 << 24):
                pass
    for task in ("pyarrow", "pyarrow-lean", "gradfit"):
        proc = subprocess.run([sys.executable, __file__, "--stream-child", str(directory), task, str(d), str(K)],
                              capture_output=True, text=True)
        if proc.returncode:
            raise SystemExit(f"the {task} scan failed:\n{proc.stderr[-2000:]}")
        results[task] = json.loads(proc.stdout.strip().splitlines()[-1])
        results[task]["within_cap"] = results[task]["peak_rss_mib"] <= cap_mib
    results["data_gib_on_disk"] = size
    results["data_gib_in_memory"] = results["pyarrow"]["rows"] * (d + 1) * 8 / 2**30
    results["rss_cap_mib"] = cap_mib
    results["speed_ratio"] = results["pyarrow"]["seconds"] / results["gradfit"]["seconds"]
    results["speed_ratio_lean"] = results["pyarrow-lean"]["seconds"] / results["gradfit"]["seconds"]
    print(json.dumps(results, indent=1))
    return results


# --- main ----------------------------------------------------------------------------------------

def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def _memory_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def numbers(text: str) -> list[int]:
    return [int(float(v)) for v in text.split(",")]


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--stream-child":
        return stream_child(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=numbers, default=numbers("1e5,1e6,1e7"), help="rows, comma-separated")
    parser.add_argument("--d", type=numbers, default=numbers("1,16,128"), help="features, comma-separated")
    parser.add_argument("--k", type=numbers, default=numbers("100,1000"), help="iterations, comma-separated")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"subset of {','.join(METHODS)}")
    parser.add_argument("--budget", type=float, default=20.0,
                        help="seconds a per-iteration method may run in one cell before its time is extrapolated")
    parser.add_argument("--max-gib", type=float, default=2.0, help="skip cells whose X is larger than this in memory")
    parser.add_argument("--stream-gib", type=float, default=0.0, help="also stream a Parquet data set of this size")
    parser.add_argument("--rss-cap-mib", type=int, default=1024,
                        help="the peak resident memory the streaming runs must stay within (checked, reported)")
    parser.add_argument("--stream-dir", type=Path, default=Path("/tmp/gradfit-bench-parquet"))
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results.json"))
    args = parser.parse_args()
    methods = [m for m in args.methods.split(",") if m]
    unknown = set(methods) - set(METHODS)
    if unknown:
        parser.error(f"unknown methods {sorted(unknown)}; choose from {','.join(METHODS)}")
    if "floor" not in methods:
        methods.insert(0, "floor")
    machine = (f"{_cpu_name()}, {os.cpu_count()} cores (shared), {_memory_gib():.0f} GiB, "
               f"Python {platform.python_version()}, {THREADS} thread(s) per library")
    print(f"machine: {machine}\n{HEADER}", flush=True)
    report = {"machine": machine, "seed": SEED, "rows": [], "skipped": []}
    cache = {}
    for n in args.n:
        for d in args.d:
            if n * d * 8 / 2**30 > args.max_gib:
                report["skipped"].append({"n": n, "d": d, "why": f"X is {n * d * 8 / 2**30:.1f} GiB > --max-gib"})
                print(f"| {n:.0e} | {d} | – | skipped: X would be {n * d * 8 / 2**30:.1f} GiB (> --max-gib) |")
                continue
            for K in args.k:
                report["rows"].extend(cell(n, d, K, methods, args.budget, cache))
            cache.clear()
    if args.stream_gib:
        report["stream"] = stream_benchmark(args.stream_gib, args.rss_cap_mib, max(args.k), args.stream_dir)
    if hasattr(dask_client, "client"):
        cluster = dask_client.client.cluster
        dask_client.client.close()
        cluster.close()
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(f"results written to {args.json}")


if __name__ == "__main__":
    main()

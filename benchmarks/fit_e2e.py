"""``gradfit.fit(X, y)`` end to end against one read of the data, side by side in one process.

    python benchmarks/fit_e2e.py                        # n = 1e7 and 1e6, d = 16, K = 1000, best of 5
    python benchmarks/fit_e2e.py --n 1e6 --repeat 3 --profile

Every round runs every method once on the same arrays (the rounds interleave, so a burst of load
from other processes hits all methods alike); the table keeps each method's best round. Methods:

- ``floor-sum``: one read of X and y, every value summed once (``np.add.reduce`` over the flat arrays);
- ``floor-gemv``: one read by BLAS, ``X @ v`` and ``y.sum()`` (OpenBLAS ``dgemv``);
- ``summary``: the stats engine's one pass alone (``stats.summarize``);
- ``fit K=…``: ``gradfit.fit(X, y, iters=K, tol=None)``: the practitioner's defaults (lr auto → the
  accelerated rule on standardized features, engine auto → stats) with exactly K iterations
  (``tol=None`` turns the stopping rule off so every run does the same work), validation, the
  warnings, MSE/RMSE/R²; ``+mae`` reads ``result.metrics["mae"]`` too (one more pass, only then);
- ``fit defaults``: ``gradfit.fit(X, y)`` with nothing else (the certified stop decides K);
- the same fit on a Fortran-ordered copy of X, on a float32 copy of X, and on float32 X and y (ratios to
  the float64 floor: what a user with those arrays pays; ``floor-sum float32`` is one read of the float32
  arrays, half the bytes). The summary's kernel reads all of them where they are (float32 widened as it is
  loaded, Fortran order a few columns at a time); the column ``new MiB`` is each method's peak of new
  memory (tracemalloc, one run apart from the timed ones), which names any copy: a copy of X would show
  as X's size (or twice a float32 X's);
- ``loop µs/iter``: ``descent.run`` alone on the standardized summary, accelerated rule, 10⁴
  iterations, without a stopping test (``tol=None``), with a default fit's stopping test every iteration
  (``tol=1e-300``, never met) and with the certificate evaluated in full every iteration (``tol=-1``).

The table above runs gradfit's summary on ``GRADFIT_BENCH_THREADS`` threads too (``GRADFIT_THREADS``), one by
default: one core on both sides. ``--cores`` measures instead what every core buys (the table of issue 20,
part 5): ``gradfit.fit(X, y)`` with its defaults and ``stats.summarize`` alone, on one thread
(``GRADFIT_THREADS=1``) and on all of them (unset), against ``X @ v`` with BLAS on all cores (``read all
cores``, the target's denominator: fit ≤ 1.3×) and on one; the same interleaved rounds, best of each::

    python benchmarks/fit_e2e.py --cores --n 1e7 --repeat 7
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
import warnings

THREADS = os.environ.setdefault("GRADFIT_BENCH_THREADS", "1")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, THREADS)
os.environ.setdefault("GRADFIT_THREADS", THREADS)     # the summary's threads: as many as BLAS's

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from bench import make_data, numbers  # noqa: E402


def timed(f) -> float:
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def methods(X, y, K):
    import gradfit
    from gradfit.engines.stats import summarize

    v = np.ones(X.shape[1])
    XF, X32, y32 = np.asfortranarray(X), X.astype(np.float32), y.astype(np.float32)

    def mae():
        gradfit.fit(X, y, iters=K, tol=None).metrics["mae"]

    return {
        "floor-sum": lambda: (np.add.reduce(X.reshape(-1)), np.add.reduce(y)),
        "floor-gemv": lambda: (X @ v, y.sum()),
        "floor-sum float32": lambda: (np.add.reduce(X32.reshape(-1)), np.add.reduce(y32)),
        "summary": lambda: summarize([(X, y)]),
        f"fit K={K}": lambda: gradfit.fit(X, y, iters=K, tol=None),
        f"fit K={K} +mae": mae,
        "fit defaults": lambda: gradfit.fit(X, y),
        f"fit K={K} Fortran X": lambda: gradfit.fit(XF, y, iters=K, tol=None),
        f"fit K={K} float32 X": lambda: gradfit.fit(X32, y, iters=K, tol=None),
        f"fit K={K} float32 X and y": lambda: gradfit.fit(X32, y32, iters=K, tol=None),
    }


def new_memory_mib(f) -> float:
    """The peak of memory allocated while ``f`` runs (tracemalloc sees NumPy's arrays), in MiB."""
    import tracemalloc

    tracemalloc.start()
    try:
        f()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def loop_us_per_iteration(X, y, iters=10_000) -> float:
    from gradfit import descent
    from gradfit.data.standardize import Standardizer
    from gradfit.engines.stats import StatsObjective
    from gradfit.loss import Loss, extreme_eigenvalues

    loss = Loss("mse", True)
    raw = StatsObjective.from_arrays(X, y, loss)
    scaler = Standardizer.from_summary(raw.summary, [f"x{j}" for j in range(X.shape[1])], True)
    objective = raw.standardized(scaler.mean, scaler.scale)
    mu, top = extreme_eigenvalues(loss.hessian(objective.gram(), objective.n_rows))
    certificate = descent.Certificate.of(mu, scaler.matrix())
    theta0 = np.zeros(X.shape[1] + 1)
    # tol=None: no stopping test; tol=1e-300: a default fit's stopping test every iteration (the certificate's
    # one-dot shortcut, as while a run is far from its tolerance), never met; tol = −1: the certificate in full
    # every iteration (the shortcut cannot rule it out once the gradient is tiny), never met either.
    out = {}
    for label, tol in (("no stopping test", None), ("stopping test", 1e-300),
                       ("certificate in full every iteration", -1.0)):
        best = min(timed(lambda: descent.run(objective, theta0, lr=1 / top, max_iter=iters, tol=tol,
                                             rule=descent.accelerated(), certificate=certificate))
                   for _ in range(3))
        out[label] = best / iters * 1e6
    return out


def cores(X, y, repeat: int) -> None:
    """``gradfit.fit`` and the summary on one thread and on every core, beside ``X @ v`` on one and every core."""
    import threadpoolctl

    import gradfit
    from gradfit.engines.stats import summarize, thread_count

    saved = os.environ.pop("GRADFIT_THREADS", None)      # this section sets it itself
    all_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    every = thread_count(X.shape[0])
    v = np.ones(X.shape[1])

    def on(threads, f):
        def run():
            if threads == 1:
                os.environ["GRADFIT_THREADS"] = "1"
            try:
                with threadpoolctl.threadpool_limits(threads, user_api="blas"):
                    return f()
            finally:
                os.environ.pop("GRADFIT_THREADS", None)
        return run

    runs = {
        "read 1 core (X @ v)": on(1, lambda: X @ v),
        f"read all cores (X @ v, {all_cores} BLAS threads)": on(all_cores, lambda: X @ v),
        "summary, 1 thread": on(1, lambda: summarize([(X, y)])),
        f"summary, {every} threads": on(all_cores, lambda: summarize([(X, y)])),
        "fit defaults, 1 thread": on(1, lambda: gradfit.fit(X, y)),
        f"fit defaults, {every} threads": on(all_cores, lambda: gradfit.fit(X, y)),
    }
    for f in runs.values():
        f()
    best, cpu = {name: np.inf for name in runs}, {name: np.inf for name in runs}
    for _ in range(repeat):
        for name, f in runs.items():
            start = time.process_time()
            best[name] = min(best[name], timed(f))
            cpu[name] = min(cpu[name], time.process_time() - start)
    read = best[f"read all cores (X @ v, {all_cores} BLAS threads)"]
    print(f"\nn = {X.shape[0]:.0e}, d = {X.shape[1]}, every core: {all_cores} ({every} summary threads); best of "
          f"{repeat} interleaved rounds; load average before {os.getloadavg()[0]:.1f}")
    # CPU seconds (all of the process's threads, the fewest of any round): the work, whatever share of the
    # cores other processes left; CPU seconds over wall seconds is how many cores the method had in effect.
    print("| method | seconds | × read all cores | CPU s | cores in effect |\n|---|---|---|---|---|")
    for name, s in best.items():
        print(f"| {name} | {s:.4f} | {s / read:.2f} | {cpu[name]:.4f} | {cpu[name] / s:.2f} |")
    if saved is not None:
        os.environ["GRADFIT_THREADS"] = saved


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=numbers, default=numbers("1e7,1e6"))
    parser.add_argument("--d", type=int, default=16)
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="also print cProfile's top functions of one fit")
    parser.add_argument("--cores", action="store_true", help="only the fit on one thread and on every core, beside "
                        "X @ v on one and every core")
    args = parser.parse_args()
    import gradfit

    if args.cores:
        warnings.simplefilter("ignore")
        print(f"numpy {np.__version__}, gradfit {gradfit.__version__}, {os.cpu_count()} cores")
        for n in args.n:
            cores(*make_data(n, args.d), args.repeat)
        return

    print(f"numpy {np.__version__}, gradfit {gradfit.__version__}, {THREADS} BLAS thread(s), {os.cpu_count()} cores")
    warnings.simplefilter("ignore")
    for n in args.n:
        X, y = make_data(n, args.d)
        runs = methods(X, y, args.k)
        for f in runs.values():   # a warm-up round: imports, first-touch of pages
            f()
        best = {name: np.inf for name in runs}
        for _ in range(args.repeat):
            for name, f in runs.items():
                best[name] = min(best[name], timed(f))
        result = gradfit.fit(X, y)
        memory = {name: new_memory_mib(f) for name, f in runs.items() if name.startswith(("summary", "fit"))}
        print(f"\nn = {n:.0e}, d = {args.d}; best of {args.repeat} interleaved rounds "
              f"(fit defaults ran {result.n_iter} iterations, stop {result.stop_reason}); "
              f"X is {X.nbytes / 2**20:.0f} MiB as float64")
        print("| method | seconds | × floor-sum | × floor-gemv | new MiB |\n|---|---|---|---|---|")
        for name, s in best.items():
            mib = f"{memory[name]:.1f}" if name in memory else ""
            print(f"| {name} | {s:.4f} | {s / best['floor-sum']:.2f} | {s / best['floor-gemv']:.2f} | {mib} |")
        for label, us in loop_us_per_iteration(X, y).items():
            print(f"| loop µs/iter (d = {args.d}, accelerated, {label}) | {us:.2f} µs | | | |")
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            gradfit.fit(X, y, iters=args.k, tol=None)
            profile.disable()
            pstats.Stats(profile).sort_stats("cumulative").print_stats(20)
        del X, y, runs


if __name__ == "__main__":
    main()

"""The command line's start-up against ``python -c "import numpy"``, and ``gradfit predict`` against ``gradfit fit``
on the same 10⁶-row, 8-feature CSV (issue 20, parts 4 and 6).

    python benchmarks/startup.py --repeat 5                      # this checkout
    python benchmarks/startup.py --repeat 5 --before /tmp/base/src  # and another gradfit's src/ beside it
    python benchmarks/startup.py --repeat 15 --start-up-only      # the start-up rows alone

Every command is a child process (``gradfit …`` through runpy, as ``python -m gradfit`` runs it; its wall time
from the parent, its peak RSS its own ``VmHWM``). The rounds interleave the commands (and the versions), so a burst of load on this shared machine hits
all alike; the table gives each command's best round, and the ratios are taken between best rounds of one run.
The page cache is warmed by a first, untimed round.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
D = 8


def write_csv(path: Path, n: int, seed: int = 0) -> None:
    """n rows of x1 … x8 and y, every value at full (17-digit) precision, as a user's exported file has them."""
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        f.write(",".join([f"x{j}" for j in range(1, D + 1)] + ["y"]) + "\n")
        for start in range(0, n, 100_000):
            X = rng.standard_normal((min(100_000, n - start), D))
            y = X @ np.arange(1.0, D + 1) + 0.5 + rng.standard_normal(len(X))
            f.write("".join(",".join(map(repr, row)) + "\n" for row in np.column_stack([X, y]).tolist()))


# Peak memory from the child itself: VmHWM, which exec resets (wait4's ru_maxrss would keep the high-water mark of
# this process, which forked it).
PEAK = ("import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write(next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))))\n"
        "if sys.argv[1:] == ['numpy']:\n    import numpy\nelse:\n    import runpy\n    sys.argv[0] = 'gradfit'\n"
        "    runpy.run_module('gradfit', run_name='__main__')\n")


def run(args: list[str], src: str | None) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one child process: ``python -c PEAK ARGS``."""
    env = {**os.environ, "PYTHONPATH": src} if src else dict(os.environ)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", PEAK, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {proc.stderr.decode()[-2000:]}")
    return wall, int(proc.stderr.decode().split("VmHWM:")[1].split()[0]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=float, default=1e6, help="rows of the large CSV (default 1e6)")
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument("--before", help="another gradfit's src/ directory, run beside this one")
    parser.add_argument("--data", help="directory for the CSV files (default: a temporary one)")
    parser.add_argument("--start-up-only", action="store_true", help="only the start-up rows (no 10⁶-row files)")
    args = parser.parse_args()
    work = Path(args.data or tempfile.mkdtemp(prefix="gradfit-startup-"))
    work.mkdir(parents=True, exist_ok=True)
    small, big = work / "small.csv", work / f"big-{int(args.rows)}.csv"
    small.write_text("x,y\n1,3\n2,5\n3,7\n")
    if not big.exists() and not args.start_up_only:
        write_csv(big, int(args.rows))
    features = sum((["--x", f"x{j}"] for j in range(1, D + 1)), [])
    versions = {"after": str(HERE.parent / "src")} | ({"before": args.before} if args.before else {})
    commands = {
        "python -c 'import numpy'": lambda v: ["numpy"],
        "gradfit --help": lambda v: ["--help"],
        "gradfit fit small.csv (3 rows)": lambda v: ["fit", str(small), "--x", "x", "--y", "y"],
        "gradfit demo": lambda v: ["demo", "--out", str(work / f"demo-{v}")],
    }
    if not args.start_up_only:
        commands |= {
            "gradfit fit big.csv": lambda v: ["fit", str(big), *features, "--y", "y", "-q",
                                              "--model", str(work / f"model-{v}.json")],
            "gradfit predict big.csv --out": lambda v: ["predict", str(work / f"model-{v}.json"), str(big),
                                                        "--out", str(work / f"pred-{v}.csv"), "-q"],
        }
    best: dict[tuple[str, str], tuple[float, float]] = {}
    for round_ in range(args.repeat + 1):                # round 0 warms the page cache and writes the models
        for name, command in commands.items():
            for version, src in versions.items():
                wall, rss = run(command(version), src)
                if round_ and ((name, version) not in best or wall < best[name, version][0]):
                    best[name, version] = (wall, rss)
        print(f"round {round_} done", file=sys.stderr)
    import platform

    import pyarrow
    import typer

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"NumPy {np.__version__}, pyarrow {pyarrow.__version__}, typer {typer.__version__}; "
          f"{int(args.rows)}-row CSV of {big.stat().st_size / 2**20:.0f} MiB; best of {args.repeat} interleaved rounds")
    numpy_s = best["python -c 'import numpy'", "after"][0]
    print(f"\n| command | {' | '.join(f'{v}: s (× import numpy), peak MiB' for v in versions)} |")
    print("|---|" + "---|" * len(versions))
    for name in commands:
        cells = []
        for version in versions:
            wall, rss = best.get((name, version), best.get((name, "after")))
            cells.append(f"{wall:.3f} ({wall / numpy_s:.2f}×), {rss:.0f}")
        print(f"| {name} | {' | '.join(cells)} |")
    for version in versions if not args.start_up_only else ():
        fit_s = best["gradfit fit big.csv", version][0]
        predict_s = best["gradfit predict big.csv --out", version][0]
        size = (work / f"pred-{version}.csv").stat().st_size / 2**20
        print(f"{version}: predict / fit = {predict_s / fit_s:.2f} (predictions file {size:.0f} MiB)")


if __name__ == "__main__":
    main()

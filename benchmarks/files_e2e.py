"""``gradfit fit big.parquet`` and ``gradfit fit big.csv`` against pyarrow's own bounded-memory scan of the
same file, and the dask engine on a LocalCluster against the stream engine on the same files.

    python benchmarks/files_e2e.py --rows 8e6 --csv-rows 4e6 --repeat 3
    python benchmarks/files_e2e.py --dask              # also: gradfit.fit on the dask engine vs stream

Every run is a child process (its peak RSS is its own, from ``wait4``); the rounds interleave the
methods and the table gives each one's best round and its range over the rounds; the ratios are given
for the best rounds and round by round (the fit against the scan of the same round). The page cache is
warmed first, so all read from memory alike. pyarrow decodes on one thread per core, as a user's run
does (``--arrow-threads 1``: on one; bench.py's ``OMP_NUM_THREADS=1``, meant for BLAS, is not passed
on: Arrow sizes its own pool from it). Methods:

- ``pyarrow scan``: every batch of the wanted columns (16 features and y; the file has one more, unused)
  read by ``pyarrow.dataset`` with bounded memory (no pre-buffering, read-ahead of one batch, 65 536 rows a
  batch) and dropped — the bare cost of reading and decoding, in a Python that imports only pyarrow (the
  reference of issue 11's target);
- ``pyarrow.parquet scan``: the same with ``pyarrow.parquet.ParquetFile(pre_buffer=False).iter_batches``,
  the reader gradfit uses for Parquet (it spares ``pyarrow.dataset``'s import of pandas);
- ``gradfit fit``: the CLI with its defaults (``gradfit fit FILE --x x1 … --x x16 --y y -q``): the
  interpreter, the imports, the scan, conversion and validation, the summary, the iterations, the report;
- with ``--dask``: ``gradfit.fit(open_files(dir), None, engine=…)`` on a directory of Parquet files,
  engine ``stream`` and engine ``dask`` (a ``LocalCluster`` of 2 worker processes with 1 thread each,
  started before the clock; the workers read the files themselves: the data never pass through the client).
  Each child fits twice: the table has the second fit (a long-lived process and cluster), and the line
  below it the first (a fresh process, fresh workers: imports, thread pools and memory still cold).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(__file__))
from bench import chunk, numbers  # noqa: E402

D = 16
NAMES = [f"x{j}" for j in range(1, D + 1)]
ROWS_PER_CHUNK = 1 << 20

SCAN = """
import sys, pyarrow as pa, pyarrow.csv as pcsv, pyarrow.dataset as ds
path, columns = sys.argv[1], sys.argv[2].split(",")
if path.endswith(".parquet"):
    dataset, options = ds.dataset([path], format="parquet"), ds.ParquetFragmentScanOptions(pre_buffer=False)
else:
    dataset, options = ds.dataset([path], format=ds.CsvFileFormat(convert_options=pcsv.ConvertOptions(
        column_types={c: pa.float64() for c in columns}))), None
rows = 0
for fragment in dataset.get_fragments():
    for batch in fragment.to_batches(columns=columns, batch_size=65_536, batch_readahead=1, fragment_readahead=1,
                                     fragment_scan_options=options):
        rows += batch.num_rows
print(rows)
"""

SCAN_PARQUET = """
import sys, pyarrow.parquet as pq
path, columns = sys.argv[1], sys.argv[2].split(",")
rows = 0
for batch in pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=65_536, columns=columns):
    rows += batch.num_rows
print(rows)
"""


def write_files(directory: Path, rows: int, csv_rows: int, parts: int):
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    directory.mkdir(parents=True, exist_ok=True)
    schema = pa.schema([(c, pa.float64()) for c in [*NAMES, "unused", "y"]])

    def tables(n):
        for i, start in enumerate(range(0, n, ROWS_PER_CHUNK)):
            X, y = chunk(i, min(ROWS_PER_CHUNK, n - start), D)
            yield pa.table({**{c: X[:, j] for j, c in enumerate(NAMES)}, "unused": y * 0.5, "y": y}, schema=schema)

    big = directory / "big.parquet"
    if not big.exists():
        with pq.ParquetWriter(big, schema) as writer:
            for t in tables(rows):
                writer.write_table(t, row_group_size=ROWS_PER_CHUNK // 4)
    csv = directory / "big.csv"
    if not csv.exists():
        with pcsv.CSVWriter(csv, schema) as writer:
            for t in tables(csv_rows):
                writer.write_table(t)
    parts_dir = directory / "parts"
    if not parts_dir.exists():
        parts_dir.mkdir()
        table = pq.read_table(big)
        step = -(-table.num_rows // parts)
        for p in range(parts):
            pq.write_table(table.slice(p * step, step), parts_dir / f"part-{p:02d}.parquet",
                           row_group_size=ROWS_PER_CHUNK // 4)
    return big, csv, parts_dir


def child(argv, env=None) -> dict:
    """Run ``argv``; wall seconds and peak RSS (MiB, GNU time's %M: the child's own, not its parent's)."""
    start = time.perf_counter()
    process = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if process.returncode:
        raise SystemExit(f"{argv[:3]} failed:\n{process.stdout[-2000:]}\n{process.stderr[-2000:]}")
    peak_kib = int(process.stderr.strip().splitlines()[-1])
    return {"seconds": seconds, "peak_rss_mib": peak_kib / 1024, "out": process.stdout.strip()[-300:]}


def warm(*paths):
    for p in paths:
        for f in ([p] if p.is_file() else sorted(p.iterdir())):
            with open(f, "rb") as handle:
                while handle.read(1 << 24):
                    pass


DASK_CHILD = """
import sys, time, json, os
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import gradfit, distributed


def warm():   # the workers' imports, before the clock as the cluster's start is
    import gradfit.engines.dask, pyarrow.dataset, pyarrow.parquet


if __name__ == "__main__":
  directory, engine, names = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
  scan = gradfit.open_files(directory, names, "y")
  client = None
  if engine == "dask":
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    client.run(warm)
  times = []
  for _ in range(2):   # the first fit: a fresh process (and fresh workers); the second: as a long-lived cluster
    start = time.perf_counter()
    result = gradfit.fit(scan, None, engine=engine, scheduler=client)
    times.append(time.perf_counter() - start)
  print(json.dumps({"seconds": times[1], "first": times[0], "engine": result.engine, "n_iter": result.n_iter,
                    "r2": result.metrics["r2"]}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=numbers, default=numbers("8e6"))
    parser.add_argument("--csv-rows", type=numbers, default=numbers("4e6"))
    parser.add_argument("--parts", type=int, default=8, help="Parquet files of the directory the dask run reads")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dask", action="store_true")
    parser.add_argument("--formats", default="parquet,csv", help="which files to time: parquet, csv or both")
    parser.add_argument("--arrow-threads", type=int, default=0,
                        help="pyarrow's CPU threads in every child (OMP_NUM_THREADS, which Arrow reads); 0: Arrow's "
                             "default, one per core, as a user runs it")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/gradfit-bench-files"))
    args = parser.parse_args()
    big, csv, parts = write_files(args.dir, args.rows[0], args.csv_rows[0], args.parts)
    warm(big, csv, parts)
    python, gradfit_cli = sys.executable, str(Path(sys.executable).with_name("gradfit"))
    columns = ",".join([*NAMES, "y"])
    xs = [a for c in NAMES for a in ("--x", c)]
    formats = args.formats.split(",")
    runs = {
        "start-up: python, import pyarrow.dataset": [python, "-c", "import pyarrow.dataset, pyarrow.csv"],
        "start-up: gradfit --help (the CLI's imports)": [gradfit_cli, "fit", "--help"],
    }
    if "parquet" in formats:
        runs |= {"pyarrow scan big.parquet": [python, "-c", SCAN, str(big), columns],
                 "pyarrow.parquet scan big.parquet": [python, "-c", SCAN_PARQUET, str(big), columns],
                 "gradfit fit big.parquet": [gradfit_cli, "fit", str(big), *xs, "--y", "y", "-q"]}
    if "csv" in formats:
        runs |= {"pyarrow scan big.csv": [python, "-c", SCAN, str(csv), columns],
                 "gradfit fit big.csv": [gradfit_cli, "fit", str(csv), *xs, "--y", "y", "-q"]}
    if args.dask:
        runs |= {f"gradfit.fit engine={e} ({args.parts} files)": [python, "-c", DASK_CHILD, str(parts), e, ",".join(NAMES)]
                 for e in ("stream", "dask")}
    # bench.py sets OMP_NUM_THREADS=1 for BLAS; Arrow sizes its CPU pool from it too, so the children get their own.
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    if args.arrow_threads:
        env["OMP_NUM_THREADS"] = str(args.arrow_threads)
    best, rounds = {}, []
    for _ in range(args.repeat):
        rounds.append({})
        for name, argv in runs.items():
            r = child(argv, env)
            if name.startswith("gradfit.fit"):       # the fit's own clock: the cluster's start-up is not the fit's
                report = json.loads(r["out"].splitlines()[-1])
                r["seconds"], r["first"] = report["seconds"], report["first"]
            rounds[-1][name] = r
            if name not in best or r["seconds"] < best[name]["seconds"]:
                best[name] = r
    sizes = {p.name: p.stat().st_size / 2**30 for p in (big, csv)}
    print(f"big.parquet: {args.rows[0]:.3g} rows, {sizes['big.parquet']:.2f} GiB; big.csv: {args.csv_rows[0]:.3g} rows, "
          f"{sizes['big.csv']:.2f} GiB; 18 columns (16 features, y, one unused); best of {args.repeat} interleaved rounds; "
          f"pyarrow CPU threads: {args.arrow_threads or f'default ({os.cpu_count()} cores)'}")
    print("| run | best s | range s | peak RSS (MiB) |\n|---|---|---|---|")
    for name, r in best.items():
        seconds = [one[name]["seconds"] for one in rounds]
        print(f"| {name} | {r['seconds']:.2f} | {min(seconds):.2f}–{max(seconds):.2f} | {r['peak_rss_mib']:.0f} |")
    start_scan = best["start-up: python, import pyarrow.dataset"]["seconds"]
    start_cli = best["start-up: gradfit --help (the CLI's imports)"]["seconds"]
    references = [("pyarrow scan", "pyarrow's bounded-memory dataset scan")]
    references += [("pyarrow.parquet scan", "pyarrow.parquet's own reader")] if "parquet" in formats else []
    for fmt in formats:
        fit = best[f"gradfit fit big.{fmt}"]["seconds"]
        for key, what in references:
            if f"{key} big.{fmt}" not in best:
                continue
            scan = best[f"{key} big.{fmt}"]["seconds"]
            per_round = [one[f"{key} big.{fmt}"]["seconds"] / one[f"gradfit fit big.{fmt}"]["seconds"] for one in rounds]
            print(f"gradfit fit big.{fmt} at {scan / fit:.2f}× the speed of {what} (best rounds; round by round "
                  f"{min(per_round):.2f}–{max(per_round):.2f}; {(scan - start_scan) / (fit - start_cli):.2f}× "
                  "net of each one's start-up)")
    if args.dask:
        keys = [k for k in best if k.startswith("gradfit.fit")]
        first = [min(one[k]["first"] for one in rounds) for k in keys]
        print(f"dask / stream: {best[keys[1]]['seconds'] / best[keys[0]]['seconds']:.2f} (second fits); first fits "
              f"{first[0]:.2f} s and {first[1]:.2f} s: {first[1] / first[0]:.2f}")


if __name__ == "__main__":
    main()

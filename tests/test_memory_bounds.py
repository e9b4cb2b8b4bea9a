"""Memory stays bounded on files larger than it: streamed SGD (its shuffle pool sized in bytes) and compressed
files (judged by what they hold, an expansion past the limit refused). Each fit runs in a child process whose
peak resident memory (``ru_maxrss``) is measured by a small wrapper process of its own, so no other child of
the test run counts."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from gradfit.errors import EXIT_NOT_CONVERGED as NOT_CONVERGED

# The child's peak RSS, measured by a wrapper that runs it and reads RUSAGE_CHILDREN (its only child).
PEAK = ("import json, resource, subprocess, sys\n"
        "proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "print(json.dumps({'code': proc.returncode, 'out': proc.stdout, 'err': proc.stderr,\n"
        "                  'peak_mib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))\n")


def peak_run(*args) -> dict:
    """``python -m gradfit ARGS...`` in a child: exit code, output and peak RSS in MiB."""
    wrapper = subprocess.run([sys.executable, "-c", PEAK, sys.executable, "-m", "gradfit", *map(str, args)],
                             capture_output=True, text=True, timeout=900)
    return json.loads(wrapper.stdout)


def digits_csv(path, rows: int, d: int = 15, seed: int = 0) -> int:
    """A CSV of ``rows`` rows of one-digit features and a target (a block of distinct rows, repeated): few bytes
    of text a row, (d + 1)·8 bytes a row in memory. Returns the rows' size in memory (bytes)."""
    rng = np.random.default_rng(seed)
    block_rows = 20_000
    X = rng.integers(0, 10, size=(block_rows, d))
    y = X @ rng.integers(1, 4, size=d) % 10
    block = "".join(",".join(map(str, row)) + "\n" for row in np.column_stack([X, y]).tolist())
    with open(path, "w") as f:
        f.write(",".join([*(f"x{j}" for j in range(d)), "target"]) + "\n")
        for _ in range(rows // block_rows):
            f.write(block)
    return rows // block_rows * block_rows * (d + 1) * 8


@pytest.mark.slow
def test_streamed_sgd_on_a_file_several_times_its_memory_allowance_stays_within_it(tmp_path):
    from gradfit.engines.stream import SHUFFLE_BYTES

    path = tmp_path / "big.csv"
    in_memory = digits_csv(path, 12_000_000)           # 1.43 GiB as float64 rows, 366 MB of CSV (one chunk)
    common = ("fit", path, "--x", "all", "--y", "target", "--engine", "stream", "--quiet")
    full_batch = peak_run(*common, "--iters", "3")     # one pass to the summary: bounded, the reference
    sgd = peak_run(*common, "--optimizer", "sgd", "--epochs", "1", "--batch-size", "256")
    for run in (full_batch, sgd):
        assert run["code"] in (0, NOT_CONVERGED), run["err"]
    # The memory limit: the full-batch run's peak (~250 MiB), plus the shuffle pool (64 MiB), plus a margin of
    # 192 MiB for the batches gathered from the pool, the reader's blocks and the allocator's noise (peaks of the
    # same run vary by ±40 MiB). The rows are several times that limit; before the pool was sized in bytes,
    # the pool held the whole file (one CSV file is one chunk) and the peak was ~2.3 times the rows.
    limit_mib = full_batch["peak_mib"] + SHUFFLE_BYTES / 2**20 + 192
    assert in_memory / 2**20 > 2.5 * limit_mib
    assert sgd["peak_mib"] < limit_mib, (sgd["peak_mib"], full_batch["peak_mib"])


def gzip_bomb(path, expanded_mib: int = 1024) -> int:
    """A valid gzip file of ``expanded_mib`` MiB of CSV in ~1 MB: one compressed MiB of rows, as many members."""
    import gzip

    header = b"a,b,target\n"
    block = b"1,2,3\n" * (2**20 // 6)
    member = gzip.compress(block, compresslevel=9)
    with open(path, "wb") as f:
        f.write(gzip.compress(header))
        for _ in range(expanded_mib):
            f.write(member)
    return path.stat().st_size


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["auto", "numpy", "stream"])
def test_a_gzip_bomb_is_refused_with_a_message_before_it_reaches_memory(tmp_path, engine):
    from gradfit.data.files import EXPANSION_FREE_BYTES, MAX_EXPANSION

    path = tmp_path / "bomb.csv.gz"
    size = gzip_bomb(path)                                   # ~1 MB holding 1 GiB of CSV
    run = peak_run("fit", path, "--x", "a", "--x", "b", "--y", "target", "--engine", engine, "--quiet")
    assert run["code"] == 1 and "Traceback" not in run["err"], run["err"]
    assert "bomb.csv.gz" in run["err"] and f"up to {MAX_EXPANSION} times" in run["err"]
    assert "decompress the file first" in run["err"] and "zip bomb" in run["err"]
    # The limit: the text read before the refusal (max(100 × size, 64 MiB)) and what it becomes as rows (~3 times
    # the text), over ~200 MiB of interpreter and libraries. Read whole, the file held 4.96 GiB before.
    read = max(MAX_EXPANSION * size, EXPANSION_FREE_BYTES) / 2**20
    assert run["peak_mib"] < 200 + 4 * read < 1024, run["peak_mib"]


def test_a_compressed_csv_reads_as_the_csv_itself_and_is_judged_by_what_it_holds(tmp_path):
    import gzip

    import gradfit
    from gradfit.data.files import open_files
    from gradfit.engines import choose_engine

    text = "a,b,target\n" + "".join(f"{i % 7},{i % 5},{2 * (i % 7) - (i % 5) + 1}\n" for i in range(5000))
    (tmp_path / "d.csv").write_text(text)
    (tmp_path / "d.csv.gz").write_bytes(gzip.compress(text.encode()))
    plain, packed = (gradfit.fit(open_files(tmp_path / f, ["a", "b"], "target"), None) for f in ("d.csv", "d.csv.gz"))
    assert np.array_equal(plain.model.weights, packed.model.weights) and plain.model.bias == packed.model.bias
    scan = open_files(tmp_path / "d.csv.gz", ["a", "b"], "target")
    assert scan.bytes_to_read(10**9) == len(text.encode()) and scan.bytes_to_read(1000) > 1000
    assert choose_engine(scan) == "numpy"
    assert open_files(tmp_path, ["a", "b"], "target").files == (str(tmp_path / "d.csv"), str(tmp_path / "d.csv.gz"))


def test_a_bad_value_in_a_compressed_csv_is_named_by_its_line(tmp_path):
    import gzip

    import gradfit
    from gradfit.data.files import open_files

    text = "a,target\n" + "".join(f"{i},{i}\n" for i in range(100)) + "x1,3\n"
    (tmp_path / "d.csv.gz").write_bytes(gzip.compress(text.encode()))
    with pytest.raises(gradfit.DataError, match=r"Column 'a' in '.*d\.csv\.gz' is not numeric: .*line 102.*'x1'"):
        gradfit.fit(open_files(tmp_path / "d.csv.gz", ["a"], "target"), None, engine="stream")


def test_the_help_names_the_compressed_formats_and_the_expansion_limit(cli):
    from gradfit.data.files import COMPRESSED_SUFFIXES, MAX_EXPANSION

    text = " ".join(cli("fit", "--help").out.split())
    assert f"expanding at most {MAX_EXPANSION}×" in text
    assert all(suffix in text for suffix in COMPRESSED_SUFFIXES)

"""``gradfit predict``: one pass over the file in bounded memory, the prediction in its shortest exact form, and the
columns the user keeps (--keep), in their order, as they were read."""

from __future__ import annotations

import csv
import datetime
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import gradfit
from gradfit.training import progress

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _model(cli, tmp_path, d=2, seed=0) -> tuple[Path, gradfit.LinearModel]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(50, d))
    y = X @ rng.normal(size=d) + 0.3 + rng.normal(size=50)
    names = [f"x{j}" for j in range(1, d + 1)]
    train = tmp_path / "train.csv"
    train.write_text(",".join([*names, "y"]) + "\n" + "".join(",".join(map(repr, r)) + "\n"
                                                               for r in np.column_stack([X, y]).tolist()))
    path = tmp_path / "m.json"
    res = cli("fit", train, *sum((["--x", n] for n in names), []), "--y", "y", "--model", path, "-q")
    assert res.code == 0, res.err
    return path, gradfit.load_model(path)


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_predict_writes_only_the_prediction_and_the_kept_columns_in_the_order_given(cli, tmp_path):
    """The kept columns come back as the file holds them: '007' stays 007, 1.50 stays 1.50, an integer stays an
    integer, text with a comma, quote or newline is quoted as CSV wants, an empty field stays empty."""
    model_path, model = _model(cli, tmp_path)
    raw = [["007", "1", "1.50", 'say "hi", twice', "0.5", "-1.25"],
           ["8", "22", "2", "", "1e-3", "3"],
           ["x9", "-3", "NaN-ish", "two\nlines", "7", "0.125"]]
    data = tmp_path / "new.csv"
    with open(data, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([["id", "count", "price", "note", "x1", "x2"], *raw])
    res = cli("predict", model_path, data, "--keep", "note", "--keep", "id", "--keep", "count", "--keep", "price")
    assert res.code == 0, res.err
    rows = _rows(res.out)
    assert rows[0] == ["note", "id", "count", "price", "predicted_y"]
    assert [r[:4] for r in rows[1:]] == [[r[3], r[0], r[1], r[2]] for r in raw]
    X = np.array([[float(r[4]), float(r[5])] for r in raw])
    assert [float(r[4]) for r in rows[1:]] == model.predict(X).tolist()
    assert 'say ""hi"", twice' in res.out                     # CSV's quoting, not Python's
    # without --keep: the prediction alone, one line per row
    alone = cli("predict", model_path, data)
    assert alone.code == 0 and _rows(alone.out) == [["predicted_y"]] + [[r[4]] for r in rows[1:]]


def test_predictions_read_back_as_the_same_float64_on_stdout_and_in_the_file(cli, tmp_path):
    """float(text) == the float64 prediction for every row, over 30 orders of magnitude; stdout and --out agree
    byte for byte; the text is never longer than repr's digits need."""
    model_path, model = _model(cli, tmp_path, d=3, seed=4)
    rng = np.random.default_rng(5)
    X = rng.normal(size=(20_000, 3)) * 10.0 ** rng.integers(-15, 15, size=(20_000, 1))
    X[:4] = [[0, 0, 0], [1, 2, 3], [1e15, -1e15, 3], [-0.0, 5e-300, 1e-300]]
    pq.write_table(pa.table({"x1": X[:, 0], "x2": X[:, 1], "x3": X[:, 2]}), tmp_path / "new.parquet",
                   row_group_size=3000)
    out = cli("predict", model_path, tmp_path / "new.parquet", "--out", tmp_path / "p.csv")
    assert out.code == 0, out.err
    assert "20000 predictions written" in out.err
    stdout = cli("predict", model_path, tmp_path / "new.parquet")
    assert stdout.code == 0 and stdout.out == (tmp_path / "p.csv").read_text()
    texts = stdout.out.splitlines()[1:]
    expected = model.predict(X)
    assert [float(t) for t in texts] == expected.tolist()
    digits = lambda s: len(s.lower().split("e")[0].replace("-", "").replace(".", "").strip("0"))  # noqa: E731
    assert all(digits(t) <= digits(repr(v)) for t, v in zip(texts, expected.tolist()))


def test_parquet_columns_are_kept_with_their_own_types(cli, tmp_path):
    model_path, model = _model(cli, tmp_path)
    table = pa.table({"x1": [0.5, 1.0, 2.0], "id": pa.array([12, 7, None], pa.int64()),
                      "day": [datetime.date(2024, 1, 31), None, datetime.date(1999, 12, 1)],
                      "ok": [True, False, None], "x2": [1.0, -1.0, 4.0], "name": ["a", "b,c", None]})
    pq.write_table(table, tmp_path / "new.parquet")
    res = cli("predict", model_path, tmp_path / "new.parquet", "--keep", "id", "--keep", "day", "--keep", "ok",
              "--keep", "name", "--keep", "x1")
    assert res.code == 0, res.err
    rows = _rows(res.out)
    assert [r[:5] for r in rows] == [["id", "day", "ok", "name", "x1"], ["12", "2024-01-31", "true", "a", "0.5"],
                                     ["7", "", "false", "b,c", "1"], ["", "1999-12-01", "", "", "2"]]
    assert [float(r[5]) for r in rows[1:]] == model.predict(np.array([[0.5, 1.0], [1.0, -1.0], [2.0, 4.0]])).tolist()


def test_kept_columns_that_cannot_be_kept_are_named(cli, tmp_path):
    model_path, _ = _model(cli, tmp_path)
    data = tmp_path / "new.csv"
    data.write_text("x1,x2,id,predicted_y\n1,2,a,0\n3,4,b,0\n")
    res = cli("predict", model_path, data, "--keep", "nope")
    assert res.code == 1 and "'nope' not found" in res.err and "x1, x2, id, predicted_y" in res.err
    res = cli("predict", model_path, data, "--keep", "id", "--keep", "id")
    assert res.code == 1 and "'id' more than once" in res.err
    res = cli("predict", model_path, data, "--keep", "predicted_y")
    assert res.code == 2 and "predictions are written in a column of that name" in res.err
    pq.write_table(pa.table({"x1": [1.0], "x2": [2.0], "tags": [[1, 2]]}), tmp_path / "l.parquet")
    res = cli("predict", model_path, tmp_path / "l.parquet", "--keep", "tags")
    assert res.code == 1 and "'tags'" in res.err and "list<" in res.err and "Traceback" not in res.err


def test_a_missing_value_is_refused_as_before_and_leaves_no_file(cli, tmp_path):
    model_path, _ = _model(cli, tmp_path)
    data = tmp_path / "new.csv"
    data.write_text("x1,x2\n1,2\n3,\n5,6\n")
    res = cli("predict", model_path, data, "--out", tmp_path / "p.csv")
    assert res.code == 1 and "Column 'x2'" in res.err and "1 missing value" in res.err and "line 3" in res.err
    assert not (tmp_path / "p.csv").exists()
    empty = tmp_path / "empty.csv"
    empty.write_text("x1,x2\n")
    res = cli("predict", model_path, empty)
    assert res.code == 1 and "0 data rows" in res.err and res.out == ""


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_predict_shows_how_much_of_the_file_it_has_read(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)
    monkeypatch.setattr(progress, "REFRESH_S", 0.0)
    model_path, _ = _model(cli, tmp_path)
    data = tmp_path / "new.csv"
    data.write_text("x1,x2\n" + "0.25,0.5\n" * 200_000)          # several blocks of pyarrow's reader
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert cli("predict", model_path, data, "--out", tmp_path / "p.csv").code == 0
    assert "reading" in terminal.getvalue()
    quiet = Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    assert cli("predict", model_path, data, "--out", tmp_path / "p.csv", "-q").code == 0
    assert quiet.getvalue() == ""


def test_reading_progress_lines_count_bytes_as_a_percentage(monkeypatch):
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)
    monkeypatch.setattr(progress, "LINE_EVERY_S", 0.0)
    stream = io.StringIO()
    with progress.ProgressBar(stream=stream, always=True, reading=True) as bar:
        bar.read(50, 200)
        bar.read(200, 200)
    assert stream.getvalue().splitlines()[0].startswith("reading: 25 %")
    assert stream.getvalue().splitlines()[1].startswith("reading: 100 %")


# --- bounded memory -------------------------------------------------------------------------------

GROWTH_MIB = 32     # what peak memory may grow by when the file doubles from ~95 MiB to ~195 MiB


# The child's own peak: VmHWM, which exec resets (getrusage's and wait4's ru_maxrss keep the high-water mark of
# the process that forked it, here pytest's, which can hide the child's growth entirely).
PEAK = """import atexit, sys
from gradfit.cli import main
atexit.register(lambda: sys.stderr.write(next(l for l in open("/proc/self/status") if l.startswith("VmHWM"))))
sys.exit(main(sys.argv[1:]))
"""


def _peak_rss_mib(args, stdout) -> float:
    """Run ``gradfit ARGS`` in a fresh interpreter and return its peak resident memory in MiB."""
    proc = subprocess.run([sys.executable, "-c", PEAK, *map(str, args)], stdout=stdout, stderr=subprocess.PIPE,
                          env={**os.environ, "PYTHONPATH": SRC}, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()
    return int(proc.stderr.decode().split("VmHWM:")[1].split()[0]) / 1024      # kB


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak memory read from Linux's /proc")
def test_predict_streams_a_file_larger_than_its_memory_limit(cli, tmp_path):
    """Doubling the file, from ~95 MiB (650 000 rows of 8 features at 17 digits) to ~195 MiB, adds less than
    GROWTH_MIB to the peak memory of predict: it reads a block at a time. (pyarrow's reader holds a constant
    ~60 MiB of blocks read ahead whatever the size, so growth, not the peak, is what tells streaming from
    reading whole: the old predict held every column and the whole output text, ~6× the extra 100 MiB.)
    To stdout the output streams too; --out holds the output's text (here ~37 bytes a row, x1 and the
    prediction: ~23 MiB more) until its atomic write, as gradfit.atomic writes whole buffers."""
    model_path, model = _model(cli, tmp_path, d=8)
    names = ",".join(f"x{j}" for j in range(1, 9)).encode() + b"\n"
    rng = np.random.default_rng(2)
    block = "".join(",".join(map(repr, r)) + "\n" for r in rng.normal(size=(10_000, 8)).tolist()).encode()
    half, big = tmp_path / "half.csv", tmp_path / "big.csv"
    for path, blocks in ((half, 65), (big, 130)):
        with open(path, "wb") as f:
            f.write(names)
            for _ in range(blocks):
                f.write(block)
    assert big.stat().st_size - half.stat().st_size > 3 * GROWTH_MIB * 2**20
    peaks = {}
    for path in (half, big):
        with open(tmp_path / f"{path.stem}-stdout.csv", "wb") as out:
            peaks[path.stem, "stdout"] = _peak_rss_mib(["predict", model_path, path, "--keep", "x1"], out)
        peaks[path.stem, "out"] = _peak_rss_mib(["predict", model_path, path, "--keep", "x1", "--out",
                                                 tmp_path / f"{path.stem}-out.csv", "-q"], subprocess.DEVNULL)
    # stdout: flat. --out: the extra rows' text (held until the atomic write, twice while its buffer grows), no more.
    extra_text_mib = ((tmp_path / "big-out.csv").stat().st_size - (tmp_path / "half-out.csv").stat().st_size) / 2**20
    assert peaks["big", "stdout"] - peaks["half", "stdout"] < GROWTH_MIB, peaks
    assert peaks["big", "out"] - peaks["half", "out"] < GROWTH_MIB + 2 * extra_text_mib, (peaks, extra_text_mib)
    assert peaks["half", "stdout"] < 2 * half.stat().st_size / 2**20, peaks       # measured the child, not pytest
    # every row predicted, the same on stdout and in the file
    text = (tmp_path / "big-out.csv").read_text()
    assert text == (tmp_path / "big-stdout.csv").read_text()
    lines = text.splitlines()
    assert len(lines) == 1 + 1_300_000 and lines[0] == "x1,predicted_y"
    first = np.array([list(map(float, line.split(","))) for line in block.decode().splitlines()[:5]])
    for start in (1, 10_001, 1_290_001):
        assert [float(line.split(",")[1]) for line in lines[start:start + 5]] == model.predict(first).tolist()

"""Files and frames that once gave a silently wrong fit or a traceback: each now gives the right fit or
a clear message (exit 1), the same in memory and streamed."""

from __future__ import annotations

import decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import gradfit
from gradfit.errors import DataError

ENGINES = ("auto", "stream")


def _xy(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return x, 2 * x + 1 + 0.1 * rng.normal(size=n)


def _csv(path, header, rows, sep=","):
    path.write_text(sep.join(header) + "\n" + "".join(sep.join(map(str, r)) + "\n" for r in rows))
    return path


def _fails(res, *phrases, code=1):
    assert res.code == code, (res.code, res.out, res.err)
    assert "Traceback" not in res.err
    for phrase in phrases:
        assert phrase in res.err, f"{phrase!r} not in {res.err!r}"


# --- silently wrong fits -------------------------------------------------------------------

@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("unit", ["ns", "us"])
def test_parquet_timestamps_are_refused_not_fitted_as_integers(cli, tmp_path, engine, unit):
    x, y = _xy()
    t = pd.date_range("2020-01-01", periods=len(x), freq="D").values.astype(f"datetime64[{unit}]")
    pq.write_table(pa.table({"t": t, "x": x, "y": y}), tmp_path / "t.parquet")
    _fails(cli("fit", tmp_path / "t.parquet", "--x", "t", "--y", "y", "--engine", engine, "-q"),
           "Column 't'", "dates or times", "convert it to a number")


def test_numpy_datetime64_features_are_refused():
    X = np.arange(10).astype("datetime64[ns]").reshape(-1, 1)
    with pytest.raises(DataError, match="dates or times"):
        gradfit.fit(X, np.arange(10.0))
    with pytest.raises(DataError, match="dates or times"):
        gradfit.fit(pd.DataFrame({"t": pd.date_range("2020", periods=10)}), np.arange(10.0))


@pytest.mark.parametrize("engine", ENGINES)
def test_one_row_is_refused_streamed_as_in_memory(cli, tmp_path, engine):
    _csv(tmp_path / "one.csv", ["x", "y"], [(1, 2)])
    _fails(cli("fit", tmp_path / "one.csv", "--x", "x", "--y", "y", "--engine", engine), "1 data row", "at least 2")


@pytest.mark.parametrize("engine", ENGINES)
def test_header_only_csv_and_empty_parquet_are_refused_when_streamed(cli, tmp_path, engine):
    (tmp_path / "h.csv").write_text("x,y\n")
    pq.write_table(pa.table({"x": pa.array([], pa.float64()), "y": pa.array([], pa.float64())}), tmp_path / "e.parquet")
    for name in ("h.csv", "e.parquet"):
        _fails(cli("fit", tmp_path / name, "--x", "x", "--y", "y", "--engine", engine), "0 data rows", name)


@pytest.mark.parametrize("engine", ENGINES)
def test_tsv_is_tab_separated_streamed_too(cli, tmp_path, engine):
    x, y = _xy()
    _csv(tmp_path / "d.tsv", ["x", "y"], zip(x, y), sep="\t")
    res = cli("fit", tmp_path / "d.tsv", "--x", "x", "--y", "y", "--engine", engine, "-q")
    assert res.code == 0, res.err
    w = float(res.out.split("w = ")[1].split()[0])
    assert w == pytest.approx(np.polyfit(x, y, 1)[0], rel=1e-8)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("cell", ["0x10", "1_000", "0b11"])
def test_hex_and_underscored_numbers_are_not_numbers(cli, tmp_path, engine, cell):
    x, y = _xy()
    rows = [(cell, 2.0), *zip(x, y)]
    _csv(tmp_path / "h.csv", ["x", "y"], rows)
    _fails(cli("fit", tmp_path / "h.csv", "--x", "x", "--y", "y", "--engine", engine), "not numeric", repr(cell),
           "line 2")


def test_a_frame_of_strings_follows_the_same_rule():
    with pytest.raises(DataError, match="0x10"):
        gradfit.fit(pd.DataFrame({"x": ["1", "0x10", "3"]}), [1.0, 2.0, 3.0])
    with pytest.raises(DataError, match="1_000"):
        gradfit.fit(pd.DataFrame({"x": ["1", "1_000", "3"]}), [1.0, 2.0, 3.0])


@pytest.mark.parametrize("name", ["a,b", 'say "hi"', "two\nlines", "x;y"])
@pytest.mark.slow
def test_predictions_are_escaped_and_read_back(cli, tmp_path, name):
    x, y = _xy()
    pq.write_table(pa.table({name: x, "y": y}), tmp_path / "d.parquet")
    assert cli("fit", tmp_path / "d.parquet", "--x", name, "--y", "y", "--model", tmp_path / "m.json", "-q").code == 0
    stdout = cli("predict", tmp_path / "m.json", tmp_path / "d.parquet", "--keep", name)
    assert stdout.code == 0, stdout.err
    assert cli("predict", tmp_path / "m.json", tmp_path / "d.parquet", "--keep", name, "--out", tmp_path / "p.csv").code == 0
    assert (tmp_path / "p.csv").read_text() == stdout.out
    back = pd.read_csv(tmp_path / "p.csv")
    assert list(back.columns) == [name, "predicted_y"]
    np.testing.assert_array_equal(back[name].to_numpy(), x)
    # gradfit reads its own output back: the predictions file is valid input
    again = cli("predict", tmp_path / "m.json", tmp_path / "p.csv", "--out", tmp_path / "q.csv")
    assert again.code == 0, again.err
    np.testing.assert_array_equal(pd.read_csv(tmp_path / "q.csv")["predicted_y"], back["predicted_y"])


# --- tracebacks from input -------------------------------------------------------------------

@pytest.mark.parametrize("engine", ENGINES)
def test_duplicated_column_names_are_named(cli, tmp_path, engine):
    x, y = _xy()
    _csv(tmp_path / "d.csv", ["x", "x", "y"], zip(x, x, y))
    _fails(cli("fit", tmp_path / "d.csv", "--x", "x", "--y", "y", "--engine", engine), "'x'", "more than once")
    pq.write_table(pa.Table.from_arrays([pa.array(x), pa.array(x), pa.array(y)], names=["x", "x", "y"]),
                   tmp_path / "d.parquet")
    _fails(cli("fit", tmp_path / "d.parquet", "--x", "x", "--y", "y", "--engine", engine), "'x'", "more than once")


def test_duplicated_frame_columns_are_named():
    x, y = _xy()
    frame = pd.DataFrame(np.column_stack([x, x]), columns=["a", "a"])
    with pytest.raises(DataError, match="'a' more than once|more than one column named 'a'"):
        gradfit.fit(frame, y)


@pytest.mark.parametrize("engine", ENGINES)
def test_latin1_header_names_the_encoding_and_encoding_reads_it(cli, tmp_path, engine):
    x, y = _xy()
    (tmp_path / "l.csv").write_bytes("température,y\n".encode("latin-1")
                                     + "".join(f"{a},{b}\n" for a, b in zip(x, y)).encode())
    _fails(cli("fit", tmp_path / "l.csv", "--x", "température", "--y", "y", "--engine", engine),
           "not a UTF-8 text file", "byte 0xe9 on line 1", "--encoding latin-1")
    res = cli("fit", tmp_path / "l.csv", "--x", "température", "--y", "y", "--engine", engine, "--encoding",
              "latin-1", "-q")
    assert res.code == 0, res.err
    _fails(cli("fit", tmp_path / "l.csv", "--x", "x", "--y", "y", "--encoding", "klingon"), "Unknown encoding",
           code=2)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_cell_over_a_mebibyte_is_a_message(cli, tmp_path, engine):
    x, y = _xy()
    (tmp_path / "b.csv").write_text("x,y\n1," + "9" * (1 << 21) + "\n" + "".join(f"{a},{b}\n" for a, b in zip(x, y)))
    res = cli("fit", tmp_path / "b.csv", "--x", "x", "--y", "y", "--engine", engine)
    _fails(res, "longer than 1 MiB", "line 2")
    assert len(res.err) < 400


@pytest.mark.parametrize("engine", ENGINES)
def test_values_too_large_to_square_are_refused(cli, tmp_path, engine):
    x, y = _xy()
    _csv(tmp_path / "h.csv", ["x", "y"], [(repr(float(v) * 1e307), b) for v, b in zip(np.abs(x) + 1, y)])
    _fails(cli("fit", tmp_path / "h.csv", "--x", "x", "--y", "y", "--engine", engine),
           "Column 'x'", "too large to square", "Rescale")
    with pytest.raises(DataError, match="too large to square"):
        gradfit.fit(np.column_stack([x, x * 1e200]), y)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_huge_cell_is_quoted_short(cli, tmp_path, engine):
    x, y = _xy()
    _csv(tmp_path / "l.csv", ["x", "y"], [*zip(x, y), ("a" * 300_000, 1)])
    res = cli("fit", tmp_path / "l.csv", "--x", "x", "--y", "y", "--engine", engine)
    _fails(res, "not numeric", "300,000 characters")
    assert len(res.err) < 500


@pytest.mark.parametrize("engine", ENGINES)
def test_line_numbers_count_blank_lines_and_quoted_newlines(cli, tmp_path, engine):
    (tmp_path / "b.csv").write_text("x,y\n1,2\n\n\n2,3\n3,4\nabc,5\n")
    _fails(cli("fit", tmp_path / "b.csv", "--x", "x", "--y", "y", "--engine", engine), "'abc'", "line 7",
           "data row 4")
    (tmp_path / "q.csv").write_text('x,y,z\n1,2,"a\nb\nc"\n2,3,q\n4,,r\n')
    _fails(cli("fit", tmp_path / "q.csv", "--x", "x", "--y", "y", "--engine", engine), "missing value", "line 6")


@pytest.mark.parametrize("engine", ENGINES)
def test_decimal_parquet_columns_are_numbers(cli, tmp_path, engine):
    x, y = _xy()
    decimals = pa.array([decimal.Decimal(f"{v:.3f}") for v in x], pa.decimal128(10, 3))
    pq.write_table(pa.table({"x": decimals, "y": y}), tmp_path / "d.parquet")
    res = cli("fit", tmp_path / "d.parquet", "--x", "x", "--y", "y", "--engine", engine, "-q")
    assert res.code == 0, res.err
    w = float(res.out.split("w = ")[1].split()[0])
    assert w == pytest.approx(np.polyfit(np.round(x, 3), y, 1)[0], rel=1e-8)


# --- conventions: delimiters, all columns ----------------------------------------------------

@pytest.mark.parametrize("engine", ENGINES)
def test_semicolon_csv_is_sniffed_and_delimiter_can_be_given(cli, tmp_path, engine):
    x, y = _xy()
    _csv(tmp_path / "s.csv", ["x", "y"], zip(x, y), sep=";")
    res = cli("fit", tmp_path / "s.csv", "--x", "x", "--y", "y", "--engine", engine, "-q")
    assert res.code == 0, res.err
    _csv(tmp_path / "p.csv", ["x", "y"], zip(x, y), sep="|")
    assert cli("fit", tmp_path / "p.csv", "--x", "x", "--y", "y", "--delimiter", "|", "--engine", engine,
               "-q").out == res.out.replace(
        "s.csv", "p.csv")
    _fails(cli("fit", tmp_path / "s.csv", "--x", "x", "--y", "y", "--delimiter", ","), "not found",
           "--delimiter ';'")
    _fails(cli("fit", tmp_path / "s.csv", "--x", "x", "--y", "y", "--delimiter", ";;"), "Invalid delimiter", code=2)


@pytest.mark.parametrize("engine", ENGINES)
def test_x_all_takes_every_other_numeric_column(cli, tmp_path, engine):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    y = X @ [1.0, -2.0, 0.5] + 3
    pq.write_table(pa.table({"a": X[:, 0], "label": ["t"] * 60, "b": X[:, 1], "y": y, "c": X[:, 2],
                             "w": rng.uniform(1, 2, 60)}), tmp_path / "d.parquet")
    weights = ("--weight", "w") if engine == "auto" else ()   # sample weights run in memory
    res = cli("fit", tmp_path / "d.parquet", "--x", "all", "--y", "y", *weights, "--engine", engine, "-q")
    assert res.code == 0, res.err
    assert f"{3 + (not weights)} features" in res.out
    for name, value in zip("abc", (1.0, -2.0, 0.5)):
        assert float(res.out.split(f"w[{name}] = ")[1].split()[0]) == pytest.approx(value, abs=1e-6)
    scan = gradfit.open_files(tmp_path / "d.parquet", "all", "y")
    assert scan.feature_names == ("a", "b", "c", "w")


@pytest.mark.parametrize("given", ["tab", "\\t", "\t"])
def test_delimiter_tab_by_name_or_escape(cli, tmp_path, given):
    x, y = _xy()
    _csv(tmp_path / "t.txt", ["x,1", "y"], zip(x, y), sep="\t")   # a comma in a name: no sniffing, the option says
    res = cli("fit", tmp_path / "t.txt", "--x", "x,1", "--y", "y", "--delimiter", given, "-q")
    assert res.code == 0, res.err
    assert _printed_w(res.out) == pytest.approx(np.polyfit(x, y, 1)[0], rel=1e-8)


def _printed_w(out: str) -> float:
    return float(out.split("w = ")[1].split()[0])


@pytest.mark.slow
def test_explain_and_report_read_other_delimiters_and_encodings(cli, tmp_path):
    """The learner's commands take --delimiter and --encoding as fit and predict do."""
    path = tmp_path / "l.csv"
    path.write_bytes("température;y\n1;3\n2;5\n3;7\n4;9.1\n".encode("latin-1"))
    refused = cli("explain", path, "--x", "température", "--y", "y", "--delimiter", ";")
    assert refused.code == 1 and "--encoding" in refused.err
    explained = cli("explain", path, "--x", "température", "--y", "y", "--delimiter", ";", "--encoding", "latin-1")
    assert explained.code == 0, explained.err
    assert "4 rows" in explained.out
    out = tmp_path / "r.html"
    reported = cli("report", path, "--x", "température", "--y", "y", "--delimiter", ";", "--encoding", "latin-1",
                   "--out", out)
    assert reported.code == 0, reported.err
    assert "température" in out.read_text(encoding="utf-8")


# --- a local file whose name looks like a URI ("data:1.csv" is no scheme "data") ---------------------------

@pytest.mark.parametrize("engine", ["numpy", "stream"])
@pytest.mark.parametrize("name", ["data:1.csv", "s3:rows.csv", "file:x.parquet"])
def test_a_local_file_named_like_a_uri_is_read_as_the_file(cli, tmp_path, monkeypatch, name, engine):
    monkeypatch.chdir(tmp_path)
    x, y = _xy()
    table = pa.table({"x": x, "y": y})
    pq.write_table(table, f"./{name}") if name.endswith(".parquet") else table.to_pandas().to_csv(name, index=False)
    expected = gradfit.fit(x, y, engine="numpy").model
    for given in (name, f"{name[:2]}*", "."):       # the file, a glob and its directory
        res = cli("fit", given, "--x", "x", "--y", "y", "--engine", engine, "--model", "m.json", "--quiet")
        assert res.code == 0, res.err
        fitted = gradfit.load_model("m.json")
        np.testing.assert_allclose([*fitted.weights, fitted.bias], [*expected.weights, expected.bias], rtol=1e-9)
        (tmp_path / "m.json").unlink()
    gradfit.save_model(expected, "m.json")
    res = cli("predict", "m.json", name)
    assert res.code == 0 and len(res.out.splitlines()) == len(y) + 1, res.err

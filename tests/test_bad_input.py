"""The bad-input corpus through the CLI: a clear message, the right exit code, never a traceback.

Exit codes: 1 for data errors (the file or its values), 2 for usage errors (options), 3 for divergence.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import gradfit

from conftest import run_gradfit

CORPUS = Path(__file__).parent / "corpus"
FIT = ("fit", "--x", "x", "--y", "y")

# (case, arguments after `gradfit`, exit code, phrases the message must contain)
CASES = [
    ("missing file", [*FIT, "nope.csv"], 1, ["File not found", "nope.csv"]),
    ("empty file", [*FIT, "empty.csv"], 1, ["empty.csv", "is empty"]),
    ("header only", [*FIT, "header_only.csv"], 1, ["0 data rows", "at least 2"]),
    ("one row", [*FIT, "one_row.csv"], 1, ["1 data row", "at least 2"]),
    ("ragged row", [*FIT, "ragged.csv"], 1, ["ragged", "line 3", "3 fields", "header has 2"]),
    ("text in a numeric column", [*FIT, "text_value.csv"], 1,
     ["Column 'y'", "not numeric", "'five'", "line 3", "encode"]),
    ("NaN", [*FIT, "nan.csv"], 1, ["Column 'y'", "1 missing value", "line 3"]),
    ("empty cell", [*FIT, "empty_cell.csv"], 1, ["Column 'y'", "missing value", "line 3"]),
    ("infinity", [*FIT, "inf.csv"], 1, ["Column 'y'", "infinite", "line 3", "(inf)"]),
    ("unknown column", ["fit", "good.csv", "--x", "z", "--y", "y"], 1, ["'z' not found", "x, y"]),
    ("corrupt parquet", [*FIT, "corrupt.parquet"], 1, ["corrupt.parquet", "not a readable Parquet"]),
    ("binary file", [*FIT, "binary.csv"], 1, ["binary.csv", "not a UTF-8 text file"]),
    ("negative learning rate", [*FIT, "good.csv", "--lr", "-1"], 2, ["--lr", "-1", "> 0"]),
    ("learning rate not a number", [*FIT, "good.csv", "--lr", "fast"], 2, ["--lr", "'fast'", "'auto'"]),
    ("zero iterations", [*FIT, "good.csv", "--iters", "0"], 2, ["--iters", "≥ 1"]),
    ("negative tol", [*FIT, "good.csv", "--tol", "-1"], 2, ["--tol"]),
    ("unknown loss", [*FIT, "good.csv", "--loss", "l1"], 2, ["--loss", "'sse', 'mse'"]),
    ("unknown engine", [*FIT, "good.csv", "--engine", "gpu"], 2, ["--engine", "'python'"]),
    ("init of the wrong length", [*FIT, "good.csv", "--init", "1,2,3"], 2, ["init has 3 values", "2 parameters"]),
    ("init not numbers", [*FIT, "good.csv", "--init", "a,b"], 2, ["--init", "'a,b'"]),
    ("diverging learning rate", [*FIT, "good.csv", "--lr", "0.1", "--loss", "sse", "--engine", "python"], 3,
     ["diverged", "0.0601", "smaller learning rate"]),
    ("missing model file", ["predict", "nope.json", "good.csv"], 1, ["Model file not found"]),
    ("truncated model file", ["predict", "truncated_model.json", "good.csv"], 1, ["not a valid gradfit model", "truncated"]),
    ("edited model file", ["predict", "edited_model.json", "good.csv"], 1, ["'weights'", "finite numbers"]),
    ("NaN in a model file", ["predict", "nan_model.json", "good.csv"], 1, ["not a valid gradfit model"]),
    ("not a gradfit model", ["predict", "foreign.json", "good.csv"], 1, ["'format'"]),
    ("model feature missing in the file", ["predict", "model_z.json", "good.csv"], 1, ["'z' not found"]),
    ("demo data set unknown", ["demo", "--data", "iris"], 2, ["'iris'", "tutorial, noisy"]),
    ("demo output directory is a file", ["demo", "--out", "good.csv"], 2, ["--out good.csv", "cannot create that directory"]),
]


@pytest.fixture(autouse=True)
def in_corpus(monkeypatch, tmp_path):
    monkeypatch.chdir(CORPUS)
    gradfit.save_model(gradfit.LinearModel((1.0,), 0.0, ("z",)), tmp_path / "model_z.json")
    (CORPUS / "model_z.json").unlink(missing_ok=True)
    yield tmp_path


@pytest.mark.parametrize("case, args, code, phrases", CASES, ids=[c[0] for c in CASES])
@pytest.mark.slow
def test_bad_input_gets_a_clear_message_and_exit_code(cli, in_corpus, case, args, code, phrases):
    args = [str(in_corpus / a) if a == "model_z.json" else a for a in args]
    res = cli(*args)
    assert res.code == code, res.err
    message = res.err
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in {message!r}"
    assert "Traceback" not in message + res.out


@pytest.mark.slow
def test_a_usage_error_from_the_parser_exits_2_without_traceback():
    res = run_gradfit("fit", str(CORPUS / "good.csv"), "--x", "x", "--y", "y", "--iters", "many")
    assert res.code == 2
    assert "--iters" in res.err and "Traceback" not in res.err


@pytest.mark.parametrize("case", ["ragged.csv", "nan.csv"])
@pytest.mark.slow
def test_data_errors_as_a_process_exit_1_without_traceback(case):
    res = run_gradfit(*FIT, str(CORPUS / case))
    assert res.code == 1 and res.err.startswith("error: ") and "Traceback" not in res.err


def test_x_and_y_of_different_lengths_are_refused_by_the_api():
    with pytest.raises(gradfit.DataError, match="X has 3 rows but y has 2"):
        gradfit.fit([1, 2, 3], [3, 5])


def test_nan_in_an_array_names_the_row():
    with pytest.raises(gradfit.DataError, match=r"Column 'x'.*1 missing value.*row 1"):
        gradfit.fit([1, float("nan"), 3], [3, 5, 7])

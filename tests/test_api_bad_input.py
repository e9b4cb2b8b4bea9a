"""The Python API with bad input: a gradfit error (a ValueError) that names the problem, never a raw
NumPy/Python exception; ``GDRegressor`` keeps scikit-learn's conventions (ValueError, its messages kept)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gradfit

X3, Y3 = [1, 2, 3], [3, 5, 7]
CASES = [   # (case, call, error type, phrase)
    ("10**400 in X", lambda: gradfit.fit([1, 2, 10**400], Y3), gradfit.DataError, "too large for a 64-bit float"),
    ("10**400 in y", lambda: gradfit.fit(X3, [3, 5, 10**400]), gradfit.DataError, "Column 'y': row 2"),
    ("10**400 in an object array", lambda: gradfit.fit(np.array([[1], [2], [10**400]], dtype=object), Y3),
     gradfit.DataError, "401 digits"),
    ("10**400 in sample_weight", lambda: gradfit.fit(X3, Y3, sample_weight=[1, 1, 10**400]), gradfit.DataError,
     "sample_weight"),
    ("10**400 to predict", lambda: gradfit.LinearModel((1.0,), 0.0).predict([10**400]), gradfit.DataError,
     "too large"),
    ("duplicated pandas columns", lambda: gradfit.fit(pd.DataFrame({"a": X3, "b": X3}).rename(columns={"b": "a"}), Y3),
     gradfit.DataError, "'a' more than once"),
    ("duplicated test columns", lambda: gradfit.fit(pd.DataFrame({"a": X3, "b": Y3}), Y3,
                                                    test=(pd.DataFrame([[1, 2]], columns=["a", "a"]), [3])),
     gradfit.DataError, "'a' more than once"),
    ("test=(X,)", lambda: gradfit.fit(X3, Y3, test=([4],)), gradfit.ConfigError, "a tuple of 1 item"),
    ("test=X", lambda: gradfit.fit(X3, Y3, test=np.array([4.0])), gradfit.ConfigError, "takes a pair"),
    ("zero features", lambda: gradfit.fit(np.empty((3, 0)), Y3), gradfit.DataError, "no feature columns"),
    ("callbacks not functions", lambda: gradfit.fit(X3, Y3, callbacks=(1,)), gradfit.ConfigError, "callbacks="),
    ("every negative", lambda: gradfit.fit(X3, Y3, checkpoint="c.json", every=-1), gradfit.ConfigError, "every="),
    ("every text", lambda: gradfit.fit(X3, Y3, checkpoint="c.json", every="often"), gradfit.ConfigError, "'often'"),
    ("checkpoint a directory", lambda: gradfit.fit(X3, Y3, checkpoint=".", every=1), gradfit.DataError,
     "it is a directory"),
    ("save_model to a directory", lambda: gradfit.save_model(gradfit.LinearModel((1.0,), 0.0), "."),
     gradfit.DataError, "it is a directory"),
    ("save_model of a zero-feature model", lambda: gradfit.save_model(gradfit.LinearModel((), 1.0), "z.json"),
     gradfit.DataError, "no features"),
    ("save_model of a string", lambda: gradfit.save_model("model", "m.json"), gradfit.DataError, "LinearModel"),
    ("save_model with metadata that is not JSON", lambda: gradfit.save_model(gradfit.LinearModel((1.0,), 0.0),
                                                                             "m.json", metadata={"f": object()}),
     gradfit.DataError, "plain JSON"),
    ("load_model of a directory", lambda: gradfit.load_model("."), gradfit.DataError, "is a directory"),
    ("strings in X", lambda: gradfit.fit([["a"], ["b"], ["c"]], Y3), gradfit.DataError, "not numeric"),
]


@pytest.mark.parametrize("case, call, error, phrase", CASES, ids=[c[0] for c in CASES])
def test_bad_input_to_the_python_api_is_a_gradfit_error(tmp_path, monkeypatch, case, call, error, phrase):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=None) as info:
        call()
    assert isinstance(info.value, ValueError) and phrase in str(info.value), str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == []          # nothing written, no temporary file


SKLEARN = [
    ("strings in X", lambda R: R().fit([["a"], ["b"], ["c"]], Y3), "could not convert string to float"),
    ("strings in y", lambda R: R().fit([[1], [2], [3]], ["a", "b", "c"]), "could not convert string to float"),
    ("10**400 in X", lambda R: R().fit([[1], [2], [10**400]], Y3), "beyond a 64-bit float"),
    ("NaN in X", lambda R: R().fit([[1], [np.nan], [3]], Y3), "NaN"),
    ("wrong width to predict", lambda R: R().fit([[1, 2], [2, 3], [3, 5]], Y3).predict([[1]]), "features"),
]


@pytest.mark.parametrize("case, call, phrase", SKLEARN, ids=[c[0] for c in SKLEARN])
def test_gdregressor_bad_input_is_a_value_error_in_scikit_learns_words(case, call, phrase):
    pytest.importorskip("sklearn")
    with pytest.raises(ValueError, match=None) as info:
        call(gradfit.GDRegressor)
    assert phrase in str(info.value)
    if "string" in phrase:
        assert "OneHotEncoder" in str(info.value)


def test_a_one_row_test_set_says_r2_is_undefined(cli, tmp_path):
    (tmp_path / "train.csv").write_text("x,y\n1,3\n2,5\n3,7\n")
    (tmp_path / "test.csv").write_text("x,y\n4,9\n")
    res = cli("fit", tmp_path / "train.csv", "--x", "x", "--y", "y", "--test", tmp_path / "test.csv")
    assert res.code == 0, res.err
    assert "Test metrics (1 row)" in res.out and "R²   undefined" in res.out and "nan" not in res.out

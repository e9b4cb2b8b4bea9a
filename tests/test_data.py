"""Data in: lists, rows, arrays and frames become the same validated arrays; names are kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

import gradfit
from gradfit.data import as_xy, load_xy


def test_list_list_of_rows_and_array_give_the_same_fit():
    kw = dict(lr=0.01, iters=100, init=(1, 0), loss="sse", tol=None)
    a = gradfit.fit([1, 2, 3], [3, 5, 7], **kw)
    b = gradfit.fit([[1], [2], [3]], [3, 5, 7], **kw)
    c = gradfit.fit(np.array([1.0, 2.0, 3.0]), np.array([[3.0], [5.0], [7.0]]), **kw)
    assert a.model.weights == b.model.weights == c.model.weights


@pytest.mark.parametrize("make_frame", [pd.DataFrame, pl.DataFrame])
def test_frames_keep_their_column_names(make_frame):
    frame = make_frame({"size": [1.0, 2.0, 3.0, 4.0], "age": [4.0, 1.0, 0.0, 2.0]})
    target = [3.0 + 2 * s - a for s, a in zip(frame["size"], frame["age"])]
    r = gradfit.fit(frame, target, iters=3000, tol=None)
    assert r.model.feature_names == ("size", "age")
    np.testing.assert_allclose(r.model.weights, [2.0, -1.0], atol=1e-6)
    assert r.model.predict(frame).shape == (4,)


def test_pandas_series_target_name_is_kept():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "price": [3.0, 5.0, 7.0]})
    r = gradfit.fit(df[["x"]], df["price"], iters=10)
    assert r.model.target_name == "price"


def test_several_features_from_a_csv(tmp_path):
    path = tmp_path / "d.csv"
    rows = ["a,b,y"] + [f"{a},{b},{1 + 2 * a - 3 * b}" for a, b in [(0, 1), (1, 0), (2, 2), (3, 1), (1, 3)]]
    path.write_text("\n".join(rows) + "\n")
    data = load_xy(path, ["a", "b"], "y")
    assert data.feature_names == ("a", "b") and data.X.shape == (5, 2)
    r = gradfit.fit(data, None, iters=5000, tol=None)
    np.testing.assert_allclose([*r.model.weights, r.model.bias], [2, -3, 1], atol=1e-8)


def test_parquet_is_read_like_csv(tmp_path):
    pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [3.0, 5.0, 7.0]}).to_parquet(tmp_path / "d.parquet")
    data = load_xy(tmp_path / "d.parquet", ["x"], "y")
    assert data.X[:, 0].tolist() == [1, 2, 3] and data.y.tolist() == [3, 5, 7]


def test_string_column_in_a_frame_is_named():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "city": ["a", "b", "c"]})
    with pytest.raises(gradfit.DataError, match=r"Column 'city' is not numeric.*'a'.*encode"):
        as_xy(frame, [1.0, 2.0, 3.0])


def test_y_with_several_columns_is_refused():
    with pytest.raises(gradfit.DataError, match=r"shape \(3, 2\)"):
        as_xy([1, 2, 3], np.ones((3, 2)))


def test_ragged_rows_are_refused():
    with pytest.raises(gradfit.DataError, match="ragged"):
        as_xy([[1, 2], [3]], [1, 2])


def test_flat_x_for_a_multi_feature_model_is_refused_not_broadcast():
    model = gradfit.LinearModel((1.0, 2.0), 0.0)
    with pytest.raises(gradfit.DataError, match="flat list of 2 values but the model has 2 features"):
        model.predict([1.0, 2.0])
    assert model.predict([[1.0, 2.0]]).tolist() == [5.0]


def test_single_row_is_too_few():
    with pytest.raises(gradfit.DataError, match="at least 2"):
        gradfit.fit([1], [3])

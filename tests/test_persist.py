"""Model files: exact round-trip, atomic writes, validation on load, no code executed."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradfit
from gradfit.atomic import write_text as atomic_write_text
from gradfit.errors import DataError
from gradfit.outputs.persist import load_model, save_model

finite = st.floats(allow_nan=False, allow_infinity=False)


def test_tutorial_model_round_trips_bit_for_bit(tmp_path):
    r = gradfit.fit([1, 2, 3], [3, 5, 7], lr=0.01, iters=1000, init=(1, 0), loss="sse", engine="python", tol=None)
    save_model(r.model, tmp_path / "m.json")
    loaded = load_model(tmp_path / "m.json")
    assert loaded == r.model
    assert loaded.predict([4])[0] == 9.00025623296825


@settings(max_examples=50, deadline=None)
@given(weights=st.lists(finite, min_size=1, max_size=6), bias=finite, intercept=st.booleans())
def test_any_finite_model_round_trips_exactly(tmp_path_factory, weights, bias, intercept):
    path = tmp_path_factory.mktemp("m") / "model.json"
    names = tuple(f"feature {i} ✓" for i in range(len(weights)))
    model = gradfit.LinearModel(tuple(weights), bias, names, "target", intercept)
    save_model(model, path)
    loaded = load_model(path)
    assert loaded == model
    assert [struct_bits(w) for w in loaded.weights] == [struct_bits(w) for w in model.weights]


def struct_bits(x: float) -> int:
    return np.float64(x).view(np.int64).item()


def test_model_file_is_plain_json_with_feature_names(tmp_path):
    model = gradfit.LinearModel((1.5, -2.0), 0.25, ("size", "age"), "price")
    save_model(model, tmp_path / "m.json", metadata={"note": "x"})
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["format"] == "gradfit.model" and doc["feature_names"] == ["size", "age"]
    assert doc["weights"] == [1.5, -2.0] and doc["target_name"] == "price"


def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    atomic_write_text(path, "new")
    assert path.read_text() == "new"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_atomic_write_gives_new_files_the_usual_permissions_and_keeps_existing_ones(tmp_path):
    umask = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "new.txt", "x")
        assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o644
        (tmp_path / "kept.txt").write_text("old")
        os.chmod(tmp_path / "kept.txt", 0o640)
        atomic_write_text(tmp_path / "kept.txt", "new")
        assert (tmp_path / "kept.txt").stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(umask)


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.json"
    save_model(gradfit.LinearModel((1.0,), 2.0), path)
    before = path.read_bytes()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(gradfit.DataError, match="unchanged"):
        save_model(gradfit.LinearModel((9.0,), 9.0), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.json"]


@pytest.mark.parametrize("text, phrase", [
    ('{"format": "gradfit.model", "version": 1, "weights": [1.0], "bi', "not complete JSON"),
    ('{"format": "gradfit.model", "version": 2, "weights": [1.0], "bias": 0, "feature_names": ["x"]}', "version 2"),
    ('{"format": "gradfit.model", "version": 1, "weights": [], "bias": 0, "feature_names": []}', "'weights'"),
    ('{"format": "gradfit.model", "version": 1, "weights": [1.0], "bias": "0", "feature_names": ["x"]}', "'bias'"),
    ('{"format": "gradfit.model", "version": 1, "weights": [1.0], "bias": Infinity, "feature_names": ["x"]}',
     "not complete JSON"),
    ('{"format": "gradfit.model", "version": 1, "weights": [1.0, 2.0], "bias": 0, "feature_names": ["x"]}',
     "'feature_names'"),
    ('[1, 2, 3]', "'format'"),
    ('{"__class__": "os.system", "args": ["echo pwned"]}', "'format'"),
])
def test_corrupted_model_files_get_a_clear_error(tmp_path, text, phrase):
    path = tmp_path / "m.json"
    path.write_text(text)
    with pytest.raises(gradfit.DataError, match="not a valid gradfit model file") as info:
        load_model(path)
    assert phrase in str(info.value)


# --- a model whose predictions are not numbers ---------------------------------------------------------

def _model_file(path, weights, bias=0.0):
    doc = {"format": "gradfit.model", "version": 1, "weights": weights, "bias": bias, "fit_intercept": True,
           "feature_names": [f"x{j}" for j in range(len(weights))], "target_name": "y", "metadata": {}}
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("weights, bias", [([1e308], 0.0), ([1e308, -1e308], 0.0)], ids=["inf", "nan"])
def test_predict_refuses_predictions_that_overflow(cli, tmp_path, weights, bias):
    model = _model_file(tmp_path / "m.json", weights, bias)
    data = tmp_path / "d.csv"
    data.write_text(",".join(f"x{j}" for j in range(len(weights))) + "\n" +
                    "".join(",".join([str(v)] * len(weights)) + "\n" for v in (0.5, 2.0, -3.0)))
    for out in (None, tmp_path / "p.csv"):
        res = cli("predict", model, data, *(["--out", out] if out else []))
        assert res.code == 1 and "not a finite number" in res.err and "data row 2" in res.err, res.err
        assert "inf" not in res.out and res.out == "" and "Traceback" not in res.err
    assert not (tmp_path / "p.csv").exists()


def test_the_model_loader_refuses_weights_beyond_float_range(cli, tmp_path):
    import math

    model = tmp_path / "m.json"
    model.write_text(json.dumps({"format": "gradfit.model", "version": 1, "weights": [1.0], "bias": 0.0,
                                 "fit_intercept": True, "feature_names": ["x0"], "target_name": "y",
                                 "metadata": {}}).replace("[1.0]", "[1e400]"))
    with pytest.raises(DataError, match="finite numbers"):
        load_model(model)
    assert math.isinf(json.loads(model.read_text())["weights"][0])     # what the file holds: an infinity
    res = cli("predict", model, tmp_path / "whatever.csv")
    assert res.code == 1 and "finite numbers" in res.err

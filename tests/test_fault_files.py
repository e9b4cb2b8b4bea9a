"""Hostile model and checkpoint files: through ``load_model``, ``gradfit predict`` and ``gradfit fit --resume``.

Every file gets a ``DataError`` (exit 1) or a usage error (exit 2) whose message names what is wrong,
in bounded length, and never a traceback; a file that is valid after all is used as it is. Named
cases first (the ones fault injection found), then hypothesis-mutated files: fields replaced by any
JSON value, fields removed, the text cut short or a byte changed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradfit
from gradfit.outputs.persist import load_model
from gradfit.training import checkpoint

MESSAGE_LIMIT = 2000         # characters: a hostile file must not produce megabytes of error text
GOOD_MODEL = {"format": "gradfit.model", "version": 1, "weights": [2.0, -1.0], "bias": 0.5, "fit_intercept": True,
              "feature_names": ["a", "b"], "target_name": "y", "metadata": {}}


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("fault_files")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = X @ [2.0, -1.0] + 0.5 + 0.1 * rng.normal(size=40)
    (where / "d.csv").write_text("a,b,y\n" + "".join(f"{r[0]!r},{r[1]!r},{t!r}\n" for r, t in zip(X.tolist(), y.tolist())))
    return where


RUNS = {   # the runs whose checkpoints are mutated: their flags (--every 5, --iters 10 or --epochs 4)
    "momentum": ["--lr", "0.05", "--optimizer", "momentum", "--iters", "10"],
    "sgd": ["--lr", "0.01", "--optimizer", "sgd", "--batch-size", "8", "--epochs", "4", "--seed", "1"],
    "accelerated": ["--optimizer", "accelerated", "--iters", "10"],
}


def fit_args(work: Path, run: str) -> list[str]:
    return ["fit", str(work / "d.csv"), "--x", "a", "--x", "b", "--y", "y", "--quiet", "--tol", "none", *RUNS[run]]


@pytest.fixture(scope="module")
def checkpoints(work) -> dict[str, dict]:
    from gradfit.cli import main

    docs = {}
    for run in RUNS:
        path = work / f"{run}.json"
        assert main([*fit_args(work, run), "--checkpoint", str(path), "--every", "5"]) == 0
        docs[run] = json.loads(path.read_text())
    return docs


def assert_refused(res, codes=(1,)):
    assert res.code in codes, (res.code, res.err)
    assert res.err.startswith("error: ") and "Traceback" not in res.err
    assert len(res.err) < MESSAGE_LIMIT, len(res.err)


# --- named cases -------------------------------------------------------------------------------------

def deep(n: int) -> str:
    return "[" * n + "]" * n


MODEL_CASES = {
    "nested 1000 deep": (deep(1000), ("nested too deeply", "'format'")),
    "nested 100 000 deep": (deep(100_000), ("nested too deeply",)),
    "a 400-digit weight": (json.dumps({**GOOD_MODEL, "weights": [int("9" * 400), 1]}), ("finite numbers",)),
    "a 5000-digit bias": (json.dumps(GOOD_MODEL).replace('"bias": 0.5', '"bias": ' + "7" * 5000), ("'bias'",)),
    "a megabyte version": (json.dumps({**GOOD_MODEL, "version": "v" * 10**6}), ("is not supported",)),
    "NaN weight": (json.dumps(GOOD_MODEL).replace("2.0", "NaN"), ("NaN is not a number",)),
    "1e400 weight": (json.dumps(GOOD_MODEL).replace("2.0", "1e400"), ("finite numbers",)),
    "not UTF-8": (b'{"format": "gradfit.model", "\xff\xfe": 1}', ("not UTF-8",)),
    "empty": ("", ("not complete JSON",)),
    "a list": ("[1, 2]", ("'format'",)),
    "weights of another length": (json.dumps({**GOOD_MODEL, "weights": [1.0]}), ("'feature_names'",)),
    "fit_intercept a string": (json.dumps({**GOOD_MODEL, "fit_intercept": "no"}), ("'fit_intercept'",)),
    "no features": (json.dumps({**GOOD_MODEL, "weights": [], "feature_names": []}), ("'weights'",)),
}


@pytest.mark.parametrize("case", MODEL_CASES)
@pytest.mark.slow
def test_a_hostile_model_file_is_a_message(cli, work, case):
    text, phrases = MODEL_CASES[case]
    path = work / f"model-{abs(hash(case))}.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(gradfit.DataError) as info:
        load_model(path)
    assert any(p in str(info.value) for p in phrases), str(info.value)[:500]
    res = cli("predict", path, work / "d.csv")
    assert_refused(res)
    assert any(p in res.err for p in phrases)


def test_a_directory_a_device_and_proc_self_mem_are_not_model_files(cli, work):
    (work / "a-directory.json").mkdir(exist_ok=True)
    link = work / "mem.json"
    if not link.is_symlink():
        link.symlink_to("/proc/self/mem")
    for path, phrase in ((work / "a-directory.json", "is a directory"), (Path("/dev/null"), "not a regular file"),
                         (link, "Cannot read"), (work / "missing.json", "not found")):
        for attempt in (lambda: load_model(path), lambda: checkpoint.load(path)):
            with pytest.raises(gradfit.DataError, match=phrase):
                attempt()
        assert_refused(cli("predict", path, work / "d.csv"))
        assert_refused(cli(*fit_args(work, "momentum"), "--resume", path))


@pytest.mark.slow
def test_a_model_with_200_000_features_gets_a_short_message(cli, work):
    names = [f"feature_{i}" for i in range(200_000)]
    path = work / "huge.json"
    path.write_text(json.dumps({**GOOD_MODEL, "weights": [1.0] * len(names), "feature_names": names}))
    res = cli("predict", path, work / "d.csv")
    assert_refused(res)
    assert "'feature_0'" in res.err and "(200000 in all)" in res.err


def with_field(doc: dict, path: tuple, value) -> dict:
    doc = json.loads(json.dumps(doc))
    where = doc
    for key in path[:-1]:
        where = where[key]
    if value is DELETE:
        del where[path[-1]]
    else:
        where[path[-1]] = value
    return doc


DELETE = object()
CHECKPOINT_CASES = [   # (run, field, value, phrase)
    ("momentum", ("theta",), [1.0, 2.0], "must hold 3 numbers"),
    ("momentum", ("theta",), [1.0, 2.0, 3.0, 4.0, 5.0], "must hold 3 numbers"),
    ("momentum", ("theta",), "NaN-TEXT", "NaN is not a number"),
    ("momentum", ("theta",), ["INF-TEXT", 0, 0], "NaN or infinite parameters is corrupt"),
    ("momentum", ("theta",), [[1.0], [2.0], [3.0]], "'theta'"),
    ("momentum", ("theta",), [1e300, 1e300, 1e300], "is corrupt: the loss at its parameters is inf"),
    ("momentum", ("rule_state", "velocity"), [0.1, 0.2], "'velocity' must hold 3"),
    ("momentum", ("rule_state", "velocity"), [[0.1, 0.2, 0.3]], "'velocity' must hold 3"),
    ("momentum", ("rule_state", "velocity"), "fast", "'velocity'"),
    ("momentum", ("rule_state", "count"), -1, "'count' must be a count"),
    ("momentum", ("rule_state", "count"), int("9" * 400), "'count'"),
    ("momentum", ("rule_state", "count"), DELETE, "needs the fields"),
    ("momentum", ("rule_state",), [], "'rule_state' must be objects"),
    ("momentum", ("iteration",), -3, "'iteration'"),
    ("momentum", ("iteration",), 2.5, "'iteration'"),
    ("momentum", ("quiet",), "x", "'quiet'"),
    ("momentum", ("loss0",), -1, "'loss0'"),
    ("momentum", ("data",), {"rows": "forty"}, "'data'"),
    ("momentum", ("config", "lr"), 0.5, "different run"),
    ("accelerated", ("rule_state", "t"), 0.5, "'t' must be a number ≥ 1"),
    ("accelerated", ("rule_state", "velocity"), [0, 0], "'velocity' must hold 3"),
    ("sgd", ("rng_state",), {"bit_generator": "MT19937"}, "'rng_state'"),
    ("sgd", ("rng_state",), {"bit_generator": "PCG64", "state": {"state": "x", "inc": 1}}, "'rng_state'"),
    ("sgd", ("rng_state", "state", "state"), -5, "'rng_state'"),
    ("sgd", ("rng_state",), [1, 2, 3], "'rng_state'"),
    ("sgd", ("rng_state",), {"deep": json.loads(deep(500))}, "'rng_state'"),
]


@pytest.mark.parametrize("run, field, value, phrase", CHECKPOINT_CASES,
                         ids=[f"{r}-{'.'.join(f)}-{str(v)[:20]}" for r, f, v, _ in CHECKPOINT_CASES])
@pytest.mark.slow
def test_a_hostile_checkpoint_is_refused_with_a_message(cli, work, checkpoints, run, field, value, phrase):
    path = work / "hostile-checkpoint.json"
    doc = with_field(checkpoints[run], field, "NaN-TEXT" if value == "NaN-TEXT" else value)
    path.write_text(json.dumps(doc).replace('"NaN-TEXT"', "NaN").replace('"INF-TEXT"', "1e400"))
    res = cli(*fit_args(work, run), "--resume", path)
    assert_refused(res, codes=(1, 2))
    assert phrase in res.err, res.err


def test_the_untouched_checkpoints_resume(cli, work, checkpoints):
    for run, doc in checkpoints.items():
        path = work / "untouched.json"
        path.write_text(json.dumps(doc))
        res = cli(*fit_args(work, run), "--resume", path)
        assert res.code == 0, res.err


# --- hypothesis: mutated files ---------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=10**300, max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def paths_of(doc, prefix=()):
    """Every key path in the document (into dicts and lists)."""
    yield prefix
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in items:
        yield from paths_of(value, prefix + (key,))


@st.composite
def mutated(draw, doc: dict) -> bytes:
    doc = json.loads(json.dumps(doc))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in paths_of(doc) if p]
        where = draw(st.sampled_from(paths))
        parent = doc
        for key in where[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[where[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(json_values)
        else:
            parent[where[-1]] = draw(json_values)
    text = json.dumps(doc, allow_nan=True).encode()
    damage = draw(st.sampled_from(["none", "none", "cut", "byte"]))
    if damage == "cut":
        text = text[:draw(st.integers(0, len(text)))]
    elif damage == "byte":
        i = draw(st.integers(0, len(text) - 1))
        text = text[:i] + bytes([draw(st.integers(0, 255))]) + text[i + 1:]
    return text


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])


@FAST
@given(text=mutated(GOOD_MODEL))
@pytest.mark.slow
def test_mutated_model_files_load_or_get_a_message(cli, work, text):
    path = work / "mutated-model.json"
    path.write_bytes(text)
    try:
        model = load_model(path)
    except gradfit.DataError as exc:
        assert len(str(exc)) < MESSAGE_LIMIT
        model = None
    res = cli("predict", path, work / "d.csv")
    if model is None:
        assert_refused(res)
    else:                                  # a valid model: predicts, or names the columns the data lack
        assert res.code in (0, 1) and "Traceback" not in res.err and len(res.err) < MESSAGE_LIMIT


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.slow
def test_mutated_checkpoints_resume_or_get_a_message(cli, work, checkpoints, run):
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                     HealthCheck.too_slow])
    @given(text=mutated(checkpoints[run]))
    def check(text):
        path = work / "mutated-checkpoint.json"
        path.write_bytes(text)
        res = cli(*fit_args(work, run), "--resume", path)
        if res.code != 0:
            assert_refused(res, codes=(1, 2))

    check()

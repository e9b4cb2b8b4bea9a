"""Checkpoints and resume: the state as JSON, a resumed run ends bit for bit where an uninterrupted one does."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from patience import patience

import gradfit
from gradfit.training import checkpoint
from gradfit.errors import EXIT_INTERRUPTED


def data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    return X, X @ [3.0, -1.0] + 0.5 + 0.1 * rng.standard_normal(n)


@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.5, True)])
def test_resume_ends_with_exactly_the_uninterrupted_parameters(tmp_path, momentum, nesterov):
    X, y = data()
    opts = dict(lr=0.05, tol=None, momentum=momentum, nesterov=nesterov)
    path = tmp_path / "run.json"
    gradfit.fit(X, y, iters=130, checkpoint=path, every=50, **opts)
    saved = checkpoint.load(path)
    assert saved.iteration == 130 and saved.rule_state["count"] == 130
    assert ("velocity" in saved.rule_state) == bool(momentum)
    resumed = gradfit.fit(X, y, iters=400, resume=path, **opts)
    straight = gradfit.fit(X, y, iters=400, **opts)
    assert resumed.model.theta.tobytes() == straight.model.theta.tobytes()
    assert resumed.history.iteration[0] == 130 and resumed.n_iter == 400


def test_checkpoints_are_written_every_n_iterations(tmp_path):
    X, y = data()
    path = tmp_path / "run.json"
    seen = []
    gradfit.fit(X, y, lr=0.05, iters=120, tol=None, checkpoint=path, every=40,
                callbacks=(lambda s: seen.append(json.loads(path.read_text())["iteration"]) if path.exists() else None,))
    assert sorted(set(seen)) == [40, 80]       # what the file held as the loop went on
    doc = json.loads(path.read_text())
    assert doc["iteration"] == 120            # and the end of the run
    assert doc["format"] == "gradfit.checkpoint" and doc["config"]["lr"] == 0.05
    assert not list(tmp_path.glob(".*tmp"))   # atomic: no temporary file left behind


def test_resume_refuses_other_options(tmp_path):
    X, y = data()
    path = tmp_path / "run.json"
    gradfit.fit(X, y, lr=0.05, iters=20, tol=None, checkpoint=path, every=10)
    with pytest.raises(gradfit.ConfigError, match="lr: 0.05 then, 0.01 now"):
        gradfit.fit(X, y, lr=0.01, iters=40, tol=None, resume=path)


def test_a_damaged_checkpoint_is_a_data_error(tmp_path):
    path = tmp_path / "run.json"
    path.write_text('{"format": "gradfit.checkpoint", "version": 1, "iteration": 3')
    with pytest.raises(gradfit.DataError, match="not complete JSON"):
        checkpoint.load(path)


def test_cli_resume_matches_an_uninterrupted_cli_run(cli, tmp_path, tutorial_csv):
    common = ["fit", tutorial_csv, "--x", "x", "--y", "y", "--lr", "0.01", "--tol", "none", "--quiet"]
    path = tmp_path / "ck.json"
    assert cli(*common, "--iters", "300", "--checkpoint", path, "--every", "100").code == 0
    resumed = cli(*common, "--iters", "1000", "--resume", path)
    straight = cli(*common, "--iters", "1000")
    assert resumed.code == 0 and resumed.out == straight.out


@pytest.mark.slow
def test_ctrl_c_writes_a_checkpoint_and_says_how_to_resume(tmp_path):
    X, y = data(50)
    csv = tmp_path / "d.csv"
    csv.write_text("a,b,y\n" + "".join(f"{r[0]!r},{r[1]!r},{t!r}\n" for r, t in zip(X.tolist(), y.tolist())))
    path = tmp_path / "ck.json"
    args = [sys.executable, "-m", "gradfit", "fit", str(csv), "--x", "a", "--x", "b", "--y", "y", "--lr", "0.01",
            "--tol", "none"]
    proc = subprocess.Popen([*args, "--iters", "100000000", "--checkpoint", str(path), "--every", "1000", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    while not path.exists() and proc.poll() is None:     # the event: the first checkpoint, however long it takes
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=patience(60))
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert "Traceback" not in err and "--resume" in err and str(path) in err
    saved = checkpoint.load(path)
    assert saved.iteration > 0  # the last completed iteration, not the last multiple of --every
    # Continue a few iterations past the interruption: the same bits as one run of that length.
    target = saved.iteration + 7
    resumed = subprocess.run([*args, "--iters", str(target), "--resume", str(path), "--quiet"],
                             capture_output=True, text=True, cwd=tmp_path)
    straight = subprocess.run([*args, "--iters", str(target), "--quiet"], capture_output=True, text=True, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout == straight.stdout


def test_every_without_a_checkpoint_path_is_a_usage_error(cli, tutorial_csv):
    result = cli("fit", tutorial_csv, "--x", "x", "--y", "y", "--every", "10")
    assert result.code == 2 and "--checkpoint PATH" in result.err


@pytest.mark.parametrize("options", [
    dict(optimizer="sgd", batch_size=16, lr=0.02, seed=3),
    dict(optimizer="sgd", batch_size=16, lr=0.05, seed=3, learning_rate="invscaling", power_t=0.25),
    dict(optimizer="gd", lr=0.05, learning_rate="invscaling", power_t=0.5),
])
def test_resume_of_sgd_and_schedules_restores_rng_and_update_count(tmp_path, options):
    X, y = data()
    key = "epochs" if options["optimizer"] == "sgd" else "iters"
    path = tmp_path / "run.json"
    gradfit.fit(X, y, tol=None, checkpoint=path, every=5, **{key: 10}, **options)
    saved = checkpoint.load(path)
    assert saved.rule_state["count"] == (10 * 13 if options["optimizer"] == "sgd" else 10)   # 200 rows / 16 → 13 batches
    assert (saved.rng_state is not None) == (options["optimizer"] == "sgd")
    resumed = gradfit.fit(X, y, tol=None, resume=path, **{key: 25}, **options)
    straight = gradfit.fit(X, y, tol=None, **{key: 25}, **options)
    assert resumed.model.theta.tobytes() == straight.model.theta.tobytes()


def test_resume_of_standardized_sgd_on_files_read_in_chunks_is_bit_exact(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    X, y = data()
    X = X * 100.0 + 50.0                      # uncentred: the defaults standardize
    pq.write_table(pa.table({f"x{j}": X[:, j] for j in range(X.shape[1])} | {"y": y}), tmp_path / "d.parquet",
                   row_group_size=64)
    scan = gradfit.open_files(tmp_path / "d.parquet", [f"x{j}" for j in range(X.shape[1])], "y")
    options = dict(optimizer="sgd", batch_size=16, seed=3, tol=None, engine="stream")
    path = tmp_path / "run.json"
    first = gradfit.fit(scan, None, checkpoint=path, every=2, epochs=4, **options)
    assert first.standardized
    resumed = gradfit.fit(scan, None, resume=path, epochs=9, **options)
    straight = gradfit.fit(scan, None, epochs=9, **options)
    assert resumed.model.theta.tobytes() == straight.model.theta.tobytes()


# --- layouts: the version names the layout; an older, a newer and a fingerprint-less checkpoint -----------

def test_the_layout_number_changes_with_the_layout(tmp_path):
    """A new field (or one renamed) without a new checkpoint.VERSION fails here: bump VERSION, update this pin."""
    X, y = data()
    gradfit.fit(X, y, iters=5, tol=None, checkpoint=tmp_path / "ck.json", every=1)
    doc = json.loads((tmp_path / "ck.json").read_text())
    assert (checkpoint.VERSION, tuple(doc), tuple(doc["data"])) == (2, checkpoint.FIELDS, checkpoint.FINGERPRINT_FIELDS)
    assert checkpoint.FIELDS == ("format", "version", "iteration", "theta", "rule_state", "rng_state", "quiet",
                                 "loss0", "data", "config")
    assert checkpoint.FINGERPRINT_FIELDS == ("rows", "columns", "mean", "scale", "digest")


def _edited(tmp_path, **changes):
    X, y = data()
    gradfit.fit(X, y, iters=5, tol=None, checkpoint=tmp_path / "ck.json", every=1)
    doc = json.loads((tmp_path / "ck.json").read_text())
    for key, value in changes.items():
        if value is None:
            del doc[key]
        else:
            doc[key] = value
    (tmp_path / "ck.json").write_text(json.dumps(doc))
    return X, y, tmp_path / "ck.json"


# A checkpoint of layout 1, as gradfit wrote it before the fingerprint and the stopping count.
LAYOUT_1 = {"format": "gradfit.checkpoint", "version": 1, "iteration": 5, "theta": [0.5, -0.1, 0.2],
            "rule_state": {"velocity": [0.0, 0.0, 0.0]}, "rng_state": None, "config": {"lr": 0.1}}


@pytest.mark.parametrize("doc, words", [
    (LAYOUT_1, "written by an older gradfit (checkpoint layout 1; this gradfit reads layout 2). Start the run again "
               "without --resume, or resume it with the gradfit version that wrote it"),
    ({**LAYOUT_1, "version": 7}, "written by a newer gradfit (checkpoint layout 7; this gradfit reads layout 2)"),
    ({**LAYOUT_1, "format": "something.else"}, "is not a gradfit checkpoint"),
    ({**LAYOUT_1, "version": "2"}, "is not a gradfit checkpoint"),
])
def test_a_checkpoint_of_another_layout_is_named_as_such(cli, tmp_path, tutorial_csv, doc, words):
    (tmp_path / "ck.json").write_text(json.dumps(doc))
    with pytest.raises(gradfit.DataError, match=words.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        gradfit.fit(*data(), resume=tmp_path / "ck.json")
    res = cli("fit", tutorial_csv, "--x", "x", "--y", "y", "--resume", tmp_path / "ck.json", "--quiet")
    assert res.code == 1 and words.split(" (")[0] in res.err and "truncated or edited" not in res.err, res.err
    assert res.out == ""


def test_a_checkpoint_without_its_data_fingerprint_is_refused(tmp_path):
    X, y, path = _edited(tmp_path, data=None)
    with pytest.raises(gradfit.DataError, match="does not record the data it was written for"):
        gradfit.fit(X, y, iters=10, tol=None, resume=path)
    X, y, path = _edited(tmp_path, data=None)     # null, as a hand edit would leave it
    doc = json.loads(path.read_text())
    doc["data"] = None
    path.write_text(json.dumps(doc))
    with pytest.raises(gradfit.DataError, match="does not record the data"):
        gradfit.fit(X + 1.0, y, iters=10, tol=None, resume=path)


def test_the_layout_messages_are_in_both_languages():
    from gradfit.messages import message

    for key in ("checkpoint.older", "checkpoint.newer", "checkpoint.not_one", "checkpoint.no_fingerprint"):
        en, zh = (message(key, lang, path="ck.json", found=1, current=2) for lang in ("en", "zh"))
        assert "ck.json" in en and "ck.json" in zh and en != zh

"""``kill -9`` during each kind of file gradfit writes: the file is the old one or the new one, never a mix,
and the temporary file a killed write leaves is removed by the next write of that file.

A real process writes the file over and over (two versions in turn) with gradfit's own function for
that kind — model, history (CSV and JSON), checkpoint, predictions, HTML report, figure — and is
killed with SIGKILL at seeded random moments.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import gradfit

SRC = str(Path(__file__).resolve().parents[1] / "src")
KILLS_PER_KIND = 2

WRITER = r"""
import shutil, sys
import numpy as np
import gradfit
kind, path, refs = sys.argv[1], sys.argv[2], sys.argv[3]
rng = np.random.default_rng(0)
X = rng.normal(size=(5000, 1)); y = 2 * X[:, 0] + 1 + rng.normal(size=5000)
runs = [gradfit.fit(X, y, lr=0.01, iters=n, tol=None) for n in (1500, 1501)]

def write(i):
    r = runs[i]
    if kind == "model":
        gradfit.save_model(r.model, path, metadata={"run": i, "padding": [float(v) for v in range(60000 + i)]})
    elif kind in ("history.csv", "history.json"):
        from gradfit.outputs.persist import export_history
        export_history(r, path)
    elif kind == "checkpoint":
        from gradfit.training import checkpoint
        checkpoint.save(path, checkpoint.Checkpoint(i, np.arange(60000.0) + i, {"count": i}, {"lr": 0.01}))
    elif kind == "predictions":
        from gradfit.data.files import write_csv_atomic
        write_csv_atomic(path, {"x": X[:, 0], "predicted_y": r.model.predict(X)})
    elif kind == "report":
        from gradfit.outputs.report import write_report
        write_report(r, path)
    elif kind == "figure":
        from gradfit.outputs.plots import save_figure, tutorial_figure
        save_figure(tutorial_figure(r.model, [1, 2, 3], [3, 5, 7], [4], [9 + i]), path)

for i in (0, 1):
    write(i)
    shutil.copy(path, f"{refs}/{i}")
print("ready", flush=True)
while True:
    write(0)
    write(1)
"""

KINDS = {"model": "model.json", "history.csv": "history.csv", "history.json": "history.json",
         "checkpoint": "run.json", "predictions": "predictions.csv", "report": "report.html", "figure": "fit.png"}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.slow
def test_kill_9_while_writing_leaves_the_old_or_the_new_file_and_the_next_write_cleans_up(tmp_path, kind):
    out, refs = tmp_path / "out", tmp_path / "refs"
    out.mkdir()
    refs.mkdir()
    target = out / KINDS[kind]
    rng = random.Random(hash(kind) % 1000)
    left_behind = 0
    for _ in range(KILLS_PER_KIND):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, kind, str(target), str(refs)], stdout=subprocess.PIPE,
                                  text=True, env={**os.environ, "PYTHONPATH": SRC})
        assert writer.stdout.readline() == "ready\n"
        time.sleep(rng.uniform(0.0, 0.3))
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()                               # reaped: a zombie would still count as a live writer
        writer.stdout.close()
        versions = {(refs / "0").read_bytes(), (refs / "1").read_bytes()}
        assert target.read_bytes() in versions      # whole: the old one or the new one
        left_behind += len(os.listdir(out)) - 1
        gradfit.save_model(gradfit.LinearModel((1.0,), 0.0), target) if kind == "model" else _write_again(kind, target)
        assert os.listdir(out) == [target.name]     # the killed write's temporary file is gone
    print(f"{kind}: {KILLS_PER_KIND} kills, {left_behind} temporary files found and removed")


def _write_again(kind: str, target: Path) -> None:
    """The next write of the same file, by the same kind of writer (in this process)."""
    r = gradfit.fit([1, 2, 3], [3, 5, 7], lr=0.01, iters=5, tol=None, engine="python")
    if kind.startswith("history"):
        from gradfit.outputs.persist import export_history

        export_history(r, target)
    elif kind == "checkpoint":
        from gradfit.training import checkpoint

        checkpoint.save(target, checkpoint.Checkpoint(1, np.zeros(2), {"count": 1}, {}))
    elif kind == "predictions":
        from gradfit.data.files import write_csv_atomic

        write_csv_atomic(target, {"x": np.arange(3.0)})
    elif kind == "report":
        from gradfit.outputs.report import write_report

        write_report(r, target)
    elif kind == "figure":
        from gradfit.outputs.plots import save_figure, tutorial_figure

        save_figure(tutorial_figure(r.model, [1, 2, 3], [3, 5, 7], [4], [9]), target)

"""Ctrl-C at any moment: no traceback, nothing swallowed, and the printed command resumes bit for bit.

Real processes and real SIGINTs: every optimizer (plain, momentum, Nesterov, the accelerated default,
a schedule, mini-batch SGD and SGD with invscaling) is interrupted at seeded random moments, from the
interpreter's start-up to after the last iteration, and the command it prints is run: its output must
be exactly the uninterrupted run's. The moments that cannot be hit reliably by a timer (a Ctrl-C that a
library swallows, one after the last iteration) are forced in-process.
"""

from __future__ import annotations

import os
import random
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from patience import patience

import gradfit
from gradfit.errors import EXIT_INTERRUPTED
from gradfit.training import checkpoint

SRC = str(Path(__file__).resolve().parents[1] / "src")
COMMON = ["--x", "a", "--x", "b", "--x", "c", "--y", "y", "--tol", "none", "--quiet"]
# Runs long enough (~0.5 s of descent after the first checkpoint, at ~10 µs an iteration) that most of the
# interrupting moments, 0 to 0.3 s after it, land mid-run.
OPTIMIZERS = {   # options, and --every (the first checkpoint written says the descent is under way)
    "gd": (["--lr", "0.001", "--iters", "40000"], 800),
    "momentum": (["--lr", "0.0005", "--optimizer", "momentum", "--iters", "40000"], 800),
    "nesterov": (["--lr", "0.0005", "--optimizer", "nesterov", "--iters", "40000"], 800),
    "accelerated": (["--iters", "40000"], 800),
    "gd-invscaling": (["--lr", "0.05", "--learning-rate", "invscaling", "--power-t", "0.5", "--iters", "40000"], 800),
    "sgd": (["--lr", "0.001", "--optimizer", "sgd", "--batch-size", "16", "--epochs", "150", "--seed", "7"], 5),
    "sgd-invscaling": (["--lr", "0.01", "--optimizer", "sgd", "--batch-size", "8", "--epochs", "100", "--seed", "3",
                        "--learning-rate", "invscaling"], 5),
}
MOMENTS_PER_OPTIMIZER = 2


def write_data(path: Path, n: int = 300, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [1.0, 3.0, 0.5] + [2.0, -1.0, 0.0]
    y = X @ [1.0, 2.0, 3.0] + 0.5 + rng.normal(size=n)
    path.write_text("a,b,c,y\n" + "".join(",".join(map(repr, [*r, t])) + "\n" for r, t in zip(X.tolist(), y.tolist())))
    return path


def gradfit_process(args, cwd) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gradfit", *map(str, args)], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": SRC})


def printed_command(err: str) -> list[str] | None:
    for line in err.splitlines():
        for lead in ("Resume with: ", "Write the results, without descending again, with: "):
            if line.startswith(lead):
                words = shlex.split(line[len(lead):])
                assert words[0] == "gradfit"
                return words[1:]
    return None


@pytest.mark.slow
def test_sigint_at_random_moments_then_the_printed_command_gives_the_same_bits(cli, tmp_path, monkeypatch):
    """Interrupted runs of every optimizer, resumed with the command they print, end with the same output.

    Each run is interrupted a seeded random time (0 to 0.3 s) after its first checkpoint appears, so
    that the moments fall mid-descent whatever the machine's load; the start-up is tested below."""
    data = write_data(tmp_path / "d.csv")
    monkeypatch.chdir(tmp_path)
    rng = random.Random(2014)
    runs = []
    for name, (opts, every) in OPTIMIZERS.items():
        for k in range(MOMENTS_PER_OPTIMIZER):
            ck = tmp_path / f"{name}-{k}.json"
            proc = gradfit_process(["fit", data, *COMMON, *opts, "--checkpoint", ck, "--every", every], tmp_path)
            runs.append({"name": name, "ck": ck, "delay": rng.uniform(0.0, 0.3), "proc": proc, "seen": None})
    # Until every run has been signalled or has ended by itself (no deadline: each run ends, on any machine).
    while any(r["seen"] is not False for r in runs):
        for r in runs:
            if r["seen"] is False:
                continue
            if r["proc"].poll() is not None:
                r["seen"] = False                  # finished before its moment came
            elif r["seen"] is None and r["ck"].exists():
                r["seen"] = time.monotonic()
            elif r["seen"] is not None and time.monotonic() >= r["seen"] + r["delay"]:
                r["proc"].send_signal(signal.SIGINT)
                r["seen"] = False
        time.sleep(0.005)
    # The uninterrupted runs, and the resumed ones, run in this process (as `gradfit` would).
    expected = {}
    for name, (opts, _) in OPTIMIZERS.items():
        straight = cli("fit", data, *COMMON, *opts)
        assert straight.code == 0, straight.err
        expected[name] = straight.out
    kinds = {"resumed": 0, "finished first": 0}
    for r in runs:
        name, proc = r["name"], r["proc"]
        out, err = proc.communicate(timeout=patience(300))
        assert "Traceback" not in err and "Exception ignored" not in err, err
        if proc.returncode == 0:                       # the signal came after the command had finished
            assert out == expected[name]
            kinds["finished first"] += 1
            continue
        assert proc.returncode == EXIT_INTERRUPTED, (name, err)
        command = printed_command(err)
        assert command is not None and "--resume" in command, err
        again = cli(*command)
        assert again.code == 0, again.err
        assert again.out == expected[name], name
        kinds["resumed"] += 1
    assert kinds["resumed"] >= len(OPTIMIZERS), kinds   # most moments land mid-run


@pytest.mark.slow
def test_ctrl_c_while_starting_is_quiet(tmp_path):
    """Ctrl-C from gradfit's first line on, through its imports and the parsing of the command line: no traceback.

    The moment is counted from an event, the interpreter reporting the first of gradfit's modules imported
    (``-X importtime`` writes one line per module), not from the process's start, whose length depends on
    the machine's load: before gradfit's first line CPython itself is starting (site, .pth files, runpy) and
    no program can install a handler there."""
    data = write_data(tmp_path / "d.csv", n=20)
    rng = random.Random(7)
    for delay in [0.0, *(rng.uniform(0.0, 0.3) for _ in range(5))]:
        proc = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "gradfit", "fit", str(data), *COMMON],
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONPATH": SRC})
        seen = []
        while not any("| gradfit." in line for line in seen[-1:]):
            line = proc.stderr.readline()
            if not line:
                break
            seen.append(line)
        time.sleep(delay)                      # the moment after the event, not a wait for it
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=patience(600))
        err = "".join(seen) + err
        assert proc.returncode in (EXIT_INTERRUPTED, 0), (delay, err[-2000:])      # never killed by the signal
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, (delay, err[-2000:])


# --- SIGTERM and SIGHUP: kill, timeout, docker stop, a batch scheduler's limit, a closed ssh session --------

STOPPING_SIGNALS = [signal.SIGTERM, signal.SIGHUP]


@pytest.mark.slow
@pytest.mark.parametrize("signum", STOPPING_SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_sigterm_or_sighup_mid_fit_writes_a_checkpoint_whose_command_resumes_bit_for_bit(cli, tmp_path, monkeypatch,
                                                                                         signum):
    """The signal is sent once the first periodic checkpoint exists (the descent is under way): an event, no clock."""
    data = write_data(tmp_path / "d.csv")
    monkeypatch.chdir(tmp_path)
    opts, every = OPTIMIZERS["momentum"]
    ck = tmp_path / "ck.json"
    proc = gradfit_process(["fit", data, *COMMON, *opts, "--checkpoint", ck, "--every", every], tmp_path)
    while not ck.exists() and proc.poll() is None:
        time.sleep(0.002)                        # polling for the event; no bound on how long it takes to come
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=patience(600))
    straight = cli("fit", data, *COMMON, *opts)
    if proc.returncode == 0:                     # a very fast machine finished first: nothing to resume
        assert out == straight.out
        return
    assert proc.returncode == 128 + signum, err
    assert "Traceback" not in err and out == ""
    command = printed_command(err)
    assert command is not None and "--resume" in command, err
    again = cli(*command)
    assert again.code == 0, again.err
    assert again.out == straight.out


SIGNAL_AT_ITERATION = """
import os, signal, sys
signum, at = int(sys.argv.pop(1)), int(sys.argv.pop(1))
from gradfit.cli import main
from gradfit.training import progress
real = progress.ProgressBar.__call__
def call(self, state):                 # the signal a real process receives, at a known iteration
    if state.iteration == at:
        os.kill(os.getpid(), signum)
    return real(self, state)
progress.ProgressBar.__call__ = call
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, *STOPPING_SIGNALS], ids=lambda s: signal.Signals(s).name)
def test_a_stopping_signal_without_every_writes_the_checkpoint_and_says_which_signal(cli, tmp_path, monkeypatch,
                                                                                     signum):
    data = write_data(tmp_path / "d.csv", n=60)
    monkeypatch.chdir(tmp_path)
    args = ["fit", str(data), *COMMON, "--lr", "0.001", "--iters", "3000", "--checkpoint", "ck.json"]
    proc = subprocess.run([sys.executable, "-c", SIGNAL_AT_ITERATION, str(int(signum)), "1234", *args],
                          capture_output=True, text=True, timeout=patience(600), cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": SRC})
    assert proc.returncode == 128 + signum, proc.stderr
    saved = checkpoint.load(tmp_path / "ck.json").iteration
    assert saved in (1233, 1234)                 # the signal came in iteration 1234's callbacks
    assert f"Interrupted after iteration {saved};" in proc.stderr and "Traceback" not in proc.stderr
    command = printed_command(proc.stderr)
    again = cli(*command)
    assert again.code == 0 and again.out == cli(*args[:-2]).out


# --- moments forced in-process ----------------------------------------------------------------------

@pytest.fixture
def small(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return write_data(tmp_path / "d.csv", n=60)


def test_ctrl_c_while_the_results_are_written_keeps_the_finished_run(cli, small, monkeypatch, tmp_path):
    args = ["fit", small, *COMMON, "--lr", "0.001", "--iters", "500", "--checkpoint", tmp_path / "ck.json"]
    straight = cli(*args[:-2])
    import gradfit.cli as cli_module

    real = cli_module.render_fit

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module, "render_fit", interrupted)
    res = cli(*args)
    assert res.code == EXIT_INTERRUPTED and "Traceback" not in res.err
    assert "after the run had finished (iteration 500)" in res.err
    command = printed_command(res.err)
    assert checkpoint.load(tmp_path / "ck.json").iteration == 500
    monkeypatch.setattr(cli_module, "render_fit", real)
    again = cli(*command)
    assert again.code == 0 and again.out == straight.out


def test_ctrl_c_between_the_descent_and_the_metrics_keeps_the_finished_run(small, monkeypatch, tmp_path):
    fit_module = sys.modules["gradfit.fit"]

    X = np.loadtxt(small, delimiter=",", skiprows=1)
    options = dict(lr=0.001, iters=300, tol=None)
    straight = gradfit.fit(X[:, :3], X[:, 3], **options)
    real = fit_module.regression_metrics

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(fit_module, "regression_metrics", interrupted)
    with pytest.raises(gradfit.Interrupted) as info:
        gradfit.fit(X[:, :3], X[:, 3], checkpoint=tmp_path / "ck.json", **options)
    assert info.value.finished and info.value.iteration == 300
    monkeypatch.setattr(fit_module, "regression_metrics", real)
    resumed = gradfit.fit(X[:, :3], X[:, 3], resume=tmp_path / "ck.json", **options)
    assert resumed.model.theta.tobytes() == straight.model.theta.tobytes()
    assert resumed.n_iter == straight.n_iter and resumed.stop_reason == straight.stop_reason


def test_a_resumed_run_that_had_met_its_stopping_rule_stops_where_it_did(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(80, 2))
    y = X @ [1.0, -2.0] + rng.normal(size=80)
    options = dict(lr=0.01, iters=5000, tol=1e-6, stop="loss", n_iter_no_change=5)
    straight = gradfit.fit(X, y, **options)
    assert straight.n_iter < 5000
    gradfit.fit(X, y, checkpoint=tmp_path / "ck.json", every=10**6, **options)   # written at the end: the final state
    resumed = gradfit.fit(X, y, resume=tmp_path / "ck.json", **options)
    assert resumed.n_iter == straight.n_iter and resumed.model.theta.tobytes() == straight.model.theta.tobytes()


def test_a_ctrl_c_that_a_library_swallows_still_stops_the_run(cli, small, monkeypatch, tmp_path):
    """pyarrow imports pandas inside a Cython function that cannot raise: a Ctrl-C there is 'ignored'."""
    import gradfit.data.files as files

    real = files.open_files

    class Swallows:
        def __del__(self):                       # an exception here can only be reported, as in pyarrow's shim
            signal.raise_signal(signal.SIGINT)
            sum(range(10))                       # the handler runs between bytecodes, inside __del__

    def open_files_swallowing(*a, **k):
        Swallows()
        return real(*a, **k)

    monkeypatch.setattr(files, "open_files", open_files_swallowing)
    res = cli("fit", small, *COMMON, "--lr", "0.001", "--iters", "100000")
    assert res.code == EXIT_INTERRUPTED, res.err
    assert "Traceback" not in res.err and "Exception ignored" not in res.err and "Interrupted" in res.err
    assert res.out == ""


CTRL_C_DURING_IMPORT = """
import signal, sys
target = sys.argv.pop(1)
class CtrlCDuringImport:           # SIGINT at the moment the module is looked for: inside the importer
    def find_spec(self, name, path=None, target_=None):
        if name == target:
            sys.meta_path.remove(self)
            signal.raise_signal(signal.SIGINT)
        return None
from gradfit.cli import main
sys.meta_path.insert(0, CtrlCDuringImport())
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("module", ["pyarrow", "pyarrow.lib", "pyarrow.csv", "pyarrow._csv"])
@pytest.mark.slow
def test_ctrl_c_during_the_lazy_imports_of_reading_a_file_stops_the_run(small, module):
    """pyarrow is imported lazily, the first time a file is read: a Ctrl-C there stops the run too."""
    proc = subprocess.run([sys.executable, "-c", CTRL_C_DURING_IMPORT, module, "fit", str(small), *COMMON],
                          capture_output=True, text=True, timeout=patience(120), env={**os.environ, "PYTHONPATH": SRC})
    assert proc.returncode == EXIT_INTERRUPTED, proc.stderr
    assert "Interrupted" in proc.stderr and "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    assert proc.stdout == ""


# --- the data a checkpoint was written for ---------------------------------------------------------

def test_resume_refuses_other_data_with_the_same_columns(cli, tmp_path):
    first = write_data(tmp_path / "first.csv", seed=1)
    other = write_data(tmp_path / "other.csv", seed=2)
    fewer = write_data(tmp_path / "fewer.csv", n=299, seed=1)
    args = [*COMMON, "--lr", "0.001", "--iters", "50"]
    assert cli("fit", first, *args, "--checkpoint", tmp_path / "ck.json", "--every", "10").code == 0
    for data, phrase in ((other, "column 'a' has mean"), (fewer, "300 rows then, 299 now")):
        res = cli("fit", data, *args[:-1], "80", "--resume", tmp_path / "ck.json")
        assert res.code == 1 and "written for other data" in res.err and phrase in res.err, res.err
    assert cli("fit", first, *args[:-1], "80", "--resume", tmp_path / "ck.json").code == 0


def test_resume_refuses_the_same_rows_in_another_order(tmp_path):
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(500, 2)), rng.normal(size=500)
    options = dict(lr=0.01, epochs=3, optimizer="sgd", batch_size=10, tol=None)
    gradfit.fit(X, y, checkpoint=tmp_path / "ck.json", every=1, **options)
    order = rng.permutation(500)
    with pytest.raises(gradfit.DataError, match="other rows"):
        gradfit.fit(X[order], y[order], resume=tmp_path / "ck.json", **{**options, "epochs": 5})


def test_resume_of_streamed_files_checks_the_summary(tmp_path):
    for i in range(3):
        write_data(tmp_path / f"part{i}.csv", n=100, seed=i)
    scan = gradfit.open_files(str(tmp_path / "part*.csv"), ["a", "b", "c"], "y")
    options = dict(lr=0.01, iters=20, tol=None, engine="stream")
    gradfit.fit(scan, None, checkpoint=tmp_path / "ck.json", every=5, **options)
    write_data(tmp_path / "part2.csv", n=100, seed=9)
    scan = gradfit.open_files(str(tmp_path / "part*.csv"), ["a", "b", "c"], "y")
    with pytest.raises(gradfit.DataError, match="written for other data"):
        gradfit.fit(scan, None, resume=tmp_path / "ck.json", **{**options, "iters": 30})


def test_ctrl_c_where_the_checkpoint_cannot_be_written_says_so(cli, small, monkeypatch):
    """The default checkpoint goes to the current directory, which is not checked up front (it is only written
    on Ctrl-C): if it cannot be written then, the message says so instead of a bare write error."""
    import gradfit.cli as cli_module
    from gradfit.errors import DataError
    from gradfit.training.interrupts import CtrlC

    def cannot_save(path, state):
        raise DataError(f"Cannot write '{path}': permission denied.")

    class CtrlCAtIteration3(CtrlC):
        def __call__(self, state=None):
            if state is not None and state.iteration == 3:
                raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint, "save", cannot_save)
    monkeypatch.setattr(cli_module, "CTRL_C", CtrlCAtIteration3())
    res = cli("fit", small, *COMMON, "--lr", "0.001", "--iters", "100")
    assert res.code == EXIT_INTERRUPTED, res.err
    assert "Interrupted after iteration 2, but its state could not be saved: Cannot write" in res.err  # 3 was not recorded yet
    assert "Traceback" not in res.err


def test_a_fingerprint_whose_sums_overflow_is_written_and_compared():
    """Sums of squares of values near 1e308 overflow: null in the JSON, equal only to the same overflow."""
    big = checkpoint.fingerprint(4, ["x", "y"], [1e308, 2.0], [np.inf, 1.0])
    assert big["scale"] == [None, 1.0]
    saved = checkpoint.Checkpoint(1, np.zeros(2), {"count": 1}, {}, data=big)
    checkpoint.check_same_data(saved, checkpoint.fingerprint(4, ["x", "y"], [1e308, 2.0], [np.inf, 1.0]), "ck.json")
    with pytest.raises(gradfit.DataError, match="written for other data"):
        checkpoint.check_same_data(saved, checkpoint.fingerprint(4, ["x", "y"], [1e308, 2.0], [1e300, 1.0]), "ck.json")

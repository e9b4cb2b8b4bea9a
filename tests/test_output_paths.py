"""Output paths through the CLI: what can be checked is checked before the work starts, the rest is a message.

A missing directory, a path that is a directory or a file used as a directory, and a read-only file
system fail at once (exit 1, nothing printed on stdout: no fit ran); a device is written to and stays
a device; a full disk (``/dev/full``, a small tmpfs) is the usual message, exit 1, the old file intact
and no temporary file left. As root, permission bits do not stop writes, so "read-only" is a private
read-only tmpfs (``unshare --mount``); where one cannot be mounted the test says why and is skipped.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from patience import patience

SRC = str(Path(__file__).resolve().parents[1] / "src")
FIT = ["fit", "DATA", "--x", "x", "--y", "y", "--quiet"]

# (output option, path relative to a scratch directory, phrase of the message)
EARLY = [
    ("--model", "nodir/m.json", "does not exist"),
    ("--history", "nodir/h.csv", "does not exist"),
    ("--checkpoint", "nodir/c.json", "does not exist"),
    ("--model", "adir", "it is a directory"),
    ("--history", "adir", "it is a directory"),
    ("--checkpoint", "adir", "it is a directory"),
    ("--model", "afile/m.json", "is a file, not a directory"),
    ("--history", "afile/h.json", "is a file, not a directory"),
]


@pytest.fixture
def scratch(tmp_path) -> Path:
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("a file\n")
    (tmp_path / "d.csv").write_text("x,y\n1,3\n2,5\n3,7\n4,9.5\n")
    return tmp_path


def fit_args(data: Path, *extra) -> list[str]:
    return [str(data) if a == "DATA" else a for a in FIT] + [str(e) for e in extra]


@pytest.mark.parametrize("option, where, phrase", EARLY, ids=[f"{o} {w}" for o, w, _ in EARLY])
@pytest.mark.slow
def test_an_output_that_cannot_be_written_fails_before_the_fit(cli, scratch, option, where, phrase):
    extra = ["--every", "5"] if option == "--checkpoint" else []
    res = cli(*fit_args(scratch / "d.csv", option, scratch / where, *extra))
    assert res.code == 1, res.err
    assert phrase in res.err and where in res.err and "Traceback" not in res.err
    assert res.out == ""                                   # nothing ran: no fit printed
    assert sorted(os.listdir(scratch)) == ["adir", "afile", "d.csv"] and os.listdir(scratch / "adir") == []


@pytest.mark.parametrize("command", [
    ["predict", "MODEL", "DATA", "--out", "adir"],
    ["report", "--out", "nodir/r.html"],
    ["descend", "x**2", "--start", "1", "--plot", "afile"],
    ["explain", "--plot", "afile"],
    ["demo", "--out", "afile"],
])
def test_other_commands_check_their_outputs_first(cli, scratch, command):
    import gradfit

    gradfit.save_model(gradfit.LinearModel((2.0,), 1.0, ("x",)), scratch / "adir" / "m.json")
    args = [str(scratch / "adir" / "m.json") if a == "MODEL" else str(scratch / "d.csv") if a == "DATA"
            else str(scratch / a) if a in ("adir", "afile", "nodir/r.html") else a for a in command]
    res = cli(*args)
    assert res.code in (1, 2), res.err
    assert "Traceback" not in res.err and res.out == ""
    assert str(scratch / command[-1]) in res.err


def test_demo_creates_a_missing_output_directory(cli, tmp_path):
    res = cli("demo", "--out", tmp_path / "new" / "figures")
    assert res.code == 0, res.err
    assert (tmp_path / "new" / "figures" / "tutorial.png").stat().st_size > 1000


@pytest.mark.parametrize("option", ["--model", "--history", "--checkpoint"])
def test_dev_null_is_written_to_and_stays_a_device(cli, scratch, option):
    extra = ["--every", "5"] if option == "--checkpoint" else []
    res = cli(*fit_args(scratch / "d.csv", option, "/dev/null", *extra))
    assert res.code == 0, res.err
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.parametrize("option", ["--model", "--history", "--checkpoint"])
def test_dev_full_is_a_message_and_stays_a_device(cli, scratch, option):
    extra = ["--every", "5"] if option == "--checkpoint" else []
    res = cli(*fit_args(scratch / "d.csv", option, "/dev/full", *extra))
    assert res.code == 1, res.err
    assert "no space is left on its device" in res.err and "Traceback" not in res.err
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


# --- a file system of our own: read-only, or nearly full -----------------------------------------

IN_TMPFS = """
import json, os, subprocess, sys
where, args = sys.argv[1], json.loads(sys.argv[2])
proc = subprocess.run([sys.executable, "-m", "gradfit", *args], capture_output=True, text=True)
print(json.dumps({"code": proc.returncode, "out": proc.stdout, "err": proc.stderr,
                  "files": sorted(os.listdir(where)), "old": open(where + "/old.json").read()}))
"""


def in_tmpfs(tmp_path: Path, options: str, args: list[str], size: str = "1m") -> dict:
    """Mount a private tmpfs holding old.json (then remount it with ``options``) and run gradfit ARGS there."""
    where = tmp_path / "mnt"
    where.mkdir()
    unshare = ["unshare", "--mount"] + ([] if os.geteuid() == 0 else ["--map-root-user"])
    script = (f'mount -t tmpfs -o size={size} gradfit-test "$1" && printf old > "$1/old.json" && '
              f'mount -o remount,{options} "$1" && shift && exec "$@"')
    args = [a.replace("MNT", str(where)) for a in args]
    try:
        proc = subprocess.run([*unshare, "sh", "-c", script, "sh", str(where), sys.executable, "-c", IN_TMPFS,
                               str(where), json.dumps(args)],
                              capture_output=True, text=True, timeout=patience(120), env={**os.environ, "PYTHONPATH": SRC})
    except FileNotFoundError:
        pytest.skip("needs unshare (util-linux) to mount a private tmpfs")
    if proc.returncode != 0 and not proc.stdout:
        pytest.skip(f"cannot mount a private tmpfs here (root or user namespaces needed): {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("option, name", [("--model", "old.json"), ("--history", "h.csv"),
                                          ("--checkpoint", "c.json"), ("--plot", "figures")])
@pytest.mark.slow
def test_a_read_only_file_system_is_named_before_the_fit(scratch, option, name):
    extra = ["--every", "5"] if option == "--checkpoint" else []
    result = in_tmpfs(scratch, "ro", fit_args(scratch / "d.csv", option, f"MNT/{name}", *extra))
    assert result["code"] in (1, 2), result["err"]
    assert "read-only file system" in result["err"].lower() and "Traceback" not in result["err"]
    assert result["out"] == "" and result["files"] == ["old.json"] and result["old"] == "old"


@pytest.mark.slow
def test_a_full_disk_is_a_message_after_the_fit_and_the_old_file_stays(scratch):
    # A history of 3000 iterations is ~200 kB: it does not fit on a 64 kB tmpfs.
    args = fit_args(scratch / "d.csv", "--lr", "0.001", "--iters", "3000", "--tol", "none", "--history", "MNT/old.json")
    result = in_tmpfs(scratch, "size=64k", args)
    assert result["code"] == 1, result["err"]
    assert "no space is left on its device" in result["err"] and "unchanged" in result["err"]
    assert "Traceback" not in result["err"]
    assert result["files"] == ["old.json"] and result["old"] == "old"     # no temporary file left behind


# --- an output that names an input, or another output: refused before any work ---------------------

# (the command, with DATA, TEST, MODEL and the spelling of the clashing path OUT) and what OUT must be
SAME_FILE = [
    (["fit", "DATA", "--x", "x", "--y", "y", "--model", "OUT"], "DATA"),
    (["fit", "DATA", "--x", "x", "--y", "y", "--history", "OUT"], "DATA"),
    (["fit", "DATA", "--x", "x", "--y", "y", "--checkpoint", "OUT", "--every", "1"], "DATA"),
    (["fit", "DATA", "--x", "x", "--y", "y", "--checkpoint", "OUT"], "DATA"),
    (["fit", "DATA", "--x", "x", "--y", "y", "--test", "TEST", "--model", "OUT"], "TEST"),
    (["fit", "DATA", "--x", "x", "--y", "y", "--cv", "3", "--penalty", "l2", "--model", "OUT"], "DATA"),
    (["fit", "PARQUET", "--x", "x", "--y", "y", "--model", "OUT"], "PARQUET"),
    (["fit", "DIR", "--x", "x", "--y", "y", "--model", "OUT"], "DATA"),
    (["fit", "GLOB", "--x", "x", "--y", "y", "--model", "OUT"], "DATA"),
    (["fit", "DATA", "--x", "x", "--y", "y", "--resume", "CK", "--model", "OUT"], "CK"),
    (["predict", "MODEL", "DATA", "--out", "OUT"], "DATA"),
    (["predict", "MODEL", "DATA", "--out", "OUT"], "MODEL"),
    (["report", "DATA", "--x", "x", "--y", "y", "--out", "OUT"], "DATA"),
    (["fit", "DATA", "--x", "x", "--y", "y", "--model", "MODEL", "--checkpoint", "OUT"], "MODEL"),
    (["fit", "DATA", "--x", "x", "--y", "y", "--model", "MODEL", "--history", "OUT"], "MODEL"),
]
SPELLINGS = ["as given", "./sub/../", "symlink", "hard link"]


@pytest.fixture
def inputs(tmp_path, monkeypatch) -> Path:
    import gradfit

    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "dir").mkdir()
    rows = "x,y\n1,3\n2,5\n3,7\n4,9.5\n5,11\n6,13.5\n"
    for name in ("d.csv", "t.csv", "dir/d.csv"):
        (tmp_path / name).write_text(rows)
    gradfit.save_model(gradfit.LinearModel((2.0,), 1.0, ("x",)), tmp_path / "m.json")
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"x": [1.0, 2, 3, 4, 5], "y": [3.0, 5, 7, 9.5, 11]}), tmp_path / "d.parquet")
    gradfit.fit([1.0, 2, 3, 4, 5, 6], [3.0, 5, 7, 9.5, 11, 13.5], iters=3, tol=None,
                checkpoint=tmp_path / "ck.json", every=1)
    return tmp_path


def spelled(name: str, spelling: str, root: Path) -> str:
    if spelling == "as given":
        return name
    if spelling == "./sub/../":
        return f"./sub/../{name}"
    alias = f"alias-{Path(name).name}"
    (root / alias).symlink_to(name) if spelling == "symlink" else os.link(root / name, root / alias)
    return alias


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("command, clash", SAME_FILE, ids=[f"{' '.join(c[:1] + c[-2:])}={w}" for c, w in SAME_FILE])
def test_an_output_that_is_an_input_or_another_output_is_refused_before_any_work(cli, inputs, command, clash, spelling):
    files = {"DATA": "d.csv", "TEST": "t.csv", "MODEL": "m.json", "PARQUET": "d.parquet", "CK": "ck.json",
             "DIR": "dir", "GLOB": "dir/*.csv"}
    target = "dir/d.csv" if command[1] in ("DIR", "GLOB") else files[clash]
    out = spelled(target, spelling, inputs)
    before = {name: (inputs / name).read_bytes() for name in ("d.csv", "t.csv", "m.json", "d.parquet", "ck.json",
                                                                "dir/d.csv")}
    listing = sorted(os.listdir(inputs))
    res = cli(*[out if a == "OUT" else files.get(a, a) for a in command])
    assert res.code == 1, res.err
    assert "is the same file as" in res.err and out.lstrip("./") in res.err and "Traceback" not in res.err, res.err
    assert res.out == ""                                         # nothing ran
    assert {name: (inputs / name).read_bytes() for name in before} == before
    assert sorted(os.listdir(inputs)) == listing


def test_resume_may_update_its_own_checkpoint_and_two_devices_are_not_one_file(cli, inputs):
    res = cli("fit", "d.csv", "--x", "x", "--y", "y", "--iters", "5", "--tol", "none", "--checkpoint", "ck.json",
              "--every", "1", "--resume", "ck.json", "--model", "/dev/null", "--history", "/dev/null", "--quiet")
    assert res.code == 0, res.err
    assert json.loads((inputs / "ck.json").read_text())["iteration"] == 5


def test_two_inputs_may_be_one_file(cli, inputs):
    res = cli("fit", "d.csv", "--x", "x", "--y", "y", "--test", "./sub/../d.csv", "--model", "new.json", "--quiet")
    assert res.code == 0, res.err
    assert (inputs / "new.json").exists()

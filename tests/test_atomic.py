"""Output files: atomic for files, direct for devices and streams, a clear message for every failure, no litter."""

from __future__ import annotations

import json
import os
import random
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from patience import patience

import gradfit
from gradfit import atomic
from gradfit.atomic import check_writable, write_bytes, write_text
from gradfit.errors import DataError

SRC = str(Path(gradfit.__file__).resolve().parents[1])   # the subprocesses import this same copy of gradfit


def python(code: str, *args, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env, timeout=patience(60), **kwargs)


def files_in(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


# --- regular files -----------------------------------------------------------------------------

def test_a_new_file_gets_the_mode_open_would_give_and_no_litter(tmp_path):
    umask = os.umask(0o022)
    try:
        write_text(tmp_path / "model.json", "{}\n")
    finally:
        os.umask(umask)
    assert (tmp_path / "model.json").read_text() == "{}\n"
    assert stat.S_IMODE(os.stat(tmp_path / "model.json").st_mode) == 0o644
    assert files_in(tmp_path) == ["model.json"]


def test_replacing_a_file_keeps_its_mode(tmp_path):
    target = tmp_path / "model.json"
    target.write_text("old")
    target.chmod(0o640)
    write_text(target, "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640


def test_a_symlink_is_replaced_itself_and_the_file_it_named_is_left_alone(tmp_path):
    # The rename replaces the link, never what it points at: a link cannot send a write elsewhere.
    (tmp_path / "real.json").write_text("old")
    (tmp_path / "link.json").symlink_to("real.json")
    write_text(tmp_path / "link.json", "new")
    assert not (tmp_path / "link.json").is_symlink()
    assert (tmp_path / "link.json").read_text() == "new"
    assert (tmp_path / "real.json").read_text() == "old"
    assert files_in(tmp_path) == ["link.json", "real.json"]


def test_a_dangling_symlink_is_replaced_and_creates_nothing_where_it_pointed(tmp_path):
    (tmp_path / "link.json").symlink_to("real.json")
    write_text(tmp_path / "link.json", "new")
    assert not (tmp_path / "link.json").is_symlink() and (tmp_path / "link.json").read_text() == "new"
    assert files_in(tmp_path) == ["link.json"]


def test_the_same_through_a_symlinked_directory_uses_the_directory_as_given(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to("real")
    write_text(tmp_path / "alias" / "m.json", "new")
    assert (tmp_path / "real" / "m.json").read_text() == "new" and files_in(tmp_path / "real") == ["m.json"]


# --- links another user planted in a shared directory (the kernel's protected_symlinks rule) --------

OTHER_UID = 65534          # nobody


@pytest.fixture
def shared(tmp_path) -> Path:
    """A private directory with the permissions of /tmp (sticky, writable by all), for links of another user."""
    if os.geteuid() != 0:
        pytest.skip("making a link owned by another user (os.lchown) needs root; run the suite as root to check this")
    directory = tmp_path / "shared"
    directory.mkdir()
    directory.chmod(0o1777)
    return directory


def plant_link(directory: Path, name: str, target: Path) -> Path:
    link = directory / name
    link.symlink_to(target)
    os.lchown(link, OTHER_UID, OTHER_UID)
    return link


def test_a_link_another_user_planted_in_a_sticky_directory_is_refused(shared, tmp_path):
    victim = tmp_path / "victim.conf"
    victim.write_text("root's file\n")
    victim.chmod(0o600)
    link = plant_link(shared, "model.json", victim)
    for write in (lambda: write_text(link, "{}\n"), lambda: check_writable(link)):
        with pytest.raises(DataError, match=r"another user \(uid 65534\).*does not write through it"):
            write()
    assert victim.read_text() == "root's file\n" and stat.S_IMODE(victim.stat().st_mode) == 0o600
    assert link.is_symlink() and files_in(shared) == ["model.json"]


def test_a_dangling_link_another_user_planted_creates_nothing(shared, tmp_path):
    link = plant_link(shared, "model.json", tmp_path / "chosen-by-the-attacker")
    with pytest.raises(DataError, match="another user"):
        write_text(link, "{}\n")
    assert not (tmp_path / "chosen-by-the-attacker").exists() and files_in(shared) == ["model.json"]


def test_a_link_to_a_device_another_user_planted_is_not_written_to(shared, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    link = plant_link(shared, "out.csv", fifo)
    with pytest.raises(DataError, match="another user"):
        write_text(link, "x\n")        # would block on the FIFO if it were opened


def test_a_link_planted_after_the_check_is_replaced_not_followed(shared, tmp_path):
    # The fit ran between check_writable and the write: the attacker's link arrived in that window.
    victim = tmp_path / "victim.conf"
    victim.write_text("root's file\n")
    check_writable(shared / "model.json")
    link = plant_link(shared, "model.json", victim)
    with pytest.raises(DataError, match="another user"):
        write_text(link, "{}\n")
    link.unlink()
    (shared / "model.json").symlink_to(victim)          # root's own link: allowed, and the link itself is replaced
    write_text(shared / "model.json", "{}\n")
    assert victim.read_text() == "root's file\n" and (shared / "model.json").read_text() == "{}\n"


def test_the_cli_refuses_an_output_that_is_another_users_link(shared, tmp_path, cli):
    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,3\n2,5\n3,7.5\n")
    victim = tmp_path / "victim.conf"
    victim.write_text("root's file\n")
    link = plant_link(shared, "m.json", victim)
    res = cli("fit", data, "--x", "x", "--y", "y", "--model", link, "--quiet")
    assert res.code == 1 and "another user" in res.err and str(link) in res.err and res.out == ""
    assert victim.read_text() == "root's file\n"


def test_a_name_as_long_as_the_file_system_allows_still_gets_a_temporary_file(tmp_path):
    target = tmp_path / ("m" * 250)
    write_text(target, "new")
    assert target.read_text() == "new"
    assert files_in(tmp_path) == [target.name]


# --- what is not a regular file -------------------------------------------------------------------

def device(tmp_path: Path, name: str) -> Path:
    """A private copy of /dev/null or /dev/full where we may create one (root), else the real one.

    As root a regression (a rename over the node) would replace the machine's own /dev/null; the
    private node takes that risk instead. A user who cannot mknod cannot replace /dev entries either.
    """
    node = tmp_path / name
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, {"null": 3, "full": 7}[name]))
        os.close(os.open(node, os.O_WRONLY))        # a nodev mount refuses to open it
        return node
    except OSError:
        node.unlink(missing_ok=True)
        return Path("/dev") / name


def test_dev_null_is_written_to_not_replaced(tmp_path):
    null = device(tmp_path, "null")
    before = os.stat(null)
    write_text(null, "discarded\n")
    check_writable(null)
    after = os.stat(null)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino


def test_dev_full_says_the_device_is_full_and_stays_a_device(tmp_path):
    full = device(tmp_path, "full")
    with pytest.raises(DataError, match="no space is left on its device") as info:
        write_text(full, "never stored\n")
    assert str(full) in str(info.value)
    assert stat.S_ISCHR(os.stat(full).st_mode)


def test_a_fifo_is_written_to_for_its_reader(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    write_text(fifo, "through the pipe\n")
    reader.join(5)
    assert received == [b"through the pipe\n"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert files_in(tmp_path) == ["pipe"]


STDOUT_WRITER = """
import sys
from gradfit.atomic import write_text
print("printed before", flush=False)
write_text(sys.argv[1], "written through the link\\n")
print("printed after")
"""


@pytest.mark.parametrize("stdout_is", ["a pipe", "a regular file"])
@pytest.mark.slow
def test_a_link_to_dev_stdout_writes_to_the_output_in_order(tmp_path, stdout_is):
    # A private link to /dev/stdout: a regression replaces the link, never the machine's /dev/stdout.
    link = tmp_path / "out"
    link.symlink_to("/dev/stdout")
    expected = "printed before\nwritten through the link\nprinted after\n"
    if stdout_is == "a pipe":
        proc = python(STDOUT_WRITER, link, capture_output=True, text=True)
        output = proc.stdout
    else:
        with open(tmp_path / "captured.txt", "w") as captured:
            inode = os.fstat(captured.fileno()).st_ino
            proc = python(STDOUT_WRITER, link, stdout=captured, stderr=subprocess.PIPE, text=True)
        output = (tmp_path / "captured.txt").read_text()
        assert os.stat(tmp_path / "captured.txt").st_ino == inode      # the shell's file, not a new one
    assert proc.returncode == 0, proc.stderr
    assert output == expected
    assert os.readlink(link) == "/dev/stdout"


def test_a_directory_is_refused_before_and_at_the_write(tmp_path):
    (tmp_path / "models").mkdir()
    for attempt in (check_writable, lambda p: write_text(p, "x")):
        with pytest.raises(DataError, match="it is a directory. Give the path of a file"):
            attempt(tmp_path / "models")
    assert files_in(tmp_path / "models") == []


def test_a_socket_is_refused(tmp_path):
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock"))
        with pytest.raises(DataError, match="it is a socket"):
            write_text(tmp_path / "sock", "x")
    assert files_in(tmp_path) == ["sock"]


# --- paths that cannot be written ----------------------------------------------------------------

def test_a_missing_directory_is_named_early_and_nothing_is_created(tmp_path):
    target = tmp_path / "nodir" / "model.json"
    for attempt in (check_writable, lambda p: write_text(p, "x")):
        with pytest.raises(DataError, match=r"the directory '.*nodir' does not exist\. Create it first"):
            attempt(target)
    assert files_in(tmp_path) == []


def test_a_file_used_as_a_directory_is_named(tmp_path):
    (tmp_path / "data.csv").write_text("x,y\n")
    for attempt in (check_writable, lambda p: write_text(p, "x")):
        with pytest.raises(DataError, match="is a file, not a directory"):
            attempt(tmp_path / "data.csv" / "model.json")


# Root ignores permission bits, so a read-only directory and a full disk need file systems of their
# own: a tmpfs mounted in a private mount namespace (unshare; --map-root-user where we are not root),
# which vanishes with the process even if the test fails half-way.
IN_OWN_TMPFS = """
import json, os, sys
from gradfit.atomic import check_writable, write_bytes
from gradfit.errors import DataError
where, size = sys.argv[1], int(sys.argv[2])
messages = []
for attempt in (lambda: check_writable(where + "/model.json"), lambda: write_bytes(where + "/model.json", b"n" * size)):
    try:
        attempt()
        messages.append(None)
    except DataError as exc:
        messages.append(str(exc))
print(json.dumps({"messages": messages, "files": sorted(os.listdir(where)),
                  "old": open(where + "/model.json").read()}))
"""


def in_own_tmpfs(tmp_path: Path, options: str, size: int) -> dict:
    """Mount a tmpfs (rw, with an old model.json; then ``options``), run IN_OWN_TMPFS in it."""
    where = tmp_path / "mnt"
    where.mkdir()
    unshare = ["unshare", "--mount"] + ([] if os.geteuid() == 0 else ["--map-root-user"])
    script = ('mount -t tmpfs -o size=1m gradfit-test "$1" && printf old > "$1/model.json" && '
              f'mount -o remount,{options} "$1" && shift && exec "$@"')
    try:
        proc = subprocess.run([*unshare, "sh", "-c", script, "sh", str(where), sys.executable, "-c", IN_OWN_TMPFS,
                               str(where), str(size)],
                              capture_output=True, text=True, timeout=patience(60),
                              env={**os.environ, "PYTHONPATH": SRC})
    except FileNotFoundError:
        pytest.skip("needs unshare (util-linux) to mount a private tmpfs")
    if proc.returncode != 0 and not proc.stdout:
        pytest.skip(f"cannot mount a private tmpfs here (root or user namespaces needed): {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.slow
def test_a_read_only_directory_is_named_early_and_the_old_file_stays(tmp_path):
    result = in_own_tmpfs(tmp_path, "ro", size=10)
    early, late = result["messages"]
    assert early is not None and "is on a read-only file system" in early
    assert late is not None and "read-only file system" in late and "The file that was there is unchanged" in late
    assert result["files"] == ["model.json"] and result["old"] == "old"


@pytest.mark.slow
def test_a_full_disk_is_a_message_and_the_old_file_stays_without_litter(tmp_path):
    result = in_own_tmpfs(tmp_path, "size=64k", size=1 << 20)
    early, late = result["messages"]
    assert early is None                     # a full disk shows only when the data do not fit
    assert late is not None and "no space is left on its device" in late and "unchanged" in late
    assert result["files"] == ["model.json"] and result["old"] == "old"


# --- writes that were killed ---------------------------------------------------------------------

def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.slow
def test_stale_temporaries_of_the_same_target_are_removed_and_live_ones_kept(tmp_path):
    long_ago = time.time() - 2 * atomic.STALE_AFTER_S
    dead = tmp_path / atomic._temporary_name("model.json", pid=dead_pid())
    live = tmp_path / atomic._temporary_name("model.json", pid=os.getppid())
    live_but_abandoned = tmp_path / atomic._temporary_name("model.json", pid=os.getppid())
    other_host = tmp_path / atomic._temporary_name("model.json", pid=dead_pid(), host="0badc0de")
    other_host_abandoned = tmp_path / atomic._temporary_name("model.json", pid=dead_pid(), host="0badc0de")
    other_target = tmp_path / atomic._temporary_name("other.json", pid=dead_pid())
    not_ours = tmp_path / ".model.json.tmp"
    for f in (dead, live, live_but_abandoned, other_host, other_host_abandoned, other_target, not_ours):
        f.write_text("partial")
    for f in (live_but_abandoned, other_host_abandoned):
        os.utime(f, (long_ago, long_ago))

    write_text(tmp_path / "model.json", "new")

    left = set(files_in(tmp_path))
    assert left == {"model.json", live.name, other_host.name, other_target.name, not_ours.name}


KILLED_WRITER = """
import sys
from gradfit.atomic import write_bytes
path, size = sys.argv[1], int(sys.argv[2])
old, new = b"o" * size, b"n" * size
write_bytes(path, old)
print("ready", flush=True)
while True:
    write_bytes(path, new)
    write_bytes(path, old)
"""


@pytest.mark.slow
def test_kill_9_during_writes_leaves_old_or_new_and_the_next_write_cleans_up(tmp_path):
    target, size = tmp_path / "model.json", 2 << 20
    env = {**os.environ, "PYTHONPATH": SRC}
    rng = random.Random(14)
    # About half of the kills land while a temporary file exists (the rest in the directory's fsync);
    # the test above removes a dead writer's file deterministically.
    for _ in range(6):
        writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(target), str(size)],
                                  stdout=subprocess.PIPE, text=True, env=env)
        assert writer.stdout.readline() == "ready\n"
        time.sleep(rng.uniform(0.0, 0.08))
        os.kill(writer.pid, 9)
        writer.wait()                        # reaped: a zombie would still count as a live writer
        writer.stdout.close()
        assert target.read_bytes() in (b"o" * size, b"n" * size)
        write_bytes(target, b"after the kill")
        assert files_in(tmp_path) == ["model.json"]
        assert target.read_bytes() == b"after the kill"

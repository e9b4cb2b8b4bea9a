"""Writing output files: the old content or the new one after any crash, never a device replaced, no litter.

A regular file, or a new path, is replaced atomically: a temporary file beside it is written,
fsync'ed and renamed over it (rename is atomic on POSIX), then the directory is fsync'ed. Whatever
else already exists is not a file to replace: a device (``/dev/null``, ``/dev/full``), a FIFO or a
standard stream (``/dev/stdout``) is written to directly, a directory or a socket is refused. A
symbolic link is itself replaced by the new file (the temporary file is created beside the path as
given, with ``O_EXCL | O_NOFOLLOW``, and renamed over the link): gradfit never writes through a link
into a file elsewhere. A link that another user planted in a shared directory (sticky or
world-writable, such as /tmp) is refused outright, as the kernel's ``protected_symlinks`` rule
refuses to follow it: write to the file's own path if that is what you mean.

No output may be an input or another output of the same command (``check_distinct``): files are
compared by device and inode, new paths by their resolved directory and name.

Every failure is a ``DataError`` that names the path, what is wrong and what to do; the file that was
there is left as it was and no temporary file remains. A write killed outright (``kill -9``, a power
cut) can leave its temporary file behind: the next write to the same target removes it.

>>> from tempfile import TemporaryDirectory
>>> with TemporaryDirectory() as folder:
...     check_writable(f"{folder}/model.json")       # before a long run: fails early, creates nothing
...     write_text(f"{folder}/model.json", "{}\\n")
...     Path(folder, "model.json").read_text()
'{}\\n'
"""

from __future__ import annotations

import errno
import math
import os
import platform
import re
import secrets
import stat
import sys
import time
import zlib
from pathlib import Path

from gradfit.errors import DataError

# A temporary file is named ".NAME.gradfit-HOST-PID-TOKEN.tmp": HOST and PID say whose it is, so that
# the next write removes those of writers that are gone and never those of a writer still at work.
TEMPORARY = re.compile(r"\.(?P<stem>.*)\.gradfit-(?P<host>[0-9a-f]{8})-(?P<pid>[0-9]+)-[0-9a-f]+\.tmp", re.S)
# A writer whose process we cannot see (another machine on a shared file system, a reused PID) is
# taken for gone only when its file has not changed for this long; a live writer changes its file
# until the rename, and even an fsync of a large file on a slow disk takes less.
STALE_AFTER_S = 600.0
_STEM_BYTES = 200      # NAME_MAX is 255 bytes: a long name is cut so the temporary name still fits
_HOST = f"{zlib.crc32(platform.node().encode()):08x}"

# /dev/stdout, /dev/fd/1, /proc/self/fd/1 …: the process's own file descriptors, not files.
_STREAM = re.compile(r"/dev/std(?P<std>in|out|err)|/dev/fd/(?P<fd>\d+)|/proc/(?P<pid>self|thread-self|\d+)/fd/(?P<pfd>\d+)")
_STANDARD = {"in": 0, "out": 1, "err": 2}


def write_text(path, text: str) -> None:
    """Write ``text`` as UTF-8 to ``path``; see ``write_bytes``."""
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path``: atomically for a file, directly for a device, FIFO or stream."""
    path, mode = Path(os.fspath(path)), None
    try:
        _refuse_foreign_link(path)
        fd = _standard_stream(path)
        if fd is not None:
            _write_to_stream(fd, data)
            return
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            pass                     # a new file, or a link to one that does not exist yet
        if mode is None or stat.S_ISREG(mode):
            _replace(path, data, existed=mode is not None and not os.path.islink(path))
        else:
            _refuse_directory_or_socket(path, mode)
            _write_directly(path, data)
    except OSError as exc:
        # A failed replacement never reaches the rename: the file that was there is as it was.
        regular = mode is None or stat.S_ISREG(mode)
        raise _error(path, exc, kept=mode is not None and regular, direct=not regular) from None


def check_writable(path) -> None:
    """Fail now, with the message ``write_bytes`` would give later, if ``path`` cannot be written.

    For a check before a long run starts: a missing or read-only directory and a path that is a
    directory are found at once instead of after the work. Nothing is created.
    """
    path = Path(os.fspath(path))
    _refuse_foreign_link(path)
    if _standard_stream(path) is not None:
        return
    try:
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            mode = None
        if mode is not None and not stat.S_ISREG(mode):
            _refuse_directory_or_socket(path, mode)
            if not os.access(path, os.W_OK):
                raise _error(path, OSError(errno.EACCES, os.strerror(errno.EACCES)), direct=True)
            return
        directory = path.parent                # where the temporary file will be: beside the path as given
        if not stat.S_ISDIR(os.stat(directory).st_mode):
            raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        if not os.access(directory, os.W_OK | os.X_OK):
            read_only = os.statvfs(directory).f_flag & os.ST_RDONLY
            code = errno.EROFS if read_only else errno.EACCES
            raise OSError(code, os.strerror(code))
    except OSError as exc:
        raise _error(path, exc) from None


def check_distinct(outputs: dict, inputs: dict | None = None, may_replace: tuple = ()) -> None:
    """Refuse, before any work, an output that is one of the command's inputs or another of its outputs.

    ``outputs`` and ``inputs`` map what names a path (an option such as ``--model``, or ``DATA``) to the
    path, ``None`` for one not given; an input may be a directory or a glob (each of its files counts).
    Existing files are compared by device and inode (a symbolic link, a hard link and ``./sub/../d.csv``
    are the file they lead to), new paths by their directory, resolved, and name. ``may_replace`` lists
    the (output, input) pairs that may be the same file, as ``--checkpoint`` and ``--resume``. Devices,
    FIFOs and standard streams are not files that a write destroys: two outputs may both be /dev/null.
    """
    seen: dict = {}                              # identity of a file -> (what names it, its path, an output?)
    for is_output, named in ((False, inputs or {}), (True, outputs)):
        for name, given in named.items():
            if given is None:
                continue
            for path in (_files_named(os.fspath(given)) if not is_output else [os.fspath(given)]):
                for key in _identities(path):
                    if key not in seen or not is_output:     # two inputs may well be one file
                        continue
                    other, other_path, other_is_output = seen[key]
                    if (name, other) in may_replace or other == name:
                        continue
                    clash = ("the two outputs would overwrite each other" if other_is_output
                             else f"writing {name} would destroy the input")
                    raise DataError(f"'{given}' ({name}) is the same file as '{other_path}' ({other}): {clash}. "
                                    f"Give {name} another path.")
                for key in _identities(path):
                    seen.setdefault(key, (name, path, is_output))


def _files_named(path: str) -> list[str]:
    """The files an input path stands for: itself, a directory's files, or a glob's matches."""
    if os.path.isdir(path):
        try:
            return [entry.path for entry in os.scandir(path)]
        except OSError:
            return []
    if not os.path.lexists(path) and any(ch in path for ch in "*?["):
        import glob

        return glob.glob(path)
    return [path]


def _identities(path: str) -> list:
    """What identifies the file at ``path``: its device and inode if it is a regular file, and its resolved name.

    Nothing for a device, FIFO, directory or standard stream (written to, not replaced)."""
    if _standard_stream(Path(path)) is not None:
        return []
    try:
        st = os.stat(path)
    except OSError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        return []
    directory, name = os.path.split(path)        # "sub/../x": the kernel's "..", after the link sub, not a lexical one
    keys = [("name", os.path.join(os.path.realpath(directory or "."), name))]
    return keys + [("inode", st.st_dev, st.st_ino)] if st is not None else keys


# --- the three ways of writing -------------------------------------------------------------------

def _replace(target: Path, data: bytes, existed: bool) -> None:
    """Temporary file beside the target, fsync, rename over it, fsync the directory.

    ``target`` is never resolved: a symbolic link there is replaced, not the file it points at (so
    a link planted while a fit runs redirects nothing). ``existed``: a regular file is being
    replaced, whose mode and owner the new one keeps.
    """
    directory = target.parent
    _remove_stale_temporaries(directory, target.name)
    tmp = directory / _temporary_name(target.name)
    # 0666 less the umask, as open() gives a new file; O_NOFOLLOW: a link planted under the temporary name is not followed.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(tmp, flags, 0o666)
    try:
        try:
            if existed:
                _keep_mode_and_owner(fd, target)
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:                       # Ctrl-C included: no temporary file stays behind
        _remove(tmp)
        raise
    _fsync_directory(directory)


def _write_directly(path: Path, data: bytes) -> None:
    """A device or FIFO: opened as it is, neither created nor truncated (a FIFO waits for its reader)."""
    fd = os.open(path, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)


def _write_to_stream(fd: int, data: bytes) -> None:
    """``/dev/stdout`` and the like: write to the descriptor this process already has, after what Python buffered.

    Opening ``/dev/stdout`` anew would write at offset 0 of a file the shell redirected stdout to,
    over what was printed before; the descriptor itself continues where the output is.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None and stream.fileno() == fd:
                stream.flush()
        except (AttributeError, OSError, ValueError):   # replaced or closed streams (pytest's capture)
            pass
    _write_all(fd, data)


# --- helpers ---------------------------------------------------------------------------------------

def _standard_stream(path: Path) -> int | None:
    """The descriptor that ``path`` names if it is ``/dev/stdout``, ``/dev/fd/N`` … or a link to one."""
    current = os.path.abspath(path)
    for _ in range(40):                          # the kernel's limit on links followed
        match = _STREAM.fullmatch(current)
        if match:
            if match["std"]:
                return _STANDARD[match["std"]]
            if match["fd"]:
                return int(match["fd"])
            if match["pid"] in ("self", "thread-self", str(os.getpid())):
                return int(match["pfd"])
            return None                          # another process's descriptor: an ordinary path
        try:
            link = os.readlink(current)
        except OSError:
            return None
        current = os.path.normpath(os.path.join(os.path.dirname(current), link))
    return None


def _refuse_foreign_link(path: Path) -> None:
    """The kernel's ``protected_symlinks`` rule, for the writes that would follow a link (a device, a FIFO, a stream):
    a link in a sticky or world-writable directory is followed only if this user owns it or the directory's
    owner does. Such a link is refused for every write, so that no other user chooses where gradfit writes."""
    try:
        link = os.lstat(path)
    except OSError:
        return
    if not stat.S_ISLNK(link.st_mode):
        return
    parent = path.parent
    try:
        directory = os.stat(parent)
    except OSError:
        return
    shared = directory.st_mode & (stat.S_ISVTX | stat.S_IWOTH)
    if shared and link.st_uid not in (os.geteuid(), directory.st_uid):
        raise DataError(f"Cannot write '{path}': it is a symbolic link that another user (uid {link.st_uid}) made in "
                        f"the shared directory '{parent}' (sticky or writable by all, like /tmp), so it may point "
                        "wherever that user chose; gradfit does not write through it. Remove the link, or give the "
                        "path of the file you mean.")


def _refuse_directory_or_socket(path: Path, mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise OSError(errno.EISDIR, os.strerror(errno.EISDIR))
    if stat.S_ISSOCK(mode):
        raise DataError(f"Cannot write '{path}': it is a socket, which gradfit cannot write to. "
                        "Give the path of a file (or of a FIFO or device) instead.")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _keep_mode_and_owner(fd: int, target: Path) -> None:
    st = os.lstat(target)
    if not stat.S_ISREG(st.st_mode):             # a link swapped in since: a new file, owned by this user
        return
    os.fchmod(fd, stat.S_IMODE(st.st_mode))
    if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
        try:
            os.fchown(fd, st.st_uid, st.st_gid)  # root replacing a user's file gives it back to the user
        except PermissionError:
            pass


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable. The file is in place already, so a failure here is not the user's."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _stem(name: str) -> str:
    raw = os.fsencode(name)
    return name if len(raw) <= _STEM_BYTES else os.fsdecode(raw[:_STEM_BYTES])


def _temporary_name(name: str, pid: int | None = None, host: str = _HOST) -> str:
    pid = os.getpid() if pid is None else pid
    return f".{_stem(name)}.gradfit-{host}-{pid}-{secrets.token_hex(4)}.tmp"


def _remove_stale_temporaries(directory: Path, name: str) -> None:
    """Remove the temporary files that killed writes of ``name`` left; never one a live writer still owns."""
    stem, now = _stem(name), time.time()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return                                   # the write itself says what is wrong with the directory
    for entry in entries:
        match = TEMPORARY.fullmatch(entry.name)
        if not match or match["stem"] != stem:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        writer_gone = match["host"] == _HOST and not _alive(int(match["pid"]))
        if writer_gone or now - st.st_mtime > STALE_AFTER_S:
            _remove(Path(entry.path))


def _alive(pid: int) -> bool:
    if os.name == "nt":
        return True                              # os.kill(pid, 0) would send CTRL_C_EVENT there: age decides
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:                      # it exists, and belongs to someone else
        return True
    return True


def _remove(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# --- reading back what gradfit wrote: bounded, plain JSON, never code --------------------------------

MAX_JSON_BYTES = 256 * 2**20      # a model or checkpoint file is kilobytes; anything past this is not one
_MAX_INT_DIGITS = 300             # past float's range: read as an infinity, which validation refuses


def read_json(path, kind: str, missing: str | None = None):
    """The JSON document in ``path`` (a model or checkpoint file), or a ``DataError`` that says what is wrong.

    Refused with a message, never a traceback: a missing file (``missing`` is that message), a
    directory, something that is not a regular file (a device, a FIFO), a file that cannot be read
    (``/proc/self/mem``), one larger than ``MAX_JSON_BYTES``, text that is not UTF-8 or not complete
    JSON, nesting too deep for the parser, and NaN or Infinity. Integers too long for a float are read
    as infinities (so "must be a finite number" says what is wrong with them).
    """
    import json

    path = Path(os.fspath(path))
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise DataError(missing or f"Not found: '{path}'.") from None
    except OSError as exc:
        raise DataError(f"Cannot read '{path}': {exc.strerror or exc}.") from None
    if stat.S_ISDIR(mode):
        raise DataError(f"'{path}' is a directory, not a {kind}. Give the path of the file itself.")
    if not stat.S_ISREG(mode):
        raise DataError(f"'{path}' is not a regular file (a device, FIFO or socket), so it is not a {kind}.")
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_JSON_BYTES + 1)
    except OSError as exc:
        raise DataError(f"Cannot read '{path}' as a {kind}: {exc.strerror or exc}.") from None
    if len(raw) > MAX_JSON_BYTES:
        raise DataError(f"'{path}' is larger than {MAX_JSON_BYTES >> 20} MiB, far more than a {kind} holds; "
                        "it is not one.")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant, parse_int=_bounded_int)
    except RecursionError:
        problem = "it is nested too deeply to be one"
    except UnicodeDecodeError:
        problem = "it is not UTF-8 text"
    except ValueError as exc:                  # json.JSONDecodeError, and the constants refused
        problem = f"it is not complete JSON ({_brief_text(str(exc))})"
    raise DataError(f"'{path}' is not a valid {kind}: {problem}. It may be truncated or edited; "
                    "write it again with gradfit.")


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number gradfit accepts")


def _bounded_int(text: str):
    return int(text) if len(text) <= _MAX_INT_DIGITS else (-math.inf if text.startswith("-") else math.inf)


def _brief_text(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


# --- one message per way a write can fail -------------------------------------------------------

def _error(path: Path, exc: OSError, kept: bool = False, direct: bool = False) -> DataError:
    """The ``DataError`` for ``exc``: the path, what is wrong, what to do (and that the old file is intact).

    A file is replaced by one created in its directory, so permissions are the directory's; a device
    or FIFO (``direct``) is opened itself.
    """
    directory = path.parent
    where = f"'{path}'" if direct else f"'{directory}'"
    reasons = {
        errno.ENOENT: f"the directory {where} does not exist. Create it first (mkdir -p {where}) or choose another path.",
        errno.ENOTDIR: f"part of the directory {where} is a file, not a directory. Choose another path.",
        errno.EISDIR: "it is a directory. Give the path of a file (inside it, for example) instead.",
        errno.EACCES: f"permission denied: this user may not write {'to' if direct else 'in'} {where}. Choose a path "
                      "you can write to, or change the permissions.",
        errno.EROFS: f"{where} is on a read-only file system. Choose a path on a writable one.",
        errno.ENOSPC: "no space is left on its device. Free some space or write somewhere else.",
        errno.EDQUOT: "the disk quota is used up. Free some space or write somewhere else.",
        errno.ENAMETOOLONG: "the name is too long for the file system. Choose a shorter one.",
        errno.ELOOP: "it is a symbolic link that leads back to itself. Fix or remove the link.",
        errno.EBADF: "it is a standard stream or descriptor that is not open for writing.",
        errno.EPIPE: "the program reading from it has closed the pipe.",
        errno.ENXIO: "the device or FIFO behind it is not available.",
    }
    reasons[errno.EPERM] = reasons[errno.EACCES]
    reason = reasons.get(exc.errno, f"{exc.strerror or exc}. Choose another path.")
    unchanged = " The file that was there is unchanged." if kept else ""
    return DataError(f"Cannot write '{path}': {reason}{unchanged}")

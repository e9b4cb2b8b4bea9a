"""Writes that a crash cannot half-do: a temporary file in the same directory, renamed over the target."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gradfit.errors import DataError


def write_text(path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; see ``write_bytes``."""
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old file or the new one.

    A temporary file in the same directory is written, flushed and fsync'ed, then renamed
    over the target (rename is atomic on POSIX), and the directory is fsync'ed.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise DataError(f"Cannot write '{path}': the directory '{directory}' does not exist.")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, _file_mode(path))  # mkstemp makes 0600; give the file the mode a plain open() would
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _file_mode(path: Path) -> int:
    """The existing file's permissions, or 0666 less the umask for a new file."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask

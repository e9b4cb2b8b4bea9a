"""Models as JSON: floats written to read back bit-identical, written atomically, validated on load.

Loading never executes anything: the file is parsed by ``json`` and checked field by field.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

from gradfit.errors import DataError
from gradfit.model import LinearModel

MODEL_FORMAT = "gradfit.model"
MODEL_VERSION = 1


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; see ``atomic_write_bytes``."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path, data: bytes) -> None:
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


def model_to_dict(model: LinearModel, metadata: dict | None = None) -> dict:
    return {
        "format": MODEL_FORMAT,
        "version": MODEL_VERSION,
        "weights": list(model.weights),
        "bias": model.bias,
        "fit_intercept": model.fit_intercept,
        "feature_names": list(model.feature_names),
        "target_name": model.target_name,
        "metadata": metadata or {},
    }


def save_model(model: LinearModel, path, metadata: dict | None = None) -> None:
    """Write the model as JSON; ``json`` writes floats with ``repr``, which round-trips exactly."""
    text = json.dumps(model_to_dict(model, metadata), indent=2, allow_nan=False, ensure_ascii=False)
    atomic_write_text(path, text + "\n")


def load_model(path) -> LinearModel:
    """Read and validate a model file written by ``save_model``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Model file not found: '{path}'. Save one with: gradfit fit ... --model {path}")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"), parse_constant=_refuse_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(
            f"'{path}' is not a valid gradfit model file: it is not complete JSON ({exc}). "
            "It may be truncated or edited; fit the model again to recreate it."
        ) from None
    return model_from_dict(doc, source=str(path))


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number gradfit accepts")


def model_from_dict(doc, source: str = "the model") -> LinearModel:
    def bad(what: str) -> DataError:
        return DataError(f"'{source}' is not a valid gradfit model file: {what}. Fit the model again to recreate it.")

    if not isinstance(doc, dict) or doc.get("format") != MODEL_FORMAT:
        raise bad(f"the field 'format' must be {MODEL_FORMAT!r}")
    if doc.get("version") != MODEL_VERSION:
        raise bad(f"version {doc.get('version')!r} is not supported (this gradfit reads version {MODEL_VERSION})")
    weights, bias = doc.get("weights"), doc.get("bias")
    if not isinstance(weights, list) or not weights or not all(_is_number(w) for w in weights):
        raise bad("'weights' must be a non-empty list of finite numbers")
    if not _is_number(bias):
        raise bad("'bias' must be a finite number")
    names = doc.get("feature_names", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or len(names) != len(weights):
        raise bad(f"'feature_names' must list {len(weights)} names, one per weight")
    fit_intercept = doc.get("fit_intercept", True)
    if not isinstance(fit_intercept, bool):
        raise bad("'fit_intercept' must be true or false")
    target = doc.get("target_name", "y")
    if not isinstance(target, str):
        raise bad("'target_name' must be a string")
    return LinearModel(tuple(float(w) for w in weights), float(bias), tuple(names), target, fit_intercept)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

"""Checkpoints: the loop's whole state as JSON, written atomically; resume ends bit for bit where an uninterrupted run would.

The state is plain data (STYLE.md): the parameters θ, the update rule's state (the update
count and momentum buffers, as ``descent.state_to_dict`` gives them), the iteration, and for
seeded mini-batches the RNG state at the end of that iteration (``rng.bit_generator.state``,
a dict of integers). ``json`` writes floats with ``repr``, which
reads back to the same bits, so a resumed run continues from exactly the same numbers.
A checkpoint also records the options of the run and a fingerprint of its data (rows, columns,
each column's mean and scale, and a digest of sampled rows where the rows are in memory); a
resume refuses different options or other data, and a checkpoint without the fingerprint.

``VERSION`` is the number of the layout: it changes whenever ``FIELDS``, the fingerprint's keys or
what a field holds changes (tests/test_checkpoint.py pins the three together, so a new field fails
the suite until the number changes too). A checkpoint of an older or newer layout is refused by name.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gradfit.atomic import read_json, write_text
from gradfit.errors import ConfigError, DataError, Interrupted
from gradfit.messages import message

FORMAT = "gradfit.checkpoint"
# Layouts: 1 — θ, the rule's state, the RNG, the options; 2 — with the stopping count, the starting loss and the
# data's fingerprint (required), the rule's state carrying its update count.
VERSION = 2
FIELDS = ("format", "version", "iteration", "theta", "rule_state", "rng_state", "quiet", "loss0", "data", "config")
FINGERPRINT_FIELDS = ("rows", "columns", "mean", "scale", "digest")
DEFAULT_PATH = "gradfit-checkpoint.json"


@dataclass
class Checkpoint:
    iteration: int
    theta: np.ndarray
    rule_state: dict                # the update rule's state as plain data (count, velocity)
    config: dict
    rng_state: dict | None = None   # the SGD shuffle's generator at the end of ``iteration``
    quiet: int = 0                  # iterations in a row that had met the stopping rule
    loss0: float | None = None      # the run's starting loss (divergence is measured against it)
    data: dict | None = None        # the data's fingerprint (``fingerprint``)


class Checkpointer:
    """A loop callback: keeps the latest state and writes it every ``every`` iterations (0: only on demand).

    ``plain(rule_state)`` turns the update rule's state into JSON-ready data. The shuffle's RNG
    state is copied at each iteration's end, so that it pairs with that iteration's θ even when
    Ctrl-C arrives part-way into the next epoch.
    """

    def __init__(self, path, every: int, config: dict, plain, data: dict | None = None):
        self.path, self.every, self.config, self.plain = Path(path), int(every), config, plain
        self.data = data
        self.latest: Checkpoint | None = None
        self.finished = False           # the loop has ended: ``latest`` is the run's final state

    def __call__(self, state) -> None:
        rng = state.rng.bit_generator.state if state.rng is not None else None
        loss0 = float(state.loss0) if math.isfinite(state.loss0) else None
        self.latest = Checkpoint(state.iteration, np.array(state.theta, dtype=np.float64),
                                 self.plain(state.rule_state), self.config, rng, state.quiet, loss0, self.data)
        if self.every and state.iteration % self.every == 0:
            self.save()

    def save(self) -> Path | None:
        """Write the latest state; ``None`` when no iteration has completed."""
        if self.latest is None:
            return None
        save(self.path, self.latest)
        return self.path

    def interrupted(self) -> Interrupted:
        """Ctrl-C: the latest state written, and the error that says where (and whether the run had finished)."""
        iteration = self.latest.iteration if self.latest else None
        try:
            path = self.save()
        except DataError as exc:          # a read-only or full directory: say so, with the Ctrl-C
            error = Interrupted(None, iteration)
            error.unsaved = str(exc)
            return error
        return Interrupted(path, iteration, finished=self.finished and self.latest is not None)


def save(path, checkpoint: Checkpoint) -> None:
    doc = {
        "format": FORMAT, "version": VERSION,
        "iteration": checkpoint.iteration,
        "theta": checkpoint.theta.tolist(),
        "rule_state": checkpoint.rule_state,
        "rng_state": checkpoint.rng_state,
        "quiet": checkpoint.quiet,
        "loss0": checkpoint.loss0,
        "data": checkpoint.data,
        "config": checkpoint.config,
    }
    write_text(path, json.dumps(doc, indent=1, allow_nan=False) + "\n")


def load(path) -> Checkpoint:
    """Read and validate a checkpoint written by ``save`` (a ``DataError`` naming what is wrong, never a traceback)."""
    doc = read_json(path, "gradfit checkpoint", missing=f"Checkpoint not found: '{path}'. Write one with --checkpoint {path} --every N.")
    check_layout(doc, path)

    def bad(what: str) -> DataError:
        return DataError(f"'{path}' is not a valid gradfit checkpoint: {what}. It may be truncated or edited; "
                         "start the run again without --resume.")

    theta = _numbers(doc.get("theta"))
    if theta is None or theta.ndim != 1 or not theta.size:
        raise bad("'theta' must be a list of finite numbers (a file with NaN or infinite parameters is corrupt)")
    if not _count(doc.get("iteration")):
        raise bad("'iteration' must be a whole number ≥ 0")
    if not isinstance(doc.get("config"), dict) or not isinstance(doc.get("rule_state"), dict):
        raise bad("'config' and 'rule_state' must be objects")
    rng_state = doc.get("rng_state")
    if rng_state is not None and not _rng_state_ok(rng_state):
        raise bad("'rng_state' is not the state of a NumPy random generator")
    quiet, loss0, data = doc.get("quiet", 0), doc.get("loss0"), doc.get("data")
    if not _count(quiet):
        raise bad("'quiet' must be a whole number ≥ 0")
    if loss0 is not None and not (_number(loss0) and loss0 >= 0):
        raise bad("'loss0' must be a finite number ≥ 0")
    if data is None:
        raise DataError(message("checkpoint.no_fingerprint", path=path))
    if not _fingerprint_ok(data):
        raise bad("'data' (the fingerprint of the data) is malformed")
    return Checkpoint(doc["iteration"], theta, doc["rule_state"], doc["config"], rng_state, quiet,
                      None if loss0 is None else float(loss0), data)


def check_layout(doc, path) -> None:
    """Refuse a document that is not a checkpoint, or one of another layout, saying which and what to do."""
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not _count(version):
        raise DataError(message("checkpoint.not_one", path=path))
    if version != VERSION:
        key = "checkpoint.older" if version < VERSION else "checkpoint.newer"
        raise DataError(message(key, path=path, found=version, current=VERSION))


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def _count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**62


def _numbers(values) -> np.ndarray | None:
    """A flat list of finite numbers as float64, else None."""
    if not isinstance(values, list) or not all(_number(v) for v in values):
        return None
    return np.array(values, dtype=np.float64)


def _rng_state_ok(state) -> bool:
    """Whether ``state`` can be given to a fresh ``default_rng().bit_generator.state`` (tried on a throw-away one)."""
    if not isinstance(state, dict) or len(str(state)) > 10_000:
        return False
    try:
        np.random.default_rng().bit_generator.state = state
    except (TypeError, ValueError, KeyError, OverflowError, AttributeError):
        return False
    return True


# --- the data a run was fitted to ------------------------------------------------------------------

SAMPLED_ROWS = 1024          # rows hashed for the digest, evenly spread
FINGERPRINT_RTOL = 1e-9      # means and scales are compared to this (another summation order may differ by ulps)


def fingerprint(n_rows: int, columns, mean, scale, rows: tuple = ()) -> dict:
    """What identifies a data set cheaply: its size, columns, each column's mean and scale, a digest of sampled rows.

    ``columns`` are the feature names and the target's; ``mean``/``scale`` give one number per
    column (from the one-pass summary, or from the arrays); ``rows`` are arrays (X, y, weights) in
    memory whose evenly spaced rows are hashed, so that a reordering of the rows is seen too.
    """
    digest = None
    if rows:
        index = np.unique(np.linspace(0, n_rows - 1, min(n_rows, SAMPLED_ROWS)).astype(np.int64)) if n_rows else []
        h = hashlib.blake2b(digest_size=16)
        for array in rows:
            h.update(np.ascontiguousarray(np.asarray(array)[index], dtype=np.float64).tobytes())   # sampled, then widened
        digest = h.hexdigest()
    finite = lambda v: float(v) if math.isfinite(v) else None   # noqa: E731  (sums of values near 1e308 overflow)
    return {"rows": int(n_rows), "columns": [str(c) for c in columns],
            "mean": [finite(m) for m in mean], "scale": [finite(s) for s in scale], "digest": digest}


def _fingerprint_ok(data) -> bool:
    try:
        return (isinstance(data, dict) and _count(data["rows"]) and isinstance(data["columns"], list)
                and all(isinstance(c, str) for c in data["columns"])
                and all(isinstance(data[k], list) and len(data[k]) == len(data["columns"])
                        and all(v is None or _number(v) for v in data[k]) for k in ("mean", "scale"))
                and isinstance(data.get("digest"), (str, type(None))))
    except (KeyError, TypeError):
        return False


def check_same_data(checkpoint: Checkpoint, now: dict, path) -> None:
    """Refuse to resume on data other than the checkpoint's (``load`` has refused one without a fingerprint)."""
    then = checkpoint.data
    if then is None:
        raise DataError(message("checkpoint.no_fingerprint", path=path))
    why = None
    if then["rows"] != now["rows"]:
        why = f"{then['rows']} rows then, {now['rows']} now"
    elif then["columns"] != now["columns"]:
        why = "other columns"
    else:
        for name, a, b, sa, sb in zip(now["columns"], then["mean"], now["mean"], then["scale"], now["scale"]):
            if None in (a, b, sa, sb):
                differ = (a, sa) != (b, sb)       # beyond a float's range: only the same overflow matches
            else:
                size = max(abs(a), abs(b), abs(sa), abs(sb))
                differ = abs(a - b) > FINGERPRINT_RTOL * size or abs(sa - sb) > FINGERPRINT_RTOL * size
            if differ:
                why = f"the same size, but column '{name}' has mean {a if a is None else f'{a:.6g}'} then, " \
                      f"{b if b is None else f'{b:.6g}'} now"
                break
        else:
            if then.get("digest") and now.get("digest") and then["digest"] != now["digest"]:
                why = "the same size and column statistics, but other rows (or the rows in another order)"
    if why:
        raise DataError(f"The checkpoint '{path}' was written for other data ({why}). Resume with the data the run "
                        "started on, or start afresh without --resume.")


def check_same_run(checkpoint: Checkpoint, config: dict, path) -> None:
    """Refuse to resume with options that differ from the checkpoint's (the iteration limit may)."""
    different = [k for k in sorted(set(config) | set(checkpoint.config))
                 if k not in ("iters", "epochs") and config.get(k) != checkpoint.config.get(k)]
    if different:
        detail = ", ".join(f"{k}: {checkpoint.config.get(k)!r} then, {config.get(k)!r} now" for k in different)
        raise ConfigError(f"The checkpoint '{path}' was written by a different run ({detail}). "
                          "Resume with the same data and options; only --iters (--epochs for SGD) may change.")


def keep_finished_run(final_state: Checkpoint | None, path) -> KeyboardInterrupt:
    """Ctrl-C after the descent finished, while its results are written: save its final state, so that nothing
    is lost (resuming from it descends no further and writes the results). An exact solve has no state: a plain
    ``KeyboardInterrupt``."""
    if final_state is None or path is None:
        return KeyboardInterrupt()
    save(path, final_state)
    return Interrupted(Path(path), final_state.iteration, finished=True)


def resume_hint(exc: Interrupted, argv: list[str]) -> str:
    """What to tell the user after Ctrl-C: where the state is, and the command that continues."""
    import shlex

    path, iteration = getattr(exc, "path", None), getattr(exc, "iteration", None)
    if path is None and getattr(exc, "unsaved", None):
        return f"Interrupted after iteration {iteration}, but its state could not be saved: {exc.unsaved}"
    if path is None:
        return "Interrupted before the first iteration completed; nothing to resume."
    finished = getattr(exc, "finished", False)
    args = list(argv)
    if "--resume" in args:
        i = args.index("--resume")
        del args[i:i + 2]
    command = " ".join(shlex.quote(a) for a in ["gradfit", *args, "--resume", str(path)])
    if finished:
        return (f"Interrupted after the run had finished (iteration {iteration}), before its results were all "
                f"written; its final state is saved in '{path}'.\n"
                f"Write the results, without descending again, with: {command}")
    return (f"Interrupted after iteration {iteration}; the run's state is saved in '{path}'.\n"
            f"Resume with: {command}")

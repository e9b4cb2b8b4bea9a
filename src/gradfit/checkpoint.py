"""Checkpoints: the loop's whole state as JSON, written atomically; resume ends bit for bit where an uninterrupted run would.

The state is plain data (STYLE.md): the parameters θ, the update rule's state (momentum
buffers), the iteration (and epoch), and for seeded mini-batches the RNG state
(``rng.bit_generator.state``, a dict of integers). ``json`` writes floats with ``repr``, which
reads back to the same bits, so a resumed run continues from exactly the same numbers.
A checkpoint also records the options of the run, and a resume refuses different ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gradfit.errors import ConfigError, DataError
from gradfit.persist import atomic_write_text

FORMAT = "gradfit.checkpoint"
VERSION = 1
DEFAULT_PATH = "gradfit-checkpoint.json"


@dataclass
class Checkpoint:
    iteration: int
    theta: np.ndarray
    rule_state: tuple
    config: dict
    epoch: int | None = None
    rng_state: dict | None = None
    updates: int | None = None      # parameter updates so far: t of the schedule, batches seen by SGD


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run; ``path`` holds its last completed iteration (``None``: none yet)."""

    def __init__(self, path, iteration: int | None):
        super().__init__(f"interrupted after iteration {iteration}" if iteration is not None else "interrupted")
        self.path, self.iteration = path, iteration


class Checkpointer:
    """A loop callback: keeps the latest state and writes it every ``every`` iterations (0: only on demand)."""

    def __init__(self, path, every: int, config: dict):
        self.path, self.every, self.config = Path(path), int(every), config
        self.latest = None

    def __call__(self, state) -> None:
        self.latest = state
        if self.every and state.iteration % self.every == 0:
            self.save()

    def save(self) -> Path | None:
        """Write the latest state; ``None`` when no iteration has completed."""
        if self.latest is None:
            return None
        save(self.path, to_checkpoint(self.latest, self.config))
        return self.path


def to_checkpoint(state, config: dict) -> Checkpoint:
    rng = getattr(state, "rng", None)
    return Checkpoint(state.iteration, np.array(state.theta, dtype=np.float64),
                      tuple(getattr(state, "rule_state", ())), config, getattr(state, "epoch", None),
                      rng.bit_generator.state if rng is not None else None, getattr(state, "n_updates", None))


def save(path, checkpoint: Checkpoint) -> None:
    doc = {
        "format": FORMAT, "version": VERSION,
        "iteration": checkpoint.iteration,
        "epoch": checkpoint.epoch,
        "theta": checkpoint.theta.tolist(),
        "rule_state": [np.asarray(s).tolist() for s in checkpoint.rule_state],
        "rng_state": checkpoint.rng_state,
        "updates": checkpoint.updates,
        "config": checkpoint.config,
    }
    atomic_write_text(path, json.dumps(doc, indent=1, allow_nan=False) + "\n")


def load(path) -> Checkpoint:
    """Read and validate a checkpoint written by ``save``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Checkpoint not found: '{path}'. Write one with --checkpoint {path} --every N.")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"'{path}' is not a valid gradfit checkpoint: it is not complete JSON ({exc}).") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise DataError(f"'{path}' is not a gradfit checkpoint (version {VERSION}).")
    try:
        theta = np.array(doc["theta"], dtype=np.float64)
        rule_state = tuple(np.array(s, dtype=np.float64) for s in doc["rule_state"])
        iteration = doc["iteration"]
        if theta.ndim != 1 or not isinstance(iteration, int) or iteration < 0 or not isinstance(doc["config"], dict):
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise DataError(f"'{path}' is not a valid gradfit checkpoint: a field is missing or malformed.") from None
    updates = doc.get("updates")
    if updates is not None and (not isinstance(updates, int) or updates < 0):
        raise DataError(f"'{path}' is not a valid gradfit checkpoint: 'updates' must be a count.")
    return Checkpoint(iteration, theta, rule_state, doc["config"], doc.get("epoch"), doc.get("rng_state"), updates)


def check_same_run(checkpoint: Checkpoint, config: dict, path) -> None:
    """Refuse to resume with options that differ from the checkpoint's (the iteration limit may)."""
    different = [k for k in sorted(set(config) | set(checkpoint.config))
                 if k not in ("iters", "epochs") and config.get(k) != checkpoint.config.get(k)]
    if different:
        detail = ", ".join(f"{k}: {checkpoint.config.get(k)!r} then, {config.get(k)!r} now" for k in different)
        raise ConfigError(f"The checkpoint '{path}' was written by a different run ({detail}). "
                          "Resume with the same data and options; only --iters (--epochs for SGD) may change.")


def resume_hint(exc: KeyboardInterrupt, argv: list[str]) -> str:
    """What to tell the user after Ctrl-C: where the state is, and the command that continues."""
    import shlex

    path, iteration = getattr(exc, "path", None), getattr(exc, "iteration", None)
    if path is None:
        return "Interrupted before the first iteration completed; nothing to resume."
    args = list(argv)
    if "--resume" in args:
        i = args.index("--resume")
        del args[i:i + 2]
    command = " ".join(shlex.quote(a) for a in ["gradfit", *args, "--resume", str(path)])
    return (f"Interrupted after iteration {iteration}; the run's state is saved in '{path}'.\n"
            f"Resume with: {command}")

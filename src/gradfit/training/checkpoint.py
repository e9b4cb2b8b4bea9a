"""Checkpoints: the loop's whole state as JSON, written atomically; resume ends bit for bit where an uninterrupted run would.

The state is plain data (STYLE.md): the parameters θ, the update rule's state (the update
count and momentum buffers, as ``descent.state_to_dict`` gives them), the iteration, and for
seeded mini-batches the RNG state at the end of that iteration (``rng.bit_generator.state``,
a dict of integers). ``json`` writes floats with ``repr``, which
reads back to the same bits, so a resumed run continues from exactly the same numbers.
A checkpoint also records the options of the run, and a resume refuses different ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gradfit.atomic import write_text
from gradfit.errors import ConfigError, DataError, Interrupted

FORMAT = "gradfit.checkpoint"
VERSION = 1
DEFAULT_PATH = "gradfit-checkpoint.json"


@dataclass
class Checkpoint:
    iteration: int
    theta: np.ndarray
    rule_state: dict                # the update rule's state as plain data (count, velocity)
    config: dict
    rng_state: dict | None = None   # the SGD shuffle's generator at the end of ``iteration``


class Checkpointer:
    """A loop callback: keeps the latest state and writes it every ``every`` iterations (0: only on demand).

    ``plain(rule_state)`` turns the update rule's state into JSON-ready data. The shuffle's RNG
    state is copied at each iteration's end, so that it pairs with that iteration's θ even when
    Ctrl-C arrives part-way into the next epoch.
    """

    def __init__(self, path, every: int, config: dict, plain):
        self.path, self.every, self.config, self.plain = Path(path), int(every), config, plain
        self.latest: Checkpoint | None = None

    def __call__(self, state) -> None:
        rng = state.rng.bit_generator.state if state.rng is not None else None
        self.latest = Checkpoint(state.iteration, np.array(state.theta, dtype=np.float64),
                                 self.plain(state.rule_state), self.config, rng)
        if self.every and state.iteration % self.every == 0:
            self.save()

    def save(self) -> Path | None:
        """Write the latest state; ``None`` when no iteration has completed."""
        if self.latest is None:
            return None
        save(self.path, self.latest)
        return self.path

    def interrupted(self) -> Interrupted:
        """Ctrl-C: the latest state written, and the error that says where."""
        return Interrupted(self.save(), self.latest.iteration if self.latest else None)


def save(path, checkpoint: Checkpoint) -> None:
    doc = {
        "format": FORMAT, "version": VERSION,
        "iteration": checkpoint.iteration,
        "theta": checkpoint.theta.tolist(),
        "rule_state": checkpoint.rule_state,
        "rng_state": checkpoint.rng_state,
        "config": checkpoint.config,
    }
    write_text(path, json.dumps(doc, indent=1, allow_nan=False) + "\n")


def load(path) -> Checkpoint:
    """Read and validate a checkpoint written by ``save``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Checkpoint not found: '{path}'. Write one with --checkpoint {path} --every N.")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError, OSError) as exc:
        raise DataError(f"'{path}' is not a valid gradfit checkpoint: it is not complete JSON ({exc}).") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise DataError(f"'{path}' is not a gradfit checkpoint (version {VERSION}).")
    try:
        theta = np.array(doc["theta"], dtype=np.float64)
        iteration = doc["iteration"]
        if (theta.ndim != 1 or not np.isfinite(theta).all() or not isinstance(iteration, int) or iteration < 0
                or not isinstance(doc["config"], dict) or not isinstance(doc["rule_state"], dict)
                or not isinstance(doc.get("rng_state"), (dict, type(None)))):
            raise ValueError
    except (KeyError, TypeError, ValueError, OverflowError):
        raise DataError(f"'{path}' is not a valid gradfit checkpoint: a field is missing or malformed.") from None
    return Checkpoint(iteration, theta, doc["rule_state"], doc["config"], doc.get("rng_state"))


def check_same_run(checkpoint: Checkpoint, config: dict, path) -> None:
    """Refuse to resume with options that differ from the checkpoint's (the iteration limit may)."""
    different = [k for k in sorted(set(config) | set(checkpoint.config))
                 if k not in ("iters", "epochs") and config.get(k) != checkpoint.config.get(k)]
    if different:
        detail = ", ".join(f"{k}: {checkpoint.config.get(k)!r} then, {config.get(k)!r} now" for k in different)
        raise ConfigError(f"The checkpoint '{path}' was written by a different run ({detail}). "
                          "Resume with the same data and options; only --iters (--epochs for SGD) may change.")


def resume_hint(exc: Interrupted, argv: list[str]) -> str:
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

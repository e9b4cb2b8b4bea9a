"""A progress bar for long runs: a loop callback that appears only after about a second."""

from __future__ import annotations

import sys
import time

SHOW_AFTER_S = 1.0
REFRESH_S = 0.1


class ProgressBar:
    """Call it with each ``LoopState``; it draws a rich bar on stderr once the run is slow.

    Off when ``enabled`` is false (``--quiet``) or stderr is not a terminal.
    """

    def __init__(self, *, enabled: bool = True, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = enabled and getattr(self.stream, "isatty", lambda: False)()
        self.started = time.monotonic()
        self.last_refresh = 0.0
        self.progress = None
        self.task = None

    def __call__(self, state) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last_refresh < REFRESH_S:
            return
        self.last_refresh = now
        if self.progress is None:
            if now - self.started < SHOW_AFTER_S:
                return
            self._start(state.max_iter)
        self.progress.update(self.task, completed=state.iteration, loss=f"{state.loss:.6g}")

    def _start(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("descending"), BarColumn(), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"), TimeRemainingColumn(),
            console=Console(file=self.stream), transient=True,
        )
        self.task = self.progress.add_task("fit", total=total, loss="")
        self.progress.start()

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

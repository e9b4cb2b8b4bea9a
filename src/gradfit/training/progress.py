"""A progress bar for long runs (a loop callback) and long reads: it appears only after about a second.

On a terminal it is a rich bar (the command line's, and ``gradfit.fit(..., progress=True)``'s); in
Jupyter it is rich's live display where ipywidgets is installed, else one line of text updated in
place (IPython's ``display(..., display_id=True)``); asked for elsewhere (a script whose stderr is a
file) it writes a line now and then.

>>> import gradfit
>>> r = gradfit.fit([1, 2, 3], [3, 5, 7], lr=0.01, iters=1000, tol=None, progress=True)   # on stderr, if past ~1 s
"""

from __future__ import annotations

import sys
import time

SHOW_AFTER_S = 1.0
REFRESH_S = 0.1
LINE_EVERY_S = 5.0       # plain lines (not a terminal, not Jupyter): one this often


def in_jupyter() -> bool:
    """Whether this runs in a Jupyter kernel (a notebook, JupyterLab, Colab, qtconsole)."""
    shell = sys.modules.get("IPython")
    try:
        ipython = shell.get_ipython() if shell is not None else None
    except Exception:           # an odd IPython: take it for no notebook
        return False
    return ipython is not None and (type(ipython).__name__ == "ZMQInteractiveShell"
                                    or "google.colab" in str(type(ipython)))


class ProgressBar:
    """Call it with each ``LoopState`` (or, made with ``reading=True``, ``read(done, total)`` with the bytes of a
    file read so far, as ``gradfit predict`` does); it shows the progress once the work is slow.

    ``enabled=False`` (``--quiet``) turns it off. Otherwise it shows on a terminal; with
    ``always=True`` (``progress=True`` in Python) also in Jupyter and, as plain lines, anywhere else.
    """

    def __init__(self, *, enabled: bool = True, stream=None, always: bool = False, reading: bool = False):
        self.stream = stream or sys.stderr
        terminal = getattr(self.stream, "isatty", lambda: False)()
        self.mode = None
        if enabled and terminal:
            self.mode = "rich"
        elif enabled and always:
            self.mode = _notebook_mode() if in_jupyter() else "lines"
        self.enabled = self.mode is not None
        self.reading = reading          # a pass over a file (``read``): bytes, shown as a percentage
        self.started = time.monotonic()
        self.last_refresh = 0.0
        self.progress = None
        self.task = None
        self.handle = None

    def __call__(self, state) -> None:
        """A loop callback: the iteration of the run's limit, and the loss."""
        self._update(state.iteration, state.max_iter, f"loss {state.loss:.6g}")

    def read(self, done: int, total: int) -> None:
        """``done`` bytes of ``total`` read (``reading=True``)."""
        self._update(done, total, "")

    def _update(self, done: int, total: int, note: str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        every = LINE_EVERY_S if self.mode == "lines" else REFRESH_S
        if now - self.last_refresh < every or now - self.started < SHOW_AFTER_S:
            return
        self.last_refresh = now
        if self.mode == "rich":
            if self.progress is None:
                self._start(total)
            self.progress.update(self.task, completed=done, note=note)
        else:
            self._text(done, total, note)

    def _start(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn,
                                   TimeRemainingColumn)

        counted = (TextColumn("reading"), BarColumn(), TaskProgressColumn()) if self.reading else \
            (TextColumn("descending"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[note]}"))
        self.progress = Progress(*counted, TimeRemainingColumn(), console=Console(file=self.stream), transient=True)
        self.task = self.progress.add_task("run", total=total, note="")
        self.progress.start()

    def _text(self, done: int, total: int, note: str) -> None:
        elapsed = time.monotonic() - self.started
        share = f"{100 * done / max(total, 1):.0f} %"
        text = (f"reading: {share}, {elapsed:.0f} s" if self.reading else
                f"descending: iteration {done} of {total} ({share}), {note}, {elapsed:.0f} s")
        if self.mode == "notebook":
            from IPython.display import display

            if self.handle is None:
                self.handle = display(text, display_id=True)
            else:
                self.handle.update(text)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _notebook_mode() -> str:
    """rich's live display needs ipywidgets in Jupyter; without it, a line of text updated in place."""
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return "notebook"
    return "rich"

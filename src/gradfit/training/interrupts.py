"""Ctrl-C on the command line: never a traceback, never swallowed, never the loss of a finished run.

Python turns SIGINT into ``KeyboardInterrupt`` wherever the program happens to be, and a library
can swallow it: pyarrow imports pandas lazily inside a Cython function that cannot raise, so a
Ctrl-C that lands there is printed as "Exception ignored" and the run goes on. ``CtrlC`` counts
every SIGINT as it arrives, so one that was swallowed is raised again at the next check (each
iteration of the loop is one), and keeps the swallowed one's report off the screen.

>>> watch = CtrlC()
>>> watch.install()      # the command line's main does this, on the main thread
>>> watch(None)          # a loop callback: raises KeyboardInterrupt if a Ctrl-C was swallowed
>>> watch.restore()
"""

from __future__ import annotations

import signal
import sys
import threading


class CtrlC:
    """Counts SIGINTs while installed; ``__call__`` (a loop callback, or a plain check) raises one not yet acted on."""

    def __init__(self):
        self.pending = 0
        self.on_interrupt = None       # what to do with Ctrl-C once a run has finished (save its final state)
        self._previous = None
        self._previous_hook = None

    def install(self) -> None:
        self.pending, self.on_interrupt = 0, None
        if threading.current_thread() is not threading.main_thread():
            return
        self._previous = signal.signal(signal.SIGINT, self._handle)
        self._previous_hook, sys.unraisablehook = sys.unraisablehook, self._unraisable

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        if self._previous_hook is not None:
            sys.unraisablehook, self._previous_hook = self._previous_hook, None

    def __call__(self, state=None) -> None:
        if self.pending:
            raise KeyboardInterrupt

    def _handle(self, signum, frame):
        self.pending += 1
        raise KeyboardInterrupt

    def _unraisable(self, unraisable) -> None:
        # A KeyboardInterrupt that a library could not raise: counted already, raised at the next check.
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            return
        (self._previous_hook or sys.__unraisablehook__)(unraisable)

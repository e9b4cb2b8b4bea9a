"""Ctrl-C on the command line: never a traceback, never swallowed, never the loss of a finished run.

SIGTERM (``kill``, ``timeout``, ``docker stop``, systemd, a batch scheduler's time limit) and SIGHUP (a
closed terminal or ssh session) are handled as Ctrl-C: the run's state is saved where it would be,
and the exit code says which signal it was, 128 + its number (130, 143, 129), as a shell reports it.

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

# The signals that stop a run as Ctrl-C does (SIGHUP does not exist on Windows).
SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class CtrlC:
    """Counts SIGINTs (and SIGTERMs, SIGHUPs) while installed; ``__call__`` (a loop callback, or a plain check)
    raises one not yet acted on. ``exit_code`` is 128 + the number of the last signal (130 for Ctrl-C)."""

    def __init__(self):
        self.pending = 0
        self.signum = signal.SIGINT
        self.on_interrupt = None       # what to do with Ctrl-C once a run has finished (save its final state)
        self._previous = {}
        self._previous_hook = None

    @property
    def exit_code(self) -> int:
        return 128 + int(self.signum)

    def install(self) -> None:
        self.pending, self.signum, self.on_interrupt = 0, signal.SIGINT, None
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        self._previous_hook, sys.unraisablehook = sys.unraisablehook, self._unraisable

    def restore(self) -> None:
        while self._previous:
            signum, handler = self._previous.popitem()
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        if self._previous_hook is not None:
            sys.unraisablehook, self._previous_hook = self._previous_hook, None

    def __call__(self, state=None) -> None:
        if self.pending:
            raise KeyboardInterrupt

    def _handle(self, signum, frame):
        self.pending += 1
        self.signum = signum
        raise KeyboardInterrupt

    def _unraisable(self, unraisable) -> None:
        # A KeyboardInterrupt that a library could not raise: counted already, raised at the next check.
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            return
        (self._previous_hook or sys.__unraisablehook__)(unraisable)

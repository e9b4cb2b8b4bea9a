"""How long a test waits for something that will happen: a bound that only stops a test that hangs.

A test waits on events (a file appears, a page says it is drawn, a thread ends); the bound on such a
wait never decides whether a slow machine passes, so it is generous and grows with the machine's load:
``seconds`` on a quiet machine, times (1 + the load per core) on a busy one, times GRADFIT_TEST_PATIENCE
if set (say 4 where a suite shares a few cores with much other work).

>>> page.set_default_timeout(patience(30) * 1000)      # doctest: +SKIP
"""

from __future__ import annotations

import os


def patience(seconds: float) -> float:
    """``seconds`` scaled to the machine: (1 + load per core) × GRADFIT_TEST_PATIENCE (default 1)."""
    try:
        load = os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:                          # no load average on this system
        load = 0.0
    return seconds * (1.0 + load) * float(os.environ.get("GRADFIT_TEST_PATIENCE", "1"))

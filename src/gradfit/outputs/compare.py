"""Runs beside a run: the same fit again at other learning rates, to show what they do.

The only module of the outputs that trains: an explanation or a report that shows a diverging
learning rate next to the run calls this explicitly, and says so.
"""

from __future__ import annotations

import math

from gradfit.errors import DivergenceError
from gradfit.fit import fit_data
from gradfit.outputs.explain.analysis import require_data

RERUN_BUDGET = 50_000_000   # numbers read per extra run (rows × columns × iterations), so big data stay quick


def rate_just_above(stable_lr: float) -> float:
    """A round learning rate 1–2 % above 2/h_max (0.061 for the tutorial's bound 0.0601)."""
    target = 1.015 * stable_lr
    digits = -int(math.floor(math.log10(target))) + 1
    return math.ceil(target * 10 ** digits) / 10 ** digits


def rerun(result, lr: float, iters: int = 500, **options):
    """The same plain gradient-descent run again with learning rate ``lr``; a diverged run is returned, not raised.
    ``options`` change more (``standardize=True``, ``optimizer="momentum", momentum=0.5``).

    On big data the run is shortened to about ``RERUN_BUDGET`` numbers read (at least 30
    iterations): a run above the stable rate is already visibly growing by then.
    """
    data = require_data(result)
    iters = max(30, min(iters, RERUN_BUDGET // max(1, data.X.size)))
    try:
        return fit_data(data, lr=lr, iters=iters, tol=None, init=result.init, loss=result.reduction,
                        engine=options.pop("engine", result.engine), fit_intercept=result.loss_spec.fit_intercept, dtype="float64",
                        history_cap=10_000, **({"optimizer": "gd", "standardize": False} | options))
    except DivergenceError as exc:
        return exc.result

"""gradfit: linear regression trained by gradient descent — exact to the textbook, every step explained.

>>> import gradfit
>>> r = gradfit.fit([1, 2, 3], [3, 5, 7], lr=0.01, iters=1000, tol=None, init=(1.0, 0.0), loss="sse", engine="python")
>>> r.model.predict([4])
array([9.00025623])
"""


def _quiet_ctrl_c_while_the_command_starts() -> None:
    """Started as the ``gradfit`` command (the console script or ``python -m gradfit``): a Ctrl-C during the
    imports below (~0.3 s) exits 130 with "Interrupted." instead of a traceback. ``gradfit.cli.main`` then
    takes SIGINT over. Imported as a library, nothing changes."""
    import _signal          # the C module: `signal` would first import enum, which takes a while
    import os
    import sys

    orig = list(getattr(sys, "orig_argv", ()))
    as_module = "-m" in orig and orig[orig.index("-m") + 1:orig.index("-m") + 2] == ["gradfit"]
    as_script = bool(sys.argv) and os.path.basename(sys.argv[0]) in ("gradfit", "gradfit.exe")
    if (as_module or as_script) and _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
        try:
            _signal.signal(_signal.SIGINT, _exit_quietly)
        except ValueError:          # not the main thread
            pass


def _exit_quietly(signum, frame) -> None:
    import os

    os.write(2, b"Interrupted.\n")
    os._exit(130)


_quiet_ctrl_c_while_the_command_starts()

from gradfit.data import datasets  # noqa: E402
from gradfit.data.files import open_files  # noqa: E402
from gradfit.errors import (ConfigError, ConvergenceWarning, DataError, DivergenceError, GradfitError, GradfitWarning,
                            Interrupted)  # noqa: E402
from gradfit.fit import fit  # noqa: E402
from gradfit.cv import CVResult, cv  # noqa: E402
from gradfit.model import LinearModel  # noqa: E402
from gradfit.outputs.explain import explain  # noqa: E402
from gradfit.outputs.persist import load_model, save_model  # noqa: E402
from gradfit.result import FitResult  # noqa: E402
from gradfit.warmup import descend  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "CVResult", "ConfigError", "ConvergenceWarning", "DataError", "DivergenceError", "FitResult", "GDRegressor", "GradfitError", "GradfitWarning",
    "Interrupted", "LinearModel",
    "cv", "datasets", "descend", "explain", "fit", "load_model", "open_files", "save_model",
]


def __getattr__(name: str):
    # scikit-learn is imported only when GDRegressor is asked for, so `import gradfit` stays quick.
    if name == "GDRegressor":
        from gradfit.sklearn import GDRegressor

        return GDRegressor
    raise AttributeError(f"module 'gradfit' has no attribute {name!r}")

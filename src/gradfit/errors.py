"""The errors a user can cause, one type per kind of mistake.

Each subclasses ``ValueError`` (as scikit-learn's ``InvalidParameterError`` does), so
plain Python callers catch them as they expect. The library raises them; only
``gradfit.cli`` turns them into a message and an exit code.
"""

from __future__ import annotations

# Exit codes that scripts can rely on (also listed in ``gradfit --help``).
EXIT_DATA = 1        # the data or a file is wrong: missing, ragged, non-numeric, NaN, corrupted
EXIT_USAGE = 2       # an option is wrong: unknown, out of range, inconsistent
EXIT_DIVERGED = 3    # the run diverged: the learning rate is too large for these data
EXIT_NOT_CONVERGED = 4   # the fit stopped at its iteration limit before its stopping rule was met
EXIT_INTERRUPTED = 130


class GradfitError(ValueError):
    """Base of gradfit's user-facing errors; ``exit_code`` is what the CLI exits with."""

    exit_code = EXIT_DATA


class DataError(GradfitError):
    """The data, or a file, cannot be used as it is (names the file, column, row or value)."""

    exit_code = EXIT_DATA


class ConfigError(GradfitError):
    """A hyper-parameter or option has an invalid value, or an optional extra is missing."""

    exit_code = EXIT_USAGE


class DivergenceError(GradfitError):
    """Gradient descent diverged. ``result`` holds the run up to the point it was stopped."""

    exit_code = EXIT_DIVERGED

    def __init__(self, message: str, result=None):
        super().__init__(message)
        self.result = result


class GradfitWarning(UserWarning):
    """Something the user should know that does not stop the fit (collinear features, p > n, …)."""


class ConvergenceWarning(GradfitWarning):
    """A fit stopped at its iteration limit before its stopping rule was met: the answer is not the optimum."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run; ``path`` holds its last completed iteration (``None``: nothing was saved).

    ``finished``: the descent had ended and ``path`` holds its final state (resuming only writes the results).
    """

    exit_code = EXIT_INTERRUPTED

    def __init__(self, path=None, iteration: int | None = None, finished: bool = False):
        super().__init__(f"interrupted after iteration {iteration}" if iteration is not None else "interrupted")
        self.path, self.iteration, self.finished = path, iteration, finished


def missing_extra(package: str, extra: str) -> ConfigError:
    """The error for an optional dependency that is not installed."""
    return ConfigError(
        f"This needs the optional dependency '{package}', which is not installed. "
        f"Install it with: pip install 'gradfit[{extra}]'"
    )

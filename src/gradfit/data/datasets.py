"""The tutorial's data sets, embedded.

>>> d = tutorial()
>>> d.x_train, d.y_train, d.x_test, d.y_test
([1, 2, 3], [3, 5, 7], [4], [9])
"""

from __future__ import annotations

from typing import NamedTuple


class Dataset(NamedTuple):
    name: str
    x_train: list
    y_train: list
    x_test: list
    y_test: list
    description: str


def tutorial() -> Dataset:
    """x = 1, 2, 3 → y = 3, 5, 7 (on the line y = 2x + 1); held-out test row x = 4 → y = 9."""
    return Dataset("tutorial", [1, 2, 3], [3, 5, 7], [4], [9],
                   "the tutorial's data: three points on y = 2x + 1, test row x = 4")


def noisy() -> Dataset:
    """The tutorial's second data set: x = 1, 1.5, 3 → y = 3, 5, 7, not on one line."""
    return Dataset("noisy", [1, 1.5, 3], [3, 5, 7], [4], [9],
                   "the tutorial's second data set: x = 1, 1.5, 3 (not on one line)")


PRESETS = {"tutorial": tutorial, "noisy": noisy}


def preset(name: str) -> Dataset:
    from gradfit.errors import ConfigError

    try:
        return PRESETS[name]()
    except KeyError:
        raise ConfigError(f"Unknown data set {name!r}; choose one of: {', '.join(PRESETS)}.") from None

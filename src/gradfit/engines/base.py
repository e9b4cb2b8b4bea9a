"""What every engine is: the ``Objective`` Protocol the loop and ``fit`` use, and the part shared by engines that
walk no mini-batches. Engines import this module, the registry (``gradfit.engines``) imports the engines."""

from __future__ import annotations

from typing import Callable, Iterator, Protocol, runtime_checkable

import numpy as np

from gradfit.errors import ConfigError
from gradfit.loss import Loss


@runtime_checkable
class Objective(Protocol):
    """The loss of some data as the descent sees it."""

    name: str
    dtype: np.dtype
    n_rows: int
    loss: Loss
    summary: object | None      # the one-pass ``stats.Summary``, where the engine reduces the data to one
    rescan: Callable[[], Iterator] | None   # with a summary: a fresh pass over the (X, y) blocks

    def loss_and_gradient(self, theta) -> tuple[float, np.ndarray]:
        """Loss(θ) and ∇Loss(θ)."""

    def gram(self) -> np.ndarray:
        """AᵀSA (float64), so that the Hessian is ``loss.hessian(gram, n_rows)``."""

    def iter_batches(self, batch_size: int, rng: np.random.Generator) -> Iterator:
        """Mini-batches covering every row once, in an order drawn from ``rng`` (ConfigError where not possible)."""

    def batch_gradient(self, batch, theta) -> np.ndarray:
        """An unbiased estimate of ∇Loss(θ) from one mini-batch."""

    def close(self) -> None:
        """Release what the engine holds (a Dask cluster it started)."""



def batches_not_supported(engine: str):
    """The error of an engine that cannot walk mini-batches."""
    return ConfigError(f"Mini-batch SGD needs the numpy, torch, stream or dask engine, not {engine!r}.")


class FullBatchOnly:
    """The part of an ``Objective`` for an engine that walks no mini-batches and holds nothing to close."""

    name: str

    def iter_batches(self, batch_size: int, rng):
        raise batches_not_supported(self.name)

    def batch_gradient(self, batch, theta):
        raise batches_not_supported(self.name)

    def close(self) -> None:
        pass

"""The stream engine: files larger than memory, read chunk by chunk.

Full-batch gradient descent needs one pass: the chunks are reduced to the stats engine's
summary (``gradfit.engines.stats``), and every iteration is then O(d²). Mini-batch SGD
walks the chunks once per epoch through ``iter_batches``, the order seeded: the chunks
(Parquet row groups, or CSV files) are shuffled, then the rows within each block read.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from gradfit.engines.stats import StatsObjective, array_blocks, summarize
from gradfit.scan import Scan


def scan_blocks(scan: Scan):
    """Every row of the scan as cache-sized ``(X, y)`` blocks, one read of the files."""
    for X, y in scan.batches():
        yield from array_blocks(X, y)


class StreamObjective(StatsObjective):
    """The stats objective of a ``Scan``, plus mini-batches that re-read the files each epoch."""

    name = "stream"

    def __init__(self, scan: Scan, *, reduction: str, fit_intercept: bool):
        self.scan = scan
        summary = summarize(scan_blocks(scan))
        scan.n_rows = summary.n
        super().__init__(summary, reduction=reduction, fit_intercept=fit_intercept,
                         rescan=lambda: scan_blocks(scan))

    def iter_batches(self, batch_size: int, rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(X, y)`` mini-batches covering every row once, in an order drawn from ``rng``."""
        chunks = self.scan.chunks()
        return shuffled_batches(len(chunks), lambda i: self.scan.batches(chunks[i]), batch_size, rng,
                                len(self.scan.feature_names))


def shuffled_batches(n_chunks: int, read, batch_size: int, rng: np.random.Generator, d: int):
    """Mini-batches over chunks read one at a time: chunk order and rows within a block shuffled.

    ``read(i)`` yields the ``(X, y)`` blocks of chunk ``i``. Rows left over at the end of a
    block start the next batch, so every batch but the last has ``batch_size`` rows.
    """
    carry_X, carry_y = np.empty((0, d)), np.empty(0)
    for i in rng.permutation(n_chunks):
        for X, y in read(int(i)):
            order = rng.permutation(len(y))
            X, y = np.vstack([carry_X, X[order]]), np.concatenate([carry_y, y[order]])
            full = len(y) - len(y) % batch_size
            for start in range(0, full, batch_size):
                yield X[start:start + batch_size], y[start:start + batch_size]
            carry_X, carry_y = X[full:], y[full:]
    if len(carry_y):
        yield carry_X, carry_y

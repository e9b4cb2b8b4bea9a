"""Data in: arrays, frames and files become validated float arrays, once, at the edge.

``arrays`` validates what is in memory (``XY``); ``files`` is the one reader of CSV and Parquet
files, whole or in chunks (``Scan``); ``datasets`` holds the tutorial's data; ``standardize``
the centring and scaling that precondition the descent.
"""

from gradfit.data.arrays import XY, as_xy, split
from gradfit.data.files import Scan, load_xy, open_files, read_all

__all__ = ["XY", "Scan", "as_xy", "load_xy", "open_files", "read_all", "split"]

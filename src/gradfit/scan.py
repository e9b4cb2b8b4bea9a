"""Files larger than memory: CSV or Parquet (one file, a glob or a directory) read in bounded chunks.

``open_files`` checks the paths and columns once; ``Scan.batches()`` then yields validated
float blocks ``(X, y)`` of at most ``BATCH_ROWS`` rows, so memory does not grow with the
data. Every problem is a ``DataError`` naming the file, the column and the row.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from gradfit.data import CSV_SUFFIXES, PARQUET_SUFFIXES, _check_known, check_finite, column_to_float
from gradfit.errors import ConfigError, DataError

BATCH_ROWS = 65_536


@dataclass(frozen=True)
class Chunk:
    """A piece of the data that can be read on its own: a Parquet row group, or a CSV file."""

    file: str
    row_group: int | None
    first_row: int              # rows of this file before the chunk (for messages)


@dataclass
class Scan:
    """Columns of one or more files, read chunk by chunk (never all at once)."""

    files: tuple[str, ...]
    feature_names: tuple[str, ...]
    target_name: str
    source: str
    format: str                  # "parquet" | "csv"
    n_rows: int | None = None    # known for Parquet up front, for CSV after the first pass
    X = None                     # not in memory: fitting reads it through an engine

    @property
    def columns(self) -> list[str]:
        return list(dict.fromkeys([*self.feature_names, self.target_name]))

    def chunks(self) -> list[Chunk]:
        """Parquet row groups (each readable alone), or whole CSV files."""
        if self.format == "csv":
            return [Chunk(f, None, 0) for f in self.files]
        import pyarrow.parquet as pq

        out = []
        for f in self.files:
            meta, first = pq.ParquetFile(f).metadata, 0
            for g in range(meta.num_row_groups):
                out.append(Chunk(f, g, first))
                first += meta.row_group(g).num_rows
        return out

    def batches(self, chunk: Chunk | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Validated ``(X, y)`` blocks of the whole data (or of one chunk), in file order."""
        for c in ([chunk] if chunk else self._file_chunks()):
            row = c.first_row
            for batch in self._record_batches(c):
                yield self._to_arrays(batch, c.file, row)
                row += batch.num_rows

    def _file_chunks(self) -> list[Chunk]:
        return [Chunk(f, None, 0) for f in self.files]

    def _record_batches(self, c: Chunk):
        import pyarrow as pa

        try:
            fragment = next(iter(_dataset([c.file], self.format, self.columns).get_fragments()))
            if c.row_group is not None:
                fragment = fragment.subset(row_group_ids=[c.row_group])
            # No pre-buffering and little read-ahead: memory stays at a few batches.
            yield from fragment.to_batches(columns=self.columns, batch_size=BATCH_ROWS,
                                           batch_readahead=1, fragment_readahead=1,
                                           fragment_scan_options=_scan_options(self.format))
        except (pa.ArrowInvalid, OSError) as exc:
            raise _read_error(c.file, self.format, exc) from None

    def _to_arrays(self, batch, file: str, first_row: int):
        is_csv = self.format == "csv"
        columns = {}
        for name in self.columns:
            values = batch.column(name).to_numpy(zero_copy_only=False)
            column = column_to_float(values, name, file=is_csv, source=f"'{file}'", offset=first_row)
            check_finite(column, name, file=is_csv, source=f"'{file}'", offset=first_row)
            columns[name] = column
        X = np.column_stack([columns[c] for c in self.feature_names])
        return X, columns[self.target_name]


def open_files(path, x_columns: list[str], y_column: str) -> Scan:
    """A ``Scan`` of the CSV or Parquet files at ``path`` (a file, a glob such as ``data/*.parquet``, or a directory)."""
    files = _resolve(str(path))
    formats = {_format_of(f) for f in files}
    if len(formats) > 1:
        raise DataError(f"'{path}' mixes CSV and Parquet files; give files of one format.")
    fmt = formats.pop()
    scan = Scan(tuple(files), tuple(x_columns), y_column, str(path), fmt)
    for f in files:
        _check_known(f, scan.columns, _schema_names(f, fmt))
    if fmt == "parquet":
        import pyarrow.parquet as pq

        scan.n_rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    return scan


def read_all(scan: Scan) -> tuple[np.ndarray, np.ndarray]:
    """The whole data in memory (for the engines that need it there)."""
    blocks = list(scan.batches())
    if not blocks:
        raise DataError(f"'{scan.source}' holds no rows.")
    return np.vstack([X for X, _ in blocks]), np.concatenate([y for _, y in blocks])


def is_large(path, limit_bytes: int) -> bool:
    """Whether the files at ``path`` are many, or together larger than ``limit_bytes``."""
    try:
        files = _resolve(str(path))
    except DataError:
        return False
    return len(files) > 1 or sum(Path(f).stat().st_size for f in files) > limit_bytes


def _resolve(path: str) -> list[str]:
    p = Path(path)
    if p.is_dir():
        files = sorted(str(f) for f in p.iterdir() if f.is_file() and _known_suffix(f))
        if not files:
            raise DataError(f"The directory '{path}' holds no CSV or Parquet files.")
        return files
    if any(ch in path for ch in "*?["):
        files = sorted(f for f in glob.glob(path) if Path(f).is_file())
        if not files:
            raise DataError(f"No file matches '{path}'. Check the pattern and the current directory.")
        unknown = [f for f in files if not _known_suffix(Path(f))]
        if unknown:
            raise DataError(f"'{unknown[0]}' (matched by '{path}') is neither CSV nor Parquet; narrow the pattern.")
        return files
    if not p.exists():
        raise DataError(f"File not found: '{path}'. Check the path and the current directory.")
    if p.stat().st_size == 0:
        raise DataError(f"'{path}' is empty. A CSV needs a header line and data rows.")
    return [path]


def _known_suffix(p: Path) -> bool:
    return p.suffix.lower() in CSV_SUFFIXES | PARQUET_SUFFIXES


def _format_of(f: str) -> str:
    return "parquet" if Path(f).suffix.lower() in PARQUET_SUFFIXES else "csv"


def _dataset(files, fmt: str, columns):
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.dataset as ds

    if fmt == "parquet":
        return ds.dataset(files, format="parquet")
    delimiter = "\t" if Path(files[0]).suffix.lower() == ".tsv" else ","
    return ds.dataset(files, format=ds.CsvFileFormat(
        parse_options=pcsv.ParseOptions(delimiter=delimiter),
        convert_options=pcsv.ConvertOptions(column_types={c: pa.float64() for c in columns})))


def _scan_options(fmt: str):
    import pyarrow.dataset as ds

    return ds.ParquetFragmentScanOptions(pre_buffer=False) if fmt == "parquet" else None


def _schema_names(f: str, fmt: str) -> list[str]:
    import pyarrow as pa
    import pyarrow.dataset as ds

    try:
        return ds.dataset([f], format=fmt).schema.names
    except (pa.ArrowInvalid, OSError) as exc:
        raise _read_error(f, fmt, exc) from None


CSV_PROBLEM = re.compile(r"In CSV column #(\d+): Row #(\d+): (.*)")


def _read_error(file: str, fmt: str, exc: Exception) -> DataError:
    """pyarrow's message, turned into one that names the file, the column and the line."""
    if fmt == "parquet":
        return DataError(f"'{file}' is not a readable Parquet file ({exc}). Check that the file is complete.")
    match = CSV_PROBLEM.search(str(exc))
    if match:
        with open(file, encoding="utf-8", errors="replace") as f:
            header = f.readline().rstrip("\r\n").split("\t" if file.endswith(".tsv") else ",")
        column, line = int(match.group(1)), int(match.group(2))
        name = header[column] if column < len(header) else f"#{column + 1}"
        value = re.search(r"invalid value '(.*)'", match.group(3))
        what = f"holds {value.group(1)!r}" if value else match.group(3)
        return DataError(
            f"Column '{name}' in '{file}' is not numeric: line {line} of the file (data row {line - 1}) {what}. "
            "gradfit fits numbers only; fix or remove that row, or leave the column out."
        )
    from gradfit.data import _csv_error

    return _csv_error(Path(file), "\t" if file.endswith(".tsv") else ",", exc)


# Files up to this size are read into memory by engine="auto"; larger ones (or several) stream.
IN_MEMORY_BYTES = 256 * 2**20


def open_data(path, x_columns: list[str], y_column: str, engine: str = "auto", *,
              weight_column: str | None = None, dropna: bool = False):
    """Training data at ``path``: in memory (``XY``) when small and one file, else a ``Scan``.

    Sample weights and dropping rows with missing values work on data in memory: with either,
    one file is read into memory whatever its size.
    """
    from gradfit.data import load_xy

    single = not any(ch in str(path) for ch in "*?[") and not Path(path).is_dir()
    in_memory = engine in ("python", "numpy", "torch") or weight_column is not None or dropna
    if single and (in_memory or (engine == "auto" and not is_large(path, IN_MEMORY_BYTES))):
        return load_xy(path, x_columns, y_column, weight_column=weight_column, dropna=dropna)
    if weight_column is not None or dropna:
        raise ConfigError("--weight and --dropna work on one file read into memory; for many files or "
                          "a directory, prepare the data first (drop missing rows, fold weights in).")
    return open_files(path, x_columns, y_column)

"""The one file reader: CSV or Parquet (one file, a glob or a directory), read in bounded chunks.

``open_files`` checks the paths and columns once; ``Scan.batches()`` then yields validated
float blocks ``(X, y)`` of at most ``BATCH_ROWS`` rows, so memory does not grow with the
data. Reading a file whole (``read_columns``, ``load_xy``) is the same chunked read,
concatenated. Every problem is a ``DataError`` naming the file, the column and the row.
"""

from __future__ import annotations

import dataclasses
import glob
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from gradfit.data.arrays import MIN_ROWS, XY, check_finite, check_rows, checked, column_to_float
from gradfit.errors import DataError

BATCH_ROWS = 65_536
CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
PARQUET_SUFFIXES = {".parquet", ".pq"}


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
    n_rows: int | None = None    # known for Parquet up front (None for CSV until read)

    weight_name: str | None = None   # a column of sample weights (read whole only)

    @property
    def columns(self) -> list[str]:
        return list(dict.fromkeys([*self.feature_names, *([self.weight_name] if self.weight_name else []),
                                   self.target_name]))

    @property
    def size_bytes(self) -> int:
        return sum(Path(f).stat().st_size for f in self.files)

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
        for columns in self.column_batches(chunk):
            yield np.column_stack([columns[c] for c in self.feature_names]), columns[self.target_name]

    def column_batches(self, chunk: Chunk | None = None, *, allow_missing: bool = False):
        """Every wanted column as float64, a block at a time; NaN refused unless ``allow_missing``."""
        for c in ([chunk] if chunk else self._file_chunks()):
            row = c.first_row
            for batch in self._record_batches(c):
                yield self._to_arrays(batch, c.file, row, allow_missing)
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
        except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
            raise _read_error(c.file, self.format, exc) from None

    def _to_arrays(self, batch, file: str, first_row: int, allow_missing: bool = False) -> dict[str, np.ndarray]:
        is_csv = self.format == "csv"
        columns = {}
        for name in self.columns:
            values = batch.column(name).to_numpy(zero_copy_only=False)
            column = column_to_float(values, name, file=is_csv, source=f"'{file}'", offset=first_row)
            if not allow_missing:
                check_finite(column, name, file=is_csv, source=f"'{file}'", offset=first_row)
            columns[name] = column
        return columns


def open_files(path, x_columns: list[str], y_column: str, *, weight_column: str | None = None) -> Scan:
    """A ``Scan`` of the CSV or Parquet files at ``path`` (a file, a glob such as ``data/*.parquet``, or a directory).

    Nothing is read but the schemas: the data are read in chunks by an engine, or whole by ``read_all``."""
    files = _resolve(str(path))
    formats = {_format_of(f) for f in files}
    if len(formats) > 1:
        raise DataError(f"'{path}' mixes CSV and Parquet files; give files of one format.")
    fmt = formats.pop()
    scan = Scan(tuple(files), tuple(x_columns), y_column, str(path), fmt, weight_name=weight_column)
    for f in files:
        _check_known(f, scan.columns, _schema_names(f, fmt))
    if fmt == "parquet":
        import pyarrow.parquet as pq

        scan.n_rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    return scan


def read_columns(path, columns: list[str], *, min_rows: int = MIN_ROWS,
                 allow_missing: bool = False) -> dict[str, np.ndarray]:
    """The named numeric columns of the file(s) at ``path``, whole: the chunked read, concatenated."""
    columns = list(dict.fromkeys(columns))
    return _read_whole(open_files(path, columns[:-1], columns[-1]), min_rows, allow_missing)


def _read_whole(scan: Scan, min_rows: int, allow_missing: bool) -> dict[str, np.ndarray]:
    blocks = list(scan.column_batches(allow_missing=allow_missing))
    n = sum(len(b[scan.target_name]) for b in blocks)
    check_rows(n, f"'{scan.source}'", min_rows)
    return {c: np.concatenate([b[c] for b in blocks]) for c in scan.columns}


def read_all(scan: Scan, *, dropna: bool = False, min_rows: int = MIN_ROWS) -> XY:
    """The whole data of a ``Scan`` in memory, validated as arrays are: missing values refused
    (counted per column) or their rows dropped with ``dropna``; sample weights checked."""
    columns = _read_whole(scan, min_rows, allow_missing=True)
    X = np.column_stack([columns[c] for c in scan.feature_names])
    weight = columns[scan.weight_name] if scan.weight_name else None
    data = checked(X, columns[scan.target_name], scan.feature_names, scan.target_name, weight, dropna=dropna,
                   source=f"'{scan.source}'", file=scan.format == "csv",
                   weight_name=scan.weight_name or "sample_weight", min_rows=min_rows)
    return dataclasses.replace(data, source=scan.source)


def load_xy(path, x_columns: list[str], y_column: str, *, weight_column: str | None = None,
            dropna: bool = False, min_rows: int = MIN_ROWS) -> XY:
    """Training data from a file, whole: the ``x_columns`` as features, ``y_column`` as target,
    ``weight_column`` as sample weights; missing values refused (counted per column) or dropped."""
    return read_all(open_files(path, x_columns, y_column, weight_column=weight_column), dropna=dropna,
                    min_rows=min_rows)


def _check_known(path, wanted, available) -> None:
    known = set(available)
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise DataError(
            f"Column{'s' * (len(unknown) != 1)} {_listed(unknown, repr)} not found in "
            f"'{path}'. Its columns are: {_listed(available, str)}."
        )


def _listed(names, show, limit: int = 20) -> str:
    """Names for a message, at most ``limit`` of them: a model with 200 000 features must not make megabytes of text."""
    names = list(names)
    shown = ", ".join(show(n)[:100] for n in names[:limit])
    return shown if len(names) <= limit else f"{shown} … ({len(names) - limit} more)"


def write_csv_atomic(path, columns: dict[str, np.ndarray]) -> None:
    """Write columns as CSV, floats in full (round-trip) precision, atomically."""
    from gradfit.atomic import write_text

    names = list(columns)
    lines = [",".join(names)]
    for row in zip(*(columns[n].tolist() for n in names)):
        lines.append(",".join(repr(float(v)) for v in row))
    write_text(path, "\n".join(lines) + "\n")


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
    if not p.is_file():
        raise DataError(f"'{path}' is not a regular file; give a CSV or Parquet file, a glob or a directory.")
    if p.stat().st_size == 0:
        raise DataError(f"'{path}' is empty. A CSV needs a header line and at least {MIN_ROWS} data rows.")
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
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
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
            "gradfit fits numbers only; fix or remove that row, encode text or categories as numeric "
            "columns, or leave the column out."
        )
    return _csv_error(Path(file), "\t" if file.endswith(".tsv") else ",", exc)


def _csv_error(path: Path, delimiter: str, exc: Exception) -> DataError:
    """Turn pyarrow's parse error into a message with the line number."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f, delimiter=delimiter)
            header = next(reader, [])
            for row in reader:
                if row and len(row) != len(header):
                    return DataError(
                        f"'{path}' is ragged: line {reader.line_num} has {len(row)} field"
                        f"{'s' * (len(row) != 1)} but the header has {len(header)} "
                        f"({', '.join(header)}). Fix that line so every row has one value per column."
                    )
    except UnicodeDecodeError:
        return DataError(f"'{path}' is not a UTF-8 text file; is it really a CSV? Export it as CSV (UTF-8).")
    return DataError(f"'{path}' could not be read as CSV: {exc}. Check that it is a comma-separated text file with a header line.")

"""The one file reader: CSV or Parquet (one file, a glob or a directory), read in bounded chunks.

``open_files`` checks the paths and columns once; ``Scan.batches()`` then yields validated
float blocks ``(X, y)`` of at most ``BATCH_ROWS`` rows, so memory does not grow with the
data. Reading a file whole (``read_columns``, ``load_xy``) is the same chunked read,
concatenated. Every problem is a ``DataError`` naming the file, the column and the row.
"""

from __future__ import annotations

import dataclasses
import glob
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from gradfit.data.arrays import (MIN_ROWS, XY, check_distinct, check_finite, check_rows, checked, column_to_float,
                                 shown)
from gradfit.errors import ConfigError, DataError

BATCH_ROWS = 65_536
CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
SNIFFED_DELIMITERS = (";", "\t", "|")   # tried, in this order, when a CSV's header holds no comma
NAMED_DELIMITERS = {"tab": "\t", "\\t": "\t", "semicolon": ";", "comma": ",", "pipe": "|"}   # --delimiter tab, …
MAX_FIELD_BYTES = 1 << 20               # pyarrow reads a CSV in 1 MiB blocks: no row may be longer
# Compressed CSV files (data.csv.gz, …), read through their codec in bounded memory.
COMPRESSED_SUFFIXES = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".lz4": "lz4"}
# A compressed file may expand to this many times its size (real CSV files: 2–20 times with gzip), or to
# EXPANSION_FREE_BYTES whatever its size; more is refused as a DataError (a "zip bomb": 2 MB of gzip can hold
# 1 GiB of CSV). An uncompressed file has no such limit: decompress a file that really expands more.
MAX_EXPANSION = 100
EXPANSION_FREE_BYTES = 64 * 2**20


@dataclass(frozen=True)
class CsvOptions:
    """How a CSV file is written: the delimiter between fields and the text encoding."""

    delimiter: str = ","
    encoding: str = "utf-8"


def csv_options(files, delimiter: str | None = None, encoding: str | None = None) -> CsvOptions:
    """The CSV options for ``files``: ``delimiter`` as given (``tab`` or ``\\t`` for a tab), else a tab
    for ``.tsv`` files, else sniffed from the first header — a comma unless the header holds none and
    holds one of ``; TAB |``. ``encoding`` is any Python codec name (default UTF-8)."""
    import codecs

    encoding = encoding or "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ConfigError(f"Unknown encoding {shown(encoding)}; give a Python codec name such as utf-8, latin-1 "
                          "or cp1252.") from None
    if delimiter is not None:
        delimiter = NAMED_DELIMITERS.get(delimiter.lower(), delimiter)
        if len(delimiter) != 1 or delimiter in "\r\n\"":
            raise ConfigError(f"Invalid delimiter {shown(delimiter)}: give one character such as ';' or '|', or 'tab'.")
        return CsvOptions(delimiter, encoding)
    first = files[0]
    if _data_suffix(Path(first)) == ".tsv":
        return CsvOptions("\t", encoding)
    with open_bytes(first) as f:
        header = f.read(65_536).split(b"\n", 1)[0].decode(encoding, errors="replace")
    if "," not in header:
        for candidate in SNIFFED_DELIMITERS:
            if candidate in header:
                return CsvOptions(candidate, encoding)
    return CsvOptions(",", encoding)


@dataclass(frozen=True)
class Chunk:
    """A piece of the data that can be read on its own: Parquet row groups of one file, or a CSV file."""

    file: str
    row_groups: tuple[int, ...] | None      # consecutive row groups of the file; None: the whole file
    first_row: int              # rows of this file before the chunk (for messages)
    rows: int | None = None     # rows in the chunk, where known up front (Parquet row groups)


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
    csv: CsvOptions = CsvOptions()
    kept: tuple[str, ...] = ()       # columns carried along as read (a CSV's as text), for predictions to keep

    @property
    def columns(self) -> list[str]:
        return list(dict.fromkeys([*self.feature_names, *([self.weight_name] if self.weight_name else []),
                                   self.target_name]))

    @property
    def file_bytes(self) -> int:
        """The files' sizes on disk (what a progress bar of the reading counts up to)."""
        return sum(Path(f).stat().st_size for f in self.files)

    def bytes_to_read(self, limit: int) -> int:
        """The bytes the files hold as read, counted up to just past ``limit``: a compressed file's by decompressing
        it (in bounded memory, its expansion checked), so that engine='auto' judges it by what it holds, not by
        its size on disk."""
        total = 0
        for f in self.files:
            if _codec(f) is None:
                total += Path(f).stat().st_size
                continue
            with open_bytes(f) as stream:
                while total <= limit and (block := stream.read(1 << 20)):
                    total += len(block)
            if total > limit:
                break
        return total

    def chunks(self, min_rows: int = 0) -> list[Chunk]:
        """Parquet row groups (each readable alone), consecutive ones of a file joined until a chunk has
        ``min_rows`` rows (0: a row group each); or whole CSV files."""
        if self.format == "csv":
            return [Chunk(f, None, 0) for f in self.files]
        out = []
        for f in self.files:
            meta, first, groups, rows = _parquet_metadata(f), 0, [], 0
            for g in range(meta.num_row_groups):
                groups.append(g)
                rows += meta.row_group(g).num_rows
                if rows >= min_rows or g == meta.num_row_groups - 1:
                    out.append(Chunk(f, tuple(groups), first, rows))
                    first, groups, rows = first + rows, [], 0
        return out

    def batches(self, chunk: Chunk | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Validated ``(X, y)`` blocks of the whole data (or of one chunk), in file order."""
        for columns in self.column_batches(chunk):
            yield np.column_stack([columns[c] for c in self.feature_names]), columns[self.target_name]

    def column_batches(self, chunk: Chunk | None = None, *, allow_missing: bool = False, keep_float32: bool = False,
                       with_kept: bool = False, on_read=None):
        """Every wanted column as float64, a block at a time; NaN refused unless ``allow_missing``. A float32
        column stays float32 (a view of what pyarrow read) with ``keep_float32``: the summary's kernel reads it
        where it is. ``with_kept``: ``(columns, kept)`` pairs, ``kept`` the ``kept`` columns as pyarrow read
        them. ``on_read(done)`` after each block: the bytes of the files read so far (of ``file_bytes``)."""
        import pyarrow as pa

        before = 0                                         # bytes of the files already read
        for c in ([chunk] if chunk else self._file_chunks()):
            row = c.first_row
            for batch, done in self._record_batches(c):
                try:
                    columns = self._to_arrays(batch, c.file, row, allow_missing, keep_float32)
                except (pa.ArrowException, UnicodeDecodeError) as exc:   # values that cannot be decoded
                    raise _read_error(c.file, self.format, exc, self.csv) from None
                yield (columns, {name: batch.column(name) for name in self.kept}) if with_kept else columns
                row += batch.num_rows
                if on_read is not None:
                    on_read(before + done)
            before += Path(c.file).stat().st_size

    def _file_chunks(self) -> list[Chunk]:
        return [Chunk(f, None, 0) for f in self.files]

    def _record_batches(self, c: Chunk):
        """``(record batch, bytes of the file read so far)``: the wanted columns, and the kept ones as read."""
        import pyarrow as pa

        kept = [name for name in self.kept if name not in self.columns]
        try:
            if self.format == "parquet":
                # pyarrow.parquet's own reader: a row group's column chunks read page by page (no pre-buffering),
                # the columns decoded in parallel; it needs neither pyarrow.dataset nor the pandas that it imports.
                with _parquet_file(c.file) as f:
                    size, rows, done = Path(c.file).stat().st_size, max(f.metadata.num_rows, 1), 0
                    for batch in f.iter_batches(batch_size=BATCH_ROWS, columns=self.columns + kept, use_threads=True,
                                                row_groups=None if c.row_groups is None else list(c.row_groups)):
                        done += batch.num_rows
                        yield batch, size * done // rows
                return
            try:
                yield from self._csv_batches(c, kept, threads=True)
            except pa.ArrowException as exc:
                if "Row #" in str(exc):
                    raise
                for _ in self._csv_batches(c, kept, threads=False):    # the same problem, its row numbered
                    pass
                raise
        except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
            raise _read_error(c.file, self.format, exc, self.csv) from None

    def _csv_batches(self, c: Chunk, kept=(), *, threads: bool):
        """A CSV chunk's record batches from pyarrow's streaming reader: a block is read when the next is asked for,
        so memory stays at a few blocks however slowly they are consumed (a dataset scan read ahead of a slow
        consumer — mini-batch SGD — without bound: +170 MiB on a 366 MB file). A compressed file is decompressed
        as it is read. The threaded reader converts faster; the serial one numbers the row of a bad value. The kept
        columns as text: written back as they were read ("007" stays 007, 1.50 stays 1.50). Each batch comes with
        the bytes of the file read so far (of a compressed file: its size, once read)."""
        import pyarrow as pa
        import pyarrow.csv as pcsv

        types = {name: pa.float64() for name in self.columns} | {name: pa.string() for name in kept}
        read, parse, convert = _csv_reading(self.csv, types, list(types))
        read.use_threads = threads
        with _csv_source(c.file) as source:
            position = source.tell if isinstance(source, pa.NativeFile) else (lambda: 0)
            for batch in pcsv.open_csv(source, read_options=read, parse_options=parse, convert_options=convert):
                for start in range(0, batch.num_rows, BATCH_ROWS):
                    yield batch.slice(start, BATCH_ROWS), position()

    def _to_arrays(self, batch, file: str, first_row: int, allow_missing: bool = False,
                   keep_float32: bool = False) -> dict[str, np.ndarray]:
        lines = self.format == "csv" and (lambda i: line_of_row(file, self.csv, i))
        columns = {}
        for name in self.columns:
            column = _numpy_column(batch.column(name))
            if not (keep_float32 and column.dtype == np.float32):
                column = column_to_float(column, name, file=lines, source=f"'{file}'", offset=first_row)
            if not allow_missing:
                check_finite(column, name, file=lines, source=f"'{file}'", offset=first_row)
            columns[name] = column
        return columns


def _numpy_column(array):
    """An Arrow column as numpy: decimals as float64 (Parquet's exact numbers are still numbers).

    A column of numbers without nulls is a view of its Arrow buffer (no copy; pyarrow's ``to_numpy`` would
    import pandas, a fifth of a second, for its conversion machinery)."""
    import pyarrow as pa

    if pa.types.is_decimal(array.type):
        array = array.cast(pa.float64())
    kind = "f" if pa.types.is_floating(array.type) else "i" if pa.types.is_signed_integer(array.type) else \
        "u" if pa.types.is_unsigned_integer(array.type) else None
    if kind and array.null_count == 0:
        dtype = np.dtype(f"{kind}{array.type.bit_width // 8}")
        if not len(array):
            return np.empty(0, dtype)
        return np.frombuffer(array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * dtype.itemsize)
    return array.to_numpy(zero_copy_only=False)


def open_files(path, x_columns: list[str], y_column: str, *, weight_column: str | None = None,
               delimiter: str | None = None, encoding: str | None = None) -> Scan:
    """A ``Scan`` of the CSV or Parquet files at ``path`` (a file, a glob such as ``data/*.parquet``, or a directory).

    ``x_columns`` may be ``"all"`` (or ``["all"]``): every numeric column of the first file but the
    target and the weights (unless the file has a column named ``all``). CSV files are comma-separated unless ``delimiter`` says otherwise (or the
    header shows ``;``, a tab or ``|``), in UTF-8 unless ``encoding`` says otherwise.
    Nothing is read but the schemas: the data are read in chunks by an engine, or whole by ``read_all``."""
    files = _resolve(str(path))
    formats = {_format_of(f) for f in files}
    if len(formats) > 1:
        raise DataError(f"'{path}' mixes CSV and Parquet files; give files of one format.")
    fmt = formats.pop()
    options = csv_options(files, delimiter, encoding) if fmt == "csv" else CsvOptions()
    if all_columns(x_columns) and "all" not in _schema_names(files[0], fmt, options):
        x_columns = _other_numeric_columns(files[0], fmt, options, [y_column, weight_column])
    check_distinct(x_columns, "The features (--x) name")
    both = [c for c in (y_column, weight_column) if c is not None and c in x_columns]
    if both or (weight_column is not None and weight_column == y_column):
        raise DataError(f"Column {shown(both[0] if both else y_column)} is given twice, as a feature (--x), the "
                        "target (--y) or the weights (--weight); each column can play one part.")
    scan = Scan(tuple(files), tuple(x_columns), y_column, str(path), fmt, weight_name=weight_column, csv=options)
    for f in files:
        _check_known(f, scan.columns, _schema_names(f, fmt, options), options if fmt == "csv" else None)
    if fmt == "parquet":
        scan.n_rows = sum(_parquet_metadata(f).num_rows for f in files)
    return scan


def open_for_prediction(path, feature_names, keep=(), *, delimiter: str | None = None,
                        encoding: str | None = None) -> Scan:
    """A ``Scan`` of a model's feature columns in the file(s) at ``path``, with the ``keep`` columns (any type;
    a CSV's as text) carried along as read: ``column_batches(with_kept=True)``."""
    names, keep = list(feature_names), list(keep)
    scan = open_files(path, names[:-1], names[-1], delimiter=delimiter, encoding=encoding)
    check_distinct(keep, "--keep (keep=) names")
    for f in scan.files:
        _check_known(f, keep, _schema_names(f, scan.format, scan.csv), scan.csv if scan.format == "csv" else None)
    return dataclasses.replace(scan, kept=tuple(keep))


def all_columns(x_columns) -> bool:
    """``--x all`` / ``x_columns="all"``: every other numeric column is a feature."""
    return x_columns == "all" or (not isinstance(x_columns, str) and list(x_columns) == ["all"])


def _other_numeric_columns(file: str, fmt: str, options: CsvOptions, exclude) -> list[str]:
    """The numeric columns of ``file`` (by its schema; for CSV, as pyarrow infers it from the first
    block), but those in ``exclude``."""
    import pyarrow as pa

    schema = _schema(file, fmt, options)
    numeric = [f.name for f in schema if (pa.types.is_integer(f.type) or pa.types.is_floating(f.type)
                                          or pa.types.is_decimal(f.type) or pa.types.is_null(f.type))
               and f.name not in exclude]
    if not numeric:
        raise DataError(f"'{file}' has no numeric column besides {', '.join(repr(c) for c in exclude if c)}; "
                        f"its columns are: {_listed(schema.names)}.")
    return numeric


def read_columns(path, columns: list[str], *, min_rows: int = MIN_ROWS, allow_missing: bool = False,
                 delimiter: str | None = None, encoding: str | None = None) -> dict[str, np.ndarray]:
    """The named numeric columns of the file(s) at ``path``, whole: the chunked read, concatenated."""
    columns = list(dict.fromkeys(columns))
    return _read_whole(open_files(path, columns[:-1], columns[-1], delimiter=delimiter, encoding=encoding),
                       min_rows, allow_missing)


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
    lines = scan.format == "csv" and (len(scan.files) == 1 and (lambda i: line_of_row(scan.files[0], scan.csv, i))
                                      or True)
    data = checked(X, columns[scan.target_name], scan.feature_names, scan.target_name, weight, dropna=dropna,
                   source=f"'{scan.source}'", file=lines,
                   weight_name=scan.weight_name or "sample_weight", min_rows=min_rows)
    return dataclasses.replace(data, source=scan.source)


def load_xy(path, x_columns: list[str], y_column: str, *, weight_column: str | None = None,
            dropna: bool = False, min_rows: int = MIN_ROWS, delimiter: str | None = None,
            encoding: str | None = None) -> XY:
    """Training data from a file, whole: the ``x_columns`` as features, ``y_column`` as target,
    ``weight_column`` as sample weights; missing values refused (counted per column) or dropped."""
    return read_all(open_files(path, x_columns, y_column, weight_column=weight_column, delimiter=delimiter,
                               encoding=encoding), dropna=dropna, min_rows=min_rows)


def _listed(names, limit: int = 20, *, quoted: bool = False) -> str:
    """Names for a message, at most ``limit`` of them: 200 000 features must not make megabytes of text."""
    names = list(names)
    text = ", ".join(shown(str(n)) if quoted else shown(str(n))[1:-1] for n in names[:limit])
    return text + (f", … ({len(names)} in all)" if len(names) > limit else "")


def _check_known(path, wanted, available, options: CsvOptions | None = None) -> None:
    known = set(available)
    unknown = [c for c in wanted if c not in known]
    if unknown:
        hint = ""
        if options is not None and len(available) == 1:
            seen = [d for d in (",", *SNIFFED_DELIMITERS) if d in available[0] and d != options.delimiter]
            if seen:
                hint = (f" The file seems to be separated by {seen[0]!r}, not {options.delimiter!r}: give "
                        f"--delimiter '{seen[0]}' (delimiter= in Python).")
        raise DataError(
            f"Column{'s' * (len(unknown) != 1)} {_listed(unknown, quoted=True)} not found in "
            f"'{path}'. Its columns are: {_listed(available)}.{hint}"
        )
    check_distinct([c for c in available if c in wanted], f"'{path}' names")


def csv_text(columns: dict[str, np.ndarray]) -> str:
    """Columns as CSV text, quoted where a name needs it (a comma, quote or newline), floats in full
    (round-trip) precision: what gradfit writes, it reads back."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = list(columns)
    writer.writerow(names)
    writer.writerows(zip(*(map(repr, map(float, columns[n].tolist())) for n in names)))
    return buffer.getvalue()


def write_csv_atomic(path, columns: dict[str, np.ndarray]) -> None:
    """Write columns as CSV (``csv_text``), atomically."""
    from gradfit.atomic import write_text

    write_text(path, csv_text(columns))


def _resolve(path: str) -> list[str]:
    """The files that ``path`` names, each spelled so that pyarrow reads it as a local file (see ``_local``)."""
    return [_local(f) for f in _files(path)]


# pyarrow takes "NAME:rest" for a URI whose scheme is NAME; a local file called "data:1.csv" is "./data:1.csv".
_URI_LIKE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def _local(f: str) -> str:
    return os.path.join(".", f) if _URI_LIKE.match(f) else f


def _files(path: str) -> list[str]:
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
    return _data_suffix(p) in CSV_SUFFIXES | PARQUET_SUFFIXES


def _data_suffix(p: Path) -> str:
    """The suffix that names the format: ``.csv`` for data.csv and data.csv.gz."""
    suffixes = [s.lower() for s in p.suffixes]
    if suffixes and suffixes[-1] in COMPRESSED_SUFFIXES:
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def _format_of(f: str) -> str:
    return "parquet" if _data_suffix(Path(f)) in PARQUET_SUFFIXES else "csv"


def _codec(f: str) -> str | None:
    """The compression of a CSV file, by its last suffix (``data.csv.gz``: gzip), or None."""
    return COMPRESSED_SUFFIXES.get(Path(f).suffix.lower())


class _Expansion(io.RawIOBase):
    """A compressed file's bytes, decompressed as they are read, refused (``DataError``) once they exceed
    ``MAX_EXPANSION`` times the file's size (and ``EXPANSION_FREE_BYTES``)."""

    def __init__(self, file: str):
        import pyarrow as pa

        self.file, self.read_bytes = file, 0
        size = Path(file).stat().st_size
        self.limit = max(EXPANSION_FREE_BYTES, MAX_EXPANSION * size)
        try:
            self.stream = pa.input_stream(file, compression=_codec(file))
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"'{file}' could not be opened ({_cut(str(exc))}).") from None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        import pyarrow as pa

        try:
            data = self.stream.read(len(buffer))
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"'{self.file}' is not a readable {_codec(self.file)} file ({_cut(str(exc))}). Check "
                            "that it is complete and compressed as its name says, or give it uncompressed.") from None
        self.read_bytes += len(data)
        if self.read_bytes > self.limit:
            size = Path(self.file).stat().st_size
            raise DataError(
                f"'{self.file}' expands to more than {MAX_EXPANSION} times its size ({self.read_bytes / 2**20:.0f} MiB "
                f"read from {size / 2**20:.1f} MiB, and more to come); gradfit reads compressed files that expand up "
                f"to {MAX_EXPANSION} times, or to {EXPANSION_FREE_BYTES // 2**20} MiB. Is it damaged, or built to fill "
                "memory (a zip bomb)? If the data really are this repetitive, decompress the file first and give the "
                "CSV itself.")
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed and hasattr(self, "stream"):
            self.stream.close()
        super().close()


def open_bytes(f: str):
    """A file's bytes as read: decompressed for a compressed file (its expansion checked)."""
    return io.BufferedReader(_Expansion(f), 1 << 20) if _codec(f) else open(f, "rb")


def _csv_source(f: str):
    """What pyarrow's CSV reader reads: the file itself, or the decompressed, checked bytes of a compressed file."""
    import pyarrow as pa

    return _Expansion(f) if _codec(f) else pa.OSFile(f)


def _csv_reading(options: CsvOptions, column_types=None, columns=None):
    """pyarrow's read, parse and convert options for CSV files written as ``options`` says."""
    import pyarrow.csv as pcsv

    return (pcsv.ReadOptions(encoding=options.encoding),
            # Quoted fields may hold newlines (gradfit's own predictions may name a column "a\nb").
            pcsv.ParseOptions(delimiter=options.delimiter, newlines_in_values=True),
            # Numbers only as numbers: no "0x10", no "1_000" — the same in memory and streamed.
            pcsv.ConvertOptions(column_types=column_types or {}, include_columns=columns or []))


def _parquet_file(f: str):
    """A Parquet file opened for reading (its footer read), or the message for a file that is not readable."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(f, pre_buffer=False)
    except (pa.ArrowException, OSError) as exc:
        raise _read_error(f, "parquet", exc) from None


def _parquet_metadata(f: str):
    """A Parquet file's footer (row groups, rows), or the message for a file that is not readable."""
    return _parquet_file(f).metadata


def _schema_names(f: str, fmt: str, options: CsvOptions = CsvOptions()) -> list[str]:
    return _schema(f, fmt, options).names


def _schema(f: str, fmt: str, options: CsvOptions = CsvOptions()):
    import pyarrow as pa

    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            schema = pq.read_schema(f)
            check_distinct(schema.names, f"'{f}' names")
            return schema
        import pyarrow.csv as pcsv

        read, parse, convert = _csv_reading(options)
        with _csv_source(f) as source:   # the header of the (decompressed) text, by the same reader as the data
            schema = pcsv.open_csv(source, read_options=read, parse_options=parse, convert_options=convert).schema
        schema.names   # decoded here: a header in another encoding fails now, with its message
        return schema
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise _read_error(f, fmt, exc, options) from None


CSV_PROBLEM = re.compile(r"In CSV column #(\d+): Row #(-?\d+): (.*)", re.S)


def _read_error(file: str, fmt: str, exc: Exception, options: CsvOptions = CsvOptions()) -> DataError:
    """pyarrow's message, turned into one that names the file, the column and the line."""
    text = str(exc)
    if fmt == "parquet":
        return DataError(f"'{file}' is not a readable Parquet file ({_cut(text)}). Check that the file is complete.")
    if isinstance(exc, UnicodeDecodeError) or "invalid UTF8" in text or "codec can't decode" in text:
        return _encoding_error(file, options)
    twice = re.search(r"multiple columns named (.*)", text)
    if twice:
        return DataError(f"'{file}' names column {shown(twice.group(1).strip())} more than once in its header; "
                         "give each column a distinct name.")
    if "straddl" in text:
        line = _long_field_line(file, options)
        return DataError(f"'{file}' has a row longer than 1 MiB{f' (line {line})' if line else ''}; gradfit reads "
                         "rows of up to 1 MiB. Is a quote left open, or is it not a CSV file with one row per line?")
    match = CSV_PROBLEM.search(text)
    if match:
        header = _header(file, options)
        column, record = int(match.group(1)), int(match.group(2))
        name = header[column] if column < len(header) else f"#{column + 1}"
        where = f"data row {record - 1} (line {line_of_row(file, options, record - 2)} of the file)" if record > 1 \
            else "a row"
        value = re.search(r"invalid value '(.*)'", match.group(3), re.S)
        what = f"holds {shown(value.group(1))}" if value else _cut(match.group(3))
        return DataError(
            f"Column {shown(name)} in '{file}' is not numeric: {where} {what}. "
            "gradfit fits numbers only; fix or remove that row, encode text or categories as numeric "
            "columns, or leave the column out."
        )
    return _csv_error(Path(file), options, exc)


def _cut(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _rows(file, options: CsvOptions):
    """``(first line, fields)`` of every non-blank record of a CSV file, as pyarrow counts them
    (blank lines skipped; a quoted field may span lines). Error paths only: a plain Python read."""
    import csv

    csv.field_size_limit(MAX_FIELD_BYTES)
    with io.TextIOWrapper(open_bytes(file), newline="", encoding=options.encoding, errors="replace") as f:
        reader = csv.reader(f, delimiter=options.delimiter)
        start = 1
        for row in reader:
            if row:
                yield start, row
            start = reader.line_num + 1


def _header(file, options: CsvOptions) -> list[str]:
    import csv

    try:
        return next((row for _, row in _rows(file, options)), [])
    except csv.Error:
        return []


def line_of_row(file, options: CsvOptions, i: int) -> int | str:
    """The line of ``file`` on which data row ``i`` (from 0) starts, counting blank lines and the
    newlines inside quoted fields ('?' if the file cannot be read so far)."""
    import csv

    try:
        for k, (line, _) in enumerate(_rows(file, options)):
            if k == i + 1:
                return line
    except (csv.Error, OSError):
        pass
    return "?"


def _long_field_line(file, options: CsvOptions) -> int | None:
    import csv

    line = 0
    try:
        for line, _ in _rows(file, options):
            pass
    except csv.Error:
        return line + 1
    return None


def _encoding_error(file, options: CsvOptions) -> DataError:
    where = ""
    try:
        with open_bytes(file) as f:
            for number, raw in enumerate(f, 1):
                try:
                    raw.decode(options.encoding)
                except UnicodeDecodeError as exc:
                    where = f" (byte 0x{raw[exc.start]:02x} on line {number})"
                    break
                if number > 1_000_000:
                    break
    except OSError:
        pass
    if options.encoding.replace("-", "").replace("_", "").lower() in ("utf8", "utf8sig"):
        what = "a UTF-8 text file"
        fix = ("If it is a CSV saved in another encoding, give it with --encoding (encoding= in Python), for "
               "example --encoding latin-1 or cp1252; or save it as UTF-8. Is it really a CSV file?")
    else:
        what = f"a {options.encoding} text file"
        fix = "Give the file's real encoding with --encoding."
    return DataError(f"'{file}' is not {what}{where}. {fix}")


def _csv_error(path: Path, options: CsvOptions, exc: Exception) -> DataError:
    """Turn pyarrow's parse error into a message with the line number."""
    import csv

    if not _decodes(path, options):
        return _encoding_error(path, options)
    header = None
    try:
        for line, row in _rows(path, options):
            if header is None:
                header = row
            elif len(row) != len(header):
                return DataError(
                    f"'{path}' is ragged: line {line} has {len(row)} field"
                    f"{'s' * (len(row) != 1)} but the header has {len(header)} "
                    f"({_listed(header)}). Fix that line so every row has one value per column."
                )
    except csv.Error as error:
        return DataError(f"'{path}' could not be read as CSV: {_cut(str(error))}. Check that it is a "
                         f"{_delimiter_name(options)}-separated text file with a header line.")
    return DataError(f"'{path}' could not be read as CSV: {_cut(str(exc))}. Check that it is a "
                     f"{_delimiter_name(options)}-separated text file with a header line.")


def _decodes(path, options: CsvOptions, size: int = 1 << 20) -> bool:
    """Whether the file's first MiB is text in its encoding (a character cut at the end is fine)."""
    import codecs

    with open_bytes(path) as f:
        head = f.read(size)
    try:
        codecs.getincrementaldecoder(options.encoding)().decode(head, final=len(head) < size)
    except UnicodeDecodeError:
        return False
    return True


def _delimiter_name(options: CsvOptions) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}.get(options.delimiter, repr(options.delimiter))

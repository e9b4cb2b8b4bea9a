"""Models as JSON (floats written to read back bit-identical, written atomically, validated on
load), a run's history as CSV or JSON, and a model's predictions for a file as CSV.

Loading never executes anything: the file is parsed by ``json`` and checked field by field.
"""

from __future__ import annotations

import json
import math

import numpy as np

from gradfit.atomic import write_text
from gradfit.errors import ConfigError, DataError
from gradfit.model import LinearModel, finite_predictions

MODEL_FORMAT = "gradfit.model"
MODEL_VERSION = 1


def model_to_dict(model: LinearModel, metadata: dict | None = None) -> dict:
    return {
        "format": MODEL_FORMAT,
        "version": MODEL_VERSION,
        "weights": list(model.weights),
        "bias": model.bias,
        "fit_intercept": model.fit_intercept,
        "feature_names": list(model.feature_names),
        "target_name": model.target_name,
        "metadata": metadata or {},
    }


def save_model(model: LinearModel, path, metadata: dict | None = None) -> None:
    """Write the model as JSON; ``json`` writes floats with ``repr``, which round-trips exactly."""
    if not isinstance(model, LinearModel):
        raise DataError(f"save_model takes a gradfit LinearModel (such as fit(...).model), not {type(model).__name__}.")
    if not model.weights:
        raise DataError("This model has no features (no weights), so it predicts nothing from a file; gradfit does "
                        "not save it. Fit it to at least one feature column.")
    try:
        text = json.dumps(model_to_dict(model, metadata), indent=2, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise DataError(f"Cannot save the model to '{path}': {exc} (the model file holds finite numbers and "
                        "plain JSON metadata only).") from None
    write_text(path, text + "\n")


def load_model(path) -> LinearModel:
    """Read and validate a model file written by ``save_model`` (never runs code, never a traceback)."""
    from gradfit.atomic import read_json

    doc = read_json(path, "gradfit model file", missing=f"Model file not found: '{path}'. Save one with: gradfit fit ... --model {path}")
    return model_from_dict(doc, source=str(path))


def model_from_dict(doc, source: str = "the model") -> LinearModel:
    def bad(what: str) -> DataError:
        return DataError(f"'{source}' is not a valid gradfit model file: {what}. Fit the model again to recreate it.")

    if not isinstance(doc, dict) or doc.get("format") != MODEL_FORMAT:
        raise bad(f"the field 'format' must be {MODEL_FORMAT!r}")
    if doc.get("version") != MODEL_VERSION:
        raise bad(f"version {_brief(doc.get('version'))} is not supported (this gradfit reads version {MODEL_VERSION})")
    weights, bias = doc.get("weights"), doc.get("bias")
    if not isinstance(weights, list) or not weights or not all(_is_number(w) for w in weights):
        raise bad("'weights' must be a non-empty list of finite numbers")
    if not _is_number(bias):
        raise bad("'bias' must be a finite number")
    names = doc.get("feature_names", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or len(names) != len(weights):
        raise bad(f"'feature_names' must list {len(weights)} names, one per weight")
    fit_intercept = doc.get("fit_intercept", True)
    if not isinstance(fit_intercept, bool):
        raise bad("'fit_intercept' must be true or false")
    target = doc.get("target_name", "y")
    if not isinstance(target, str):
        raise bad("'target_name' must be a string")
    return LinearModel(tuple(float(w) for w in weights), float(bias), tuple(names), target, fit_intercept)


def _is_number(v) -> bool:
    # ints are bounded by the reader (longer ones arrive as infinities), so float(v) cannot overflow
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def _brief(value, limit: int = 60) -> str:
    """A value for a message, cut short: a hostile file must not make a megabyte of error text."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


# --- the history of a run -------------------------------------------------------------------

def history_table(result) -> tuple[list[str], list[list[float]]]:
    """The history as named columns: iteration, loss, gaps, each parameter and its gradient."""
    m = result.model
    params = [f"w[{n}]" for n in m.feature_names] + (["b"] if m.fit_intercept else [])
    h = result.history
    header = ["iteration", "loss"] + (["loss_gap", "param_gap"] if h.loss_gap else [])
    header += params + [f"grad_{p}" for p in params]
    rows = []
    for i, k in enumerate(h.iteration):
        gaps = [h.loss_gap[i], h.param_gap[i]] if h.loss_gap else []
        rows.append([k, h.loss[i], *gaps, *h.theta[i].tolist(), *h.gradient[i].tolist()])
    return header, rows


def export_history(result, path) -> None:
    """Write the history as JSON (``.json``) or CSV (anything else), atomically."""
    from gradfit.atomic import write_text

    header, rows = history_table(result)
    if str(path).lower().endswith(".json"):
        finite = lambda v: v if math.isfinite(v) else None  # noqa: E731  (JSON has no inf/nan)
        doc = {name: [finite(float(row[j])) if j else int(row[j]) for row in rows] for j, name in enumerate(header)}
        write_text(path, json.dumps(doc, indent=1) + "\n")
    else:
        lines = [",".join(header)] + [",".join([str(int(r[0]))] + [repr(float(v)) for v in r[1:]]) for r in rows]
        write_text(path, "\n".join(lines) + "\n")


# --- predictions for a file -----------------------------------------------------------------

def prediction_name(model: LinearModel) -> str:
    """The column of the predictions: ``predicted_<target>``."""
    return f"predicted_{model.target_name}"


def prediction_csv(model: LinearModel, scan, *, on_read=None):
    """The predictions for every row of ``scan`` (``data.files.open_for_prediction``) as CSV, in one pass, a block
    of rows at a time (``(bytes, rows)`` pairs; memory stays at a block): the columns ``scan.kept`` as read, then
    ``predicted_<target>``. pyarrow's CSV writer writes them: a float as the shortest text that reads back as the
    same float64 (``float(text) == prediction``), an integer as an integer, text quoted, a missing value empty.
    Rows with a missing or non-numeric feature are refused as ``fit`` refuses them.

    >>> scan = open_for_prediction("new.csv", model.feature_names, ["id"])     # doctest: +SKIP
    >>> [(bytes(text), rows) for text, rows in prediction_csv(model, scan)]     # doctest: +SKIP
    [(b'id,predicted_y\\n', 0), (b'"7",9.000256232968251\\n', 1)]
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv

    from gradfit.data.arrays import check_rows

    name = prediction_name(model)
    if name in scan.kept:
        raise ConfigError(f"--keep {name} (keep=): the predictions are written in a column of that name. Keep the "
                          "other columns only.")
    header = _csv_line([*scan.kept, name]).encode("utf-8")
    options = pcsv.WriteOptions(include_header=False)
    rows = 0
    for columns, kept in scan.column_batches(with_kept=True, on_read=on_read):
        prediction = finite_predictions(model, np.column_stack([columns[c] for c in model.feature_names]),
                                        " ".join(map(str, scan.files)), offset=rows)
        # pa.array(prediction) would import pandas (a fifth of a second) to ask whether it is a frame
        values = pa.Array.from_buffers(pa.float64(), len(prediction), [None, pa.py_buffer(prediction)])
        block = pa.RecordBatch.from_arrays([*kept.values(), values], names=[*kept, name])
        text = pa.BufferOutputStream()
        try:
            pcsv.write_csv(block, text, options)
        except pa.ArrowException as exc:
            raise _unwritable(block.schema, scan.source, exc) from None
        if not rows:
            yield header, 0
        yield memoryview(text.getvalue()), len(prediction)
        rows += len(prediction)
    check_rows(rows, f"'{scan.source}'", min_rows=1)


def _csv_line(fields) -> str:
    """One CSV line, fields quoted where they need it (a comma, quote or line break)."""
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(fields)
    return buffer.getvalue()


def _unwritable(schema, source: str, exc) -> DataError:
    """The kept column that a CSV cannot hold (a list, a struct …), named."""
    import pyarrow as pa

    plain = (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal, pa.types.is_string, pa.types.is_boolean,
             pa.types.is_temporal, pa.types.is_null, pa.types.is_large_string, pa.types.is_dictionary)
    odd = [f for f in schema if not any(is_type(f.type) for is_type in plain)]
    what = f"Column '{odd[0].name}' of '{source}' holds {odd[0].type} values" if odd else \
        f"The kept columns of '{source}' cannot be written as CSV ({exc})"
    return DataError(f"{what}, which a CSV cannot hold; keep (--keep) columns of numbers, text, dates or booleans.")

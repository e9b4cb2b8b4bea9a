"""The ``gradfit`` command: parses flags, calls the library, prints. No logic of its own.

Library errors become a message and an exit code in exactly one place, ``main``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from gradfit.errors import EXIT_DATA, EXIT_DIVERGED, EXIT_INTERRUPTED, EXIT_USAGE, GradfitError
from gradfit.params import PARAMS

EPILOG = (
    f"Exit codes: 0 success · {EXIT_DATA} bad data or file · {EXIT_USAGE} bad option · "
    f"{EXIT_DIVERGED} the run diverged (learning rate too large) · {EXIT_INTERRUPTED} interrupted."
)

app = typer.Typer(
    name="gradfit",
    help="Linear regression trained by gradient descent — exact to the textbook, every step explained.\n\n"
         "Start with `gradfit demo`, which replays the tutorial: f(x) = w·x + b fitted to "
         "x = 1, 2, 3 → y = 3, 5, 7.",
    epilog=EPILOG,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _out(text: str = "") -> None:
    typer.echo(text)


def _note(text: str, quiet: bool) -> None:
    if not quiet:
        typer.echo(text, err=True)


# --- shared options --------------------------------------------------------------------------

LrOpt = Annotated[str, typer.Option("--lr", metavar="LR|auto", help=PARAMS["lr"].help)]
ItersOpt = Annotated[int, typer.Option("--iters", metavar="N", help=PARAMS["iters"].help)]
TolOpt = Annotated[str, typer.Option("--tol", metavar="TOL", help=PARAMS["tol"].help)]
LossOpt = Annotated[str, typer.Option("--loss", metavar="sse|mse", help=PARAMS["loss"].help)]
EngineOpt = Annotated[str, typer.Option("--engine", metavar="auto|python|numpy|torch", help=PARAMS["engine"].help + ": python (the "
                                        "tutorial's arithmetic, exact), numpy (vectorised) or torch (PyTorch, CPU or CUDA)")]
InitOpt = Annotated[Optional[str], typer.Option("--init", metavar="W,...,B", help=PARAMS["init"].help)]
DtypeOpt = Annotated[str, typer.Option("--dtype", metavar="float64|float32", help=PARAMS["dtype"].help)]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar and no notes; results only")]


def _table_opt(name: str, metavar: str):
    """A string option whose help and checks come from the params table (validated by the library)."""
    from gradfit.params import flag

    return Annotated[str, typer.Option(flag(name), metavar=metavar, help=PARAMS[name].help)]


def _flag_opt(name: str):
    from gradfit.params import flag

    return Annotated[bool, typer.Option(flag(name), help=PARAMS[name].help)]


def _parse_floats(text: Optional[str], option: str):
    if text is None:
        return None
    from gradfit.errors import ConfigError

    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ConfigError(f"Invalid {option} {text!r}: expected numbers separated by commas, such as 1,0.") from None


def _tol(text: str):
    return None if text.lower() in ("none", "off") else text


# --- commands -------------------------------------------------------------------------------

@app.command()
def demo(
    data: Annotated[str, typer.Option("--data", metavar="tutorial|noisy", help="tutorial (x = 1, 2, 3) or noisy (x = 1, 1.5, 3)")] = "tutorial",
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="directory for the figure")] = Path("."),
    lang: Annotated[str, typer.Option("--lang", metavar="en", help="language of the text: en")] = "en",
):
    """Replay the tutorial: first step by hand, 1000 iterations, the test row, the figure."""
    from gradfit import datasets
    from gradfit.explain import render_demo
    from gradfit.fitting import fit
    from gradfit.plots import save_figure, tutorial_figure

    dataset = datasets.preset(data)
    result = fit(dataset.x_train, dataset.y_train, lr=0.01, iters=1000, tol=None, init=(1.0, 0.0),
                 loss="sse", engine="python")
    figure = tutorial_figure(result.model, dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test)
    path = save_figure(figure, _output_dir(out) / f"{dataset.name}.png")
    _out(render_demo(result, dataset, figure_path=path, lang=lang))


@app.command("fit")
def fit_command(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="CSV or Parquet file with a header", show_default=False)],
    x: Annotated[list[str], typer.Option("--x", metavar="COL", help="feature column (repeat for several)", show_default=False)],
    y: Annotated[str, typer.Option("--y", metavar="COL", help="target column", show_default=False)],
    lr: LrOpt = str(PARAMS["lr"].default),
    iters: ItersOpt = PARAMS["iters"].default,
    tol: TolOpt = str(PARAMS["tol"].default),
    loss: LossOpt = PARAMS["loss"].default,
    engine: EngineOpt = PARAMS["engine"].default,
    init: InitOpt = None,
    dtype: DtypeOpt = PARAMS["dtype"].default,
    no_intercept: Annotated[bool, typer.Option("--no-intercept", help="fit f(x) = w·x, without the bias b")] = False,
    standardize: _flag_opt("standardize") = False,
    weight: Annotated[Optional[str], typer.Option("--weight", metavar="COL", help="column of sample weights (≥ 0): each row's "
                                                  "squared error counts that many times")] = None,
    optimizer: _table_opt("optimizer", "gd|momentum|nesterov|sgd") = PARAMS["optimizer"].default,
    momentum: _table_opt("momentum", "MU") = str(PARAMS["momentum"].default),
    batch_size: _table_opt("batch_size", "B") = str(PARAMS["batch_size"].default),
    epochs: _table_opt("epochs", "N") = str(PARAMS["epochs"].default),
    learning_rate: _table_opt("learning_rate", "constant|invscaling") = PARAMS["learning_rate"].default,
    power_t: _table_opt("power_t", "P") = str(PARAMS["power_t"].default),
    n_iter_no_change: _table_opt("n_iter_no_change", "N") = str(PARAMS["n_iter_no_change"].default),
    solver: _table_opt("solver", "gd|exact") = PARAMS["solver"].default,
    device: _table_opt("device", "cpu|cuda") = PARAMS["device"].default,
    test: Annotated[Optional[Path], typer.Option("--test", metavar="FILE", help="held-out file with the same columns: "
                                                 "test metrics are computed on it")] = None,
    test_fraction: Annotated[Optional[str], typer.Option("--test-fraction", metavar="F", help=PARAMS["test_fraction"].help)] = None,
    seed: _table_opt("seed", "S") = str(PARAMS["seed"].default),
    dropna: _flag_opt("dropna") = False,
    summary: Annotated[bool, typer.Option("--summary", help="print the inference table: standard errors, t, p-values, 95% "
                                          "CIs, R², F, condition number")] = False,
    history: Annotated[Optional[Path], typer.Option("--history", metavar="FILE", help="write the history (loss, gaps to the "
                                                    "exact optimum, parameters, gradients) as CSV, or JSON for .json; "
                                                    "written for a diverged run too")] = None,
    model: Annotated[Optional[Path], typer.Option("--model", metavar="PATH", help="save the fitted model to this JSON file")] = None,
    quiet: QuietOpt = False,
):
    """Fit f(x) = w·x + b to columns of a file; print the parameters, the verdict and the metrics."""
    from gradfit.data import load_xy
    from gradfit.diagnostics import export_history
    from gradfit.errors import DivergenceError
    from gradfit.fitting import fit_data
    from gradfit.persist import save_model
    from gradfit.progress import ProgressBar

    data = load_xy(file, x, y, weight_column=weight, dropna=dropna)
    test_data = load_xy(test, x, y, dropna=dropna, min_rows=1) if test is not None else None
    with ProgressBar(enabled=not quiet) as bar:
        try:
            result = fit_data(data, test=test_data, lr=lr, iters=iters, tol=_tol(tol), init=_parse_floats(init, "--init"),
                              loss=loss, engine=engine, fit_intercept=not no_intercept, dtype=dtype,
                              standardize=standardize, optimizer=optimizer, momentum=momentum, batch_size=batch_size,
                              epochs=epochs, learning_rate=learning_rate, power_t=power_t, n_iter_no_change=n_iter_no_change,
                              solver=solver, device=device, test_fraction=test_fraction, seed=seed, callbacks=(bar,))
        except DivergenceError as exc:
            if history is not None and exc.result is not None:
                export_history(exc.result, history)   # the run up to the blow-up, to look at
            raise
    _out(render_fit(result, str(file)))
    if summary:
        _out("")
        _out(str(result.summary()))
    if history is not None:
        export_history(result, history)
        _note(f"History ({len(result.history)} records) written to {history}", quiet)
    if model is not None:
        save_model(result.model, model, metadata={"source": str(file), "engine": result.engine,
                                                  "loss": result.reduction, "solver": result.solver,
                                                  "lr": None if result.solver == "exact" else result.lr,
                                                  "iterations": result.n_iter, "metrics": result.metrics,
                                                  "optimizer": result.optimizer, "standardize": result.standardized,
                                                  **({"test_metrics": result.test_metrics} if result.test_metrics else {})})
        _note(f"Model saved to {model}", quiet)


@app.command()
def predict(
    model: Annotated[Path, typer.Argument(metavar="MODEL", help="model JSON written by `gradfit fit --model`", show_default=False)],
    file: Annotated[Path, typer.Argument(metavar="FILE", help="CSV or Parquet file holding the model's feature columns",
                                         show_default=False)],
    out: Annotated[Optional[Path], typer.Option("--out", metavar="PATH", help="write predictions as CSV here (default: stdout)")] = None,
    quiet: QuietOpt = False,
):
    """Apply a saved model to a file: one prediction per row, as CSV."""
    import numpy as np

    from gradfit.data import read_columns, write_csv_atomic
    from gradfit.persist import load_model

    fitted = load_model(model)
    columns = read_columns(file, list(fitted.feature_names), min_rows=1)
    X = np.column_stack([columns[name] for name in fitted.feature_names])
    table = {**columns, f"predicted_{fitted.target_name}": fitted.predict(X)}
    if out is None:
        names = list(table)
        _out(",".join(names))
        for row in zip(*(table[n].tolist() for n in names)):
            _out(",".join(repr(v) for v in row))
    else:
        write_csv_atomic(out, table)
        _note(f"{X.shape[0]} predictions written to {out}", quiet)


# --- rendering ------------------------------------------------------------------------------

METRIC_LABELS = (("mse", "MSE "), ("rmse", "RMSE"), ("mae", "MAE "), ("r2", "R²  "))


def render_fit(result, source: str) -> str:
    m = result.model
    d = m.n_features
    how = ("solver exact (least squares)" if result.solver == "exact" else
           f"{result.optimizer}, learning rate {result.lr:.6g}")
    lines = [
        f"Fitted {'f(x) = w·x + b' if m.fit_intercept else 'f(x) = w·x'} to '{source}' "
        f"({result.data.n_rows} rows, {d} feature{'s' * (d != 1)}; engine {result.engine}, "
        f"loss {result.reduction}, {how}{', standardized' if result.standardized else ''})",
        result.verdict(),
    ]
    for name, w in zip(m.feature_names, m.weights):
        lines.append(f"  w = {w!r}" if d == 1 else f"  w[{name}] = {w!r}")
    if m.fit_intercept:
        lines.append(f"  b = {m.bias!r}")
    lines.append(f"  loss = {result.loss:.10g}")
    if result.loss_gap is not None and result.solver != "exact":
        lines.append(f"  gap to the exact optimum: loss {result.loss_gap:.3g}, parameters {result.param_gap:.3g} (relative)")
    for title, metrics in (("Training metrics", result.metrics), ("Test metrics", result.test_metrics)):
        if metrics:
            n = result.data.n_rows if title.startswith("Training") else result.test_data.n_rows
            lines.append(f"{title} ({n} rows)")
            lines += [f"  {label} = {metrics[key]:.10g}" for key, label in METRIC_LABELS]
    return "\n".join(lines)


def _output_dir(path: Path) -> Path:
    from gradfit.errors import ConfigError

    if not path.is_dir():
        raise ConfigError(f"--out {path}: no such directory. Create it first, or give an existing one.")
    return path


# --- the one place where errors become messages and exit codes -------------------------------

def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """gradfit's warnings as one line on stderr, like its errors (no file name, no source line)."""
    typer.echo(f"warning: {message}", err=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gradfit`` console script."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            app(args=argv, prog_name="gradfit")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except GradfitError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        typer.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
EngineOpt = Annotated[str, typer.Option("--engine", metavar="ENGINE", help=PARAMS["engine"].help + ": python (the tutorial's "
                                        "arithmetic, exact), numpy (vectorised), stats (one pass to a summary, then "
                                        "O(d²) per iteration), stream (files larger than memory, read in chunks), "
                                        "dask (a Dask cluster); auto picks")]
InitOpt = Annotated[Optional[str], typer.Option("--init", metavar="W,...,B", help=PARAMS["init"].help)]
DtypeOpt = Annotated[str, typer.Option("--dtype", metavar="float64|float32", help=PARAMS["dtype"].help)]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar and no notes; results only")]


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
    file: Annotated[str, typer.Argument(metavar="DATA", help="CSV or Parquet file with a header, a glob such as "
                                        "'data/*.parquet' (quoted), or a directory; large data are read in chunks",
                                        show_default=False)],
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
    model: Annotated[Optional[Path], typer.Option("--model", metavar="PATH", help="save the fitted model to this JSON file")] = None,
    checkpoint: Annotated[Optional[Path], typer.Option("--checkpoint", metavar="PATH", help="write the run's state here "
                          "(with --every N: every N iterations and at the end); Ctrl-C always writes one (here, or "
                          "to gradfit-checkpoint.json)")] = None,
    every: Annotated[int, typer.Option("--every", metavar="N", help="with --checkpoint: write every N iterations (0: only on Ctrl-C)", min=0)] = 0,
    resume: Annotated[Optional[Path], typer.Option("--resume", metavar="PATH", help="continue the run saved in this checkpoint "
                      "(same data and options; --iters may grow)")] = None,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", metavar="ADDRESS", help="Dask scheduler for --engine dask, "
                         "such as tcp://10.0.0.5:8786 (default: a local cluster)")] = None,
    quiet: QuietOpt = False,
):
    """Fit f(x) = w·x + b to columns of a file; print the parameters and training metrics."""
    from gradfit.checkpoint import DEFAULT_PATH, resume_hint
    from gradfit.errors import RunInterrupted
    from gradfit.fitting import fit_data
    from gradfit.persist import save_model
    from gradfit.progress import ProgressBar
    from gradfit.scan import open_data

    if checkpoint is None and not every:
        checkpoint = Path(DEFAULT_PATH)  # written only if Ctrl-C interrupts the run
    try:
        data = open_data(file, x, y, engine.lower())
        with ProgressBar(enabled=not quiet) as bar:
            result = fit_data(data, lr=lr, iters=iters, tol=_tol(tol), init=_parse_floats(init, "--init"),
                              loss=loss, engine=engine, fit_intercept=not no_intercept, dtype=dtype,
                              momentum=0.0, nesterov=False, history_cap=PARAMS["history_cap"].default,
                              callbacks=(bar,), scheduler=scheduler, checkpoint=checkpoint, every=every,
                              resume=resume)
    except KeyboardInterrupt as exc:  # click would swallow it; exit 130 with the way to resume
        raise RunInterrupted(resume_hint(exc, _ARGV)) from None
    _out(render_fit(result, str(file)))
    if model is not None:
        save_model(result.model, model, metadata={"source": str(file), "engine": result.engine,
                                                  "loss": result.reduction, "lr": result.lr,
                                                  "iterations": result.n_iter, "metrics": result.metrics})
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
    columns = read_columns(file, list(fitted.feature_names))
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

STOP_REASONS = {
    "tol": "converged: the relative change of the loss fell to tol or below",
    "max_iter": "reached the iteration limit (raise --iters, or --tol to stop earlier)",
}


def render_fit(result, source: str) -> str:
    m = result.model
    d = m.n_features
    lines = [
        f"Fitted {'f(x) = w·x + b' if m.fit_intercept else 'f(x) = w·x'} to '{source}' "
        f"({result.data.n_rows} rows, {d} feature{'s' * (d != 1)}; engine {result.engine}, "
        f"loss {result.reduction}, learning rate {result.lr:.6g})",
        f"Stopped after {result.n_iter} iterations: {STOP_REASONS[result.stop_reason]}",
    ]
    for name, w in zip(m.feature_names, m.weights):
        lines.append(f"  w = {w!r}" if d == 1 else f"  w[{name}] = {w!r}")
    if m.fit_intercept:
        lines.append(f"  b = {m.bias!r}")
    lines.append(f"  loss = {result.loss:.10g}")
    lines.append("Training metrics")
    for key, label in (("mse", "MSE "), ("rmse", "RMSE"), ("mae", "MAE "), ("r2", "R²  ")):
        if key in result.metrics:  # data read in chunks have no MAE (it takes another pass)
            lines.append(f"  {label} = {result.metrics[key]:.10g}")
    return "\n".join(lines)


def _output_dir(path: Path) -> Path:
    from gradfit.errors import ConfigError

    if not path.is_dir():
        raise ConfigError(f"--out {path}: no such directory. Create it first, or give an existing one.")
    return path


# --- the one place where errors become messages and exit codes -------------------------------

_ARGV: list[str] = []  # the arguments of this invocation, to print the command that resumes it


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gradfit`` console script."""
    _ARGV[:] = sys.argv[1:] if argv is None else argv
    try:
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

"""The ``gradfit`` command: parses flags, calls the library, prints. No logic of its own.

Library errors become a message and an exit code in exactly one place, ``main``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from gradfit.errors import EXIT_DATA, EXIT_DIVERGED, EXIT_INTERRUPTED, EXIT_NOT_CONVERGED, EXIT_USAGE, GradfitError
from gradfit.params import PARAMS

EPILOG = (
    f"Exit codes: 0 success · {EXIT_DATA} bad data or file · {EXIT_USAGE} bad option · "
    f"{EXIT_DIVERGED} the run diverged (learning rate too large) · {EXIT_NOT_CONVERGED} the fit stopped at its "
    f"iteration limit before converging (the model is still written) · {EXIT_INTERRUPTED} interrupted."
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


class _CtrlC(Exception):
    """Carries Ctrl-C past the parser (which would turn it into a bare exit 130) to ``main``."""

    def __init__(self, interrupt: KeyboardInterrupt):
        super().__init__("interrupted")
        self.interrupt = interrupt


def command(*names, **options):
    """``app.command``, with Ctrl-C in the command handed to ``main`` (which says what to do next)."""
    import functools

    def register(function):
        @functools.wraps(function)
        def run(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except KeyboardInterrupt as exc:
                raise _CtrlC(exc) from None

        return app.command(*names, **options)(run)

    return register


def _out(text: str = "") -> None:
    typer.echo(text)


def _note(text: str, quiet: bool) -> None:
    if not quiet:
        typer.echo(text, err=True)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"gradfit {version('gradfit')}")   # the installed metadata: gradfit.__version__, via pyproject
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="print gradfit's version and exit")] = False,
):
    # The options of `gradfit` itself, before any command; the app's help stays the Typer(help=...) above.
    pass


# --- shared options --------------------------------------------------------------------------

LrOpt = Annotated[str, typer.Option("--lr", metavar="LR|auto", help=PARAMS["lr"].help)]
ItersOpt = Annotated[str, typer.Option("--iters", metavar="N|auto", help=PARAMS["iters"].help)]
TolOpt = Annotated[str, typer.Option("--tol", metavar="TOL", help=PARAMS["tol"].help)]
LossOpt = Annotated[str, typer.Option("--loss", metavar="sse|mse", help=PARAMS["loss"].help)]
EngineOpt = Annotated[str, typer.Option("--engine", metavar="ENGINE", help=PARAMS["engine"].help + ": python (the tutorial's "
                                        "arithmetic, exact), numpy (vectorised), torch (PyTorch, CPU or CUDA), stats "
                                        "(one pass to a summary, then O(d²) per iteration), stream (files larger than "
                                        "memory, read in chunks), dask (a Dask cluster); auto picks")]
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

@command()
def demo(
    data: Annotated[str, typer.Option("--data", metavar="tutorial|noisy", help="tutorial (x = 1, 2, 3) or noisy (x = 1, 1.5, 3)")] = "tutorial",
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="directory for the figure")] = Path("."),
    lang: Annotated[str, typer.Option("--lang", metavar="en|zh", help="language of the text: en or zh (中文)")] = "en",
    plot: Annotated[Optional[Path], typer.Option("--plot", metavar="DIR", help="also write the loss curve, contours and 3-D surface as PNGs here")] = None,
):
    """Replay the tutorial: first step by hand, 1000 iterations, the test row, the figure."""
    from gradfit.data import datasets
    from gradfit.fit import fit
    from gradfit.outputs.explain import render_demo
    from gradfit.outputs.plots import save_figure, tutorial_figure

    dataset = datasets.preset(data)
    result = fit(dataset.x_train, dataset.y_train, lr=0.01, iters=1000, tol=None, init=(1.0, 0.0),
                 loss="sse", engine="python")
    figure = tutorial_figure(result.model, dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test)
    path = save_figure(figure, _output_dir(out) / f"{dataset.name}.png")
    _out(render_demo(result, dataset, figure_path=path, lang=lang))
    _write_plots(result, plot, dataset.name, lang)


@command("fit")
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
    standardize: Annotated[Optional[bool], typer.Option("--standardize/--no-standardize", help=PARAMS["standardize"].help,
                                                        show_default=False)] = None,
    stop: _table_opt("stop", "gap|loss") = PARAMS["stop"].default,
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
    checkpoint: Annotated[Optional[Path], typer.Option("--checkpoint", metavar="PATH", help="write the run's state here "
                          "(with --every N: every N iterations and at the end); Ctrl-C always writes one (here, or "
                          "to gradfit-checkpoint.json)")] = None,
    every: Annotated[int, typer.Option("--every", metavar="N", help="with --checkpoint: write every N iterations (0: only on Ctrl-C)", min=0)] = 0,
    resume: Annotated[Optional[Path], typer.Option("--resume", metavar="PATH", help="continue the run saved in this checkpoint "
                      "(same data and options; --iters may grow)")] = None,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", metavar="ADDRESS", help="Dask scheduler for --engine dask, "
                         "such as tcp://10.0.0.5:8786 (default: a local cluster)")] = None,
    quiet: QuietOpt = False,
    plot: Annotated[Optional[Path], typer.Option("--plot", metavar="DIR", help="write the fit, loss curve, contours and 3-D surface as PNGs here")] = None,
):
    """Fit f(x) = w·x + b to columns of a file; print the parameters, the verdict and the metrics."""
    from gradfit.data.files import load_xy, open_files
    import warnings

    from gradfit.errors import ConvergenceWarning, DivergenceError
    from gradfit.fit import fit_data, stopped_short_message
    from gradfit.messages import message
    from gradfit.outputs.persist import export_history, save_model
    from gradfit.training.checkpoint import DEFAULT_PATH
    from gradfit.training.progress import ProgressBar

    if checkpoint is None and not every:
        checkpoint = Path(DEFAULT_PATH)  # written only if Ctrl-C interrupts the run
    try:
        data = open_files(file, x, y, weight_column=weight)
        test_data = load_xy(test, x, y, dropna=dropna, min_rows=1) if test is not None else None
        with ProgressBar(enabled=not quiet) as bar, warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)   # said below, in the command line's words
            result = fit_data(data, test=test_data, lr=lr, iters=iters, tol=_tol(tol), init=_parse_floats(init, "--init"),
                              loss=loss, engine=engine, fit_intercept=not no_intercept, dtype=dtype,
                              standardize="auto" if standardize is None else standardize, stop=stop,
                              optimizer=optimizer, momentum=momentum, batch_size=batch_size,
                              epochs=epochs, learning_rate=learning_rate, power_t=power_t, n_iter_no_change=n_iter_no_change,
                              solver=solver, device=device, test_fraction=test_fraction, seed=seed, dropna=dropna,
                              callbacks=(bar,), scheduler=scheduler, checkpoint=checkpoint, every=every, resume=resume)
    except DivergenceError as exc:
        if history is not None and exc.result is not None:
            export_history(exc.result, history)   # the run up to the blow-up, to look at
        raise
    _out(render_fit(result, str(file)))
    stopped_short = bool(result.options["tol"]) and not result.converged
    if stopped_short:   # said on stderr too, with the flags that fix it; the exit code tells scripts
        typer.echo(f"warning: {stopped_short_message(result, voice='cli')}", err=True)
    if summary:
        _out("")
        _out(message("summary.not_converged", voice="cli") if stopped_short else str(result.summary()))
    if history is not None:
        export_history(result, history)
        _note(f"History ({len(result.history)} records) written to {history}", quiet)
    if model is not None:
        save_model(result.model, model, metadata={"source": str(file), "engine": result.engine,
                                                  "loss": result.reduction, "solver": result.solver,
                                                  "lr": None if result.solver == "exact" else result.lr,
                                                  "iterations": result.n_iter, "metrics": result.metrics,
                                                  "optimizer": result.optimizer, "standardize": result.standardized,
                                                  "stop_reason": result.stop_reason.value,
                                                  "converged": result.converged, "gap_bound": result.gap_bound,
                                                  **({"test_metrics": result.test_metrics} if result.test_metrics else {})})
        _note(f"Model saved to {model}", quiet)
    _write_plots(result, plot, "fit", "en", quiet)
    return EXIT_NOT_CONVERGED if stopped_short else 0


@command()
def predict(
    model: Annotated[Path, typer.Argument(metavar="MODEL", help="model JSON written by `gradfit fit --model`", show_default=False)],
    file: Annotated[Path, typer.Argument(metavar="FILE", help="CSV or Parquet file holding the model's feature columns",
                                         show_default=False)],
    out: Annotated[Optional[Path], typer.Option("--out", metavar="PATH", help="write predictions as CSV here (default: stdout)")] = None,
    quiet: QuietOpt = False,
):
    """Apply a saved model to a file: one prediction per row, as CSV."""
    import numpy as np

    from gradfit.data.files import read_columns, write_csv_atomic
    from gradfit.outputs.persist import load_model

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


# --- learner mode: explain, descend, report and --plot ---------------------------------------

LangOpt = Annotated[str, typer.Option("--lang", metavar="en|zh", help="language: en (English) or zh (中文)")]
PlotOpt = Annotated[Optional[Path], typer.Option("--plot", metavar="DIR", help="also write the figures as PNG files into this directory (created if missing)")]
DataFileArg = Annotated[Optional[Path], typer.Argument(metavar="FILE", help="CSV or Parquet file with a header (default: one of the tutorial's data sets, see --data)", show_default=False)]
OptXOpt = Annotated[Optional[list[str]], typer.Option("--x", metavar="COL", help="feature column of FILE (repeat for several)", show_default=False)]
OptYOpt = Annotated[Optional[str], typer.Option("--y", metavar="COL", help="target column of FILE", show_default=False)]
PresetOpt = Annotated[str, typer.Option("--data", metavar="tutorial|noisy", help="without FILE: the tutorial's data set, fitted with the tutorial's settings (λ = 0.01, 1000 iterations, start (1, 0), sum loss)")]
LEARNER_HELP = " (default: fit's default with FILE, the tutorial's without)"
OptLrOpt = Annotated[Optional[str], typer.Option("--lr", metavar="LR|auto", help=PARAMS["lr"].help + LEARNER_HELP, show_default=False)]
OptItersOpt = Annotated[Optional[str], typer.Option("--iters", metavar="N|auto", help=PARAMS["iters"].help + LEARNER_HELP, show_default=False)]
OptTolOpt = Annotated[Optional[str], typer.Option("--tol", metavar="TOL", help=PARAMS["tol"].help + LEARNER_HELP, show_default=False)]
OptLossOpt = Annotated[Optional[str], typer.Option("--loss", metavar="sse|mse", help=PARAMS["loss"].help + LEARNER_HELP, show_default=False)]
OptEngineOpt = Annotated[Optional[str], typer.Option("--engine", metavar="auto|python|numpy", help=PARAMS["engine"].help + LEARNER_HELP, show_default=False)]
OptInitOpt = Annotated[Optional[str], typer.Option("--init", metavar="W,...,B", help="starting parameters w₁,…,w_d,b" + LEARNER_HELP, show_default=False)]
NoInterceptOpt = Annotated[bool, typer.Option("--no-intercept", help="fit f(x) = w·x, without the bias b")]

TUTORIAL_SETTINGS = {"lr": 0.01, "iters": 1000, "tol": None, "init": (1.0, 0.0), "loss": "sse", "engine": "python"}


def _learner_data(file, x, y, data):
    """The data to explain: FILE's columns, or a tutorial data set (with its test row)."""
    from gradfit.data import as_xy, datasets, load_xy
    from gradfit.errors import ConfigError

    if file is None:
        if x or y:
            raise ConfigError("--x and --y name columns of a FILE; give the file too (or leave them out to use "
                              "the tutorial's data).")
        dataset = datasets.preset(data)
        return as_xy(dataset.x_train, dataset.y_train), (dataset.x_test, dataset.y_test), f"{dataset.name} data set"
    if not x or not y:
        raise ConfigError("Name the columns to fit: --x COL (repeat for several features) and --y COL.")
    return load_xy(file, x, y), None, str(file)


def _learner_settings(from_file: bool, no_intercept: bool, **given) -> dict:
    settings = {n: PARAMS[n].default for n in TUTORIAL_SETTINGS} if from_file else dict(TUTORIAL_SETTINGS)
    if no_intercept and settings["init"] is not None:
        settings["init"] = settings["init"][:-1]  # the tutorial's start without its bias
    for name, value in given.items():
        if value is not None:
            settings[name] = _tol(value) if name == "tol" else value
    return settings


def _learner_fit(xy, settings, no_intercept):
    from gradfit.fit import fit_data
    from gradfit.training.progress import ProgressBar

    with ProgressBar() as bar:
        # The learner sees the textbook: plain gradient descent on the data as they are.
        return fit_data(xy, **settings, fit_intercept=not no_intercept, dtype="float64", optimizer="gd",
                        standardize=False, history_cap=PARAMS["history_cap"].default, callbacks=(bar,))


def _plot_dir(path: Path) -> Path:
    from gradfit.errors import ConfigError

    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--plot {path}: cannot create that directory ({exc.strerror}). Give a directory path.") from None
    return path


def _write_plots(result, directory, prefix: str, lang: str, quiet: bool = False) -> None:
    if directory is None:
        return
    from gradfit.messages import message
    from gradfit.outputs.plots import save_fit_plots

    paths = save_fit_plots(result, _plot_dir(directory), prefix=prefix)
    _note(message("plots.written", lang, paths=", ".join(map(str, paths))), quiet)


def _show(document_or_explanation, fmt: str) -> None:
    """Rich text in a terminal, plain text when piped; Markdown or HTML as asked."""
    if fmt == "text" and sys.stdout.isatty():
        document_or_explanation.print()
    else:
        _out(document_or_explanation.render(fmt).rstrip("\n"))


@command("explain")
def explain_command(
    file: DataFileArg = None,
    x: OptXOpt = None,
    y: OptYOpt = None,
    data: PresetOpt = "tutorial",
    lr: OptLrOpt = None,
    iters: OptItersOpt = None,
    tol: OptTolOpt = None,
    loss: OptLossOpt = None,
    engine: OptEngineOpt = None,
    init: OptInitOpt = None,
    no_intercept: NoInterceptOpt = False,
    lang: LangOpt = "en",
    fmt: Annotated[str, typer.Option("--format", metavar="text|markdown|html", help="text (rich in a terminal, plain when piped), markdown or html")] = "text",
    plot: PlotOpt = None,
):
    """Explain a run step by step, as the tutorial does by hand: the derivation, the first step with
    the run's own numbers, the iterations, the result against the exact optimum, the largest stable
    learning rate (and a run just above it, diverging) and PyTorch's autograd check."""
    from gradfit.errors import DivergenceError
    from gradfit.outputs.explain import Explanation, check_lang, explain

    check_lang(lang)
    if fmt not in ("text", "markdown", "html"):
        from gradfit.errors import ConfigError

        raise ConfigError(f"Unknown format {fmt!r} (--format); choose one of: text, markdown, html.")
    xy, test, _ = _learner_data(file, x, y, data)
    settings = _learner_settings(file is not None, no_intercept, lr=lr, iters=iters, tol=tol, loss=loss, engine=engine,
                                 init=_parse_floats(init, "--init"))
    try:
        result = _learner_fit(xy, settings, no_intercept)
    except DivergenceError as exc:  # explain the diverged run too, then report the error
        explanation: Explanation = explain(exc.result, lang=lang, test=test, compare=False)
        _show(explanation, fmt)
        raise
    _show(explain(result, lang=lang, test=test), fmt)
    _write_plots(result, plot, "explain", lang)


@command("descend")
def descend_command(
    function: Annotated[str, typer.Argument(metavar="FUNCTION", help="a function in Python syntax, such as 'x**2' or 'x**2 + y**2' (numbers, variables, + - * / **, sin cos tan exp log sqrt abs tanh)", show_default=False)],
    start: Annotated[str, typer.Option("--start", metavar="X[,Y,…]", help="the starting point: one number per variable, variables in alphabetical order", show_default=False)],
    lr: Annotated[float, typer.Option("--lr", metavar="LR", help="learning rate (step size) λ")] = 0.1,
    steps: Annotated[int, typer.Option("--steps", metavar="N", help="number of steps")] = 20,
    lang: LangOpt = "en",
    plot: PlotOpt = None,
):
    """Gradient descent on a plain function, the tutorial's warm-up: each step's point, value and
    gradient (derived symbolically). Plots for one or two variables with --plot."""
    from gradfit.messages import check_lang, message
    from gradfit.outputs.explain import Explanation
    from gradfit.outputs.explain.descent import descent_document
    from gradfit.outputs.plots import save_descend_plots
    from gradfit.warmup import descend

    check_lang(lang)
    path = descend(function, _parse_floats(start, "--start"), lr=lr, steps=steps)
    _show(Explanation(descent_document(path, lang)), "text")
    if plot is not None:
        written = save_descend_plots(path, _plot_dir(plot))
        n = len(path.function.variables)
        _note(message("plots.written", lang, paths=", ".join(map(str, written))) if written
              else message("descend.no_plot", lang, n=n), False)


@command("report")
def report_command(
    file: DataFileArg = None,
    x: OptXOpt = None,
    y: OptYOpt = None,
    data: PresetOpt = "tutorial",
    lr: OptLrOpt = None,
    iters: OptItersOpt = None,
    tol: OptTolOpt = None,
    loss: OptLossOpt = None,
    engine: OptEngineOpt = None,
    init: OptInitOpt = None,
    no_intercept: NoInterceptOpt = False,
    out: Annotated[Path, typer.Option("--out", metavar="FILE.html", help="where to write the report")] = Path("report.html"),
    lang: LangOpt = "en",
):
    """Write one self-contained HTML report that works offline: the explanation, a slider over the
    iterations moving the fitted line and the point on the loss surface together, the loss curve and
    a comparison of learning rates."""
    from gradfit.messages import check_lang
    from gradfit.outputs.report import write_report

    check_lang(lang)
    xy, test, source = _learner_data(file, x, y, data)
    settings = _learner_settings(file is not None, no_intercept, lr=lr, iters=iters, tol=tol, loss=loss, engine=engine,
                                 init=_parse_floats(init, "--init"))
    result = _learner_fit(xy, settings, no_intercept)
    write_report(result, out, lang=lang, test=test, source=source)
    _note(f"Report written to {out}", False)


# --- rendering ------------------------------------------------------------------------------

METRIC_LABELS = (("mse", "MSE "), ("rmse", "RMSE"), ("mae", "MAE "), ("r2", "R²  "))


def render_fit(result, source: str) -> str:
    m = result.model
    d = m.n_features
    how = ("solver exact (least squares)" if result.solver == "exact" else
           f"{result.optimizer}, learning rate {result.lr:.6g}")
    lines = [
        f"Fitted {'f(x) = w·x + b' if m.fit_intercept else 'f(x) = w·x'} to '{source}' "
        f"({result.n_rows} rows, {d} feature{'s' * (d != 1)}; engine {result.engine}, "
        f"loss {result.reduction}, {how}{', standardized' if result.standardized else ''})",
        result.verdict(voice="cli"),
    ]
    for name, w in zip(m.feature_names, m.weights):
        lines.append(f"  w = {w!r}" if d == 1 else f"  w[{name}] = {w!r}")
    if m.fit_intercept:
        lines.append(f"  b = {m.bias!r}")
    lines.append(f"  loss = {result.loss:.10g}")
    if result.loss_gap is not None and result.solver != "exact":
        lines.append(f"  gap to the exact optimum: loss {result.loss_gap:.3g}, parameters {result.param_gap:.3g} (relative)")
    for title, metrics, data in (("Training metrics", result.metrics, result.data),
                                 ("Test metrics", result.test_metrics, result.test_data)):
        if metrics:
            lines.append(f"{title} ({data.n_rows} rows)")
            try:                    # data in memory: MAE on first access (gradfit.metrics.Metrics), one more read
                metrics["mae"]
            except KeyError:        # data read in chunks have no MAE (it would take another pass)
                pass
            lines += [f"  {label} = {metrics[key]:.10g}" for key, label in METRIC_LABELS if key in metrics]
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
    """Entry point of the ``gradfit`` console script: the one place where errors become messages and exit codes."""
    import warnings

    args = sys.argv[1:] if argv is None else list(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            code = app(args=args, prog_name="gradfit", standalone_mode=False)
        if code == EXIT_INTERRUPTED:   # Ctrl-C before a command started
            typer.echo("Interrupted.", err=True)
        return code if isinstance(code, int) else 0
    except _CtrlC as exc:
        typer.echo(_interrupted(exc.interrupt, args), err=True)
        return EXIT_INTERRUPTED
    except GradfitError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except typer.Exit as exc:
        return exc.exit_code
    except typer.TyperException as exc:   # a usage error of the parser: its own message, exit 2
        exc.show()
        return exc.exit_code


def _interrupted(exc, args: list[str]) -> str:
    """What to say after Ctrl-C: where a run's state was saved and the command that resumes it."""
    from gradfit.errors import Interrupted
    from gradfit.training.checkpoint import resume_hint

    if isinstance(exc, Interrupted):
        return resume_hint(exc, args)
    return "Interrupted."


if __name__ == "__main__":
    sys.exit(main())

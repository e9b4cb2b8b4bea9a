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
from gradfit.training.interrupts import CtrlC

# Ctrl-C while a command runs: counted as it arrives, so that one a library swallowed is acted on (see CtrlC).
CTRL_C = CtrlC()

EPILOG = (
    f"Exit codes: 0 success · {EXIT_DATA} bad data or file · {EXIT_USAGE} bad option · "
    f"{EXIT_DIVERGED} the run diverged (learning rate too large) · {EXIT_NOT_CONVERGED} the fit stopped at its "
    f"iteration limit before converging (the model is still written) · {EXIT_INTERRUPTED} interrupted by "
    "Ctrl-C (143 by SIGTERM, 129 by SIGHUP: 128 + the signal's number; a run saves its state first and prints "
    "the command that resumes it)."
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
    typer.echo(_printable(text, sys.stdout))


def _note(text: str, quiet: bool) -> None:
    if not quiet:
        typer.echo(_printable(text, sys.stderr), err=True)


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
LossOpt = Annotated[str, typer.Option("--loss", metavar="sse|mse|huber", help=PARAMS["loss"].help)]
EngineOpt = Annotated[str, typer.Option("--engine", metavar="ENGINE", help=PARAMS["engine"].help + ": python (the tutorial's "
                                        "arithmetic, exact), numpy (vectorised), torch (PyTorch, CPU or CUDA), stats "
                                        "(one pass to a summary, then O(d²) per iteration), stream (files larger than "
                                        "memory, read in chunks), dask (a Dask cluster); auto picks")]
InitOpt = Annotated[Optional[str], typer.Option("--init", metavar="W,...,B", help=PARAMS["init"].help)]
DtypeOpt = Annotated[str, typer.Option("--dtype", metavar="float64|float32", help=PARAMS["dtype"].help)]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar and no notes; results only")]
DelimiterOpt = Annotated[Optional[str], typer.Option("--delimiter", metavar="CHAR", help="CSV field separator, such as "
                         "';', '|' or tab (default: a tab for .tsv files, else ';', tab or '|' when the header holds "
                         "one and no comma, else a comma)", show_default=False)]
EncodingOpt = Annotated[Optional[str], typer.Option("--encoding", metavar="NAME", help="text encoding of CSV files, such "
                        "as latin-1 or cp1252 (default: utf-8)", show_default=False)]


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


def _check_outputs(outputs: dict | None = None, inputs: dict | None = None, plot_dir=None) -> None:
    """Fail before the work starts if an output cannot be written: a missing or read-only directory, a path
    that is a directory, one of the command's inputs or another of its outputs (``outputs`` and ``inputs``
    map an option to its path). What only the write can tell (a full disk) is said then, and the old file stays."""
    from gradfit.atomic import check_distinct, check_writable

    outputs = outputs or {}
    check_distinct(outputs, inputs, may_replace=(("--checkpoint", "--resume"),))   # resuming updates its checkpoint
    if plot_dir is not None:
        check_writable(_plot_dir(plot_dir) / ".gradfit-plot-check.png")
    for path in outputs.values():
        if path is not None:
            check_writable(path)


# --- commands -------------------------------------------------------------------------------

@command()
def demo(
    data: Annotated[str, typer.Option("--data", metavar="tutorial|noisy", help="tutorial (x = 1, 2, 3) or noisy (x = 1, 1.5, 3)")] = "tutorial",
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="directory for the figure (created if missing)")] = Path("."),
    lang: Annotated[str, typer.Option("--lang", metavar="en|zh", help="language of the text: en or zh (中文)")] = "en",
    plot: Annotated[Optional[Path], typer.Option("--plot", metavar="DIR", help="also write the loss curve, contours and 3-D surface as PNGs here")] = None,
):
    """Replay the tutorial: first step by hand, 1000 iterations, the test row, the figure."""
    from gradfit.data import datasets
    from gradfit.fit import fit
    from gradfit.outputs.explain import render_demo
    from gradfit.outputs.plots import save_figure, tutorial_figure

    from gradfit.messages import check_lang

    lang = _console_lang(check_lang(lang))
    dataset = datasets.preset(data)
    figure_path = _plot_dir(out, "--out") / f"{dataset.name}.png"     # created if missing, as --plot's
    _check_outputs({"--out": figure_path}, plot_dir=plot)
    result = fit(dataset.x_train, dataset.y_train, lr=0.01, iters=1000, tol=None, init=(1.0, 0.0),
                 loss="sse", engine="python")
    figure = tutorial_figure(result.model, dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test, lang=lang)
    path = save_figure(figure, figure_path)
    _out(render_demo(result, dataset, figure_path=path, lang=lang))
    _write_plots(result, plot, dataset.name, lang)


@command("fit")
def fit_command(
    file: Annotated[str, typer.Argument(metavar="DATA", help="CSV or Parquet file with a header, a glob such as "
                                        "'data/*.parquet' (quoted), or a directory; large data are read in chunks. "
                                        "CSV may be compressed (.csv.gz, .bz2, .zst, .lz4; expanding at most 100×)",
                                        show_default=False)],
    x: Annotated[list[str], typer.Option("--x", metavar="COL", help="feature column (repeat for several); --x all: every "
                                         "numeric column but --y and --weight", show_default=False)],
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
    optimizer: _table_opt("optimizer", "preconditioned|accelerated|gd|momentum|nesterov|sgd") = PARAMS["optimizer"].default,
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
    penalty: _table_opt("penalty", "none|l2|l1|elasticnet") = PARAMS["penalty"].default,
    alpha: Annotated[Optional[str], typer.Option("--alpha", metavar="A", help=PARAMS["alpha"].help, show_default=False)] = None,
    l1_ratio: Annotated[Optional[str], typer.Option("--l1-ratio", metavar="R", help=PARAMS["l1_ratio"].help, show_default=False)] = None,
    penalty_scale: _table_opt("penalty_scale", "given|standardized") = PARAMS["penalty_scale"].default,
    early_stopping: _flag_opt("early_stopping") = False,
    validation_fraction: Annotated[Optional[str], typer.Option("--validation-fraction", metavar="F", help=PARAMS["validation_fraction"].help, show_default=False)] = None,
    epsilon: Annotated[Optional[str], typer.Option("--epsilon", metavar="EPS", help=PARAMS["epsilon"].help, show_default=False)] = None,
    cv: Annotated[Optional[int], typer.Option("--cv", metavar="K", help="cross-validate the penalty's alpha over K folds "
                  "(rows assigned by a seeded hash of their index, --seed), every fold summarized in ONE pass over the "
                  "data; prints the CV error per alpha and fits at the chosen one. Needs --penalty", min=2,
                  show_default=False)] = None,
    alphas: Annotated[str, typer.Option("--alphas", metavar="N|A,B,…", help="with --cv: the number of alphas, log-spaced "
                      "from alpha_max (all weights 0) down to alpha_max/1000 as scikit-learn's LassoCV, or the alphas "
                      "themselves")] = "100",
    cv_select: Annotated[str, typer.Option("--cv-select", metavar="min|1se", help="with --cv: fit at the alpha of least "
                         "CV error (min) or at the largest alpha within one standard error of it (1se, glmnet's rule)")] = "min",
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
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", metavar="ADDRESS", help="run the fit on the Dask "
                         "cluster of this scheduler, such as tcp://10.0.0.5:8786 (implies --engine dask; another "
                         "--engine is refused). It must answer within 10 s, or the fit stops with a message. Without "
                         "it, --engine dask starts a local cluster")] = None,
    quiet: QuietOpt = False,
    plot: Annotated[Optional[Path], typer.Option("--plot", metavar="DIR", help="write the fit, loss curve, contours and 3-D surface as PNGs here")] = None,
    delimiter: DelimiterOpt = None,
    encoding: EncodingOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the results as one JSON object on stdout, for scripts "
                                           "(weights by name, bias, metrics, iterations, converged, stop reason)")] = False,
):
    """Fit f(x) = w·x + b to columns of a file; print the parameters, the verdict and the metrics."""
    from gradfit.data.files import load_xy, open_files
    import warnings

    from gradfit.errors import ConvergenceWarning, DivergenceError
    from gradfit.fit import fit_data, stopped_short_message
    from gradfit.messages import message
    from gradfit.outputs.persist import export_history, save_model
    from gradfit.training.checkpoint import DEFAULT_PATH, keep_finished_run
    from gradfit.training.progress import ProgressBar

    if json_out and summary:
        from gradfit.errors import ConfigError

        raise ConfigError("--json prints the fit's results as JSON; the inference table (--summary) is text. "
                          "Leave one of them out.")
    _check_outputs({"--history": history, "--model": model,
                    "--checkpoint": checkpoint if checkpoint is not None or every else Path(DEFAULT_PATH)},
                   {"DATA": file, "--test": test, "--resume": resume}, plot_dir=plot)
    if cv is not None:
        return _cv_command(file, x, y, cv, alphas, cv_select, model, quiet, scheduler, plot,
                           given={"--test": test, "--checkpoint": checkpoint, "--every": every, "--resume": resume,
                                  "--weight": weight, "--history": history, "--summary": summary},
                           lr=lr, iters=iters, tol=_tol(tol), init=_parse_floats(init, "--init"), loss=loss,
                           engine=engine, fit_intercept=not no_intercept, dtype=dtype,
                           standardize="auto" if standardize is None else standardize, stop=stop, optimizer=optimizer,
                           momentum=momentum, solver=solver, test_fraction=test_fraction, seed=seed, dropna=dropna,
                           penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, penalty_scale=penalty_scale,
                           epsilon=epsilon, early_stopping=early_stopping, validation_fraction=validation_fraction)
    if summary and (penalty not in ("auto", "none") or alpha is not None or l1_ratio is not None or loss == "huber"):
        from gradfit.errors import ConfigError

        raise ConfigError("--summary's standard errors, t and p-values are those of unpenalized least squares; they do "
                          "not hold for a penalized or Huber fit. Leave --summary out, or fit without --penalty/--alpha "
                          "and --loss huber.")
    if checkpoint is None and not every:
        checkpoint = Path(DEFAULT_PATH)  # written only if Ctrl-C interrupts the run
    try:
        data = open_files(file, x, y, weight_column=weight, delimiter=delimiter, encoding=encoding)
        test_data = load_xy(test, list(data.feature_names), y, dropna=dropna, min_rows=1, delimiter=delimiter,
                            encoding=encoding) if test is not None else None
        CTRL_C()                                       # a Ctrl-C swallowed while reading stops here
        with ProgressBar(enabled=not quiet) as bar, warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)   # said below, in the command line's words
            result = fit_data(data, test=test_data, lr=lr, iters=iters, tol=_tol(tol), init=_parse_floats(init, "--init"),
                              loss=loss, engine=engine, fit_intercept=not no_intercept, dtype=dtype,
                              standardize="auto" if standardize is None else standardize, stop=stop,
                              optimizer=optimizer, momentum=momentum, batch_size=batch_size,
                              epochs=epochs, learning_rate=learning_rate, power_t=power_t, n_iter_no_change=n_iter_no_change,
                              solver=solver, device=device, test_fraction=test_fraction, seed=seed, dropna=dropna,
                              penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, penalty_scale=penalty_scale,
                              epsilon=epsilon, early_stopping=early_stopping,
                              validation_fraction=validation_fraction, callbacks=(bar, CTRL_C), scheduler=scheduler, checkpoint=checkpoint,
                              every=every, resume=resume)
    except DivergenceError as exc:
        if history is not None and exc.result is not None:
            export_history(exc.result, history)   # the run up to the blow-up, to look at
        raise
    # Ctrl-C from here on: the finished run's final state is saved, and resuming it writes the results.
    CTRL_C.on_interrupt = lambda: keep_finished_run(result.final_state, checkpoint)
    _out(render_fit_json(result, str(file)) if json_out else render_fit(result, str(file)))
    stopped_short = result.stopped_short
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
                                                  "loss": result.loss_spec.name, "solver": result.solver,
                                                  **_penalty_metadata(result.loss_spec),
                                                  "lr": None if result.solver == "exact" else result.lr,
                                                  "iterations": result.n_iter, "metrics": result.metrics,
                                                  "optimizer": result.optimizer, "standardize": result.standardized,
                                                  "stop_reason": result.stop_reason.value,
                                                  "converged": result.converged, "gap_bound": result.gap_bound,
                                                  **({"test_metrics": result.test_metrics} if result.test_metrics else {})})
        _note(f"Model saved to {model}", quiet)
    _write_plots(result, plot, "fit", "en", quiet)
    return EXIT_NOT_CONVERGED if stopped_short else 0


def _cv_command(file, x, y, folds, alphas, select, model, quiet, scheduler, plot, given, **options) -> int:
    """``fit --cv K``: the cross-validated path, its table, and the model at the chosen alpha."""
    from gradfit.cv import cv
    from gradfit.data.files import open_files
    from gradfit.errors import ConfigError
    from gradfit.outputs.persist import save_model

    clash = [name for name, value in given.items() if value not in (None, False, 0)]
    if clash:
        raise ConfigError(f"{', '.join(clash)} do(es) not go with --cv: cross-validation fits a path from the folds' "
                          "summaries; run gradfit fit again at the chosen --alpha for those.")
    path = [float(a) for a in _parse_floats(alphas, "--alphas")] if "," in alphas or "." in alphas else \
        _parse_int(alphas, "--alphas")
    result = cv(open_files(file, x, y), folds=folds, alphas=path, select=select, scheduler=scheduler, **options)
    fitted = result.result
    _out(f"Cross-validation: {folds} folds of {', '.join(map(str, result.fold_sizes))} rows, read in one pass; "
         f"penalty {result.penalty.kind.value}" + (f" (l1_ratio {result.penalty.l1_ratio:g})"
                                                   if result.penalty.kind.value == "elasticnet" else ""))
    _out(result.table())
    _out(f"alpha with the least CV error (*): {result.alpha_min:.6g};  largest alpha within one standard error (+): "
         f"{result.alpha_1se:.6g};  fitted at {result.alpha:.6g} ({select})")
    _out("")
    _out(render_fit(fitted, str(file)))
    if model is not None:
        save_model(fitted.model, model, metadata={"source": str(file), "engine": fitted.engine, "loss": fitted.loss_spec.name,
                                                  "penalty": result.penalty.kind.value, "alpha": result.alpha,
                                                  "l1_ratio": result.penalty.l1_ratio, "cv_folds": folds,
                                                  "cv_select": select, "metrics": fitted.metrics,
                                                  "converged": fitted.converged, "gap_bound": fitted.gap_bound})
        _note(f"Model saved to {model}", quiet)
    _write_plots(fitted, plot, "fit", "en", quiet)
    return EXIT_NOT_CONVERGED if fitted.options["tol"] and not fitted.converged else 0


def _parse_int(text: str, option: str) -> int:
    from gradfit.errors import ConfigError

    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"Invalid value for {option}: {text!r}; expected a count or numbers such as 1,0.1,0.01.") from None


@command()
def predict(
    model: Annotated[Path, typer.Argument(metavar="MODEL", help="model JSON written by `gradfit fit --model`", show_default=False)],
    file: Annotated[Path, typer.Argument(metavar="FILE", help="CSV or Parquet file holding the model's feature columns "
                                         "(a glob or a directory too); read once, in blocks, so it may be larger "
                                         "than memory", show_default=False)],
    out: Annotated[Optional[Path], typer.Option("--out", metavar="PATH", help="write the predictions as CSV here, "
                                                "atomically (default: stdout, as they are computed)")] = None,
    keep: Annotated[Optional[list[str]], typer.Option("--keep", metavar="COL", help="also write this column of FILE, "
                    "as read (repeat for several, in the order given), such as an id to join the predictions back "
                    "by", show_default=False)] = None,
    quiet: QuietOpt = False,
    delimiter: DelimiterOpt = None,
    encoding: EncodingOpt = None,
):
    """Apply a saved model to a file: one prediction per row, as CSV — the --keep columns as read, then
    predicted_<target> in the shortest form that reads back as the same float64."""
    from gradfit.data.files import open_for_prediction
    from gradfit.outputs.persist import load_model, prediction_csv
    from gradfit.training.progress import ProgressBar

    _check_outputs({"--out": out}, {"MODEL": model, "FILE": file})
    fitted = load_model(model)
    scan = open_for_prediction(file, fitted.feature_names, keep or (), delimiter=delimiter, encoding=encoding)
    with ProgressBar(enabled=not quiet, reading=True) as bar:
        total = scan.file_bytes
        blocks = prediction_csv(fitted, scan, on_read=lambda done: bar.read(done, total))
        if out is None:
            _stream_out(blocks)
            return
        text, rows = bytearray(), 0     # the predictions only, a fraction of FILE: written at once, atomically
        for block, n in blocks:
            text += block
            rows += n
    from gradfit.atomic import write_bytes

    write_bytes(out, text)
    _note(f"{rows} predictions written to {out}", quiet)


def _stream_out(blocks) -> None:
    """Bytes to stdout as they come; a reader that stops early (``| head``) ends the output quietly."""
    import os

    sys.stdout.flush()
    binary = getattr(sys.stdout, "buffer", None)        # None: a text stream put in stdout's place (io.StringIO)
    try:
        for block, _ in blocks:
            binary.write(block) if binary is not None else sys.stdout.write(bytes(block).decode("utf-8"))
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # no second error when Python exits


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
PEN_HELP = " (explain and report then show what the penalty does: shrinkage, the soft-threshold step, the path)"
OptPenaltyOpt = Annotated[Optional[str], typer.Option("--penalty", metavar="none|l2|l1|elasticnet", help=PARAMS["penalty"].help + PEN_HELP, show_default=False)]
OptAlphaOpt = Annotated[Optional[str], typer.Option("--alpha", metavar="A", help=PARAMS["alpha"].help, show_default=False)]
OptRatioOpt = Annotated[Optional[str], typer.Option("--l1-ratio", metavar="R", help=PARAMS["l1_ratio"].help, show_default=False)]
OptPenScaleOpt = Annotated[Optional[str], typer.Option("--penalty-scale", metavar="given|standardized", help=PARAMS["penalty_scale"].help, show_default=False)]

TUTORIAL_SETTINGS = {"lr": 0.01, "iters": 1000, "tol": None, "init": (1.0, 0.0), "loss": "sse", "engine": "python"}


def _learner_data(file, x, y, data, delimiter=None, encoding=None):
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
    return load_xy(file, x, y, delimiter=delimiter, encoding=encoding), None, str(file)


def _learner_settings(from_file: bool, no_intercept: bool, **given) -> dict:
    settings = {n: PARAMS[n].default for n in TUTORIAL_SETTINGS} if from_file else dict(TUTORIAL_SETTINGS)
    if no_intercept and settings["init"] is not None:
        settings["init"] = settings["init"][:-1]  # the tutorial's start without its bias
    for name, value in given.items():
        if value is not None:
            settings[name] = _tol(value) if name == "tol" else value
    return settings


def _learner_fit(xy, settings, no_intercept, standardize: bool = False):
    from gradfit.fit import fit_data
    from gradfit.training.progress import ProgressBar

    if standardize and settings.get("engine") == "python":
        settings = settings | {"engine": "numpy"}   # the python engine runs the tutorial's arithmetic only
    with ProgressBar() as bar:
        # The learner sees the textbook: plain gradient descent on the data as they are (or standardized, if asked).
        return fit_data(xy, **settings, fit_intercept=not no_intercept, dtype="float64", optimizer="gd",
                        standardize=standardize, history_cap=PARAMS["history_cap"].default, callbacks=(bar,))


def _raise_in(lang: str, exc) -> None:
    """Re-raise a DivergenceError, said in the learner's language (the verdict names the flags to change)."""
    if lang == "en":
        raise exc
    from gradfit.errors import DivergenceError

    raise DivergenceError(exc.result.verdict(lang, voice="cli"), exc.result) from None


def _console_lang(lang: str) -> str:
    """zh where the console can print Chinese; else en, with a note (a gbk console can, an ascii one cannot)."""
    from gradfit.messages import message

    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    if lang == "zh" and not _encodes("梯度下降", encoding):
        typer.echo(_printable(message("console.no_cjk", "en", encoding=encoding), sys.stderr), err=True)
        return "en"
    return lang


def _encodes(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


# What a console that cannot print a character shows instead: readable ASCII for the maths.
ASCII_FALLBACK = str.maketrans({
    "−": "-", "×": "x", "·": "*", "←": "<-", "→": "->", "⇒": "=>", "⇔": "<=>", "≈": "~", "≤": "<=", "≥": ">=",
    "²": "^2", "³": "^3", "ᵢ": "_i", "ⱼ": "_j", "ᵀ": "^T", "Σ": "sum", "∂": "d", "∇": "grad ", "λ": "lambda",
    "μ": "mu", "θ": "theta", "κ": "kappa", "ρ": "rho", "ε": "eps", "√": "sqrt", "‖": "||", "…": "...", "—": "-",
    "₀": "0", "₁": "1", "₂": "2", "₃": "3", "₄": "4", "₅": "5", "₆": "6", "₇": "7", "₈": "8", "₉": "9", "∞": "inf",
    "“": '"', "”": '"', "’": "'", "ˋ": "`", "ŷ": "y^", "⁻": "^-", "¹": "^1",
})


def _printable(text: str, stream) -> str:
    """``text`` as ``stream`` can encode it: unchanged when it can, else the maths in ASCII and '?' for the rest."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    if _encodes(text, encoding):
        return text
    return text.translate(ASCII_FALLBACK).encode(encoding, errors="replace").decode(encoding)


def _plot_dir(path: Path, option: str = "--plot") -> Path:
    from gradfit.errors import ConfigError

    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{option} {path}: cannot create that directory ({exc.strerror}). Give a directory path.") from None
    return path


def _write_plots(result, directory, prefix: str, lang: str, quiet: bool = False) -> None:
    if directory is None:
        return
    from gradfit.messages import message
    from gradfit.outputs.plots import save_fit_plots

    paths = save_fit_plots(result, _plot_dir(directory), prefix=prefix, lang=lang)
    _note(message("plots.written", lang, paths=", ".join(map(str, paths))), quiet)


def _show(document_or_explanation, fmt: str) -> None:
    """Rich text in a terminal, plain text when piped; Markdown or HTML as asked."""
    if fmt == "text" and sys.stdout.isatty() and _encodes(document_or_explanation.text(), sys.stdout.encoding or "utf-8"):
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
    standardize: Annotated[bool, typer.Option("--standardize", help="descend on standardized features z = (x − mean)/sd "
                                              "(coefficients still on the original scale): compare κ and the iterations")] = False,
    code: Annotated[bool, typer.Option("--code", help="add the plain-Python and the PyTorch programs that reproduce this run")] = False,
    penalty: OptPenaltyOpt = None,
    alpha: OptAlphaOpt = None,
    l1_ratio: OptRatioOpt = None,
    penalty_scale: OptPenScaleOpt = None,
    delimiter: DelimiterOpt = None,
    encoding: EncodingOpt = None,
):
    """Explain a run step by step, as the tutorial does by hand: the derivation, the first step with
    the run's own numbers, the iterations, the result against the exact optimum, the largest stable
    learning rate derived from the Hessian's eigenvalues h (and a run just above it, diverging),
    PyTorch's autograd check, why it took as many iterations as it did (the condition number
    κ = h_max/h_min, before and after standardizing), momentum, and questions to check yourself."""
    from gradfit.errors import DivergenceError
    from gradfit.outputs.explain import Explanation, check_lang, explain

    lang = check_lang(lang)
    if fmt == "text":
        lang = _console_lang(lang)
    if fmt not in ("text", "markdown", "html"):
        from gradfit.errors import ConfigError

        raise ConfigError(f"Unknown format {fmt!r} (--format); choose one of: text, markdown, html.")
    _check_outputs(plot_dir=plot)
    xy, test, _ = _learner_data(file, x, y, data, delimiter, encoding)
    settings = _learner_settings(file is not None, no_intercept, lr=lr, iters=iters, tol=tol, loss=loss, engine=engine,
                                 init=_parse_floats(init, "--init"), penalty=penalty, alpha=alpha, l1_ratio=l1_ratio,
                                 penalty_scale=penalty_scale)
    try:
        result = _learner_fit(xy, settings, no_intercept, standardize)
    except DivergenceError as exc:  # explain the diverged run too, then report the error
        explanation: Explanation = explain(exc.result, lang=lang, test=test, compare=False, code=code)
        _show(explanation, fmt)
        _raise_in(lang, exc)
    _show(explain(result, lang=lang, test=test, code=code), fmt)
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

    lang = _console_lang(check_lang(lang))
    _check_outputs(plot_dir=plot)
    path = descend(function, _parse_floats(start, "--start"), lr=lr, steps=steps)
    _show(Explanation(descent_document(path, lang)), "text")
    if plot is not None:
        written = save_descend_plots(path, _plot_dir(plot), lang)
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
    penalty: OptPenaltyOpt = None,
    alpha: OptAlphaOpt = None,
    l1_ratio: OptRatioOpt = None,
    penalty_scale: OptPenScaleOpt = None,
    delimiter: DelimiterOpt = None,
    encoding: EncodingOpt = None,
):
    """Write one self-contained HTML report that works offline: the explanation (typeset maths), a slider
    over the iterations moving the fitted line and the point on the loss surface together, the loss
    curve, a comparison of learning rates, sliders for the learning rate and the momentum that re-run
    descent live on this run's quadratic, the code of the run and questions to check yourself. A
    diverged run gets its report too (and exit code 3)."""
    from gradfit.errors import DivergenceError
    from gradfit.messages import check_lang, message
    from gradfit.outputs.report import write_report

    check_lang(lang)
    _check_outputs({"--out": out}, {"FILE": file})
    xy, test, source = _learner_data(file, x, y, data, delimiter, encoding)
    if file is None:
        source = message(f"report.preset_{data}", lang)
    settings = _learner_settings(file is not None, no_intercept, lr=lr, iters=iters, tol=tol, loss=loss, engine=engine,
                                 init=_parse_floats(init, "--init"), penalty=penalty, alpha=alpha, l1_ratio=l1_ratio,
                                 penalty_scale=penalty_scale)
    try:
        result = _learner_fit(xy, settings, no_intercept)
    except DivergenceError as exc:   # the diverged run is worth a report too; then the error and its exit code
        write_report(exc.result, out, lang=lang, test=test, source=source)
        _note(message("report.written", lang, path=out), False)
        _raise_in(lang, exc)
    write_report(result, out, lang=lang, test=test, source=source)
    _note(message("report.written", lang, path=out), False)


# --- rendering ------------------------------------------------------------------------------

def _penalty_metadata(loss) -> dict:
    p = loss.penalty
    extra = {"epsilon": loss.huber} if loss.huber is not None else {}
    if p.active:
        extra |= {"penalty": p.kind.value, "alpha": p.alpha, "l1_ratio": p.l1_ratio, "penalty_scale": p.scale}
    return extra


def _penalty_text(penalty) -> str:
    if not penalty.active:
        return ""
    ratio = f", l1_ratio {penalty.l1_ratio:g}" if penalty.kind.value == "elasticnet" else ""
    scale = ", on the standardized scale" if penalty.scale == "standardized" else ""
    return f" + {penalty.kind.value} penalty (alpha {penalty.alpha:.6g}{ratio}{scale})"


METRIC_LABELS = (("mse", "MSE "), ("rmse", "RMSE"), ("mae", "MAE "), ("r2", "R²  "))


def render_fit(result, source: str) -> str:
    m = result.model
    d = m.n_features
    how = ("solver exact (least squares)" if result.solver == "exact" else
           f"{result.optimizer}, learning rate {result.lr:.6g}")
    lines = [
        f"Fitted {'f(x) = w·x + b' if m.fit_intercept else 'f(x) = w·x'} to '{source}' "
        f"({result.n_rows} rows, {d} feature{'s' * (d != 1)}; engine {result.engine}, "
        f"loss {result.loss_spec.name}{_penalty_text(result.loss_spec.penalty)}, {how}"
        f"{', standardized' if result.standardized else ''})",
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
            lines.append(f"{title} ({data.n_rows} row{'s' * (data.n_rows != 1)})")
            try:                    # data in memory: MAE on first access (gradfit.metrics.Metrics), one more read
                metrics["mae"]
            except KeyError:        # data read in chunks have no MAE (it would take another pass)
                pass
            lines += [_metric_line(key, label, metrics[key], data.n_rows) for key, label in METRIC_LABELS if key in metrics]
    return "\n".join(lines)


def render_fit_json(result, source: str) -> str:
    """The fit's results as one JSON object (``gradfit fit --json``); numbers that are not finite are null."""
    import json
    import math

    def number(v):
        return float(v) if v is not None and math.isfinite(v) else None

    m = result.model
    doc = {
        "source": source, "rows": result.n_rows, "features": list(m.feature_names), "target": m.target_name,
        "weights": {name: float(w) for name, w in zip(m.feature_names, m.weights)},
        "bias": float(m.bias) if m.fit_intercept else None, "fit_intercept": m.fit_intercept,
        "engine": result.engine, "solver": result.solver, "optimizer": result.optimizer, "loss": result.loss_spec.name,
        **_penalty_metadata(result.loss_spec),   # what was fitted: ε of Huber's loss, the penalty
        "standardized": result.standardized, "lr": None if result.solver == "exact" else number(result.lr),
        "iterations": result.n_iter, "converged": result.converged, "stop_reason": result.stop_reason.value,
        "gap_bound": number(result.gap_bound), "final_loss": number(result.loss),
        "loss_gap": number(result.loss_gap), "param_gap": number(result.param_gap),
        "metrics": {k: number(v) for k, v in result.metrics.items()},
        "test_metrics": None if not result.test_metrics else {k: number(v) for k, v in result.test_metrics.items()},
    }
    return json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False)


def _metric_line(key: str, label: str, value: float, n_rows: int) -> str:
    if key == "r2" and value != value:     # NaN: R² = 1 − SSE/SST, and SST = 0
        why = "a single row" if n_rows == 1 else "rows whose target does not vary"
        return f"  {label} undefined (R² = 1 − SSE/SST, and SST = 0 for {why})"
    return f"  {label} = {value:.10g}"


# --- the one place where errors become messages and exit codes -------------------------------

def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """gradfit's warnings as one line on stderr, like its errors (no file name, no source line)."""
    typer.echo(f"warning: {message}", err=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gradfit`` console script: the one place where errors become messages and exit codes."""
    import warnings

    args = sys.argv[1:] if argv is None else list(argv)
    try:
        CTRL_C.install()
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            code = app(args=args, prog_name="gradfit", standalone_mode=False)
        if code == EXIT_INTERRUPTED or CTRL_C.pending:   # Ctrl-C before a command started, or swallowed at its end
            return _stopped("Interrupted." if CTRL_C.on_interrupt is None else _interrupted(KeyboardInterrupt(), args))
        return code if isinstance(code, int) else 0
    except _CtrlC as exc:
        return _stopped(_interrupted(exc.interrupt, args))
    except GradfitError as exc:
        typer.echo(_printable(f"error: {exc}", sys.stderr), err=True)
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        return _stopped("Interrupted.")
    except typer.Exit as exc:
        return exc.exit_code
    except typer.TyperException as exc:   # a usage error of the parser: its own message, exit 2
        exc.show()
        return exc.exit_code
    finally:
        CTRL_C.restore()
        if argv is None:     # the command itself: a Ctrl-C from here on would land in the interpreter's teardown
            _done_with_ctrl_c()


def _done_with_ctrl_c() -> None:
    """Ignore SIGINT once the command has finished (its output written, its code decided). CPython's teardown puts
    the default action back for a signal with a Python handler (not for an ignored one), so a Ctrl-C in its last
    milliseconds killed the finished command by SIGINT (status −2, exit code lost) instead of leaving its code."""
    import signal

    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:       # not the main thread
        pass


def _stopped(text: str) -> int:
    """Say ``text`` on stderr after a signal stopped the command; the exit code, 128 + the signal's number.

    After SIGHUP the terminal may be gone, and that is no error. CPython ends a process by SIGINT
    (status -2 rather than ours) when the last code it ran from a string (``exec(str)``, as dataclasses
    and typer do while modules load) ended in KeyboardInterrupt, even one handled since: an ``exec``
    that completes clears that record, so the status is the one returned here.
    """
    try:
        typer.echo(text, err=True)
    except OSError:
        pass
    exec("pass")
    return CTRL_C.exit_code


def _interrupted(exc, args: list[str]) -> str:
    """What to say after Ctrl-C: where a run's state was saved and the command that resumes it."""
    from gradfit.errors import Interrupted
    from gradfit.training.checkpoint import resume_hint

    if not isinstance(exc, Interrupted) and CTRL_C.on_interrupt is not None:
        try:
            exc = CTRL_C.on_interrupt()           # the run had finished: keep it
        except (GradfitError, KeyboardInterrupt):
            pass
    if isinstance(exc, Interrupted):
        return resume_hint(exc, args)
    return "Interrupted."


if __name__ == "__main__":
    sys.exit(main())

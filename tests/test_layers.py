"""One way through the code: the import contracts, the engine Protocol, and outputs that only read the result."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from patience import patience

import gradfit
from gradfit.data.arrays import XY
from gradfit.engines import IN_MEMORY, REGISTRY, Objective, make_objective
from gradfit.errors import EXIT_INTERRUPTED
from gradfit.loss import Loss

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_import_contracts_hold():
    """Layers, engines without update rules, outputs that never fit: checked by import-linter, imports in
    functions included."""
    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    proc = subprocess.run([lint, "--no-cache"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "broken" in proc.stdout and "0 broken" in proc.stdout


@pytest.mark.parametrize("engine", sorted(REGISTRY))
@pytest.mark.slow
def test_every_engine_answers_the_protocol_with_the_same_loss(engine, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3)) + [5.0, -2.0, 0.0]
    y = X @ [1.0, -2.0, 0.5] + 3 + rng.standard_normal(64)
    data = XY(X, y, ("a", "b", "c"))
    if engine == "stream":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y}), tmp_path / "d.parquet",
                       row_group_size=20)
        data = gradfit.open_files(tmp_path / "d.parquet", ["a", "b", "c"], "y")
    if engine == "dask":
        pytest.importorskip("distributed")
        import distributed

        cluster = distributed.LocalCluster(processes=False, n_workers=1, dashboard_address=None)
        client = distributed.Client(cluster)
    try:
        objective = make_objective(engine, data, Loss("sse"))
        reference = make_objective("numpy", XY(X, y, ("a", "b", "c")), Loss("sse"))
        assert isinstance(objective, Objective)
        theta = np.array([0.5, -1.0, 2.0, 1.0])
        (loss, grad), (loss_ref, grad_ref) = objective.loss_and_gradient(theta), reference.loss_and_gradient(theta)
        assert loss == pytest.approx(loss_ref, rel=1e-11)
        np.testing.assert_allclose(grad, grad_ref, rtol=1e-9, atol=1e-9 * np.abs(grad_ref).max())
        np.testing.assert_allclose(objective.gram(), reference.gram(), rtol=1e-11)
        assert objective.n_rows == 64 and objective.loss.is_sum
        assert (objective.summary is None) == (engine in IN_MEMORY)
        objective.close()
    finally:
        if engine == "dask":
            client.close()
            cluster.close()


def weighted_fit():
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 5, 30)
    y = 2 * x + 1 + rng.standard_normal(30) * np.where(x > 2.5, 3.0, 0.1)
    weight = np.where(x > 2.5, 0.05, 5.0)
    return x, y, weight, gradfit.fit(x, y, sample_weight=weight, lr=0.01, iters=3000, tol=None)


@pytest.mark.slow
def test_a_weighted_fit_is_explained_with_the_weighted_optimum_and_no_negative_gap():
    x, y, weight, r = weighted_fit()
    A = np.column_stack([x, np.ones_like(x)]) * np.sqrt(weight)[:, None]
    weighted_star = np.linalg.lstsq(A, y * np.sqrt(weight), rcond=None)[0]
    np.testing.assert_allclose(r.theta_exact, weighted_star, rtol=1e-10)
    document = gradfit.explain(r, compare=False).document
    text = gradfit.explain(r, compare=False).text()
    assert f"w* = {weighted_star[0]:.10g}" in text
    gap_line = next(line for line in text.splitlines() if "Loss − Loss*" in line)
    assert "= -" not in gap_line.split("Loss − Loss*")[1]              # the gap is never negative
    assert document.title


@pytest.mark.slow
def test_the_report_and_plots_draw_the_weighted_loss(tmp_path):
    from gradfit.outputs.explain.analysis import QuadraticLoss
    from gradfit.outputs.plots import save_fit_plots
    from gradfit.outputs.report import report_data

    x, y, weight, r = weighted_fit()
    surface = QuadraticLoss(r)
    # the plane's minimum is the weighted optimum, and its values are the run's own loss
    at_star = surface.on_plane(r.theta_exact, 0, 1, np.array([r.theta_exact[0]]), np.array([r.theta_exact[1]]))[0]
    assert at_star == pytest.approx(r.loss_exact, rel=1e-9)
    payload = report_data(r)
    np.testing.assert_allclose(payload["surface"]["optimum"], r.theta_exact, rtol=1e-12)
    assert len(save_fit_plots(r, tmp_path)) == 4


def test_an_exact_solution_is_explained():
    r = gradfit.fit([1, 1.5, 3], [3, 5, 7], solver="exact")
    text = gradfit.explain(r).text()
    assert "exact least-squares solution" in text and "24/13" not in text
    assert f"{24 / 13!r}"[:12] in text


def csv_directory(tmp_path, n=3000):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n, 2)) * [2.0, 0.5] + [10.0, -3.0]
    y = X @ [1.5, -2.0] + 4 + 0.1 * rng.standard_normal(n)
    folder = tmp_path / "parts"
    folder.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(n), 3)):
        lines = ["a,b,unused,y"] + [f"{float(X[r, 0])!r},{float(X[r, 1])!r},7,{float(y[r])!r}" for r in rows]
        (folder / f"part{i}.csv").write_text("\n".join(lines) + "\n")
    return folder, X, y


def test_summary_of_a_directory_of_csv_files_works_from_the_one_pass_summary(cli, tmp_path):
    folder, X, y = csv_directory(tmp_path)
    res = cli("fit", folder, "--x", "a", "--x", "b", "--y", "y", "--engine", "stream", "--solver", "exact",
              "--summary", "--quiet")
    assert res.code == 0 and "Traceback" not in res.err, res.err
    assert any(line.startswith("a ") for line in res.out.splitlines())
    import statsmodels.api as sm

    reference = sm.OLS(y, np.column_stack([X, np.ones(len(y))])).fit()
    summary = gradfit.fit(gradfit.open_files(folder, ["a", "b"], "y"), engine="stream", solver="exact").summary()
    np.testing.assert_allclose(summary.coef, reference.params, rtol=1e-9)
    np.testing.assert_allclose(summary.std_err, reference.bse, rtol=1e-8)
    assert summary.r2 == pytest.approx(reference.rsquared, rel=1e-12) and summary.n_rows == len(y)


def test_explain_and_plots_of_a_streamed_result_say_what_they_need(tmp_path):
    folder, X, y = csv_directory(tmp_path)
    r = gradfit.fit(gradfit.open_files(folder, ["a", "b"], "y"), engine="stream", iters=50)
    with pytest.raises(gradfit.ConfigError, match="in memory"):
        gradfit.explain(r)
    from gradfit.outputs.plots import save_fit_plots

    assert [p.name for p in save_fit_plots(r, tmp_path)] == ["fit-loss.png"]    # the loss curve needs no rows
    summary = r.summary()
    assert summary.n_rows == 3000


@pytest.mark.slow
def test_ctrl_c_in_explain_exits_130_with_a_message(tmp_path):
    rows = "\n".join(f"{i},{2 * i + 1}" for i in range(200))
    (tmp_path / "d.csv").write_text("x,y\n" + rows + "\n")
    proc = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "gradfit", "explain", str(tmp_path / "d.csv"),
                             "--x", "x", "--y", "y", "--iters", "100000000", "--tol", "none", "--lr", "1e-9"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    # The event: explain's own modules are imported (-X importtime says so), so the command runs, whatever the load.
    for line in proc.stderr:
        if "gradfit.outputs.explain" in line:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=patience(60))
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert "Interrupted" in err and "Traceback" not in err

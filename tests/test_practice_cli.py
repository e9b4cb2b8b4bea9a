"""``gradfit fit`` in practitioner mode: the new flags, their outputs, and the warnings and errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import run_gradfit

pytest.importorskip("statsmodels")


def write_csv(path, columns: dict):
    names = list(columns)
    rows = zip(*(columns[n] for n in names))
    path.write_text(",".join(names) + "\n" + "".join(",".join("" if v is None else str(v) for v in r) + "\n" for r in rows))
    return path


@pytest.fixture
def houses(tmp_path):
    rng = np.random.default_rng(0)
    n = 80
    area, rooms, age = rng.uniform(40, 200, n), rng.integers(1, 6, n), rng.uniform(0, 80, n)
    price = 3 * area + 10 * rooms - 0.5 * age + 20 + rng.normal(0, 5, n)
    weight = rng.integers(1, 4, n)
    return write_csv(tmp_path / "houses.csv", {"area": area.tolist(), "rooms": rooms.tolist(), "age": age.tolist(),
                                               "price": price.tolist(), "weight": weight.tolist()})


FEATURES = ["--x", "area", "--x", "rooms", "--x", "age", "--y", "price"]


def test_standardized_fit_prints_named_coefficients_verdict_and_summary(cli, houses):
    res = cli("fit", houses, *FEATURES, "--standardize", "--optimizer", "nesterov", "--summary")
    assert res.code == 0, res.err
    for text in ["w[area]", "w[rooms]", "w[age]", "standardized", "Converged", "gap to the exact optimum",
                 "std err", "P>|t|", "adjusted R²", "condition number", "const"]:
        assert text in res.out


def test_summary_numbers_match_statsmodels(cli, houses):
    import pandas as pd
    import statsmodels.api as sm

    frame = pd.read_csv(houses)
    ols = sm.OLS(frame["price"], sm.add_constant(frame[["area", "rooms", "age"]], prepend=False)).fit()
    res = cli("fit", houses, *FEATURES, "--solver", "exact", "--summary")
    assert f"{ols.rsquared:.6g}" in res.out and f"{ols.fvalue:.6g}" in res.out
    assert f"{ols.bse['area']:.4g}" in res.out


def test_weight_column_gives_weighted_least_squares(cli, houses, tmp_path):
    import pandas as pd

    frame = pd.read_csv(houses)
    A = np.column_stack([frame[["area", "rooms", "age"]], np.ones(len(frame))])
    s = np.sqrt(frame["weight"].to_numpy())
    exact = np.linalg.lstsq(A * s[:, None], frame["price"] * s, rcond=None)[0]
    res = cli("fit", houses, *FEATURES, "--weight", "weight", "--solver", "exact", "--model", tmp_path / "m.json")
    assert res.code == 0, res.err
    model = json.loads((tmp_path / "m.json").read_text())
    np.testing.assert_allclose([*model["weights"], model["bias"]], exact, rtol=1e-10)


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "nesterov", "sgd"])
def test_every_optimizer_runs_from_the_command_line(cli, houses, optimizer):
    res = cli("fit", houses, *FEATURES, "--standardize", "--optimizer", optimizer, "--batch-size", "16",
              "--epochs", "30", "--learning-rate", "invscaling", "--momentum", "0.5", "--seed", "3")
    # 0: converged; 4: stopped at the limit, said on stderr (SGD's 30 epochs do not reach 1e-8)
    assert res.code == 0 or (res.code == 4 and "did not converge" in res.err), res.err
    assert f"{optimizer}, learning rate" in res.out
    assert ("epoch" in res.out) == (optimizer == "sgd")


@pytest.mark.parametrize("suffix", ["csv", "json"])
def test_history_is_exported_with_gaps_and_named_parameters(cli, houses, tmp_path, suffix):
    path = tmp_path / f"history.{suffix}"
    res = cli("fit", houses, *FEATURES, "--standardize", "--iters", "40", "--tol", "none", "--history", path)
    assert res.code == 0, res.err
    if suffix == "json":
        doc = json.loads(path.read_text())
        assert doc["iteration"] == list(range(41)) and len(doc["param_gap"]) == 41
        assert doc["param_gap"][-1] < doc["param_gap"][0] and "grad_w[area]" in doc
    else:
        lines = path.read_text().splitlines()
        assert lines[0].startswith("iteration,loss,loss_gap,param_gap,w[area],w[rooms],w[age],b,grad_w[area]")
        assert len(lines) == 42


def test_a_diverged_run_still_writes_its_history(cli, tutorial_csv, tmp_path):
    path = tmp_path / "diverged.json"
    res = cli("fit", tutorial_csv, "--x", "x", "--y", "y", "--lr", "0.1", "--loss", "sse", "--history", path)
    assert res.code == 3 and "diverged" in res.err
    doc = json.loads(path.read_text())
    assert doc["loss"][0] == 83
    assert doc["loss"][-1] is None or doc["loss"][-1] > 1e12


def test_test_file_and_test_fraction_give_test_metrics(cli, houses, tmp_path):
    res = cli("fit", houses, *FEATURES, "--solver", "exact", "--test-fraction", "0.25", "--seed", "1")
    assert res.code == 0 and "Training metrics (60 rows)" in res.out and "Test metrics (20 rows)" in res.out
    again = cli("fit", houses, *FEATURES, "--solver", "exact", "--test-fraction", "0.25", "--seed", "1")
    assert again.out == res.out
    test = write_csv(tmp_path / "test.csv", {"area": [50.0, 100.0], "rooms": [1, 2], "age": [3.0, 4.0], "price": [170, 330]})
    res = cli("fit", houses, *FEATURES, "--test", test)
    assert res.code == 0 and "Test metrics (2 rows)" in res.out


def test_missing_values_are_counted_per_column_and_dropna_drops_them(cli, tmp_path):
    path = write_csv(tmp_path / "gaps.csv", {"a": [1, None, 3, 4, 5, 6], "b": [2, 1, None, None, 4, 1],
                                             "y": [3, 4, 5, 6, 7, None]})
    res = cli("fit", path, "--x", "a", "--x", "b", "--y", "y")
    assert res.code == 1
    assert "Column 'a' has 1 missing value" in res.err and "Column 'b' has 2 missing values" in res.err
    assert "Column 'y' has 1 missing value" in res.err and "--dropna" in res.err
    res = cli("fit", path, "--x", "a", "--x", "b", "--y", "y", "--dropna", "--solver", "exact")
    assert res.code == 0, res.err
    assert "(2 rows, 2 features" in res.out


def test_parquet_nulls_are_counted_and_weights_read_from_a_column(cli, tmp_path):
    pa, pq = pytest.importorskip("pyarrow"), pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": [1.0, 2, None, 4, 5, 6], "b": [1, 2, 3, None, 7, 1], "y": [3, 5, 7, 9, 12, 8],
                             "w": [1, 2, 1, 1, 2, 1]}), path)
    res = cli("fit", path, "--x", "a", "--x", "b", "--y", "y", "--weight", "w")
    assert res.code == 1 and "Column 'a' has 1 missing value" in res.err and "Column 'b' has 1 missing value" in res.err
    res = cli("fit", path, "--x", "a", "--x", "b", "--y", "y", "--weight", "w", "--dropna", "--solver", "exact")
    assert res.code == 0 and "(4 rows, 2 features" in res.out


@pytest.mark.slow
def test_a_text_column_names_the_column_and_suggests_encoding(tmp_path):
    path = write_csv(tmp_path / "cities.csv", {"size": [1, 2, 3], "city": ["Paris", "Lyon", "Nice"], "y": [3, 4, 5]})
    res = run_gradfit("fit", path, "--x", "size", "--x", "city", "--y", "y")
    assert res.code == 1 and "Traceback" not in res.err
    assert "Column 'city'" in res.err and "encode" in res.err


def test_collinear_features_and_more_features_than_rows_warn_and_still_fit(cli, tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 30))
    path = write_csv(tmp_path / "collinear.csv", {"a": a.tolist(), "b": b.tolist(), "c": (a - b).tolist(),
                                                  "y": (a + rng.normal(size=30)).tolist()})
    res = cli("fit", path, "--x", "a", "--x", "b", "--x", "c", "--y", "y", "--iters", "50", "--tol", "none")
    assert res.code == 0
    assert "warning: Features 'a', 'b', 'c' are (nearly) collinear" in res.err
    wide = write_csv(tmp_path / "wide.csv", {"a": [1, 2, 3], "b": [0, 1, 5], "c": [2, 2, 1], "y": [1, 2, 3]})
    res = cli("fit", wide, "--x", "a", "--x", "b", "--x", "c", "--y", "y", "--iters", "50", "--tol", "none")
    assert res.code == 0 and "warning: X has 3 features but only 3 rows" in res.err


def test_a_constant_column_is_named_under_standardize(cli, houses, tmp_path):
    path = write_csv(tmp_path / "const.csv", {"a": [1, 2, 3, 4], "k": [5, 5, 5, 5], "y": [3, 5, 7, 9]})
    res = cli("fit", path, "--x", "a", "--x", "k", "--y", "y", "--standardize")
    # the constant column makes the Hessian singular; the certificate holds on its range (the optima form a
    # line, the fit reaches the nearest): converged, exit 0, and the verdict says the coefficients are not unique
    assert res.code == 0 and "warning: Constant column 'k'" in res.err and "w[k] = 0.0" in res.out
    assert "rank 2 of 3" in res.out


@pytest.mark.parametrize("args,phrases", [
    (["--optimizer", "adam"], ["Invalid value for optimizer (--optimizer)", "'sgd'"]),
    (["--momentum", "1.5"], ["Invalid value for momentum (--momentum)", "< 1"]),
    (["--batch-size", "0"], ["Invalid value for batch_size (--batch-size)"]),
    (["--epochs", "many"], ["Invalid value for epochs (--epochs)"]),
    (["--test-fraction", "1.5"], ["Invalid value for test_fraction (--test-fraction)"]),
    (["--learning-rate", "adaptive"], ["Invalid value for learning_rate (--learning-rate)", "invscaling"]),
    (["--seed", "-1"], ["Invalid value for seed (--seed)"]),
    (["--power-t", "-0.5"], ["Invalid value for power_t (--power-t)"]),
    (["--test-fraction", "0.99"], ["leaves 1 for training"]),
    (["--weight", "nope"], ["'nope' not found"]),
    (["--optimizer", "sgd", "--engine", "python"], ["python engine"]),
])
def test_bad_options_are_refused_with_exit_code_2_or_1(cli, houses, args, phrases):
    res = cli("fit", houses, *FEATURES, *args)
    assert res.code in (1, 2) and res.out == ""
    assert all(p in res.err for p in phrases), res.err


@pytest.mark.slow
def test_cuda_without_a_gpu_is_a_clear_usage_error(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    path = write_csv(tmp_path / "t.csv", {"x": [1, 2, 3], "y": [3, 5, 7]})
    res = run_gradfit("fit", path, "--x", "x", "--y", "y", "--engine", "torch", "--device", "cuda", "--dtype", "float32")
    assert res.code == 2 and "Traceback" not in res.err and "no CUDA GPU" in res.err


def test_torch_engine_from_the_command_line_matches_numpy(cli, houses):
    pytest.importorskip("torch")
    numpy_out = cli("fit", houses, *FEATURES, "--standardize", "--optimizer", "accelerated", "--iters", "100",
                    "--engine", "numpy").out
    torch_out = cli("fit", houses, *FEATURES, "--standardize", "--optimizer", "accelerated", "--iters", "100",
                    "--engine", "torch").out
    assert numpy_out.replace("engine numpy", "engine torch").splitlines()[1] == torch_out.splitlines()[1]


def test_help_explains_every_practitioner_flag(cli):
    res = cli("fit", "--help")
    for flag in ["--standardize", "--weight", "--lr", "--optimizer", "--momentum", "--batch-size", "--epochs",
                 "--learning-rate", "--power-t", "--engine", "--device", "--dtype", "--test", "--test-fraction", "--seed",
                 "--summary", "--history", "--dropna", "--solver", "--n-iter-no-change"]:
        assert flag in res.out

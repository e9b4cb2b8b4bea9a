"""The tutorial's numbers (SPEC.md §1), bit for bit, through the Python API and the CLI."""

from __future__ import annotations

import struct

import pytest

import gradfit
from gradfit import datasets

from conftest import run_gradfit

TUTORIAL = dict(lr=0.01, iters=1000, init=(1.0, 0.0), loss="sse", tol=None)


@pytest.mark.parametrize("engine", ["python", "numpy"])
def test_tutorial_final_parameters_are_bit_identical(engine):
    r = gradfit.fit([1, 2, 3], [3, 5, 7], engine=engine, **TUTORIAL)
    assert r.model.weights == (2.000148389025502,)
    assert r.model.bias == 0.9996626768662412
    assert r.model.predict([4])[0] == 9.00025623296825
    assert r.n_iter == 1000


def test_tutorial_first_step_matches_the_worked_example():
    r = gradfit.fit([1, 2, 3], [3, 5, 7], engine="python", **TUTORIAL)
    h = r.history
    assert h.loss[0] == 29
    assert h.gradient[0].tolist() == [-40.0, -18.0]
    assert h.theta[1].tolist() == [1.4, 0.18]
    assert h.loss[1] == pytest.approx(12.9612, abs=1e-12)


def test_second_data_set_final_parameters_are_bit_identical():
    r = gradfit.fit([1, 1.5, 3], [3, 5, 7], engine="python", **TUTORIAL)
    assert r.model.weights == (1.846223184751381,)
    assert r.model.bias == 1.6152357121183563
    # and it is heading for the exact least-squares optimum w = 24/13, b = 21/13
    assert abs(r.model.weights[0] - 24 / 13) < 0.01 and abs(r.model.bias - 21 / 13) < 0.05


def test_tutorial_history_records_every_iteration():
    r = gradfit.fit([1, 2, 3], [3, 5, 7], engine="python", **TUTORIAL)
    assert r.history.iteration == list(range(1001))
    assert r.history.theta[-1].tolist() == [2.000148389025502, 0.9996626768662412]


def test_embedded_data_sets():
    d = datasets.tutorial()
    assert (d.x_train, d.y_train, d.x_test, d.y_test) == ([1, 2, 3], [3, 5, 7], [4], [9])
    assert datasets.noisy().x_train == [1, 1.5, 3]


def test_demo_prints_the_tutorial(cli, tmp_path):
    res = cli("demo", "--out", tmp_path)
    assert res.code == 0, res.err
    for text in ["Loss(1, 0) = 29", "∂Loss/∂w = -40", "∂Loss/∂b = -18", "= 1.4", "= 0.18",
                 "Loss(1.4, 0.18) = 12.9612", "w = 2.000148389025502", "b = 0.9996626768662412",
                 "f(4) = 9.00025623296825"]:
        assert text in res.out
    assert (tmp_path / "tutorial.png").is_file()


def test_demo_noisy_prints_the_second_data_set(cli, tmp_path):
    res = cli("demo", "--data", "noisy", "--out", tmp_path)
    assert res.code == 0
    assert "w = 1.846223184751381" in res.out and "b = 1.6152357121183563" in res.out


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_demo_figure_is_a_real_png_of_the_expected_size(cli, tmp_path):
    cli("demo", "--out", tmp_path)
    path = tmp_path / "tutorial.png"
    assert png_size(path) == (640, 480)
    assert path.stat().st_size > 10_000  # points, line, grid: not an empty canvas


def test_demo_figure_draws_the_tutorials_colours(tmp_path):
    import matplotlib.image as mpimg
    import numpy as np

    from gradfit.outputs.plots import save_figure, tutorial_figure

    r = gradfit.fit([1, 2, 3], [3, 5, 7], engine="python", **TUTORIAL)
    save_figure(tutorial_figure(r.model, [1, 2, 3], [3, 5, 7], [4], [9]), tmp_path / "f.png")
    pixels = mpimg.imread(tmp_path / "f.png")[:, :, :3]
    blue = (pixels[:, :, 2] > 0.9) & (pixels[:, :, 0] < 0.1) & (pixels[:, :, 1] < 0.1)
    red = (pixels[:, :, 0] > 0.9) & (pixels[:, :, 1] < 0.1) & (pixels[:, :, 2] < 0.1)
    black = pixels.sum(axis=2) < 0.1
    assert blue.sum() > 50 and red.sum() > 20 and black.sum() > 300


def test_cli_fit_on_the_tutorial_csv_is_bit_identical(cli, tutorial_csv):
    res = cli("fit", tutorial_csv, "--x", "x", "--y", "y", "--lr", "0.01", "--iters", "1000", "--tol", "none",
              "--init", "1,0", "--loss", "sse", "--engine", "python")
    assert res.code == 0, res.err
    assert "w = 2.000148389025502" in res.out
    assert "b = 0.9996626768662412" in res.out
    for metric in ("MSE", "RMSE", "MAE", "R²"):
        assert metric in res.out


def test_cli_predict_gives_the_tutorials_test_prediction(cli, tutorial_csv, tmp_path):
    model = tmp_path / "model.json"
    cli("fit", tutorial_csv, "--x", "x", "--y", "y", "--lr", "0.01", "--iters", "1000", "--init", "1,0",
        "--loss", "sse", "--engine", "python", "--model", model)
    test = tmp_path / "test.csv"
    test.write_text("x\n4\n")
    out = tmp_path / "preds.csv"
    res = cli("predict", model, test, "--out", out, "--keep", "x")
    assert res.code == 0, res.err
    assert out.read_text().splitlines() == ["x,predicted_y", "4,9.00025623296825"]


@pytest.mark.slow
def test_console_script_runs_the_demo_as_a_process(tmp_path):
    res = run_gradfit("demo", "--out", tmp_path)
    assert res.code == 0, res.err
    assert "w = 2.000148389025502" in res.out

"""Plots are real PNG images of the expected size, written headless."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import gradfit
from gradfit.outputs import plots
from gradfit.outputs.explain import analysis
from gradfit.warmup import descend

SIZE = (640, 480)


def assert_png(path, size=SIZE):
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == size
        pixels = np.asarray(image.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20  # something is drawn


@pytest.mark.slow
def test_fit_plots_for_the_tutorial(tmp_path):
    r = gradfit.fit([1, 2, 3], [3, 5, 7], lr=0.01, iters=1000, tol=None, init=(1, 0), loss="sse", engine="python")
    paths = plots.save_fit_plots(r, tmp_path, prefix="tutorial")
    assert [p.name for p in paths] == ["tutorial-fit.png", "tutorial-loss.png", "tutorial-contours.png",
                                       "tutorial-surface.png"]
    for p in paths:
        assert_png(p)


@pytest.mark.slow
def test_several_features_draw_the_two_parameters_that_move_most(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 4))
    y = X @ [0.1, 5.0, 0.2, -3.0] + 0.05
    r = gradfit.fit(X, y, iters=200)
    assert analysis.moving_pair(r) == (1, 3)
    for p in plots.save_fit_plots(r, tmp_path):
        assert_png(p)


@pytest.mark.slow
def test_descend_plots_one_and_two_variables(tmp_path):
    [curve] = plots.save_descend_plots(descend("x**2", 0.5, lr=0.1, steps=20), tmp_path)
    assert_png(curve)
    written = plots.save_descend_plots(descend("x**2 + y**2", (1, 1), lr=0.1, steps=20), tmp_path)
    assert [p.name for p in written] == ["descend-contours.png", "descend-surface.png"]
    for p in written:
        assert_png(p)
    assert plots.save_descend_plots(descend("x**2 + y**2 + z**2", (1, 1, 1), steps=3), tmp_path) == []


def test_loss_plane_is_the_loss(tmp_path):
    r = gradfit.fit([1, 2, 3], [3, 5, 7], lr=0.01, iters=10, init=(1, 0), loss="sse", engine="python")
    q = analysis.QuadraticLoss(r)
    assert q.on_plane(r.model.theta, 0, 1, np.array(1.0), np.array(0.0)) == pytest.approx(29)
    assert q.on_plane(r.model.theta, 0, 1, np.array(2.0), np.array(1.0)) == pytest.approx(0, abs=1e-12)

"""`gradfit explain --code`: the plain-Python and PyTorch programs of a run, run here, give the run's numbers."""

from __future__ import annotations

import ast
import subprocess
import sys

import numpy as np
import pytest
from patience import patience

import gradfit
from gradfit import datasets
from gradfit.outputs.explain.programs import python_program, torch_program


def run_program(source: str, tmp_path) -> tuple[list[float], float]:
    path = tmp_path / "program.py"
    path.write_text(source)
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=patience(300))
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split(" = ", 1) for line in proc.stdout.splitlines())
    return ast.literal_eval(lines["w"]), float(lines["b"])


@pytest.mark.slow
def test_the_tutorials_program_reproduces_the_run_bit_for_bit(tmp_path):
    d = datasets.tutorial()
    r = gradfit.fit(d.x_train, d.y_train, lr=0.01, iters=1000, tol=None, init=(1, 0), loss="sse", engine="python")
    w, b = run_program(python_program(r), tmp_path)
    assert w == [2.000148389025502] and b == 0.9996626768662412          # SPEC.md, bit for bit
    w, b = run_program(torch_program(r), tmp_path)
    assert w[0] == pytest.approx(2.000148389025502, rel=1e-12) and b == pytest.approx(0.9996626768662412, rel=1e-12)


@pytest.mark.parametrize("optimizer, momentum", [("gd", 0.0), ("momentum", 0.5), ("nesterov", 0.3)])
@pytest.mark.slow
def test_programs_reproduce_a_weighted_mean_loss_run_with_momentum(tmp_path, optimizer, momentum):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(12, 2))
    y = X @ [1.5, -2.0] + 0.7 + rng.normal(0, 0.1, 12)
    weight = rng.uniform(0.5, 2, 12)
    r = gradfit.fit(X, y, sample_weight=weight, lr=0.05, iters=60, tol=None, init=(0.1, 0.2, 0.3), loss="mse",
                    optimizer=optimizer, momentum=momentum)
    for program in (python_program(r), torch_program(r)):
        w, b = run_program(program, tmp_path)
        assert w == pytest.approx(list(r.model.weights), rel=1e-10)
        assert b == pytest.approx(r.model.bias, rel=1e-10)


def test_explain_code_prints_both_programs(cli):
    r = cli("explain", "--code")
    assert r.code == 0
    assert "10. The code of this run" in r.out and "torch.optim.SGD(model.parameters(), lr=0.01)" in r.out
    assert "for step in range(1000):" in r.out

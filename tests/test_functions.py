"""Gradient descent on plain functions, and the safe parsing of their expressions."""

from __future__ import annotations

import math
import time

import pytest

import gradfit
from gradfit.errors import ConfigError
from gradfit.warmup import descend, parse


def test_x_squared_first_step_is_the_tutorials():
    path = gradfit.descend("x**2", start=0.5, lr=0.1, steps=20)
    assert path.points[1] == pytest.approx((0.4,))
    assert path.values[1] == pytest.approx(0.16)
    assert path.gradients[0] == (1.0,)
    assert path.steps == 20 and path.stop_reason == "steps"
    assert str(path.function.gradient[0]) == "2*x"


def test_two_variables_first_step_is_the_tutorials():
    path = descend("x**2 + y**2", start=(1, 1), lr=0.1, steps=5)
    assert path.function.variables == ("x", "y")
    assert path.points[1] == pytest.approx((0.8, 0.8))
    assert [str(g) for g in path.function.gradient] == ["2*x", "2*y"]


def test_named_functions_and_constants_are_differentiated():
    f = parse("sin(x) + exp(y) * sqrt(abs(x)) + log(y) / 2 - pi")
    assert f.variables == ("x", "y")
    assert f((1.0, 1.0)) == pytest.approx(math.sin(1) + math.e - math.pi, rel=1e-12)
    assert [str(g) for g in f.gradient][1] == "exp(y)*sqrt(Abs(x)) + 1/(2*y)"


def test_too_large_learning_rate_is_reported_as_diverged():
    path = descend("x**2", start=1, lr=1.5, steps=5000)
    assert path.stop_reason == "diverged" and path.steps < 5000


@pytest.mark.parametrize("text, why", [
    ('__import__("os")', "the function __import__()"),
    ('__import__("os").system("echo hacked")', "attribute access"),
    ("x.__class__", "attribute access"),
    ("(lambda: 1)()", "a call of something other than a named function"),
    ("lambda: 1", "a lambda"),
    ("9**9**9", "the exponent 387420489"),
    ("x**(10**100)", "the exponent 1e+100"),
    ("x**1000", "the exponent 1000"),
    ("2**x", "variable exponent"),
    ("(99**99)**99", "a number too large"),
    ("open('f')", "the function open()"),
    ("'abc'", "the literal 'abc'"),
    ("[x, y]", "List syntax"),
    ("x if y else 1", "IfExp syntax"),
    ("x == 1", "Compare syntax"),
    ("_x + 1", "the name '_x'"),
    ("sin", "without its argument"),
    ("sin(x, y)", "other than one argument"),
    ("1 + 2", "no variable"),
    ("x +", "Cannot read the function"),
    ("", "empty"),
    ("x" + "+x" * 300, "at most 500"),
])
def test_unsafe_or_invalid_expressions_are_refused_quickly(text, why):
    started = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        parse(text)
    assert why in str(info.value)
    assert time.perf_counter() - started < 2


def test_start_must_match_the_variables():
    with pytest.raises(ConfigError, match="2 variables .x, y., so give 2 finite numbers"):
        descend("x**2 + y**2", start=1)
    with pytest.raises(ConfigError, match="learning rate"):
        descend("x**2", start=1, lr=-0.1)


def test_undefined_at_the_start_is_a_config_error():
    with pytest.raises(ConfigError, match="not defined at the start"):
        descend("log(x)", start=-1)


def test_without_sympy_the_error_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "sympy", None)
    with pytest.raises(ConfigError, match=r"gradfit\[learn\]"):
        parse("x**2")

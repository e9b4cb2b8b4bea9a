"""Gradient descent on a plain function, the tutorial's warm-up: ``x ← x − λ·f'(x)``, run by the
same loop as every fit (the function is the loop's objective).

The expression is parsed with Python's ``ast`` against an allow-list (numbers, variables,
``+ − × ÷ **``, unary minus, parentheses and a few named functions) and the SymPy
expression is built node by node from it: the text is never given to ``eval`` or
``sympify``, so ``__import__("os")``, attributes or lambdas cannot run.

>>> path = descend("x**2", start=0.5, lr=0.1, steps=1)
>>> path.points[1], path.values[1]
((0.4,), 0.16000000000000003)
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from gradfit.errors import ConfigError, missing_extra

MAX_LENGTH = 500          # characters of the expression
MAX_EXPONENT = 100        # |n| in x**n
MAX_DIGITS = 300          # a constant may not exceed 10**300
MAX_VARIABLES = 6
MAX_STEPS = 100_000
MAX_DEPTH = 30            # levels of the syntax tree: sin(sin(…)) 99 deep takes seconds to derive and compile
MAX_NODES = 200           # numbers, names, operators and calls in all
MAX_SECONDS = 20.0        # the steps themselves: a run that takes longer stops with a message
FUNCTIONS = ("sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh")


@dataclass(frozen=True)
class Expression:
    """A parsed function: its text, the SymPy expression, its variables and its gradient."""

    text: str
    expr: object                      # sympy.Expr
    variables: tuple[str, ...]
    gradient: tuple[object, ...]      # ∂f/∂v for each variable, sympy.Expr

    def __call__(self, point) -> float:
        return float(self._f(*point))

    def grad(self, point) -> np.ndarray:
        return np.array([float(g(*point)) for g in self._g], dtype=np.float64)

    @cached_property
    def _f(self):
        return _numeric(self.expr, self.variables)

    @cached_property
    def _g(self):
        return [_numeric(g, self.variables) for g in self.gradient]

    def grid(self, *axes):
        """f over a meshgrid of the variables (for plots), NaN where it is undefined."""
        with np.errstate(all="ignore"):
            values = self._f(*axes)
        return np.broadcast_to(np.asarray(values, dtype=np.float64), np.broadcast_shapes(*map(np.shape, axes)))


@dataclass(frozen=True)
class DescentPath:
    """The steps of gradient descent on a function: points, values and gradients."""

    function: Expression
    lr: float
    points: list[tuple[float, ...]]
    values: list[float]
    gradients: list[tuple[float, ...]]
    stop_reason: str                 # "steps" | "diverged" | "undefined"

    @property
    def steps(self) -> int:
        return len(self.points) - 1


def parse(text: str) -> Expression:
    """Parse ``text`` safely into an ``Expression``; raise ``ConfigError`` naming what is refused."""
    try:
        import sympy
    except ImportError:
        raise missing_extra("sympy", "learn") from None

    if not isinstance(text, str) or not text.strip():
        raise ConfigError("The function is empty; give an expression such as 'x**2' or 'x**2 + y**2'.")
    if len(text) > MAX_LENGTH:
        raise ConfigError(f"The function is {len(text)} characters long; gradfit accepts at most {MAX_LENGTH}.")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise ConfigError(f"Cannot read the function {text!r}: {getattr(exc, 'msg', exc)}. Write it in Python "
                          "syntax, for example 'x**2 + 3*y'.") from None
    _check_size(tree, text)
    builder = _Builder(text.strip())
    try:
        expr = builder.build(tree.body)
        variables = tuple(sorted(builder.variables))
        if not variables:
            raise ConfigError(f"The function {text!r} has no variable; write it in terms of x (and y, …).")
        if len(variables) > MAX_VARIABLES:
            raise ConfigError(f"The function has {len(variables)} variables; gradfit accepts at most {MAX_VARIABLES}.")
        symbols = [sympy.Symbol(v, real=True) for v in variables]
        gradient = tuple(sympy.diff(expr, s) for s in symbols)
        f = Expression(text.strip(), expr, variables, gradient)
        f._f, f._g                      # generate the numeric code now: its failures are said here too
    except ConfigError:
        raise
    except (OverflowError, RecursionError, MemoryError, ValueError, TypeError, KeyError, ZeroDivisionError,
            AttributeError) as exc:
        raise ConfigError(f"gradfit cannot work with the function {text!r}: {type(exc).__name__} while deriving it "
                          "(a value too large, infinite or undefined?). Simplify it, or keep its numbers "
                          "moderate.") from None
    return f


def _check_size(tree, text: str) -> None:
    """Bound the work before SymPy starts: the number of nodes and how deeply they nest."""
    nodes, deepest, stack = 0, 0, [(tree.body, 1)]
    while stack:
        node, depth = stack.pop()
        nodes, deepest = nodes + 1, max(deepest, depth)
        stack.extend((child, depth + (not _same_chain(node, child))) for child in ast.iter_child_nodes(node)
                     if not isinstance(child, (ast.operator, ast.unaryop, ast.expr_context)))
    if deepest > MAX_DEPTH or nodes > MAX_NODES:
        raise ConfigError(f"The function {text.strip()[:80]!r}{'…' if len(text.strip()) > 80 else ''} is too "
                          f"{'deeply nested' if deepest > MAX_DEPTH else 'large'} ({deepest} levels, {nodes} "
                          f"parts; gradfit accepts at most {MAX_DEPTH} levels and {MAX_NODES} parts): deriving "
                          "and evaluating it could take minutes. Give a smaller function.")


class FunctionObjective:
    """A plain function as the descent loop's objective: "loss" f(x), gradient ∇f(x) (NaN where undefined)."""

    dtype = np.dtype(np.float64)

    def __init__(self, f: Expression):
        self.evaluate, self.partials = f._f, f._g

    def loss_and_gradient(self, x) -> tuple[float, np.ndarray]:
        with np.errstate(all="ignore"):
            try:
                value = float(self.evaluate(*x))
                grad = np.array([float(g(*x)) for g in self.partials], dtype=np.float64)
            except (ValueError, TypeError, ZeroDivisionError, OverflowError):
                return math.nan, np.full(len(x), math.nan)
        return (value if np.isfinite(grad).all() else math.nan), grad


def descend(function, start, *, lr: float = 0.1, steps: int = 20) -> DescentPath:
    """Gradient descent on ``function`` (text or ``Expression``) from ``start``: ``x ← x − λ·∇f(x)``.

    The same loop as every fit (``gradfit.descent.run``); it stops early when f or its gradient is
    no longer a finite number, or f has grown past ``descent.EXPLODE_FACTOR`` times its start.
    """
    from gradfit import descent

    f = function if isinstance(function, Expression) else parse(function)
    start = _as_point(start, f.variables)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ConfigError(f"Invalid learning rate (--lr) {lr!r}: expected a number > 0, such as 0.1.")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps <= MAX_STEPS:
        raise ConfigError(f"Invalid number of steps (--steps) {steps!r}: expected an integer from 0 to {MAX_STEPS}.")
    outcome = descent.run(FunctionObjective(f), np.array(start, dtype=np.float64), lr=float(lr), max_iter=steps,
                          history_cap=steps + 4, callbacks=(_time_limit(f, steps),))
    h = outcome.history
    points = [tuple(float(v) for v in x) for x in h.theta]
    if outcome.stop_reason is descent.Stop.DIVERGED:
        stop = "undefined" if len(points) == 1 or math.isnan(h.loss[-1]) else "diverged"
    else:
        stop = "steps"
    if stop == "undefined" and len(points) == 1:
        where = ", ".join(f"{v} = {p:g}" for v, p in zip(f.variables, points[0]))
        raise ConfigError(f"The function {f.text!r} or its gradient is not defined at the start ({where}); "
                          "choose another start.")
    return DescentPath(f, float(lr), points, list(h.loss), [tuple(float(g) for g in grad) for grad in h.gradient],
                       stop)


def _same_chain(node, child) -> bool:
    """a + b + c … (or a * b / c …): one level, however many terms, as a reader sees it."""
    group = lambda n: ("+" if isinstance(n.op, (ast.Add, ast.Sub)) else "*" if isinstance(n.op, (ast.Mult, ast.Div))  # noqa: E731
                       else None) if isinstance(n, ast.BinOp) else None
    return group(node) is not None and group(node) == group(child)


def _time_limit(f: Expression, steps: int):
    """A loop callback that stops a run taking longer than ``MAX_SECONDS``, saying why."""
    import time

    started = time.monotonic()

    def check(state) -> None:
        elapsed = time.monotonic() - started
        if elapsed > MAX_SECONDS:
            raise ConfigError(f"Gradient descent on {f.text[:80]!r} stopped after {state.iteration} of {steps} steps: "
                              f"they took {elapsed:.0f} s (the limit is {MAX_SECONDS:g} s). Give fewer --steps or "
                              "a simpler function.")

    return check


def curvature(f: Expression, point) -> np.ndarray:
    """The Hessian of f at ``point`` (f'' for one variable), derived symbolically: what tells why a warm-up
    diverges — a step multiplies the distance to the minimum by 1 − λ·f''(x) (by 1 − λ·hᵢ along the
    Hessian's eigenvectors)."""
    import sympy

    symbols = [sympy.Symbol(v, real=True) for v in f.variables]
    rows = [[_numeric(sympy.diff(g, s), f.variables) for s in symbols] for g in f.gradient]
    with np.errstate(all="ignore"):
        return np.array([[float(h(*point)) for h in row] for row in rows], dtype=np.float64)


def _as_point(start, variables) -> tuple[float, ...]:
    values = start if isinstance(start, (list, tuple, np.ndarray)) else [start]
    try:
        point = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        point = ()
    if len(point) != len(variables) or not all(math.isfinite(v) for v in point):
        raise ConfigError(
            f"Invalid start {start!r}: the function has {len(variables)} variable{'s' * (len(variables) != 1)} "
            f"({', '.join(variables)}), so give {len(variables)} finite number{'s' * (len(variables) != 1)} "
            f"separated by commas, such as --start {','.join(['1'] * len(variables))}."
        )
    return point


def _numeric(expr, variables):
    """A NumPy function of the variables (generated by SymPy from the checked expression)."""
    import sympy

    return sympy.lambdify([sympy.Symbol(v, real=True) for v in variables], expr, modules="numpy")


class _Builder:
    """Turns an allowed ``ast`` node into a SymPy expression, refusing everything else."""

    def __init__(self, text: str):
        self.text = text
        self.variables: set[str] = set()

    def refuse(self, what: str, allowed: bool = True) -> ConfigError:
        if not allowed:      # allowed syntax, but a value gradfit cannot descend on
            return ConfigError(f"The function {self.text!r} contains {what}: gradient descent needs a function with "
                               "finite real values. Change or remove that part.")
        return ConfigError(
            f"The function {self.text!r} contains {what}, which gradfit does not accept. Allowed: numbers, "
            f"variables (x, y, …), + - * / **, parentheses and the functions {', '.join(FUNCTIONS)}."
        )

    def build(self, node):
        expr = self._build(node)
        self._check_value(node, expr)
        return expr

    def _check_value(self, node, expr) -> None:
        """Refuse a part that is infinite, undefined or complex everywhere (log(0), 0**-1, tan(pi/2), sqrt(-1))
        or a constant beyond the range of a float (exp(exp(10)))."""
        import sympy

        part = ast.get_source_segment(self.text, node) or "a part"
        part = part if len(part) <= 60 else part[:60] + "…"
        if expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
            raise self.refuse(f"{part}, which is infinite or undefined", allowed=False)
        if not expr.is_number:
            return
        if expr.has(sympy.I):
            raise self.refuse(f"{part}, which is not a real number", allowed=False)
        try:
            value = complex(sympy.N(expr, 17))
        except (OverflowError, ValueError, TypeError, ZeroDivisionError):
            value = complex(math.inf)
        if not (math.isfinite(value.real) and math.isfinite(value.imag)):
            raise self.refuse(f"{part}, which is beyond the range of a floating-point number (about 1.8e308)",
                              allowed=False)
        if abs(value.imag) > 1e-12 * max(1.0, abs(value.real)):
            raise self.refuse(f"{part}, which is not a real number", allowed=False)

    def _build(self, node):
        import sympy

        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise self.refuse(f"the literal {node.value!r}")
            too_large = (abs(node.value).bit_length() > MAX_DIGITS * 3.33 if isinstance(node.value, int)
                         else not math.isfinite(node.value) or abs(node.value) >= 10.0 ** MAX_DIGITS)
            if too_large:
                raise self.refuse(f"a number too large ({_brief(sympy.Integer(node.value)) if isinstance(node.value, int) else f'{node.value:g}'})")
            return sympy.Integer(node.value) if isinstance(node.value, int) else sympy.Float(node.value)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.build(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp):
            return self.binary(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Attribute):
            raise self.refuse(f"attribute access ('.{node.attr}')")
        if isinstance(node, ast.Lambda):
            raise self.refuse("a lambda")
        raise self.refuse(f"{type(node).__name__} syntax")

    def name(self, name: str):
        import sympy

        if name.startswith("_"):
            raise self.refuse(f"the name {name!r}")
        if name in FUNCTIONS:
            raise self.refuse(f"the function {name} without its argument in parentheses")
        if name == "pi":
            return sympy.pi
        self.variables.add(name)
        return sympy.Symbol(name, real=True)

    def binary(self, node: ast.BinOp):
        left, right = self.build(node.left), self.build(node.right)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if isinstance(node.op, ast.Div):
            return left / right
        if isinstance(node.op, ast.Pow):
            return self.power(left, right)
        raise self.refuse(f"the operator {type(node.op).__name__}")

    def power(self, base, exponent):
        # Only numeric exponents of moderate size: 9**9**9 or x**(10**100) would never finish.
        if not exponent.is_number:
            raise self.refuse("a power with a variable exponent (write exp(y*log(x)) instead of x**y)")
        try:
            n = complex(exponent.evalf())
        except (OverflowError, ValueError, TypeError):
            n = complex(math.inf)
        if n.imag or abs(n.real) > MAX_EXPONENT:
            raise self.refuse(f"the exponent {_brief(exponent)} (the limit is ±{MAX_EXPONENT})")
        if base.is_number:
            try:
                magnitude = abs(complex(base.evalf()))
            except (OverflowError, ValueError, TypeError):
                magnitude = math.inf
            if magnitude > 1 and abs(n.real) * math.log10(magnitude) > MAX_DIGITS:
                raise self.refuse(f"a number too large ({_brief(base)}**{_brief(exponent)})")
        return base ** exponent

    def call(self, node: ast.Call):
        import sympy

        if not isinstance(node.func, ast.Name):
            raise self.refuse("a call of something other than a named function" if not isinstance(
                node.func, ast.Attribute) else f"attribute access ('.{node.func.attr}')")
        name = node.func.id
        if name not in FUNCTIONS:
            raise self.refuse(f"the function {name}()")
        if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            raise self.refuse(f"{name}() with other than one argument")
        argument = self.build(node.args[0])
        return {"sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "exp": sympy.exp, "log": sympy.log,
                "sqrt": sympy.sqrt, "abs": sympy.Abs, "tanh": sympy.tanh}[name](argument)


def _brief(number) -> str:
    """A constant for a message: as written when short, else in scientific notation."""
    text = str(number)
    if len(text) <= 12:
        return text
    try:
        return f"{float(number.evalf()):.3g}"
    except (OverflowError, ValueError, TypeError):
        return text[:12] + "…"

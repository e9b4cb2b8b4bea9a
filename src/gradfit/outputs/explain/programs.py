"""The programs that reproduce a run: the tutorial's loop in plain Python, and the same run in PyTorch.

The plain-Python program does the python engine's arithmetic in its order (accumulate 2·(f(xᵢ) − yᵢ)
row by row, then update), so for a run of the python engine it prints gradfit's parameters bit for
bit; for other engines the sums are ordered differently and agree to rounding. Both print
``w = [...]`` and ``b = ...`` (``repr``: every digit).
"""

from __future__ import annotations

from gradfit.messages import message
from gradfit.outputs.explain import analysis as an
from gradfit.outputs.explain.document import Section

PLAIN = ("gd", "momentum", "nesterov")


def _settings(result) -> tuple[float, bool]:
    """(μ, nesterov) of a run with momentum in PyTorch's convention; (0, False) for plain descent."""
    options = result.options
    if result.optimizer not in PLAIN:
        return 0.0, False
    mu = float(options.get("momentum") or (0.9 if result.optimizer in ("momentum", "nesterov") else 0.0))
    return mu, mu > 0 and (result.optimizer == "nesterov" or bool(options.get("nesterov")))


def _lists(result):
    data = an.require_data(result)
    X = [[float(v) for v in row] for row in data.X.tolist()]
    y = [float(v) for v in data.y.tolist()]
    weight = result.loss_spec.sample_weight
    return X, y, None if weight is None else [float(v) for v in weight]


def python_program(result, lang: str = "en") -> str:
    """The tutorial's program in plain Python floats, with this run's data and settings."""
    X, y, weight = _lists(result)
    d, has_b, mean = len(X[0]), an.fit_intercept(result), result.reduction == "mse"
    mu, nesterov = _settings(result)
    init = [float(v) for v in result.init]
    c = lambda key: message(f"code.comment_{key}", lang)  # noqa: E731
    lines = [
        f"# {c('python')}",
        f"X = {X!r}",
        f"y = {y!r}",
        *([f"s = {weight!r}  # {c('weights')}"] if weight is not None else []),
        f"lr = {float(result.lr)!r}",
        f"w = {init[:d]!r}",
        f"b = {init[d]!r}" if has_b else f"b = 0.0  # {c('no_b')}",
        *([f"mu = {mu!r}  # {c('momentum')}", "vw, vb = [0.0] * len(w), 0.0"]
          if mu else []),
        f"for step in range({result.n_iter}):",
        "    dw, db = [0] * len(w), 0",
        "    for i in range(len(X)):",
        "        x = X[i]",
        "        f = w[0] * x[0]",
        "        for j in range(1, len(w)):",
        "            f = f + w[j] * x[j]",
        *(["        f = f + b"] if has_b else []),
        f"        error = 2 * (f - y[i])  # {c('chain')}",
        *(["        error = s[i] * error"] if weight is not None else []),
        "        for j in range(len(w)):",
        "            dw[j] += error * x[j]",
        "        db += error",
    ]
    if mean:
        total = "len(X)" if weight is None else "sum(s)"
        lines += [f"    dw = [g / {total} for g in dw]", f"    db = db / {total}"]
    if mu:
        lines += ["    vw = [mu * v + g for v, g in zip(vw, dw)]",
                  "    vb = mu * vb + db"]
        if nesterov:
            lines += ["    dw = [g + mu * v for g, v in zip(dw, vw)]", "    db = db + mu * vb"]
        else:
            lines += ["    dw, db = vw, vb"]
    lines += ["    w = [w[j] - lr * dw[j] for j in range(len(w))]"]
    if has_b:
        lines += ["    b = b - lr * db"]
    lines += ["print('w =', w)", "print('b =', b)"]
    return "\n".join(lines) + "\n"


def torch_program(result, lang: str = "en") -> str:
    """The same run in PyTorch: nn.Linear, the loss, backward() and torch.optim.SGD."""
    X, y, weight = _lists(result)
    d, has_b, mean = len(X[0]), an.fit_intercept(result), result.reduction == "mse"
    mu, nesterov = _settings(result)
    init = [float(v) for v in result.init]
    reduce = ".sum()" if not mean else (".mean()" if weight is None else ".sum() / s.sum()")
    squared = "(model(X).squeeze(1) - y) ** 2"
    c = lambda key: message(f"code.comment_{key}", lang)  # noqa: E731
    lines = [
        f"# {c('torch')}",
        "import torch",
        "",
        f"X = torch.tensor({X!r}, dtype=torch.float64)",
        f"y = torch.tensor({y!r}, dtype=torch.float64)",
        *([f"s = torch.tensor({weight!r}, dtype=torch.float64)  # {c('weights')}"] if weight is not None else []),
        f"model = torch.nn.Linear({d}, 1, bias={has_b}, dtype=torch.float64)",
        "with torch.no_grad():",
        f"    model.weight.copy_(torch.tensor([{init[:d]!r}], dtype=torch.float64))",
        *([f"    model.bias.fill_({init[d]!r})"] if has_b else []),
        f"optimizer = torch.optim.SGD(model.parameters(), lr={float(result.lr)!r}"
        + (f", momentum={mu!r}" + (", nesterov=True" if nesterov else "") if mu else "") + ")",
        f"for step in range({result.n_iter}):",
        "    optimizer.zero_grad()",
        f"    loss = ({('s * ' if weight is not None else '') + squared}){reduce}",
        "    loss.backward()",
        "    optimizer.step()",
        "print('w =', model.weight.detach()[0].tolist())",
        "print('b =', model.bias.item())" if has_b else "print('b =', 0.0)",
    ]
    return "\n".join(lines) + "\n"


def section(result, m, lang: str = "en") -> Section:
    s = Section(m("code.title"))
    if result.optimizer not in PLAIN or result.standardized:
        what = m("code.standardized") if result.standardized else f" '{result.optimizer}' "
        s.para(m("code.not_plain", what=what))
    s.para(m("code.python"))
    s.code("python", python_program(result, lang))
    s.para(m("code.torch"))
    s.code("python", torch_program(result, lang))
    return s

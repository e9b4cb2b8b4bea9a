"""The torch engine, written as PyTorch users write it: ``nn.Linear``, ``nn.MSELoss``,
``loss.backward()``, and ``torch.optim.SGD`` for the momentum and Nesterov steps.

Autograd computes the gradient that ``gradfit.losses`` derives by hand; the shared descent
loop drives it (history, stopping, divergence, progress), on ``device="cpu"`` or ``"cuda"``,
in float32 or float64.
"""

from __future__ import annotations

import numpy as np

from gradfit.errors import ConfigError, missing_extra


def import_torch():
    try:
        import torch
    except ImportError:
        raise missing_extra("torch", "torch") from None
    return torch


def torch_device(device: str):
    torch = import_torch()
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device='cuda' (--device cuda) was asked for, but PyTorch sees no CUDA GPU here "
                          "(torch.cuda.is_available() is False). Use device='cpu', or install a CUDA build "
                          "of PyTorch on a machine with an NVIDIA GPU.")
    return torch.device(device)


class TorchObjective:
    def __init__(self, X, y, *, reduction: str, fit_intercept: bool, dtype: str = "float64",
                 sample_weight=None, device: str = "cpu"):
        torch = import_torch()
        self.torch, self.device = torch, torch_device(device)
        self.dtype, self.torch_dtype = np.dtype(dtype), getattr(torch, dtype)
        as_tensor = lambda a: torch.as_tensor(np.asarray(a, dtype=dtype), device=self.device)  # noqa: E731
        self.X, self.y = as_tensor(X), as_tensor(y)
        self.sample_weight = None if sample_weight is None else as_tensor(sample_weight)
        self.reduction, self.fit_intercept = reduction, fit_intercept
        self.n_rows, self.n_features = self.X.shape
        self.linear = torch.nn.Linear(self.n_features, 1, bias=fit_intercept, dtype=self.torch_dtype,
                                      device=self.device)
        # Loss = Σ (f(x) − y)²  ("sse")  or its mean ("mse"); per-row ("none") when rows are weighted.
        torch_reduction = "none" if sample_weight is not None else ("sum" if reduction == "sse" else "mean")
        self.criterion = torch.nn.MSELoss(reduction=torch_reduction)

    def _load(self, theta) -> None:
        """Copy θ = [w, b] into the nn.Linear's parameters."""
        theta = self.torch.as_tensor(np.asarray(theta, dtype=self.dtype), device=self.device)
        with self.torch.no_grad():
            self.linear.weight.copy_(theta[:self.n_features].view(1, -1))
            if self.fit_intercept:
                self.linear.bias.copy_(theta[self.n_features:])

    def _backward(self, X, y, theta, weight=None):
        """Forward, loss, ``loss.backward()``: returns the loss tensor; gradients land in ``.grad``."""
        self._load(theta)
        self.linear.zero_grad(set_to_none=True)
        loss = self.criterion(self.linear(X).squeeze(-1), y)
        if weight is not None:
            loss = (weight * loss).sum()
            if self.reduction == "mse":
                loss = loss / weight.sum()
        loss.backward()
        return loss

    def _gradient(self) -> np.ndarray:
        grads = [self.linear.weight.grad.view(-1)]
        if self.fit_intercept:
            grads.append(self.linear.bias.grad)
        return self.torch.cat(grads).detach().cpu().numpy()

    def loss_and_gradient(self, theta) -> tuple[float, np.ndarray]:
        loss = self._backward(self.X, self.y, theta, self.sample_weight)
        return float(loss.detach()), self._gradient()

    def loss(self, theta) -> float:
        return self.loss_and_gradient(theta)[0]

    def gradient(self, theta) -> np.ndarray:
        return self.loss_and_gradient(theta)[1]

    def iter_batches(self, batch_size: int, rng: np.random.Generator):
        """Every row once, in a shuffled order drawn from ``rng`` (the same order as the numpy engine's)."""
        order = self.torch.as_tensor(rng.permutation(self.n_rows), device=self.device)
        for start in range(0, self.n_rows, batch_size):
            rows = order[start:start + batch_size]
            yield self.X[rows], self.y[rows]

    def batch_gradient(self, X_batch, y_batch, theta, n_rows: int) -> np.ndarray:
        """Autograd's gradient on one batch (scaled by n/|batch| for "sse", as in ``descent.MiniBatches``)."""
        self._backward(X_batch, y_batch, theta)
        grad = self._gradient()
        return grad * (n_rows / X_batch.shape[0]) if self.reduction == "sse" else grad

    def hessian_max_eigenvalue(self) -> float:
        from gradfit import losses

        X = self.X.detach().cpu().numpy()
        weight = None if self.sample_weight is None else self.sample_weight.detach().cpu().numpy()
        G = losses.gram(X, self.fit_intercept, weight)
        n = self.n_rows if weight is None else float(weight.sum())
        return losses.largest_eigenvalue(losses.hessian_from_gram(G, self.reduction, n))

    def rule(self, mu: float, nesterov: bool):
        """The update direction from ``torch.optim.SGD``, its momentum buffer kept as plain data.

        torch's SGD with lr = 1 moves a parameter that starts at 0 to exactly −step
        (``v = μ·v + g``, step ``v``, or ``g + μ·v`` for Nesterov); the shared loop then applies
        ``θ ← θ − λ_t·step``, so schedules, history and stopping are one code path for every engine.
        The rule's state is the velocity ``v`` as a NumPy array — the same state as
        ``descent.momentum`` — loaded into the optimizer before each step and read back after,
        so a checkpoint stores it as JSON and a resumed run continues bit for bit.
        """
        from gradfit.descent import Rule

        torch = self.torch
        direction = torch.zeros(self.n_features + self.fit_intercept, dtype=self.torch_dtype, device=self.device,
                                requires_grad=True)
        optimizer = torch.optim.SGD([direction], lr=1.0, momentum=mu, nesterov=nesterov)
        as_tensor = lambda a: torch.as_tensor(np.asarray(a, dtype=self.dtype), device=self.device)  # noqa: E731

        def init(theta):
            return (np.zeros(len(theta), dtype=self.dtype),) if mu else ()

        def update(grad, state):
            with torch.no_grad():
                direction.zero_()
            direction.grad = as_tensor(grad)
            if mu:
                optimizer.state[direction]["momentum_buffer"] = as_tensor(state[0]).clone()
            optimizer.step()
            if mu:
                state = (optimizer.state[direction]["momentum_buffer"].detach().cpu().numpy().copy(),)
            return -direction.detach().cpu().numpy(), state

        return Rule("nesterov" if nesterov else ("momentum" if mu else "gd"), init, update)


def to_linear(model, *, dtype: str = "float64", device: str = "cpu"):
    """A fitted ``LinearModel`` as an ``nn.Linear(d, 1)`` with the same weights and bias."""
    torch = import_torch()
    linear = torch.nn.Linear(model.n_features, 1, bias=model.fit_intercept, dtype=getattr(torch, dtype),
                             device=torch_device(device))
    with torch.no_grad():
        linear.weight.copy_(torch.tensor([list(model.weights)], dtype=getattr(torch, dtype)))
        if model.fit_intercept:
            linear.bias.fill_(model.bias)
    return linear


def from_linear(linear, **names):
    """An ``nn.Linear(d, 1)`` as a ``LinearModel`` (``feature_names=``, ``target_name=`` optional)."""
    from gradfit.model import LinearModel

    if linear.out_features != 1:
        raise ConfigError(f"A gradfit model has one output; this nn.Linear has out_features={linear.out_features}.")
    weights = linear.weight.detach().cpu().double().view(-1).tolist()
    bias = float(linear.bias.detach().cpu().double()) if linear.bias is not None else 0.0
    return LinearModel(tuple(weights), bias, fit_intercept=linear.bias is not None, **names)

"""The torch engine, written as PyTorch users write it: ``nn.Linear``, ``nn.MSELoss`` and
``loss.backward()``.

Autograd computes the gradient that ``gradfit.loss`` derives by hand; the shared descent loop
drives it (update rules, history, stopping, divergence, progress), on ``device="cpu"`` or
``"cuda"``, in float32 or float64. (That gradfit's momentum is ``torch.optim.SGD``'s is checked
by the tests, step for step.)
"""

from __future__ import annotations

import numpy as np

from gradfit.errors import ConfigError, missing_extra
from gradfit.loss import Loss, gram


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
    name = "torch"
    summary = None
    rescan = None

    def __init__(self, X, y, loss: Loss, *, dtype: str = "float64", device: str = "cpu"):
        torch = import_torch()
        self.torch, self.device, self.loss = torch, torch_device(device), loss
        self.dtype, self.torch_dtype = np.dtype(dtype), getattr(torch, dtype)
        # A read-only array (a file read zero-copy, a frame's values) is copied: PyTorch warns about sharing one.
        as_tensor = lambda a: torch.as_tensor(_writable(np.asarray(a, dtype=dtype)), device=self.device)  # noqa: E731
        self.X, self.y = as_tensor(X), as_tensor(y)
        self.sample_weight = None if loss.sample_weight is None else as_tensor(loss.sample_weight)
        self.n_rows, self.n_features = self.X.shape
        self.linear = torch.nn.Linear(self.n_features, 1, bias=loss.fit_intercept, dtype=self.torch_dtype,
                                      device=self.device)
        # Loss = Σ (f(x) − y)²  ("sse")  or its mean ("mse"); per-row ("none") when rows are weighted.
        reduction = "none" if self.sample_weight is not None else ("sum" if loss.is_sum else "mean")
        self.criterion = torch.nn.MSELoss(reduction=reduction)
        self.batch_criterion = torch.nn.MSELoss(reduction="sum")
        if loss.huber is not None:   # PyTorch's HuberLoss is ½r² / δ(|r| − ½δ): gradfit's is twice that
            self.criterion = _twice(torch.nn.HuberLoss(reduction=reduction, delta=loss.huber))
            self.batch_criterion = _twice(torch.nn.HuberLoss(reduction="sum", delta=loss.huber))

    def _load(self, theta) -> None:
        """Copy θ = [w, b] into the nn.Linear's parameters."""
        theta = self.torch.as_tensor(np.array(theta, dtype=self.dtype), device=self.device)
        with self.torch.no_grad():
            self.linear.weight.copy_(theta[:self.n_features].view(1, -1))
            if self.loss.fit_intercept:
                self.linear.bias.copy_(theta[self.n_features:])

    def _backward(self, X, y, theta, criterion, weight=None):
        """Forward, loss, ``loss.backward()``: returns the loss tensor; gradients land in ``.grad``."""
        self._load(theta)
        self.linear.zero_grad(set_to_none=True)
        loss = criterion(self.linear(X).squeeze(-1), y)
        if weight is not None:
            loss = (weight * loss).sum()
            if not self.loss.is_sum:
                loss = loss / weight.sum()
        loss.backward()
        return loss

    def _gradient(self) -> np.ndarray:
        grads = [self.linear.weight.grad.view(-1)]
        if self.loss.fit_intercept:
            grads.append(self.linear.bias.grad)
        return self.torch.cat(grads).detach().cpu().numpy()

    def loss_and_gradient(self, theta) -> tuple[float, np.ndarray]:
        loss = self._backward(self.X, self.y, theta, self.criterion, self.sample_weight)
        return float(loss.detach()), self._gradient()

    def gram(self) -> np.ndarray:
        weight = None if self.sample_weight is None else self.sample_weight.detach().cpu().numpy()
        return gram(self.X.detach().cpu().numpy(), self.loss.fit_intercept, weight)

    def iter_batches(self, batch_size: int, rng: np.random.Generator):
        """Every row once, in a shuffled order drawn from ``rng`` (the same order as the numpy engine's)."""
        order = self.torch.as_tensor(rng.permutation(self.n_rows), device=self.device)
        for start in range(0, self.n_rows, batch_size):
            rows = order[start:start + batch_size]
            yield self.X[rows], self.y[rows]

    def batch_gradient(self, batch, theta) -> np.ndarray:
        """Autograd's gradient of the batch's summed loss, scaled as ``Loss.batch_factor`` says."""
        X_batch, y_batch = batch
        self._backward(X_batch, y_batch, theta, self.batch_criterion)
        return self._gradient() * self.loss.batch_factor(self.n_rows, X_batch.shape[0])

    def close(self) -> None:
        pass


def _twice(criterion):
    return lambda prediction, target: 2 * criterion(prediction, target)


def _writable(array: np.ndarray) -> np.ndarray:
    return array if array.flags.writeable else array.copy()

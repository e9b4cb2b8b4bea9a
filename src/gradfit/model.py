"""The model of the tutorial, ``f(x) = w·x + b``, with ``w`` a vector of weights."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def default_feature_names(d: int) -> tuple[str, ...]:
    """``x`` for one feature (as in the tutorial), ``x1 … xd`` for several."""
    return ("x",) if d == 1 else tuple(f"x{j}" for j in range(1, d + 1))


@dataclass(frozen=True)
class LinearModel:
    """Weights ``w`` (one per feature) and a bias ``b``; predicts ``f(x) = w·x + b``.

    >>> LinearModel(weights=(2.0,), bias=1.0).predict([4])
    array([9.])
    """

    weights: tuple[float, ...]
    bias: float = 0.0
    feature_names: tuple[str, ...] = field(default=())
    target_name: str = "y"
    fit_intercept: bool = True

    def __post_init__(self):
        object.__setattr__(self, "weights", tuple(float(w) for w in self.weights))
        object.__setattr__(self, "bias", float(self.bias))
        names = tuple(str(n) for n in self.feature_names) or default_feature_names(len(self.weights))
        if len(names) != len(self.weights):
            raise ValueError(f"{len(names)} feature names for {len(self.weights)} weights")
        object.__setattr__(self, "feature_names", names)

    @property
    def n_features(self) -> int:
        return len(self.weights)

    @property
    def theta(self) -> np.ndarray:
        """The parameter vector the descent works on: ``[w₁, …, w_d, b]`` (no ``b`` without intercept)."""
        if self.fit_intercept:
            return np.array([*self.weights, self.bias], dtype=np.float64)
        return np.array(self.weights, dtype=np.float64)

    @classmethod
    def from_theta(cls, theta, *, fit_intercept=True, **names) -> "LinearModel":
        theta = [float(t) for t in theta]
        if fit_intercept:
            return cls(tuple(theta[:-1]), theta[-1], fit_intercept=True, **names)
        return cls(tuple(theta), 0.0, fit_intercept=False, **names)

    def predict(self, X) -> np.ndarray:
        """``f(x) = w·x + b`` for each row of ``X`` (a list of numbers is one feature, many rows)."""
        from gradfit.data import as_features

        X = as_features(X, n_features=self.n_features)
        return X @ np.asarray(self.weights, dtype=np.float64) + self.bias

    def to_torch(self, *, dtype: str = "float64", device: str = "cpu"):
        """This model as a PyTorch ``nn.Linear(d, 1)`` (needs the ``torch`` extra)."""
        from gradfit.engines.torch import to_linear

        return to_linear(self, dtype=dtype, device=device)

    @classmethod
    def from_torch(cls, linear, **names) -> "LinearModel":
        """A model from a PyTorch ``nn.Linear(d, 1)``: its weight row and bias."""
        from gradfit.engines.torch import from_linear

        return from_linear(linear, **names)

    def __str__(self) -> str:
        terms = " + ".join(f"{w!r}·{n}" for w, n in zip(self.weights, self.feature_names))
        return f"f({', '.join(self.feature_names)}) = {terms} + {self.bias!r}"

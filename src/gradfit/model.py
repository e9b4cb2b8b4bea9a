"""The model of the tutorial, ``f(x) = w·x + b``, with ``w`` a vector of weights.

The descent works on one parameter vector ``θ = [w₁, …, w_d, b]`` (no ``b`` without intercept);
``split`` and ``join`` are the one place that knows how ``θ`` holds ``(w, b)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gradfit.data.arrays import as_features, default_feature_names, is_sparse, matched_columns
from gradfit.errors import ConfigError


def split(theta, fit_intercept: bool):
    """θ → (w, b): the weights and the bias (0 without intercept)."""
    if fit_intercept:
        return theta[:-1], theta[-1]
    return theta, 0.0


def join(weights, bias: float, fit_intercept: bool) -> np.ndarray:
    """(w, b) → θ = [w₁, …, w_d, b] (θ = w without intercept)."""
    weights = np.asarray(weights, dtype=np.float64)
    return np.append(weights, bias) if fit_intercept else weights.copy()


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
        object.__setattr__(self, "bias", float(self.bias) if self.fit_intercept else 0.0)
        names = tuple(str(n) for n in self.feature_names) or default_feature_names(len(self.weights))
        if len(names) != len(self.weights):
            raise ConfigError(f"{len(names)} feature names for {len(self.weights)} weights; give one name per weight.")
        object.__setattr__(self, "feature_names", names)

    @property
    def n_features(self) -> int:
        return len(self.weights)

    @property
    def theta(self) -> np.ndarray:
        """The parameter vector the descent works on: ``[w₁, …, w_d, b]`` (no ``b`` without intercept)."""
        return join(self.weights, self.bias, self.fit_intercept)

    @classmethod
    def from_theta(cls, theta, *, fit_intercept=True, **names) -> "LinearModel":
        weights, bias = split([float(t) for t in theta], fit_intercept)
        return cls(tuple(weights), bias, fit_intercept=fit_intercept, **names)

    def predict(self, X) -> np.ndarray:
        """``f(x) = w·x + b`` for each row of ``X`` (a list of numbers is one feature, many rows).

        A frame's columns are matched to the model's features by name (any order; extra columns
        are ignored, a missing one is an error naming it).
        """
        X = as_features(matched_columns(X, self.feature_names), n_features=self.n_features, names=self.feature_names,
                        check=False)
        w = np.asarray(self.weights, dtype=np.float64)
        # One product, f(x) = w·x + b, each row's sum in one order (einsum; BLAS's gemv rounds a row by where it
        # falls in the block): a row gets the same prediction in any file, block or array it comes in.
        prediction = X @ w if is_sparse(X) else np.einsum("ij,j->i", X, w)
        prediction += self.bias
        if not np.isfinite(prediction).all():     # a missing or infinite x shows here: name its column and row
            as_features(X, n_features=self.n_features, names=self.feature_names)
        return prediction

    def to_torch(self, *, dtype: str = "float64", device: str = "cpu"):
        """This model as a PyTorch ``nn.Linear(d, 1)`` (needs the ``torch`` extra)."""
        from gradfit.errors import missing_extra

        try:
            import torch
        except ImportError:
            raise missing_extra("torch", "torch") from None
        linear = torch.nn.Linear(self.n_features, 1, bias=self.fit_intercept, dtype=getattr(torch, dtype), device=device)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor([list(self.weights)], dtype=getattr(torch, dtype)))
            if self.fit_intercept:
                linear.bias.fill_(self.bias)
        return linear

    @classmethod
    def from_torch(cls, linear, **names) -> "LinearModel":
        """A model from a PyTorch ``nn.Linear(d, 1)``: its weight row and bias."""
        if linear.out_features != 1:
            raise ConfigError(f"A gradfit model has one output; this nn.Linear has out_features={linear.out_features}.")
        weights = linear.weight.detach().cpu().double().view(-1).tolist()
        bias = float(linear.bias.detach().cpu().double()) if linear.bias is not None else 0.0
        return cls(tuple(weights), bias, fit_intercept=linear.bias is not None, **names)

    def __str__(self) -> str:
        terms = " + ".join(f"{w!r}·{n}" for w, n in zip(self.weights, self.feature_names))
        return f"f({', '.join(self.feature_names)}) = {terms}" + (f" + {self.bias!r}" if self.fit_intercept else "")


def finite_predictions(model: LinearModel, X, source: str, offset: int = 0) -> np.ndarray:
    """``model.predict(X)``, refused with a ``DataError`` where a prediction is not a finite number (``offset``: the
    rows of ``source`` before X's first).

    Finite weights and features can still overflow float64 (a weight of 1e308 times x = 2): such a
    model predicts nothing usable, and an ``inf`` written into a predictions file would pass for a number.
    """
    from gradfit.errors import DataError

    with np.errstate(over="ignore", invalid="ignore"):
        predicted = model.predict(X)
    bad = ~np.isfinite(predicted)
    if bad.any():
        first = int(np.argmax(bad))
        largest = max(abs(w) for w in model.weights)
        raise DataError(f"The model's prediction for data row {offset + first + 1} of '{source}' is {float(predicted[first])!r}, not a "
                        f"finite number ({int(bad.sum())} of {bad.size} rows): its weights (up to {largest:.3g} in size) "
                        "times these features overflow float64. Check the model file (it may be edited or from a "
                        "diverged run) and the features' scale; fit the model again on data like these.")
    return predicted

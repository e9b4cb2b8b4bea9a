"""Objectives ("engines"): the same loss and gradient, computed where the data lives.

An engine is anything with ``loss_and_gradient(θ) -> (loss, gradient)``, ``loss(θ)``,
``gradient(θ)``, ``dtype``, ``n_rows`` and ``hessian_max_eigenvalue()``. The descent loop
(``gradfit.descent.run``) drives any of them. One that can be walked in mini-batches also has
``iter_batches(batch_size, rng)`` (every row once per epoch, in a seeded shuffled order).
"""

from __future__ import annotations

import numpy as np

from gradfit.errors import ConfigError

ENGINES = ("auto", "python", "numpy", "torch")


def make_objective(engine: str, X: np.ndarray, y: np.ndarray, *, loss: str,
                   fit_intercept: bool, dtype: str = "float64", sample_weight=None, device: str = "cpu"):
    """Build the objective of ``engine`` over the validated arrays ``X`` (n×d) and ``y`` (n)."""
    if engine == "auto":
        engine = "torch" if device == "cuda" else "numpy"
    if device == "cuda" and engine != "torch":
        raise ConfigError(f"device='cuda' runs on the torch engine; engine={engine!r} computes on the CPU. "
                          "Use engine='torch' (--engine torch).")
    if engine == "python":
        if dtype != "float64":
            raise ConfigError(
                f"The python engine computes with Python floats (float64); dtype={dtype!r} "
                "needs engine='numpy'."
            )
        from gradfit.engines.python import PythonObjective

        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64).tolist()
        return PythonObjective(X.tolist(), y.tolist(), reduction=loss, fit_intercept=fit_intercept,
                               sample_weight=weights)
    if engine == "numpy":
        from gradfit.engines.numpy import NumpyObjective

        return NumpyObjective(X, y, reduction=loss, fit_intercept=fit_intercept, dtype=dtype,
                              sample_weight=sample_weight)
    if engine == "torch":
        from gradfit.engines.torch import TorchObjective

        return TorchObjective(X, y, reduction=loss, fit_intercept=fit_intercept, dtype=dtype,
                              sample_weight=sample_weight, device=device)
    raise ConfigError(f"Unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}.")

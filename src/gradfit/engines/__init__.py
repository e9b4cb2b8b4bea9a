"""Objectives ("engines"): the same loss and gradient, computed where the data lives.

An engine is anything with ``loss_and_gradient(θ) -> (loss, gradient)``, ``loss(θ)``,
``gradient(θ)``, ``dtype``, ``n_rows`` and ``hessian_max_eigenvalue()``. The descent loop
(``gradfit.descent.run``) drives any of them.
"""

from __future__ import annotations

import numpy as np

from gradfit.errors import ConfigError

ENGINES = ("auto", "python", "numpy")


def make_objective(engine: str, X: np.ndarray, y: np.ndarray, *, loss: str,
                   fit_intercept: bool, dtype: str = "float64"):
    """Build the objective of ``engine`` over the validated arrays ``X`` (n×d) and ``y`` (n)."""
    if engine == "auto":
        engine = "numpy"
    if engine == "python":
        if dtype != "float64":
            raise ConfigError(
                f"The python engine computes with Python floats (float64); dtype={dtype!r} "
                "needs engine='numpy'."
            )
        from gradfit.engines.python import PythonObjective

        return PythonObjective(X.tolist(), y.tolist(), reduction=loss, fit_intercept=fit_intercept)
    if engine == "numpy":
        from gradfit.engines.numpy import NumpyObjective

        return NumpyObjective(X, y, reduction=loss, fit_intercept=fit_intercept, dtype=dtype)
    raise ConfigError(f"Unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}.")

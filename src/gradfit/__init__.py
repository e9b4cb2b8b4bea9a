"""gradfit: linear regression trained by gradient descent — exact to the textbook, every step explained.

>>> import gradfit
>>> r = gradfit.fit([1, 2, 3], [3, 5, 7], lr=0.01, iters=1000, init=(1.0, 0.0), loss="sse", engine="python")
>>> r.model.predict([4])
array([9.00025623])
"""

from gradfit.data import datasets
from gradfit.data.files import open_files
from gradfit.errors import (ConfigError, ConvergenceWarning, DataError, DivergenceError, GradfitError, GradfitWarning,
                            Interrupted)
from gradfit.fit import fit
from gradfit.cv import CVResult, cv
from gradfit.model import LinearModel
from gradfit.outputs.explain import explain
from gradfit.outputs.persist import load_model, save_model
from gradfit.result import FitResult
from gradfit.warmup import descend

__version__ = "0.1.0"

__all__ = [
    "CVResult", "ConfigError", "ConvergenceWarning", "DataError", "DivergenceError", "FitResult", "GDRegressor", "GradfitError", "GradfitWarning",
    "Interrupted", "LinearModel",
    "cv", "datasets", "descend", "explain", "fit", "load_model", "open_files", "save_model",
]


def __getattr__(name: str):
    # scikit-learn is imported only when GDRegressor is asked for, so `import gradfit` stays quick.
    if name == "GDRegressor":
        from gradfit.sklearn import GDRegressor

        return GDRegressor
    raise AttributeError(f"module 'gradfit' has no attribute {name!r}")

"""gradfit: linear regression trained by gradient descent — exact to the textbook, every step explained.

>>> import gradfit
>>> r = gradfit.fit([1, 2, 3], [3, 5, 7], lr=0.01, iters=1000, init=(1.0, 0.0), loss="sse", engine="python")
>>> r.model.predict([4])
array([9.00025623])
"""

from gradfit import datasets, scan
from gradfit.errors import ConfigError, DataError, DivergenceError, GradfitError
from gradfit.fitting import FitResult, fit
from gradfit.model import LinearModel
from gradfit.persist import load_model, save_model

__version__ = "0.1.0"

__all__ = [
    "ConfigError", "DataError", "DivergenceError", "FitResult", "GradfitError", "LinearModel",
    "datasets", "fit", "load_model", "save_model",
]

"""``GDRegressor``: gradfit as a scikit-learn estimator.

Its constructor parameters are the hyper-parameters of ``gradfit.fit`` (the ``params.PARAMS``
table, so the two cannot drift apart) plus ``warm_start``; input is validated with
scikit-learn's own ``validate_data``.

>>> from gradfit.sklearn import GDRegressor
>>> GDRegressor(lr=0.01, loss="sse", init=(1.0, 0.0), iters=1000, tol=None).fit([[1], [2], [3]], [3, 5, 7]).predict([[4]])
array([9.00025623])
"""

from __future__ import annotations

import inspect

import numpy as np

from gradfit import errors, params
from gradfit.data.arrays import XY, SparseXY, default_feature_names, is_sparse, sparse_features
from gradfit.errors import missing_extra

try:
    from sklearn.base import BaseEstimator, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
    from sklearn.utils.validation import _check_sample_weight, check_is_fitted
    from sklearn.utils.validation import validate_data as _sklearn_validate_data
except ImportError:  # pragma: no cover - exercised only without scikit-learn
    raise missing_extra("scikit-learn", "sklearn") from None


class ConvergenceWarning(errors.ConvergenceWarning, SklearnConvergenceWarning):
    """``fit``'s one warning for a run that stopped short, as GDRegressor gives it: a scikit-learn
    ConvergenceWarning too, so that scikit-learn's filters (and ``GridSearchCV``'s) see it."""


def validate_data(estimator, *args, **kwargs):
    """scikit-learn's ``validate_data``, with y as float64 too; NumPy's bare messages for text ("could not convert
    string to float") and for integers past float64 become a ``DataError`` (a ``ValueError``, as scikit-learn
    raises) that keeps them and says what to do."""
    from gradfit.errors import DataError

    try:
        validated = _sklearn_validate_data(estimator, *args, **kwargs)
        if isinstance(validated, tuple) and np.asarray(validated[1]).dtype.kind not in "biuf":
            validated = (validated[0], np.asarray(validated[1], dtype=np.float64))
        return validated
    except OverflowError as exc:
        raise DataError(f"{exc}: X or y holds an integer beyond a 64-bit float (about 1.8e308). Rescale it.") from None
    except ValueError as exc:
        if "could not convert string to float" not in str(exc):
            raise
        raise DataError(f"{exc}. {type(estimator).__name__} fits numbers only and X or y holds text: encode text or "
                        "categories as numeric columns first (for example with OneHotEncoder in a Pipeline).") from None


# Options of fit() that belong to a single call on a table, not to an estimator: scikit-learn
# rejects NaN before fitting (use an imputer), and held-out data come from its own splitters.
NOT_ESTIMATOR_PARAMS = ("dropna", "test_fraction")
INPUT_DTYPES = (np.float64, np.float32)   # float32 is kept (and given back), anything else becomes float64
SPARSE_FORMATS = ("csr", "csc")
ESTIMATOR_PARAMS = tuple(n for n in params.PARAMS if n not in NOT_ESTIMATOR_PARAMS)


class GDRegressor(RegressorMixin, BaseEstimator):
    """Linear regression by gradient descent, in scikit-learn's conventions.

    Parameters: every hyper-parameter of ``gradfit.fit`` (see ``gradfit.params.PARAMS``: ``lr``,
    ``iters``, ``tol``, ``loss``, ``optimizer``, ``momentum``, ``batch_size``, ``standardize``, ``penalty``,
    ``alpha``, ``l1_ratio``, ``penalty_scale``, ``epsilon``, …: ``penalty="l1", alpha=a`` is ``Lasso(alpha=a)``)
    and ``warm_start`` (start ``fit`` from the previous solution).

    Attributes: ``coef_``, ``intercept_``, ``n_iter_``, ``loss_curve_``, ``n_features_in_``,
    ``feature_names_in_`` (for frames with string column names), ``converged_``, ``stop_reason_``, ``lr_``,
    ``t_`` (parameter updates so far, where the learning-rate schedule stands).
    """

    def __init__(self, **hyper_parameters):
        defaults = {name: params.PARAMS[name].default for name in ESTIMATOR_PARAMS} | {"warm_start": False}
        unknown = set(hyper_parameters) - set(defaults)
        if unknown:
            raise TypeError(f"GDRegressor got unexpected parameter(s) {sorted(unknown)}; its parameters are "
                            f"{', '.join(defaults)}")
        for name, default in defaults.items():
            setattr(self, name, hyper_parameters.get(name, default))

    def _options(self) -> dict:
        return {name: getattr(self, name) for name in ESTIMATOR_PARAMS}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True     # CSR/CSC: fitted through the summary, by sparse products
        return tags

    def fit(self, X, y, sample_weight=None):
        """Fit on ``(X, y)``; ``sample_weight`` weighs each row's squared error. Returns ``self``.

        ``X`` may be a ``scipy.sparse`` CSR/CSC matrix (full-batch, on the stats engine); float32 ``X``
        gives float32 ``coef_``, ``intercept_`` and predictions, as scikit-learn's linear models do."""
        X, y = validate_data(self, X, y, y_numeric=True, dtype=INPUT_DTYPES, ensure_min_samples=2,
                             accept_sparse=SPARSE_FORMATS)
        options = self._options()
        if self.warm_start and hasattr(self, "coef_"):
            options["init"] = self._theta()
        self.t_ = 0
        return self._fit(X, y, sample_weight, options, n_iter_before=0)

    def partial_fit(self, X, y, sample_weight=None):
        """One more epoch of mini-batch SGD on this chunk, from the current solution (for streams).

        The learning-rate schedule continues from chunk to chunk (``t_`` counts the updates so far).
        Weighted chunks take one full-batch step instead (mini-batch SGD here is unweighted).
        """
        first = not hasattr(self, "coef_")
        X, y = validate_data(self, X, y, y_numeric=True, dtype=INPUT_DTYPES, ensure_min_samples=2, reset=first,
                             accept_sparse=SPARSE_FORMATS)
        options = self._options() | {"epochs": 1, "iters": 1, "tol": None,
                                     "optimizer": "sgd" if sample_weight is None else "gd"}
        if first:
            self.t_ = 0
        else:
            options["init"] = self._theta()
        return self._fit(X, y, sample_weight, options, n_iter_before=0 if first else self.n_iter_)

    def _fit(self, X, y, sample_weight, options, n_iter_before: int):
        from gradfit.fit import fit_data

        weight = None if sample_weight is None else _check_sample_weight(sample_weight, X, dtype=np.float64)
        names = tuple(map(str, tuple(getattr(self, "feature_names_in_", ())) or default_feature_names(X.shape[1])))
        if is_sparse(X) and weight is None:
            data = SparseXY(sparse_features(X), np.asarray(y, dtype=np.float64), names, "y")
        else:   # sample weights run in memory: a sparse X is made dense for them
            X = X.toarray() if is_sparse(X) else X
            data = XY(X, np.asarray(y, dtype=np.float64), names, "y", weight=weight)
        result = fit_data(data, updates_before=self.t_, warning=ConvergenceWarning, **options)
        model = result.model
        dtype = X.dtype if X.dtype == np.float32 else np.dtype(np.float64)   # float32 in → float32 out
        self.coef_ = np.array(model.weights, dtype=dtype)
        self.intercept_ = dtype.type(model.bias) if dtype == np.float32 else float(model.bias)
        self.n_iter_ = n_iter_before + result.n_iter
        self.t_ = result.n_updates
        self.loss_curve_ = list(result.history.loss)
        self.converged_, self.stop_reason_, self.lr_ = result.converged, result.stop_reason, result.lr
        return self

    def _theta(self) -> tuple[float, ...]:
        return (*self.coef_.tolist(), self.intercept_) if self.fit_intercept else tuple(self.coef_.tolist())

    def predict(self, X):
        """f(x) = w·x + b for each row of ``X``."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=INPUT_DTYPES, reset=False, accept_sparse=SPARSE_FORMATS)
        coef = self.coef_.astype(X.dtype, copy=False)
        return np.asarray(X @ coef).reshape(-1) + X.dtype.type(self.intercept_)


def _signature() -> inspect.Signature:
    """``GDRegressor.__init__``'s signature, from the table: scikit-learn reads its parameters here."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    return inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(n, keyword, default=params.PARAMS[n].default) for n in ESTIMATOR_PARAMS]
        + [inspect.Parameter("warm_start", keyword, default=False)])


GDRegressor.__init__.__signature__ = _signature()

"""The candidate regressors and the blend, each a scikit-learn estimator on raw house frames.

Every model predicts prices in dollars; internally it is fitted on log1p(SalePrice) through
`TransformedTargetRegressor`, so the target transform travels with the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from lightgbm import LGBMRegressor
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import ElasticNet, Lasso, Ridge
from sklearn.pipeline import Pipeline
from sklearn.svm import SVR
from xgboost import XGBRegressor

from house_prices.config import Config
from house_prices.features import AmesFeatures, Flavour, build_preprocessor

LINEAR_MODELS = {"ridge": Ridge, "lasso": Lasso, "elasticnet": ElasticNet, "kernel_ridge": KernelRidge, "svr": SVR}


def _estimator(name: str, params: dict[str, Any], seed: int, n_jobs: int) -> tuple[Flavour, Any]:
    if name in LINEAR_MODELS:
        params = dict(params)
        if name in {"lasso", "elasticnet"}:
            params.setdefault("max_iter", 50_000)
            params.setdefault("random_state", seed)
        return "linear", LINEAR_MODELS[name](**params)
    if name == "xgboost":
        return "tree", XGBRegressor(**params, random_state=seed, n_jobs=n_jobs, tree_method="hist")
    if name == "lightgbm":
        return "tree", LGBMRegressor(**params, random_state=seed, n_jobs=n_jobs, verbose=-1)
    raise ValueError(f"Unknown model {name!r}; known: {', '.join([*LINEAR_MODELS, 'xgboost', 'lightgbm'])}")


def build_model(
    name: str, params: dict[str, Any], seed: int, skew_threshold: float, n_jobs: int = 2, engineer: bool = True
) -> Any:
    """Preprocessing + regressor, fitted on log1p(price), predicting price."""
    flavour, estimator = _estimator(name, params, seed, n_jobs)
    preprocess = build_preprocessor(flavour, skew_threshold, engineer=engineer)
    pipeline = Pipeline([("preprocess", preprocess), ("model", estimator)])
    return TransformedTargetRegressor(pipeline, func=np.log1p, inverse_func=np.expm1, check_inverse=False)


def build_models(config: Config, engineer: bool = True) -> dict[str, Any]:
    """Every enabled candidate, each a complete raw-houses -> price estimator."""
    return {
        name: build_model(
            name, config.models.candidates[name], config.seed, config.features.skew_threshold, config.n_jobs, engineer
        )
        for name in config.models.enabled
    }


def build_blend(config: Config) -> Pipeline:
    """Feature engineering once, then the weighted blend of the members named in `blend.weights`."""
    members = build_models(config, engineer=False)
    blend = BlendRegressor([(name, members[name]) for name in config.blend.weights], config.blend.weights)
    return Pipeline([("features", AmesFeatures()), ("blend", blend)])


class BlendRegressor(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """A fixed-weight average of several price models, taken on the log scale (a geometric mean
    of prices), which is the scale the models were fitted and are scored on.

    Weights are set a priori in params.yaml, not tuned on the CV folds, so the blend's CV score is
    as honest as its members'."""

    def __init__(self, estimators: list[tuple[str, Any]], weights: dict[str, float]) -> None:
        self.estimators = estimators
        self.weights = weights

    def _normalised_weights(self) -> np.ndarray:
        names = [name for name, _ in self.estimators]
        missing = set(names) - set(self.weights)
        if missing:
            raise ValueError(f"blend weights missing for: {', '.join(sorted(missing))}")
        w = np.array([self.weights[name] for name in names], dtype=float)
        if (w < 0).any() or w.sum() <= 0:
            raise ValueError("blend weights must be non-negative and not all zero")
        return np.asarray(w / w.sum(), dtype=float)

    def fit(self, X: pd.DataFrame, y: pd.Series) -> BlendRegressor:
        self.weights_ = self._normalised_weights()
        self.estimators_ = [(name, clone(est).fit(X, y)) for name, est in self.estimators]
        return self

    def predict_members(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        return {name: np.asarray(est.predict(X), dtype=float) for name, est in self.estimators_}

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return blend_log_predictions(list(self.predict_members(X).values()), self.weights_)


def blend_log_predictions(predictions: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """Weighted mean of log1p(price) predictions, back in price units."""
    logs = np.log1p(np.column_stack(predictions))
    return np.asarray(np.expm1(logs @ weights), dtype=float)

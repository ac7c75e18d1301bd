"""The estimators: the logistic-regression baseline, XGBoost, its calibrated version and the
served `ChurnModel` (calibrated probability + business threshold + provenance).

Every estimator takes raw customer frames (IBM columns) and is a scikit-learn estimator, so it is
cloned and fitted inside each CV fold and the same object serves predictions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from xgboost import XGBClassifier

from churn_api.config import CalibrationMethod
from churn_api.features import build_preprocessor
from churn_api.schema import FEATURES
from mlshared.metrics import make_cv

FloatArray = npt.NDArray[np.float64]


class MarginXGBClassifier(XGBClassifier):
    """XGBClassifier whose `decision_function` is the log-odds margin.

    scikit-learn's calibrators use `decision_function` when an estimator has one, else
    `predict_proba`. On the margin, Platt scaling is a straight line in log-odds: exactly the
    shape of the distortion `scale_pos_weight` introduces (it multiplies the odds by a constant).
    """

    def decision_function(self, X: Any) -> FloatArray:
        return np.asarray(self.predict(X, output_margin=True), dtype=float)


def build_baseline(C: float, seed: int) -> Pipeline:
    return Pipeline([("features", build_preprocessor("linear")), ("logreg", LogisticRegression(C=C, max_iter=5000))])


def build_xgboost(params: dict[str, Any], seed: int, n_jobs: int) -> Pipeline:
    model = MarginXGBClassifier(**params, random_state=seed, n_jobs=n_jobs, eval_metric="logloss")
    return Pipeline([("features", build_preprocessor("tree")), ("xgb", model)])


def build_calibrated(
    params: dict[str, Any], method: CalibrationMethod, inner_folds: int, seed: int, n_jobs: int
) -> CalibratedClassifierCV:
    """XGBoost calibrated on out-of-fold margins of `inner_folds` stratified folds; with
    `ensemble=False` the served model is one booster refitted on all rows plus one calibrator,
    not an average of fold models (one booster keeps serving and SHAP exact and fast)."""
    return CalibratedClassifierCV(
        build_xgboost(params, seed, n_jobs),
        method=method,
        cv=make_cv(inner_folds, seed, stratified=True),
        ensemble=False,
    )


class ChurnModel(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Raw customers -> calibrated P(churn) and the label at the business threshold.

    Selects the model columns itself, so a frame with customerID (or anything else) in it scores
    exactly like one without. `metadata_` records provenance for the API's /model endpoint.
    """

    def __init__(self, estimator: Any = None, threshold: float = 0.5) -> None:
        self.estimator = estimator
        self.threshold = threshold

    def fit(self, X: pd.DataFrame, y: Any) -> ChurnModel:
        self.estimator_ = clone(self.estimator).fit(X[list(FEATURES)], y)
        self.classes_ = np.asarray(self.estimator_.classes_)
        self.metadata_: dict[str, Any] = {}
        return self

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        return np.asarray(self.estimator_.predict_proba(X[list(FEATURES)]), dtype=float)

    def predict(self, X: pd.DataFrame) -> npt.NDArray[np.int_]:
        return (self.predict_proba(X)[:, 1] >= self.threshold).astype(int)

    @property
    def booster_pipeline(self) -> Pipeline:
        """The XGBoost pipeline refitted on all training rows (inside the calibrator)."""
        return self.estimator_.calibrated_classifiers_[0].estimator

    @property
    def calibrator(self) -> Any:
        return self.estimator_.calibrated_classifiers_[0].calibrators[0]


def positive_proba(model: Any, X: pd.DataFrame) -> FloatArray:
    """P(churn) of any fitted classifier, for `mlshared.metrics.cross_val_oof`."""
    return np.asarray(model.predict_proba(X)[:, 1], dtype=float)

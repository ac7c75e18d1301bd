"""The three model families: logistic regression and random forest (the handbook's baselines) and XGBoost."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import polars as pl
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from xgboost import XGBClassifier

from fraud_mlops.features import FeatureSet, Windows, assert_no_labels

ModelName = Literal["logistic_regression", "random_forest", "xgboost"]
MODEL_NAMES: tuple[ModelName, ...] = ("logistic_regression", "random_forest", "xgboost")


def build(name: ModelName, params: dict[str, Any], seed: int, n_jobs: int) -> Any:
    if name == "logistic_regression":
        # Scaled inputs, as the handbook does for every model; lbfgs needs them to converge.
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed, **params))
    if name == "random_forest":
        return RandomForestClassifier(random_state=seed, n_jobs=n_jobs, **params)
    # `params` may set its own n_jobs (params.yaml does: one thread is faster on a shared, loaded machine).
    return XGBClassifier(**{"random_state": seed, "n_jobs": n_jobs, "eval_metric": "aucpr", **params})


def matrix(frame: pl.DataFrame, features: list[str]) -> pd.DataFrame:
    """The model's input: the named feature columns as float64 (what the MLflow signature records)."""
    assert_no_labels(features)
    return frame.select(features).cast(pl.Float64).to_pandas()


@dataclass
class FraudModel:
    """A fitted estimator with everything needed to score a transaction log the way it was trained."""

    name: ModelName
    estimator: Any
    feature_set: FeatureSet
    features: list[str]
    windows: Windows
    threshold: float
    trained_on: str
    info: dict[str, Any] = field(default_factory=dict)

    def score(self, featured: pl.DataFrame) -> npt.NDArray[np.float64]:
        proba = self.estimator.predict_proba(matrix(featured, self.features))
        return np.asarray(proba[:, 1], dtype=np.float64)


def is_pipeline(estimator: Any) -> bool:
    return isinstance(estimator, Pipeline)

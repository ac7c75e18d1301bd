"""How the served model scores: XGBoost's own predict by default, the compiled engine when it can.

Both scorers give the same thing behind one interface: the calibrated P(churn), the booster's
margin and each IBM field's exact TreeSHAP contribution (log-odds), for one customer or many.

- `XGBoostScorer` (the library path, any model `churn-api train` can make): the fitted pipeline's
  own preprocessing, `Booster.predict(pred_contribs=True)` for the contributions (their row sums
  are the margins) and the fitted calibrator on the margin. It serves any depth and any change to
  the features or the search space.
- `ScoringEngine` (`engine.py`): the same numbers from precomputed tables, an optimisation for
  trees of depth <= 3 (what this data's tuning picks). `churn-api bench` measures both.

`select_scorer(model, "auto")` compiles the engine when the model allows it and falls back to
XGBoost otherwise; `CHURN_SCORING=xgboost|engine` forces one (engine refuses a model it cannot serve).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from churn_api.engine import Explained, ScoringEngine, UnsupportedModelError
from churn_api.schema import FEATURES
from mlshared.console import UserError

FloatArray = npt.NDArray[np.float64]
ScoringMode = Literal["auto", "xgboost", "engine"]


class Scorer(Protocol):
    @property
    def name(self) -> str: ...

    def explain_one(self, record: Mapping[str, Any]) -> tuple[float, FloatArray]: ...

    def explain_columns(self, columns: Mapping[str, Sequence[Any]], n_rows: int) -> Explained: ...

    def explain_frame(self, frame: pd.DataFrame) -> Explained: ...


def field_map(column_names: Sequence[str]) -> FloatArray:
    """(model columns x IBM fields) 0/1: which field each preprocessed column comes from.

    Column names are the ColumnTransformer's (`cat__Contract_Two year`, `num__tenure`): the part after
    `__` is the field, or the field, `_` and a category. The longest matching field wins.
    """
    mapping = np.zeros((len(column_names), len(FEATURES)))
    for i, name in enumerate(column_names):
        rest = name.split("__", 1)[-1]
        matches = [j for j, f in enumerate(FEATURES) if rest == f or rest.startswith(f + "_")]
        if not matches:
            raise UnsupportedModelError(f"model column {name!r} does not come from any IBM field")
        mapping[i, max(matches, key=lambda j: len(FEATURES[j]))] = 1.0
    return mapping


@dataclass(frozen=True)
class XGBoostScorer:
    """The library path: the pipeline's preprocessing, XGBoost's TreeSHAP and the fitted calibrator."""

    features: Any  # the fitted ColumnTransformer
    booster: Any  # xgboost.Booster
    calibrator: Any  # sklearn's _SigmoidCalibration or IsotonicRegression (fitted on the margin)
    fields: FloatArray  # columns x fields
    name: str = "xgboost"

    @classmethod
    def from_model(cls, model: Any) -> XGBoostScorer:
        pipeline = model.booster_pipeline
        features = pipeline.named_steps["features"]
        booster = pipeline.named_steps["xgb"].get_booster()
        return cls(features, booster, model.calibrator, field_map(list(features.get_feature_names_out())))

    def explain_frame(self, frame: pd.DataFrame) -> Explained:
        import xgboost

        encoded = self.features.transform(frame[list(FEATURES)])
        contributions = self.booster.predict(xgboost.DMatrix(encoded), pred_contribs=True)  # (rows, columns + bias)
        margins = np.asarray(contributions.sum(axis=1), dtype=float)
        per_field = np.asarray(contributions[:, :-1] @ self.fields, dtype=float)
        probability = np.asarray(self.calibrator.predict(margins), dtype=float)
        return Explained(probability, margins, per_field)

    def explain_columns(self, columns: Mapping[str, Sequence[Any]], n_rows: int) -> Explained:
        return self.explain_frame(pd.DataFrame({f: columns[f] for f in FEATURES}))

    def explain_one(self, record: Mapping[str, Any]) -> tuple[float, FloatArray]:
        explained = self.explain_frame(pd.DataFrame([{f: record[f] for f in FEATURES}]))
        return float(explained.probability[0]), explained.contributions[0]


def select_scorer(model: Any, mode: ScoringMode = "auto") -> Scorer:
    """The engine when `mode` allows it and the model compiles; XGBoost otherwise."""
    if mode == "xgboost":
        return XGBoostScorer.from_model(model)
    try:
        return ScoringEngine.from_model(model)
    except UnsupportedModelError as error:
        if mode == "engine":
            raise UserError(
                f"The compiled engine cannot serve this model: {error}.",
                hint="Use CHURN_SCORING=auto (or xgboost): XGBoost's own predict serves any model.",
            ) from error
        return XGBoostScorer.from_model(model)

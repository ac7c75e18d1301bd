"""The compiled trees give XGBoost's own probabilities (real rows, missing values), and only for models they
can represent; the service uses them unless told not to."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from fraud_mlops.compiled import compile_booster
from fraud_mlops.features import compute
from fraud_mlops.gate import GATE_XGBOOST
from fraud_mlops.models import FraudModel, build, matrix
from fraud_mlops.schema import LABEL
from fraud_mlops.serve import Served


def test_compiled_probabilities_equal_xgboost(fraud_model: FraudModel, small_log: pl.DataFrame) -> None:
    booster = fraud_model.estimator.get_booster()
    compiled = compile_booster(booster)
    assert compiled is not None and compiled.depth >= 2
    rows = matrix(compute(small_log).filter(pl.col("TX_TIME_DAYS") == 50), fraud_model.features).to_numpy()
    holes = rows.copy()
    holes[::3, 1] = np.nan  # missing values take each split's default direction
    holes[::4, -1] = np.nan
    for x in (rows, holes):
        got = np.array([compiled.probability(row) for row in x])
        np.testing.assert_allclose(got, booster.inplace_predict(x), rtol=0, atol=1e-6)
    assert Served(fraud_model, "test").compiled is not None
    assert Served(fraud_model, "test", scoring="xgboost").compiled is None


def test_models_it_cannot_represent_keep_their_own_call(fraud_model: FraudModel, small_log: pl.DataFrame) -> None:
    rows = compute(small_log).filter(pl.col("TX_TIME_DAYS").is_between(30, 44))
    X, y = matrix(rows, fraud_model.features), rows[LABEL].to_numpy()
    raw = build("xgboost", {**GATE_XGBOOST, "n_estimators": 5, "objective": "binary:logitraw"}, 0, 1).fit(X, y)
    assert compile_booster(raw.get_booster()) is None
    forest = build("random_forest", {"n_estimators": 5, "max_depth": 3}, 0, 1).fit(X, y)
    served = Served(FraudModel("random_forest", forest, "extended", fraud_model.features, fraud_model.windows,
                               0.5, "test"), "test")  # fmt: skip
    row = X.to_numpy()[:1]
    assert served.compiled is None and served.probability(row) == pytest.approx(forest.predict_proba(X[:1])[0, 1])

"""Fixtures: small simulated logs (seconds to make) and, for the data tests, the handbook's mirror."""

from __future__ import annotations

import polars as pl
import pytest

from fraud_mlops.features import Windows, compute, feature_names
from fraud_mlops.gate import GATE_XGBOOST
from fraud_mlops.models import FraudModel, build, matrix
from fraud_mlops.schema import LABEL
from fraud_mlops.simulate import SimulationSpec, simulate

# Small but complete: every scenario occurs, windows of 30 days + the 7-day delay fill up.
SMALL = SimulationSpec(customers=300, terminals=600, days=60, seed=3)


@pytest.fixture(scope="session")
def small_log() -> pl.DataFrame:
    return simulate(SMALL)


@pytest.fixture(scope="session")
def fraud_model(small_log: pl.DataFrame) -> FraudModel:
    """A small XGBoost on the extended features (days 30-44 of the small log): what the API tests serve."""
    names = feature_names("extended")
    rows = compute(small_log).filter(pl.col("TX_TIME_DAYS").is_between(30, 44))
    estimator = build("xgboost", {**GATE_XGBOOST, "n_estimators": 30}, 0, 1).fit(matrix(rows, names), rows[LABEL])
    return FraudModel("xgboost", estimator, "extended", names, Windows(), 0.5, "test days 30-44")

"""Fixtures: the real IBM Telco file from the mirror and one small model trained once per session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from churn_api import config as config_module
from churn_api.api_models import EXAMPLE
from churn_api.config import Config
from churn_api.data import Customers, load_customers
from churn_api.predictor import ChurnPredictor
from churn_api.serve import create_app
from churn_api.settings import Settings
from churn_api.train import TrainResult, train
from mlshared.params import deep_merge, load_params
from mlshared.paths import OutputDirs

# A small but real model: the README pipeline's code with a smaller search budget.
TEST_OVERRIDES: dict[str, Any] = {
    "n_jobs": 1,  # xgboost threads spin when pytest-xdist or another job holds the other core
    "tuning": {"n_trials": 3, "n_splits": 3},
    "cv": {"n_splits": 3},
    "calibration": {"methods": ["sigmoid"], "inner_folds": 3},
    "evaluate": {"bootstrap_resamples": 100},
    "tracking": {"alias": "test"},
}


@pytest.fixture(scope="session")
def customers() -> Customers:
    return load_customers()


@pytest.fixture(scope="session")
def small_config() -> Config:
    return Config.model_validate(deep_merge(load_params(config_module.DEFAULT_PARAMS, "full"), TEST_OVERRIDES))


@pytest.fixture(scope="session")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> OutputDirs:
    return OutputDirs(tmp_path_factory.mktemp("churn-api"), "test")


@pytest.fixture(scope="session")
def trained(small_config: Config, outputs: OutputDirs) -> TrainResult:
    return train(small_config, "test", outputs)


@pytest.fixture(scope="session")
def predictor(trained: TrainResult) -> ChurnPredictor:
    return ChurnPredictor.load(trained.model_path)


@pytest.fixture
def customer() -> dict[str, Any]:
    return dict(EXAMPLE)


@pytest.fixture
def client(predictor: ChurnPredictor) -> Iterator[TestClient]:
    app = create_app(Settings(access_log=False, max_batch_rows=50), predictor=predictor)
    with TestClient(app) as test_client:
        yield test_client

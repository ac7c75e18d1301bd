"""Fixtures: the real Kaggle files from the mirror and one small model trained once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from house_prices import config as config_module
from house_prices.config import Config
from house_prices.data import Houses, load_test, load_train
from house_prices.predictor import HousePricePredictor
from house_prices.train import TrainResult, train
from mlshared.paths import OutputDirs

# Small but real models: the same pipeline code as the README run, fewer boosting rounds.
TEST_OVERRIDES = {
    "models": {
        "enabled": ["lasso", "xgboost"],
        "candidates": {"xgboost": {"n_estimators": 150, "learning_rate": 0.1}},
    },
    "evaluate": {"bootstrap_resamples": 100, "permutation_repeats": 1},
    "tracking": {"alias": "test"},
}


@pytest.fixture(scope="session")
def train_houses() -> Houses:
    return load_train()


@pytest.fixture(scope="session")
def test_houses() -> Houses:
    return load_test()


@pytest.fixture(scope="session")
def small_config() -> Config:
    from mlshared.params import deep_merge, load_params

    raw = deep_merge(load_params(config_module.DEFAULT_PARAMS, "full"), TEST_OVERRIDES)
    raw["blend"]["weights"] = {"lasso": 0.5, "xgboost": 0.5}  # replaced, not merged
    return Config.model_validate(raw)


@pytest.fixture(scope="session")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> OutputDirs:
    return OutputDirs(tmp_path_factory.mktemp("house-prices"), "test")


@pytest.fixture(scope="session")
def trained(small_config: Config, outputs: OutputDirs) -> TrainResult:
    return train(small_config, "test", outputs)


@pytest.fixture(scope="session")
def predictor(trained: TrainResult) -> HousePricePredictor:
    return trained.predictor


@pytest.fixture(scope="session")
def model_path(trained: TrainResult) -> Path:
    return trained.model_path

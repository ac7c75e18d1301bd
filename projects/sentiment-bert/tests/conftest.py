"""Fixtures: SST-2 from the mirror and one tiny but real fine-tune, trained once per session.

The tiny model goes through exactly the code of the README run (baseline, Trainer, early stopping,
model card, MLflow registration), on a few hundred sentences and a short max length, so that the
model tests finish in about a minute on two shared cores.
"""

from __future__ import annotations

import pandas as pd
import pytest

from mlshared.params import deep_merge, load_params
from mlshared.paths import OutputDirs
from sentiment_bert import config as config_module
from sentiment_bert.config import Config
from sentiment_bert.data import load_test, load_train
from sentiment_bert.inference import TorchClassifier
from sentiment_bert.layout import Layout
from sentiment_bert.train import TrainResult, train

TINY = {
    "data": {"validation_size": 100, "train_limit": 1280},
    "model": {"max_length": 32},
    "train": {
        "max_steps": 80,
        "batch_size": 16,
        "eval_batch_size": 100,
        "eval_steps": 40,
        "learning_rate": 1.0e-4,
        "warmup_ratio": 0.1,
        "threads": 1,
        "max_train_minutes": 5,
    },
    "evaluate": {"bootstrap_resamples": 50, "behaviour_cases_per_test": 20, "mistakes": 5},
    "bench": {"batch1_sentences": 8, "repeats": 1, "threads": 1},
    "export": {"parity_sentences": 32},
    "tracking": {"alias": "test"},
}


@pytest.fixture(scope="session")
def sst2_train() -> pd.DataFrame:
    return load_train()


@pytest.fixture(scope="session")
def sst2_test() -> pd.DataFrame:
    return load_test()


@pytest.fixture(scope="session")
def tiny_config() -> Config:
    return Config.model_validate(deep_merge(load_params(config_module.DEFAULT_PARAMS, "quick"), TINY))


@pytest.fixture(scope="session")
def tiny_layout(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    return Layout(OutputDirs(tmp_path_factory.mktemp("sentiment-bert"), "test"))


@pytest.fixture(scope="session")
def trained(tiny_config: Config, tiny_layout: Layout) -> TrainResult:
    return train(tiny_config, "test", tiny_layout.outputs)


@pytest.fixture(scope="session")
def classifier(trained: TrainResult) -> TorchClassifier:
    return TorchClassifier.load(trained.model_dir)

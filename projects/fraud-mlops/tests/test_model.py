"""Model behaviour on a small simulated log: training, the report, the registry loop, batch scoring, the gate.

The protocol dates are moved into the simulated period (2018-04-01..05-30); everything else is the
code the README run uses, with a smaller budget.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from fraud_mlops import config as config_module
from fraud_mlops import protocol
from fraud_mlops.cli import app
from fraud_mlops.config import Config
from fraud_mlops.evaluate import evaluate
from fraud_mlops.features import compute
from fraud_mlops.protocol import handbook_split, prequential_folds
from fraud_mlops.registry import CHAMPION, load, promote, version_for
from fraud_mlops.schema import CUSTOMER, LABEL, TIME
from fraud_mlops.train import TrainResult, train
from mlshared.params import deep_merge, load_params
from mlshared.paths import OutputDirs

TEST_OVERRIDES = {
    "protocol": {
        "handbook": {"train_start": "2018-05-03"},
        "history_start": "2018-04-20",
        "validation_folds": 1,
        "top_k": 10,
    },
    "models": {"random_forest": {"n_estimators": 20}, "xgboost": {"fixed": {"n_estimators": 40}}},
    "tuning": {"n_trials": 2, "timeout_s": 60},
    "tracking": {"registered_model": "fraud-mlops-test", "alias": "challenger"},
    # A smaller gate than params' (whose recorded baseline is for its own size): pass means AP >= 0.3.
    "gate": {"customers": 300, "terminals": 600, "days": 60, "min_average_precision": 0.3},
}


@pytest.fixture(scope="module")
def tracking_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlruns') / 'mlflow.db'}"
    patch = pytest.MonkeyPatch()
    patch.setenv("MLFLOW_TRACKING_URI", uri)
    yield uri  # type: ignore[misc]
    patch.undo()


@pytest.fixture(scope="module")
def config() -> Config:
    return Config.model_validate(deep_merge(load_params(config_module.DEFAULT_PARAMS, "full"), TEST_OVERRIDES))


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> OutputDirs:
    return OutputDirs(tmp_path_factory.mktemp("fraud-mlops"), "test")


@pytest.fixture(scope="module")
def featured(small_log: pl.DataFrame, config: Config) -> pl.DataFrame:
    return compute(small_log, "extended", config.features.windows)


@pytest.fixture(scope="module")
def trained(config: Config, outputs: OutputDirs, featured: pl.DataFrame, tracking_store: str) -> TrainResult:
    return train(config, "test", outputs, featured=featured)


def test_validation_folds_never_reach_the_test_week(config: Config) -> None:
    """As in the handbook, the first fold validates on the training week itself; none reaches the test week."""
    test_week = handbook_split(config.protocol)
    folds = prequential_folds(config.protocol.model_copy(update={"validation_folds": 4}))
    assert folds[0].test_start == test_week.train_start
    for fold in folds:
        assert fold.test_end <= test_week.train_end < test_week.test_start


def test_known_compromised_cards_are_left_out_of_the_test_days(config: Config, featured: pl.DataFrame) -> None:
    split = handbook_split(config.protocol)
    test = protocol.test_rows(featured, split)
    first_day = test.filter(pl.col(TIME).dt.date() == split.test_start)
    trained_frauds = featured.filter(
        (pl.col(TIME).dt.date() >= split.train_start)
        & (pl.col(TIME).dt.date() < split.train_end)
        & (pl.col(LABEL) == 1)
    )[CUSTOMER]
    assert not set(first_day[CUSTOMER].to_list()) & set(trained_frauds.to_list())
    assert test.height < featured.filter(pl.col(TIME).dt.date() >= split.test_start).height


def test_training_scores_every_model_and_the_report_compares_with_the_handbook(
    trained: TrainResult, config: Config, outputs: OutputDirs
) -> None:
    keys = set(trained.predictions.select(pl.concat_str("protocol", "model", "feature_set", separator="/")).to_series())
    assert "handbook/random_forest/handbook" in keys and "history/xgboost/extended" in keys
    report = evaluate(config, "test", outputs)
    assert report.primary.name == "average_precision" and report.primary.published_baseline == 0.687
    xgb = report.metrics["test"]["handbook/xgboost/extended"]
    prevalence = xgb["frauds"] / xgb["transactions"]
    assert xgb["average_precision"] > 3 * prevalence  # far better than ranking at random
    assert json.loads(outputs.metrics.read_text())["primary"]["value"] == report.primary.value
    assert (outputs.figures / "precision_recall.png").is_file()


def test_promote_moves_the_champion_only_for_a_better_challenger(
    trained: TrainResult, small_log: pl.DataFrame, config: Config
) -> None:
    name = config.tracking.registered_model
    first = promote(name, small_log, 7, 10, 0.0)
    assert first.promoted and "no champion yet" in first.reason
    again = promote(name, small_log, 7, 10, 0.0)
    assert not again.promoted and "already the champion" in again.reason
    model, version = load(name, CHAMPION)
    assert version == trained.facts["registered"]["version"] and model.features == trained.model.features
    # A second challenger that is identical except for being newer is not better: the champion stays.
    train(config, "test", OutputDirs(trained.model_path.parents[1] / "second", "test"), featured=compute(small_log))
    third = promote(name, small_log, 7, 10, 0.0)
    assert not third.promoted and "kept the champion" in third.reason
    assert str(version_for(name, CHAMPION).version) == version  # type: ignore[union-attr]


def test_predict_scores_a_file_from_a_date_and_prints_its_metrics(
    trained: TrainResult, small_log: pl.DataFrame, tmp_path: Path
) -> None:
    source, target = tmp_path / "log.parquet", tmp_path / "scored.csv"
    small_log.write_parquet(source)
    result = CliRunner().invoke(
        app, ["predict", "--transactions", str(source), "--from", "2018-05-20", "--output", str(target),
              "--model", str(trained.model_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "AP " in result.output and "card precision@100" in result.output
    scored = pl.read_csv(target)
    assert scored.height == small_log.filter(pl.col(TIME) >= pl.datetime(2018, 5, 20)).height
    assert set(scored["decision"].unique()) <= {"block", "allow"}


def test_predict_explains_a_date_after_the_file(trained: TrainResult, small_log: pl.DataFrame, tmp_path: Path) -> None:
    source = tmp_path / "log.parquet"
    small_log.write_parquet(source)
    result = CliRunner().invoke(
        app, ["predict", "--transactions", str(source), "--from", "2019-01-01", "--model", str(trained.model_path)]
    )
    assert result.exit_code == 2 and "No transaction on or after 2019-01-01" in result.output


def test_the_gate_fails_below_its_baseline(config: Config, tmp_path: Path) -> None:
    from fraud_mlops.gate import run_gate

    passing = run_gate(config, tmp_path / "gate.json")
    assert passing["passed"] and passing["average_precision"] >= 0.3
    strict = config.model_copy(update={"gate": config.gate.model_copy(update={"min_average_precision": 0.999})})
    failing = run_gate(strict, tmp_path / "gate-strict.json")
    assert not failing["passed"]

"""Typed view of params.yaml: a typo or a wrong type fails at load time, naming the key."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from fraud_mlops.features import FeatureSet, Windows
from mlshared.params import StrictModel, TrackingConfig, load_config
from mlshared.paths import project_root

PROJECT_ROOT = project_root(__file__)
DEFAULT_PARAMS = PROJECT_ROOT / "params.yaml"


class FeaturesConfig(StrictModel):
    set: FeatureSet = "extended"
    customer_windows: list[int] = Field(default_factory=lambda: [1, 7, 30], min_length=1)
    terminal_windows: list[int] = Field(default_factory=lambda: [1, 7, 30], min_length=1)
    delay_days: int = Field(7, ge=0)
    ratio_windows: list[int] = Field(default_factory=lambda: [7, 30])
    pair_window: int = Field(30, ge=1)

    @property
    def windows(self) -> Windows:
        return Windows(
            tuple(self.customer_windows), tuple(self.terminal_windows), self.delay_days,
            tuple(self.ratio_windows), self.pair_window,
        )  # fmt: skip


class HandbookProtocol(StrictModel):
    train_start: date = date(2018, 7, 25)
    train_days: int = Field(7, ge=1)
    delay_days: int = Field(7, ge=0)
    test_days: int = Field(7, ge=1)


class ProtocolConfig(StrictModel):
    handbook: HandbookProtocol = HandbookProtocol()
    history_start: date = date(2018, 5, 1)
    validation_folds: int = Field(4, ge=1)
    top_k: int = Field(100, ge=1)


class Range(StrictModel):
    """One dimension of the Optuna search space."""

    low: float
    high: float
    log: bool = False
    integer: bool = False

    @model_validator(mode="after")
    def ordered(self) -> Range:
        if not self.low <= self.high:
            raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError("a log-scale range needs low > 0")
        return self


class XGBoostConfig(StrictModel):
    fixed: dict[str, Any] = Field(default_factory=dict, description="Parameters that are not tuned.")
    search: dict[str, Range]


class ModelsConfig(StrictModel):
    logistic_regression: dict[str, Any] = Field(default_factory=dict)
    random_forest: dict[str, Any] = Field(default_factory=dict)
    xgboost: XGBoostConfig


class TuningConfig(StrictModel):
    n_trials: int = Field(30, ge=1)
    timeout_s: float = Field(1200, gt=0)


class DecisionConfig(StrictModel):
    threshold: float = Field(0.5, gt=0, lt=1)


class FraudTracking(TrackingConfig):
    min_improvement: float = Field(0.0, ge=0)


class MonitorConfig(StrictModel):
    reference: tuple[date, date] = (date(2018, 7, 1), date(2018, 7, 31))
    current: tuple[date, date] = (date(2018, 8, 1), date(2018, 8, 31))
    drift_share: float = Field(0.5, gt=0, le=1)
    sample_rows: int = Field(20_000, ge=100)


class GateConfig(StrictModel):
    customers: int = Field(1000, ge=10)
    terminals: int = Field(2000, ge=10)
    days: int = Field(90, ge=40)
    seed: int = 7
    min_average_precision: float = Field(0.0, ge=0, le=1)


class Config(StrictModel):
    seed: int = 42
    n_jobs: int = Field(2, ge=1)
    features: FeaturesConfig = FeaturesConfig()
    protocol: ProtocolConfig = ProtocolConfig()
    models: ModelsConfig
    tuning: TuningConfig = TuningConfig()
    decision: DecisionConfig = DecisionConfig()
    tracking: FraudTracking = FraudTracking(experiment="fraud-mlops", registered_model="fraud-mlops")
    monitor: MonitorConfig = MonitorConfig()
    gate: GateConfig = GateConfig()


def load(path: Path = DEFAULT_PARAMS, profile: str = "full") -> Config:
    return load_config(Config, path, profile)

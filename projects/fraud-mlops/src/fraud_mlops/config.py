"""Typed view of params.yaml: a typo, a wrong type or a missing key fails at load time, naming the key.

params.yaml is the one source of every value: no field has a default here, so the file and the code cannot
disagree. Dates are quoted strings in the file (DVC's YAML reader cannot read YAML dates); pydantic parses them.
The one exception is a search range's `log` / `integer` flags, which default to a plain linear float range.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from fraud_mlops.features import FeatureSet, Windows
from mlshared.params import StrictModel, TrackingConfig, load_config
from mlshared.paths import project_root
from mlshared.tuning import SearchRange

PROJECT_ROOT = project_root(__file__)
DEFAULT_PARAMS = PROJECT_ROOT / "params.yaml"


class FeaturesConfig(StrictModel):
    set: FeatureSet
    customer_windows: list[int] = Field(min_length=1)
    terminal_windows: list[int] = Field(min_length=1)
    delay_days: int = Field(ge=0)
    ratio_windows: list[int]
    pair_window: int = Field(ge=1)
    spread_window: int = Field(ge=1)
    baseline_shift_days: int = Field(ge=1)
    baseline_days: int = Field(ge=1)
    drift_windows: list[int]

    @property
    def windows(self) -> Windows:
        return Windows(
            tuple(self.customer_windows), tuple(self.terminal_windows), self.delay_days,
            tuple(self.ratio_windows), self.pair_window, self.spread_window, self.baseline_shift_days,
            self.baseline_days, tuple(self.drift_windows),
        )  # fmt: skip


class HandbookProtocol(StrictModel):
    train_start: date
    train_days: int = Field(ge=1)
    delay_days: int = Field(ge=0)
    test_days: int = Field(ge=1)


class ProtocolConfig(StrictModel):
    handbook: HandbookProtocol
    history_start: date
    validation_folds: int = Field(ge=1)
    top_k: int = Field(ge=1)


class XGBoostConfig(StrictModel):
    fixed: dict[str, Any] = Field(description="Parameters that are not tuned.")
    search: dict[str, SearchRange]


class ModelsConfig(StrictModel):
    logistic_regression: dict[str, Any]
    random_forest: dict[str, Any]
    xgboost: XGBoostConfig


class TuningConfig(StrictModel):
    n_trials: int = Field(ge=1)
    timeout_s: float = Field(gt=0)
    start_from: list[dict[str, int | float]] = Field(
        description="Points of the search space tried first (the last study's best); [] for none."
    )

    @model_validator(mode="after")
    def within_budget(self) -> TuningConfig:
        if len(self.start_from) > self.n_trials:
            raise ValueError(f"{len(self.start_from)} start points do not fit in n_trials={self.n_trials}")
        return self


class DecisionConfig(StrictModel):
    threshold: float = Field(gt=0, lt=1)


class FraudTracking(TrackingConfig):
    alias: str = Field(description="The alias `train` registers under (`challenger`); `promote` moves `champion`.")
    min_improvement: float = Field(ge=0)


class MonitorConfig(StrictModel):
    reference: tuple[date, date]
    current: tuple[date, date]
    drift_share: float = Field(gt=0, le=1)
    sample_rows: int = Field(ge=100)


class GateConfig(StrictModel):
    customers: int = Field(ge=10)
    terminals: int = Field(ge=10)
    days: int = Field(ge=40)
    seed: int
    min_average_precision: float = Field(ge=0, le=1)


class ScaleConfig(StrictModel):
    """`fraud-mlops scale`: Dask features and xgboost.dask on a simulated log `factor` x the handbook's size."""

    factor: float = Field(gt=0, description="Customers, terminals and daily compromises x this (183 days).")
    seed: int
    workers: int = Field(ge=1)
    threads_per_worker: int = Field(ge=1)
    processes: bool = Field(description="Worker processes (true) or threads in this process (false).")
    memory_limit: str = Field(description="Per worker; distributed spills to disk from 60% of it.")
    partition_rows: int = Field(ge=1000, description="Rows per partition after each shuffle.")
    single_machine: bool = Field(description="Also run polars + XGBClassifier on the same data, for comparison.")
    xgboost: dict[str, Any]


class Config(StrictModel):
    seed: int
    n_jobs: int = Field(ge=1)
    features: FeaturesConfig
    protocol: ProtocolConfig
    models: ModelsConfig
    tuning: TuningConfig
    decision: DecisionConfig
    tracking: FraudTracking
    monitor: MonitorConfig
    gate: GateConfig
    scale: ScaleConfig

    @model_validator(mode="after")
    def start_points_match_the_search(self) -> Config:
        """A start point names every searched parameter and nothing else (Optuna would ignore a misspelt one)."""
        search = set(self.models.xgboost.search)
        for point in self.tuning.start_from:
            if set(point) != search:
                missing, unknown = sorted(search - set(point)), sorted(set(point) - search)
                raise ValueError(f"tuning.start_from point: missing {missing}, not searched {unknown}")
        return self


def load(path: Path = DEFAULT_PARAMS, profile: str = "full", overrides: Sequence[str] | None = None) -> Config:
    """params.yaml, the profile's overrides, then `--set`'s (`overrides`), validated."""
    return load_config(Config, path, profile, overrides)

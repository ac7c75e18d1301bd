"""Typed view of params.yaml: a typo or a wrong type fails at load time, naming the key."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal, get_args

from pydantic import Field

from mlshared.params import StrictModel, TrackingConfig, load_config
from mlshared.paths import project_root
from mlshared.tuning import SearchRange

PROJECT_ROOT = project_root(__file__)
DEFAULT_PARAMS = PROJECT_ROOT / "params.yaml"
CalibrationMethod = Literal["sigmoid", "isotonic"]


class CVConfig(StrictModel):
    n_splits: int = Field(5, ge=2)


class BaselineConfig(StrictModel):
    C: float = Field(1.0, gt=0, description="Inverse L2 strength of the logistic regression.")


class XGBoostConfig(StrictModel):
    fixed: dict[str, float | int | str] = Field(default_factory=dict, description="Parameters that are not tuned.")
    search: dict[str, SearchRange]


class TuningConfig(StrictModel):
    n_trials: int = Field(50, ge=1)
    n_splits: int = Field(5, ge=2)
    cv_seed: int = Field(7, description="Tuning folds differ from the evaluation folds (seeded by `seed`).")
    pruning_warmup_folds: int = Field(2, ge=0)


class CalibrationConfig(StrictModel):
    methods: list[CalibrationMethod] = Field(default_factory=lambda: list(get_args(CalibrationMethod)), min_length=1)
    inner_folds: int = Field(5, ge=2)
    select_by: Literal["brier", "log_loss"] = "brier"


class BusinessConfig(StrictModel):
    """The retention campaign's economics, in dollars per customer."""

    retention_offer_cost: float = Field(gt=0, description="What one retention offer costs (discount + contact).")
    churner_value: float = Field(gt=0, description="What a churner who leaves takes with them.")
    offer_success_rate: float = Field(gt=0, le=1, description="Share of contacted churners the offer keeps.")
    threshold_step: float = Field(0.005, gt=0, lt=0.5)

    @property
    def bayes_threshold(self) -> float:
        """Contact a customer when p * success * value > offer cost, for calibrated p."""
        return self.retention_offer_cost / (self.offer_success_rate * self.churner_value)


class ExplainConfig(StrictModel):
    top_reasons: int = Field(3, ge=1, le=19)


class EvaluateConfig(StrictModel):
    bootstrap_resamples: int = Field(1000, ge=50)


class Config(StrictModel):
    seed: int = 42
    n_jobs: int = Field(2, ge=1)
    cv: CVConfig = CVConfig()
    baseline: BaselineConfig = BaselineConfig()
    xgboost: XGBoostConfig
    tuning: TuningConfig = TuningConfig()
    calibration: CalibrationConfig = CalibrationConfig()
    business: BusinessConfig
    explain: ExplainConfig = ExplainConfig()
    evaluate: EvaluateConfig = EvaluateConfig()
    tracking: TrackingConfig = TrackingConfig(experiment="churn-api", registered_model="churn-api")


def load(path: Path = DEFAULT_PARAMS, profile: str = "full", overrides: Sequence[str] | None = None) -> Config:
    """params.yaml's `profile`, with the command line's `--set key.path=value` overrides applied last."""
    return load_config(Config, path, profile, overrides)

"""Typed view of params.yaml: a typo or a wrong type fails at load time, naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from mlshared.params import StrictModel, TrackingConfig, load_config
from mlshared.paths import project_root

PROJECT_ROOT = project_root(__file__)
DEFAULT_PARAMS = PROJECT_ROOT / "params.yaml"


class OutlierConfig(StrictModel):
    min_living_area: float = 4000
    max_price: float = 300_000


class DataConfig(StrictModel):
    outliers: OutlierConfig = OutlierConfig()
    drop_outliers: bool = True


class FeaturesConfig(StrictModel):
    skew_threshold: float = Field(0.75, gt=0)


class CVConfig(StrictModel):
    n_splits: int = Field(5, ge=2)


class ModelsConfig(StrictModel):
    enabled: list[str]
    candidates: dict[str, dict[str, Any]]

    @model_validator(mode="after")
    def enabled_models_exist(self) -> ModelsConfig:
        unknown = set(self.enabled) - set(self.candidates)
        if unknown:
            raise ValueError(f"enabled models without parameters: {', '.join(sorted(unknown))}")
        return self


class BlendConfig(StrictModel):
    weights: dict[str, float]


class EvaluateConfig(StrictModel):
    bootstrap_resamples: int = Field(1000, ge=50)
    interval_level: float = Field(0.9, gt=0, lt=1)
    permutation_repeats: int = Field(5, ge=1)
    holdout_fraction: float = Field(0.2, gt=0, lt=0.5)


class Config(StrictModel):
    seed: int = 42
    n_jobs: int = Field(2, ge=1)
    data: DataConfig = DataConfig()
    features: FeaturesConfig = FeaturesConfig()
    cv: CVConfig = CVConfig()
    models: ModelsConfig
    blend: BlendConfig
    evaluate: EvaluateConfig = EvaluateConfig()
    tracking: TrackingConfig = TrackingConfig(experiment="house-prices", registered_model="house-prices")

    @model_validator(mode="after")
    def blend_uses_enabled_models(self) -> Config:
        extra = set(self.blend.weights) - set(self.models.enabled)
        if extra:
            raise ValueError(f"blend weights for models that are not enabled: {', '.join(sorted(extra))}")
        return self


def load(path: Path = DEFAULT_PARAMS, profile: str = "full") -> Config:
    return load_config(Config, path, profile)

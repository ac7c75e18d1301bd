"""Typed view of params.yaml: a typo or a wrong type fails at load time, naming the key.

params.yaml is the one source of every value: no field has a default here, so the file and the code cannot
disagree, and a key missing from the file is an error. `--set key.path=value` overrides a key (`load`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from mlshared.params import StrictModel, TrackingConfig, load_config
from mlshared.paths import project_root

PROJECT_ROOT = project_root(__file__)
DEFAULT_PARAMS = PROJECT_ROOT / "params.yaml"


class OutlierConfig(StrictModel):
    min_living_area: float
    max_price: float


class DataConfig(StrictModel):
    outliers: OutlierConfig
    drop_outliers: bool


class FeaturesConfig(StrictModel):
    skew_threshold: float = Field(gt=0)


class CVConfig(StrictModel):
    n_splits: int = Field(ge=2)


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
    bootstrap_resamples: int = Field(ge=50)
    interval_level: float = Field(gt=0, lt=1)
    permutation_repeats: int = Field(ge=1)
    holdout_fraction: float = Field(gt=0, lt=0.5)


class Config(StrictModel):
    seed: int
    n_jobs: int = Field(ge=1)
    data: DataConfig
    features: FeaturesConfig
    cv: CVConfig
    models: ModelsConfig
    blend: BlendConfig
    evaluate: EvaluateConfig
    tracking: TrackingConfig

    @model_validator(mode="after")
    def blend_uses_enabled_models(self) -> Config:
        extra = set(self.blend.weights) - set(self.models.enabled)
        if extra:
            raise ValueError(f"blend weights for models that are not enabled: {', '.join(sorted(extra))}")
        return self


def load(path: Path = DEFAULT_PARAMS, profile: str = "full", overrides: Sequence[str] | None = None) -> Config:
    """params.yaml, the profile's overrides, then `--set`'s (`overrides`), validated."""
    return load_config(Config, path, profile, overrides)

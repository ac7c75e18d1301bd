"""Typed view of params.yaml: a typo, a wrong type or a missing key fails at load time, naming the key.

params.yaml is the one source of every value: no field has a default here, so the file and the code cannot
disagree, and a key missing from the file is an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import Field

from mlshared.params import StrictModel, TrackingConfig, load_config
from mlshared.paths import project_root

PROJECT_ROOT = project_root(__file__)
DEFAULT_PARAMS = PROJECT_ROOT / "params.yaml"

Arch = Literal["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2", "resnet18", "resnet50"]
Mode = Literal["finetune", "features"]


class DataConfig(StrictModel):
    dataset: str
    validation_fraction: float = Field(gt=0, lt=0.5)
    test_fraction: float = Field(gt=0, lt=0.5)


class ModelConfig(StrictModel):
    arch: Arch
    weights: str = Field(description="imagenet | none | a path to a state dict")
    mode: Mode
    dropout: float = Field(ge=0, lt=1)
    tta_flip: bool = Field(description="average the logits of each image and its mirror image at inference")


class AugmentConfig(StrictModel):
    scale_min: float = Field(gt=0, le=1)
    flip: bool
    color_jitter: float = Field(ge=0, le=1)


class TrainConfig(StrictModel):
    image_size: int = Field(ge=32, le=1024)
    batch_size: int = Field(ge=1)
    epochs: int = Field(ge=1)
    lr: float = Field(gt=0)
    backbone_lr_factor: float = Field(gt=0, le=1)
    weight_decay: float = Field(ge=0)
    warmup_epochs: int = Field(ge=0)
    label_smoothing: float = Field(ge=0, lt=1)
    patience: int = Field(ge=1)
    feature_views: int = Field(ge=1, description="features mode: augmented views per training image")
    head_epochs: int = Field(ge=1, description="features mode: epochs of the head over the cached views")
    head_patience: int = Field(ge=1, description="features mode: early-stopping patience in head epochs")
    average_views: bool = Field(
        description="features mode: the head trains on each image's mean feature over its views, not on every view"
    )
    augment: AugmentConfig


class EvaluateConfig(StrictModel):
    bootstrap_resamples: int = Field(ge=50)
    interval_level: float = Field(gt=0, lt=1)
    calibration_bins: int = Field(ge=2)
    mistakes_shown: int = Field(ge=1)
    gradcam_images: int = Field(ge=1)


class ScratchConfig(StrictModel):
    arch: Arch
    image_size: int = Field(ge=32, le=1024)
    epochs: int = Field(ge=1)
    lr: float = Field(gt=0)


class BenchConfig(StrictModel):
    threads: int = Field(ge=1)
    batch1_images: int = Field(ge=1)
    repeats: int = Field(ge=1)
    calibration_images: int = Field(ge=1)
    max_accuracy_drop: float = Field(ge=0, lt=1)


class Config(StrictModel):
    seed: int
    threads: int = Field(ge=1)
    data: DataConfig
    model: ModelConfig
    train: TrainConfig
    evaluate: EvaluateConfig
    scratch: ScratchConfig
    bench: BenchConfig
    tracking: TrackingConfig


def load(path: Path = DEFAULT_PARAMS, profile: str = "full", overrides: Sequence[str] | None = None) -> Config:
    """params.yaml, the profile's overrides, then `--set`'s (`overrides`), validated."""
    return load_config(Config, path, profile, overrides)

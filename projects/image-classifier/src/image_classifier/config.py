"""Typed view of params.yaml: a typo or a wrong type fails at load time, naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from mlshared.params import StrictModel, TrackingConfig, load_config
from mlshared.paths import project_root

PROJECT_ROOT = project_root(__file__)
DEFAULT_PARAMS = PROJECT_ROOT / "params.yaml"

Arch = Literal["efficientnet_lite0", "resnet18", "resnet50"]
Mode = Literal["finetune", "features"]


class DataConfig(StrictModel):
    dataset: str = "hymenoptera"
    validation_fraction: float = Field(0.2, gt=0, lt=0.5)
    test_fraction: float = Field(0.2, gt=0, lt=0.5)


class ModelConfig(StrictModel):
    arch: Arch = "efficientnet_lite0"
    weights: str = Field("imagenet", description="imagenet | none | a path to a state dict")
    mode: Mode = "finetune"
    dropout: float = Field(0.2, ge=0, lt=1)


class AugmentConfig(StrictModel):
    scale_min: float = Field(0.4, gt=0, le=1)
    flip: bool = True
    color_jitter: float = Field(0.2, ge=0, le=1)


class TrainConfig(StrictModel):
    image_size: int = Field(224, ge=32, le=1024)
    batch_size: int = Field(16, ge=1)
    epochs: int = Field(15, ge=1)
    lr: float = Field(1e-3, gt=0)
    backbone_lr_factor: float = Field(0.1, gt=0, le=1)
    weight_decay: float = Field(0.01, ge=0)
    warmup_epochs: int = Field(1, ge=0)
    label_smoothing: float = Field(0.1, ge=0, lt=1)
    patience: int = Field(4, ge=1)
    feature_views: int = Field(6, ge=1, description="features mode: augmented views per training image")
    head_epochs: int = Field(100, ge=1, description="features mode: epochs of the head over the cached views")
    head_patience: int = Field(15, ge=1, description="features mode: early-stopping patience in head epochs")
    augment: AugmentConfig = AugmentConfig()


class EvaluateConfig(StrictModel):
    bootstrap_resamples: int = Field(2000, ge=50)
    interval_level: float = Field(0.95, gt=0, lt=1)
    calibration_bins: int = Field(10, ge=2)
    mistakes_shown: int = Field(8, ge=1)
    gradcam_images: int = Field(6, ge=1)


class ScratchConfig(StrictModel):
    arch: Arch = "resnet18"
    image_size: int = Field(128, ge=32, le=1024)
    epochs: int = Field(15, ge=1)
    lr: float = Field(3e-3, gt=0)


class BenchConfig(StrictModel):
    threads: int = Field(2, ge=1)
    batch1_images: int = Field(32, ge=1)
    repeats: int = Field(3, ge=1)
    calibration_images: int = Field(64, ge=1)
    max_accuracy_drop: float = Field(0.01, ge=0, lt=1)


class Config(StrictModel):
    seed: int = 42
    threads: int = Field(2, ge=1)
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    evaluate: EvaluateConfig = EvaluateConfig()
    scratch: ScratchConfig = ScratchConfig()
    bench: BenchConfig = BenchConfig()
    tracking: TrackingConfig = TrackingConfig(experiment="image-classifier", registered_model="image-classifier")


def load(path: Path = DEFAULT_PARAMS, profile: str = "full") -> Config:
    return load_config(Config, path, profile)

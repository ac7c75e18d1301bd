"""Fixtures: the real hymenoptera images from the mirror, a small folder built from them, and small but real
models (the README run's code at a small image size) trained once per session."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from image_classifier import config as config_module
from image_classifier.checkpoint import TrainedModel
from image_classifier.config import Config
from image_classifier.data import ImageData, load
from image_classifier.export import export
from image_classifier.train import TrainResult, train
from mlshared.datasets import resolve_dir
from mlshared.params import deep_merge, load_params
from mlshared.paths import OutputDirs

# Frozen ImageNet backbone at 96 px, one augmented view: a few seconds of CPU, and still a real model.
SMALL = {
    "threads": 1,
    "model": {"mode": "features"},
    "train": {"image_size": 96, "feature_views": 1, "head_epochs": 40, "head_patience": 10, "warmup_epochs": 0},
    "evaluate": {"bootstrap_resamples": 100, "gradcam_images": 2, "mistakes_shown": 4},
    "bench": {"batch1_images": 2, "repeats": 1, "calibration_images": 8},
    "tracking": {"alias": "test"},
}
PER_CLASS = 8  # images per class in the small folder


def small_config(**overrides: object) -> Config:
    raw = deep_merge(load_params(config_module.DEFAULT_PARAMS, "full"), SMALL)
    return Config.model_validate(deep_merge(raw, dict(overrides)))


@pytest.fixture(scope="session")
def make_config() -> Callable[..., Config]:
    """small_config as a fixture, for tests that vary it."""
    return small_config


@pytest.fixture(scope="session")
def hymenoptera() -> Path:
    return resolve_dir("hymenoptera")


@pytest.fixture(scope="session")
def real_data() -> ImageData:
    return load(None, "hymenoptera", 0.2, 0.2, 42)


@pytest.fixture(scope="session")
def small_folder(tmp_path_factory: pytest.TempPathFactory, hymenoptera: Path) -> Path:
    """DIR/<class>/ with a few real photos per class and the kinds of junk real folders hold."""
    root = tmp_path_factory.mktemp("my-images")
    for name in ("ants", "bees"):
        (root / name).mkdir()
        for photo in sorted((hymenoptera / "train" / name).glob("*.jpg"))[:PER_CLASS]:
            shutil.copy(photo, root / name / photo.name)
    first = next((hymenoptera / "train" / "bees").glob("*.jpg")).read_bytes()
    (root / "bees" / "truncated.jpg").write_bytes(first[: len(first) // 3])
    (root / "bees" / "notes.jpg").write_text("not a picture", encoding="utf-8")
    (root / "ants" / "empty.png").write_bytes(b"")
    (root / "ants" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    return root


@pytest.fixture(scope="session")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> OutputDirs:
    return OutputDirs(tmp_path_factory.mktemp("image-classifier"), "test")


@pytest.fixture(scope="session")
def trained_result(real_data: ImageData, outputs: OutputDirs) -> TrainResult:
    return train(small_config(), "test", outputs, real_data, track=False)


@pytest.fixture(scope="session")
def trained(trained_result: TrainResult) -> TrainedModel:
    return trained_result.trained


@pytest.fixture(scope="session")
def model_path(trained_result: TrainResult) -> Path:
    return trained_result.model_path


@pytest.fixture(scope="session")
def exported(trained: TrainedModel, real_data: ImageData, outputs: OutputDirs) -> dict[str, object]:
    return export(trained, real_data, outputs.models, outputs.reports, 8)

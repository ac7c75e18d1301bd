"""Evaluation: calibration arithmetic, mistakes ordering, and the report of a real (small) model."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest

from image_classifier.calibration import expected_calibration_error
from image_classifier.checkpoint import TrainedModel
from image_classifier.config import Config
from image_classifier.data import ImageData
from image_classifier.evaluate import confident_mistakes, evaluate, gradcam_choice
from image_classifier.explain import gradcam
from image_classifier.images import open_file
from mlshared.paths import OutputDirs
from mlshared.reports import read_report


def test_ece_is_zero_when_confidence_equals_accuracy_and_the_gap_otherwise() -> None:
    # Ten predictions at confidence 0.8, eight right: perfectly calibrated.
    proba = np.tile([0.8, 0.2], (10, 1))
    y = np.array([0] * 8 + [1] * 2)
    assert expected_calibration_error(proba, y, 10) == pytest.approx(0.0)
    # All at 0.9 but only half right: gap 0.4.
    y_half = np.array([0] * 5 + [1] * 5)
    assert expected_calibration_error(np.tile([0.9, 0.1], (10, 1)), y_half, 10) == pytest.approx(0.4)


def test_confident_mistakes_come_first() -> None:
    proba = np.array([[0.9, 0.1], [0.3, 0.7], [0.99, 0.01], [0.6, 0.4]], dtype=np.float32)
    y = np.array([1, 1, 1, 0])
    assert confident_mistakes(proba, y, 5) == [2, 0]
    chosen = gradcam_choice(proba, y, [2, 0], 4)
    assert chosen[:2] == [2] or chosen[0] == 2
    assert len(set(chosen)) == len(chosen)


@pytest.mark.slow
def test_small_real_model_report(
    trained: TrainedModel, real_data: ImageData, outputs: OutputDirs, make_config: Callable[..., Config]
) -> None:
    report = evaluate(make_config(), "test", outputs, real_data, trained)
    assert report.primary.name == "test_accuracy" and report.primary.higher_is_better
    # A frozen ImageNet backbone at 96 px with one view per image: well above chance on 153 unseen images.
    assert report.primary.value >= 0.85
    ci = report.metrics["test_accuracy_ci"]
    assert ci["low"] <= report.primary.value <= ci["high"]
    assert set(report.metrics["per_class"]) == {"ants", "bees"}
    for figure in report.metrics["figures"]:
        assert (outputs.reports / figure).is_file()
    assert read_report(outputs.metrics).primary.value == report.primary.value
    assert json.loads(outputs.metrics.read_text())["metrics"]["test_images"] == 153


def test_gradcam_highlights_part_of_the_image(trained: TrainedModel, real_data: ImageData) -> None:
    image = open_file(real_data.test[0].path)
    (explanation,) = gradcam(trained, [image])
    size = trained.preprocessing.image_size
    assert explanation.heatmap.shape == (size, size) and explanation.overlay.shape == (size, size, 3)
    assert explanation.heatmap.min() >= 0.0 and explanation.heatmap.max() <= 1.0
    assert explanation.heatmap.std() > 0.01  # a map, not a constant
    assert not any(
        p.grad is not None and p.grad.abs().sum() > 0 for p in trained.model.parameters() if not p.requires_grad
    )

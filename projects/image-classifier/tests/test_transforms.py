"""The NumPy preprocessing that serving uses equals torchvision's evaluation transform."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from image_classifier.images import open_file
from image_classifier.model import TF_SCALING
from image_classifier.transforms import Preprocessing, eval_transform, preprocess_numpy


@pytest.mark.parametrize("size", [96, 224])
def test_numpy_preprocessing_matches_torchvision(hymenoptera: Path, size: int) -> None:
    prep = Preprocessing.for_size(size, *TF_SCALING)
    files = [*sorted((hymenoptera / "val" / "ants").glob("*.jpg"))[:3], hymenoptera / "train" / "ants" / "formica.jpeg"]
    images = [open_file(f) for f in files]
    images.append(Image.new("RGB", (300, 500), (200, 10, 30)))  # portrait
    transform = eval_transform(prep)
    for image in images:
        expected = transform(image).numpy()
        actual = preprocess_numpy(image, prep)
        assert actual.shape == expected.shape == (3, size, size)
        assert np.abs(actual - expected).max() < 1e-5


def test_preprocessing_round_trips_through_a_dict() -> None:
    prep = Preprocessing.for_size(224, *TF_SCALING)
    assert prep.resize == 256
    assert Preprocessing.from_dict(prep.as_dict()) == prep

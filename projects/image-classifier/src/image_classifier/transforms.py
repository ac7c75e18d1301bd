"""torchvision transforms v2 for training and evaluation, and the same evaluation preprocessing in NumPy.

`Preprocessing` is the recipe saved with the model (checkpoint and ONNX metadata): resize the shorter side,
centre-crop, scale to [0, 1], normalise. `preprocess_numpy` applies it with Pillow and NumPy only, so
serving needs neither torch nor torchvision; a test checks it equals `eval_transform` to float precision.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from image_classifier.config import AugmentConfig

# Evaluation resizes the shorter side to image_size / CROP_FRACTION, then centre-crops image_size
# (the ImageNet convention: 256 -> 224).
CROP_FRACTION = 0.875
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Preprocessing:
    image_size: int
    resize: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bilinear"

    @classmethod
    def for_size(
        cls, image_size: int, mean: tuple[float, float, float], std: tuple[float, float, float]
    ) -> Preprocessing:
        return cls(image_size, round(image_size / CROP_FRACTION), mean, std)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessing:
        return cls(
            int(data["image_size"]),
            int(data["resize"]),
            tuple(float(x) for x in data["mean"]),  # type: ignore[arg-type]
            tuple(float(x) for x in data["std"]),  # type: ignore[arg-type]
            str(data.get("interpolation", "bilinear")),
        )


def _resample(name: str) -> Image.Resampling:
    return {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC}[name]


def eval_transform(prep: Preprocessing) -> Any:
    import torch
    from torchvision.transforms import InterpolationMode, v2

    return v2.Compose(
        [
            v2.Resize(prep.resize, interpolation=InterpolationMode(prep.interpolation), antialias=True),
            v2.CenterCrop(prep.image_size),
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(list(prep.mean), list(prep.std)),
        ]
    )


def train_transform(prep: Preprocessing, augment: AugmentConfig) -> Any:
    """Random crops of 40-100% of the area (by default), flips and mild colour jitter."""
    import torch
    from torchvision.transforms import InterpolationMode, v2

    steps: list[Any] = [
        v2.RandomResizedCrop(
            prep.image_size,
            scale=(augment.scale_min, 1.0),
            interpolation=InterpolationMode(prep.interpolation),
            antialias=True,
        )
    ]
    if augment.flip:
        steps.append(v2.RandomHorizontalFlip())
    if augment.color_jitter > 0:
        j = augment.color_jitter
        steps.append(v2.ColorJitter(brightness=j, contrast=j, saturation=j))
    steps += [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(prep.mean), list(prep.std))]
    return v2.Compose(steps)


def preprocess_numpy(image: Image.Image, prep: Preprocessing) -> npt.NDArray[np.float32]:
    """`eval_transform` without torch: a (3, size, size) float32 array."""
    image = image.convert("RGB")
    width, height = image.size
    short = min(width, height)
    if width <= height:
        new_w, new_h = prep.resize, int(prep.resize * height / width)
    else:
        new_w, new_h = int(prep.resize * width / height), prep.resize
    if short != prep.resize or (new_w, new_h) != (width, height):
        image = image.resize((new_w, new_h), _resample(prep.interpolation))
    size = prep.image_size
    top = round((new_h - size) / 2.0)
    left = round((new_w - size) / 2.0)
    image = image.crop((left, top, left + size, top + size))
    pixels: npt.NDArray[np.float32] = np.asarray(image, dtype=np.float32) / np.float32(255.0)
    normalised = (pixels - np.asarray(prep.mean, dtype=np.float32)) / np.asarray(prep.std, dtype=np.float32)
    return np.ascontiguousarray(normalised.transpose(2, 0, 1), dtype=np.float32)

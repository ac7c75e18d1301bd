"""A torch Dataset over checked samples, decoding each file once and keeping a reduced copy in memory.

The hymenoptera photos are about 500 x 375 pixels and there are a few hundred of them, so decoding each
file on every epoch would cost more than the model on small image sizes. The cache keeps each image with
its shorter side at the evaluation resize (never enlarged); random crops then work on that copy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PIL import Image
from torch.utils.data import DataLoader, Dataset

from image_classifier.data import Sample
from image_classifier.images import open_file


def reduced(image: Image.Image, short_side: int) -> Image.Image:
    """A copy whose shorter side is at most `short_side` (aspect kept)."""
    width, height = image.size
    scale = short_side / min(width, height)
    if scale >= 1:
        return image
    return image.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.BILINEAR)


class ImageDataset(Dataset[tuple[Any, int]]):
    def __init__(
        self, samples: Sequence[Sample], transform: Callable[[Image.Image], Any], cache_short_side: int | None = None
    ) -> None:
        self.samples = list(samples)
        self.transform = transform
        self.cache_short_side = cache_short_side
        self._cache: dict[int, Image.Image] = {}

    def __len__(self) -> int:
        return len(self.samples)

    def image(self, index: int) -> Image.Image:
        if index not in self._cache:
            image = open_file(self.samples[index].path)
            if self.cache_short_side is None:
                return image
            self._cache[index] = reduced(image, self.cache_short_side)
        return self._cache[index]

    def __getitem__(self, index: int) -> tuple[Any, int]:
        return self.transform(self.image(index)), self.samples[index].label


def loader(dataset: ImageDataset, batch_size: int, shuffle: bool = False, seed: int = 0) -> DataLoader[Any]:
    """In-process loading (workers would compete for the same two cores and lose the cache)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, num_workers=0, generator=generator)

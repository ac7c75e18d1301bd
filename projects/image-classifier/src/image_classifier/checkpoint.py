"""A trained model with everything needed to use it: architecture, class names, preprocessing, facts.

Saved with `torch.save` as plain tensors and JSON-like values, and loaded with `weights_only=True`, so
loading a checkpoint never runs pickled code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from PIL import Image
from torch import nn

from image_classifier.config import Arch
from image_classifier.model import build, inference_module
from image_classifier.transforms import Preprocessing, eval_transform
from mlshared.console import UserError

MODEL_FILE = "model.pt"


@dataclass
class TrainedModel:
    model: nn.Module
    arch: Arch
    classes: list[str]
    preprocessing: Preprocessing
    dropout: float
    metadata: dict[str, Any] = field(default_factory=dict)
    tta_flip: bool = False  # checkpoints written before the option existed served without test-time flips

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(
            {
                "arch": self.arch,
                "classes": self.classes,
                "preprocessing": self.preprocessing.as_dict(),
                "dropout": self.dropout,
                "metadata": self.metadata,
                "tta_flip": self.tta_flip,
                "state_dict": self.model.state_dict(),
            },
            path,
        )
        return path

    @classmethod
    def load(cls, path: Path, project: str = "image-classifier") -> TrainedModel:
        if not path.is_file():
            raise UserError(
                f"No trained model at {path}.",
                hint=f"Train one with `{project} train` (or `make run`), or pass --model PATH.",
            )
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            arch = saved["arch"]
            model = build(arch, "none", len(saved["classes"]), float(saved["dropout"]))
            model.load_state_dict(saved["state_dict"])
        except (KeyError, RuntimeError, TypeError, ValueError) as error:
            raise UserError(f"{path} is not an image-classifier checkpoint ({error}).", hint="Retrain it.") from error
        model.eval()
        return cls(
            model,
            arch,
            list(saved["classes"]),
            Preprocessing.from_dict(saved["preprocessing"]),
            float(saved["dropout"]),
            dict(saved["metadata"]),
            bool(saved.get("tta_flip", False)),
        )

    def tensor(self, images: list[Image.Image]) -> torch.Tensor:
        transform = eval_transform(self.preprocessing)
        return torch.stack([transform(image) for image in images])

    def served(self) -> nn.Module:
        """What inference runs (and ONNX exports): the model, averaged with its flipped view if `tta_flip`."""
        return inference_module(self.model, self.tta_flip).eval()

    @torch.inference_mode()
    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        return self.served()(batch)  # type: ignore[no-any-return]

    def predict_proba(self, images: list[Image.Image], batch_size: int = 32) -> npt.NDArray[np.float32]:
        chunks = [
            torch.softmax(self.logits(self.tensor(images[i : i + batch_size])), dim=1).numpy()
            for i in range(0, len(images), batch_size)
        ]
        return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros((0, len(self.classes)), np.float32)

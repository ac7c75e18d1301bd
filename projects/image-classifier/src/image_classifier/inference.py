"""Serving without training code: an ONNX model whose metadata carries the class names and preprocessing.

`OnnxClassifier` needs only onnxruntime, NumPy and Pillow (no torch, no torchvision, no timm): the
preprocessing recipe is read from the model file and applied by `transforms.preprocess_numpy`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from image_classifier.transforms import Preprocessing, preprocess_numpy
from mlshared.console import UserError

ONNX_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
INPUT, OUTPUT = "images", "logits"


def softmax(logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    proba: npt.NDArray[np.float32] = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
    return proba


class OnnxClassifier:
    def __init__(self, path: Path, threads: int = 1) -> None:
        import onnxruntime as ort

        if not path.is_file():
            raise UserError(
                f"No exported model at {path}.",
                hint="Run `image-classifier export` (after `train`), or pass --model PATH to a model.onnx.",
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        if "classes" not in meta or "preprocessing" not in meta:
            raise UserError(f"{path} has no class names or preprocessing in its metadata.", hint="Re-export it.")
        self.path = path
        self.classes: list[str] = json.loads(meta["classes"])
        self.preprocessing = Preprocessing.from_dict(json.loads(meta["preprocessing"]))

    def preprocess(self, images: list[Image.Image]) -> npt.NDArray[np.float32]:
        return np.stack([preprocess_numpy(image, self.preprocessing) for image in images])

    def logits(self, batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        return np.asarray(self.session.run([OUTPUT], {INPUT: batch})[0], dtype=np.float32)

    def predict_proba(self, images: list[Image.Image], batch_size: int = 32) -> npt.NDArray[np.float32]:
        chunks = [
            softmax(self.logits(self.preprocess(images[i : i + batch_size]))) for i in range(0, len(images), batch_size)
        ]
        return np.concatenate(chunks) if chunks else np.zeros((0, len(self.classes)), np.float32)

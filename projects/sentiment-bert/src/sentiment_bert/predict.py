"""Batch predictions for people: the CLI `predict` verb and the demo's file upload share this code."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sentiment_bert.config import Variant
from sentiment_bert.inference import (
    EncoderClassifier,
    OnnxClassifier,
    Precision,
    TorchClassifier,
    label_of,
    require_model_dir,
)

ONNX_FILES: dict[Variant, str] = {"onnx-fp32": "model.onnx", "onnx-int8": "model-int8.onnx"}
TORCH_PRECISIONS: dict[Variant, Precision] = {"pytorch-fp32": "fp32", "pytorch-int8": "int8", "pytorch-bf16": "bf16"}


def load_variant(variant: Variant, model_dir: Path, onnx_dir: Path, threads: int | None = None) -> EncoderClassifier:
    """A classifier for one runtime; the ONNX ones read the graph from `onnx_dir` (written by `export`)."""
    require_model_dir(model_dir)
    if variant in ONNX_FILES:
        return OnnxClassifier.load(onnx_dir / ONNX_FILES[variant], model_dir, threads=threads, name=variant)
    return TorchClassifier.load(model_dir, TORCH_PRECISIONS[variant])


def predict_frame(classifier: EncoderClassifier, sentences: Sequence[str], batch_size: int = 32) -> pd.DataFrame:
    """One row per sentence: label, P(positive), and whether it was cut to the model's max length."""
    proba = classifier.predict_proba(sentences, batch_size)
    return pd.DataFrame(
        {
            "sentence": list(sentences),
            "label": [label_of(float(p)) for p in proba],
            "p_positive": proba.round(4),
            "truncated": [classifier.count_tokens(s).truncated for s in sentences],
        }
    )

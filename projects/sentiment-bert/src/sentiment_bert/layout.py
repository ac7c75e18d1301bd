"""Where each artifact of a run lives, in one place (models/, artifacts/<profile>/, reports/)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlshared.console import UserError
from mlshared.paths import OutputDirs

# Beside the weights: what the model card, `evaluate` and the app's "about" read. Here, not in train.py, so
# that the app can name it without importing training's dependencies.
TRAINING_FILE = "training.json"


def load_training_facts(model_dir: Path) -> dict[str, Any]:
    path = model_dir / TRAINING_FILE
    if not path.is_file():
        raise UserError(f"{path} is missing.", hint="Train the model with `sentiment-bert train` first.")
    facts: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return facts


@dataclass(frozen=True)
class Layout:
    outputs: OutputDirs

    @property
    def model_dir(self) -> Path:
        """The fine-tuned model, its tokenizer and model card (`save_pretrained` layout)."""
        return self.outputs.models / "classifier"

    @property
    def baseline(self) -> Path:
        return self.outputs.models / "baseline.joblib"

    @property
    def onnx_dir(self) -> Path:
        return self.outputs.models / "onnx"

    @property
    def onnx_fp32(self) -> Path:
        return self.onnx_dir / "model.onnx"

    @property
    def onnx_int8(self) -> Path:
        return self.onnx_dir / "model-int8.onnx"

    @property
    def export_summary(self) -> Path:
        return self.onnx_dir / "export.json"

    @property
    def checkpoints(self) -> Path:
        return self.outputs.work / "checkpoints"

    @property
    def train_summary(self) -> Path:
        return self.outputs.work / "train.json"

    @property
    def data_report(self) -> Path:
        return self.outputs.reports / "data_validation.json"

    @property
    def bench_report(self) -> Path:
        return self.outputs.reports / "bench.json"

    @property
    def predictions(self) -> Path:
        return self.outputs.work / "test_predictions.csv"

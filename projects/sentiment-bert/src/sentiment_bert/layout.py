"""Where each artifact of a run lives, in one place (models/, artifacts/<profile>/, reports/)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
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


def newest_trained(profiles: Sequence[str], layout_of: Callable[[str], Layout]) -> tuple[str, Layout]:
    """The profile whose fine-tuned model was saved last, with its layout: what `app` and `predict` use when no
    profile is named, so that `make run` (the quick profile, artifacts/quick/) is enough to try the demo."""
    trained = [(p, layout_of(p)) for p in profiles if (layout_of(p).model_dir / "config.json").is_file()]
    if not trained:
        looked = ", ".join(f"{layout_of(p).model_dir} ({p})" for p in profiles)
        raise UserError(
            f"No fine-tuned model yet (looked in {looked}).",
            hint="Train one: `sentiment-bert run` (the quick profile, about a minute on an idle machine; `make run` "
            "does the same) or `sentiment-bert run --profile full` (the README model, about 55 min); or pass --model "
            "DIR.",
        )
    return max(trained, key=lambda pair: (pair[1].model_dir / "config.json").stat().st_mtime)

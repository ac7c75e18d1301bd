"""Typed view of params.yaml: a typo or a wrong type fails at load time, naming the key."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from mlshared.params import StrictModel, TrackingConfig, load_config
from mlshared.paths import OutputDirs, project_root

PROJECT = "sentiment-bert"
PROJECT_ROOT = project_root(__file__)
DEFAULT_PARAMS = PROJECT_ROOT / "params.yaml"

Variant = Literal["pytorch-fp32", "pytorch-int8", "pytorch-bf16", "onnx-fp32", "onnx-int8"]
VARIANTS: tuple[Variant, ...] = ("pytorch-fp32", "pytorch-int8", "pytorch-bf16", "onnx-fp32", "onnx-int8")
# What the classification layer reads: the architecture's own head (BERT: the pooler on [CLS]) or the masked mean of
# the token vectors, which is what sentence-transformers encoders were trained to produce (see modeling.py).
Pooling = Literal["cls", "mean"]


class DataConfig(StrictModel):
    validation_size: int = Field(1000, ge=50)
    train_limit: int | None = Field(None, ge=50)
    # True: train on every row for `train.epochs` and keep the last weights (the final model). False: hold out
    # the leak-free validation split, evaluate during training and keep what `train.keep` says (choosing a recipe).
    refit: bool = False


class ModelConfig(StrictModel):
    checkpoint: str = "default"
    max_length: int = Field(64, ge=8, le=512)
    pooling: Pooling = "cls"


class TrainConfig(StrictModel):
    epochs: float = Field(1.0, gt=0)
    max_steps: int = -1
    batch_size: int = Field(32, ge=1)
    gradient_accumulation_steps: int = Field(1, ge=1)
    eval_batch_size: int = Field(128, ge=1)
    learning_rate: float = Field(1e-4, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.06, ge=0, lt=1)
    eval_steps: int = Field(300, ge=1)
    early_stopping_patience: int = Field(3, ge=1)
    # What a run with a validation split saves: its best checkpoint, or its last weights (what a refit of its
    # recipe keeps, so that select runs compare and save like for like). A refit always keeps its last weights.
    keep: Literal["best", "last"] = "best"
    group_by_length: bool = True
    # Tail weight averaging: from this fraction of the optimizer steps on, the uniform average of the weights
    # taken every `average_every` steps becomes the model (torch.optim.swa_utils.AveragedModel). None: off.
    average_from: float | None = Field(None, gt=0, lt=1)
    average_every: int = Field(50, ge=1)
    # bfloat16 autocast on a CPU with AMX or AVX512-BF16 (a GPU uses bf16/fp16 whatever this says).
    cpu_bf16: bool = False
    # Seed of the data order and dropout; None: the top-level seed. The classifier head is always initialised
    # from the top-level seed, so runs that differ only here start from identical weights.
    run_seed: int | None = None
    max_train_minutes: float | None = Field(36, gt=0)
    threads: int | None = Field(2, ge=1)


# Training keys that may differ between a `select` run and the refit of its recipe: they only concern a run with a
# validation split (how long it may go on, which weights it saves), so they are not part of the recipe.
VALIDATION_RUN_KEYS = frozenset({"early_stopping_patience", "max_train_minutes", "keep"})


def recorded_hyperparameters(recorded: Mapping[str, Any]) -> dict[str, Any]:
    """A run's recorded `hyperparameters` (train.* keys, max_length, pooling), where a key added after the run
    was recorded takes its default: the behaviour that run had."""
    return TrainConfig().model_dump() | {"pooling": ModelConfig().pooling} | dict(recorded)


class BaselineConfig(StrictModel):
    ngram_max: int = Field(2, ge=1, le=3)
    min_df: int = Field(2, ge=1)
    sublinear_tf: bool = True
    C: float = Field(4.0, gt=0)


class EvaluateConfig(StrictModel):
    mistakes: int = Field(12, ge=1)
    bootstrap_resamples: int = Field(1000, ge=50)
    calibration_bins: int = Field(10, ge=3)
    behaviour_cases_per_test: int = Field(200, ge=5)


class BenchConfig(StrictModel):
    threads: int = Field(2, ge=1)
    batch1_sentences: int = Field(300, ge=5)
    repeats: int = Field(3, ge=1)
    variants: list[Variant] = Field(default_factory=lambda: list(VARIANTS), min_length=1)
    max_accuracy_drop: float = Field(0.01, ge=0)


Int8Operator = Literal["MatMul", "Attention"]


def _matmul_only() -> list[Int8Operator]:
    return ["MatMul"]


class ExportConfig(StrictModel):
    opset: int = Field(17, ge=14)
    parity_sentences: int = Field(256, ge=8)
    parity_atol: float = Field(1e-3, gt=0)
    int8_operators: list[Int8Operator] = Field(default_factory=_matmul_only, min_length=1)
    int8_per_channel: bool = True


class Config(StrictModel):
    seed: int = 42
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    baseline: BaselineConfig = BaselineConfig()
    evaluate: EvaluateConfig = EvaluateConfig()
    bench: BenchConfig = BenchConfig()
    export: ExportConfig = ExportConfig()
    tracking: TrackingConfig = TrackingConfig(experiment=PROJECT, registered_model=PROJECT)


def load(path: Path = DEFAULT_PARAMS, profile: str = "full") -> Config:
    return load_config(Config, path, profile)


def outputs_for(profile: str) -> OutputDirs:
    """The profile's output folders (honours PORTFOLIO_OUTPUT_ROOT, which tests and CI set)."""
    return OutputDirs.for_project(PROJECT, PROJECT_ROOT, profile)

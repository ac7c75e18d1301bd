"""Typed view of params.yaml: a typo or a wrong type fails at load time, naming the key.

params.yaml is the one source of every value: the models below have no defaults, so a key missing from
the file is an error rather than a second, silently different default in code. `--set key.path=value`
overrides a key after the profile is applied (`load(..., overrides)`, see `mlshared.params`). What an old
recorded run needs to be read is frozen in `LEGACY_DEFAULTS`, apart from both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from pydantic import Field

from mlshared.params import StrictModel, TrackingConfig, load_config, read_yaml
from mlshared.paths import OutputDirs, project_root

PROJECT = "sentiment-bert"
PROJECT_ROOT = project_root(__file__)
DEFAULT_PARAMS = PROJECT_ROOT / "params.yaml"

Variant = Literal["pytorch-fp32", "pytorch-int8", "pytorch-bf16", "onnx-fp32", "onnx-int8"]
VARIANTS: tuple[Variant, ...] = ("pytorch-fp32", "pytorch-int8", "pytorch-bf16", "onnx-fp32", "onnx-int8")


class DataConfig(StrictModel):
    validation_size: int = Field(ge=50)
    train_limit: int | None = Field(ge=50)
    # True: train on every row for `train.epochs` and keep the last weights (the final model). False: hold out
    # the leak-free validation split, evaluate during training and keep what `train.keep` says (choosing a recipe).
    refit: bool


class ModelConfig(StrictModel):
    checkpoint: str
    max_length: int = Field(ge=8, le=512)


class TrainConfig(StrictModel):
    epochs: float = Field(gt=0)
    max_steps: int
    batch_size: int = Field(ge=1)
    gradient_accumulation_steps: int = Field(ge=1)
    eval_batch_size: int = Field(ge=1)
    learning_rate: float = Field(gt=0)
    weight_decay: float = Field(ge=0)
    warmup_ratio: float = Field(ge=0, lt=1)
    eval_steps: int = Field(ge=1)
    early_stopping_patience: int = Field(ge=1)
    # What a run with a validation split saves: its best checkpoint, or its last weights (what a refit of its
    # recipe keeps, so that select runs compare and save like for like). A refit always keeps its last weights.
    keep: Literal["best", "last"]
    group_by_length: bool
    # bfloat16 autocast on a CPU with AMX or AVX512-BF16 (a GPU uses bf16/fp16 whatever this says).
    cpu_bf16: bool
    # Seed of the data order and dropout; None: the top-level seed. The classifier head is always initialised
    # from the top-level seed, so runs that differ only here start from identical weights.
    run_seed: int | None
    max_train_minutes: float | None = Field(gt=0)
    threads: int | None = Field(ge=1)


# Training keys that may differ between a `select` run and the refit of its recipe: they only concern a run with a
# validation split (how long it may go on, which weights it saves), so they are not part of the recipe.
VALIDATION_RUN_KEYS = frozenset({"early_stopping_patience", "max_train_minutes", "keep"})

# The recipe keys (train.*, max_length) the first recorded runs already had. A key added since must say in
# LEGACY_DEFAULTS what runs recorded before it did (a test holds the two in step).
FIRST_RECORDED_KEYS = frozenset(
    {
        "epochs", "max_steps", "batch_size", "gradient_accumulation_steps", "eval_batch_size", "learning_rate",
        "weight_decay", "warmup_ratio", "eval_steps", "early_stopping_patience", "group_by_length",
        "max_train_minutes", "threads", "max_length",
    }
)  # fmt: skip

# What a run did about a key it did not record, because the key did not exist yet: frozen by name and never
# edited, so that changing a value in params.yaml never reinterprets an old run (the published refit, the select
# runs of docs/experiments.md). Experiment keys stay too: runs recorded them while they lived in the package.
LEGACY_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "average_from": None,  # tail weight averaging off (experiments/tail_averaging.py since)
        "average_every": 50,
        "cpu_bf16": False,  # fp32 training
        "keep": "best",  # a run with a validation split kept its best checkpoint
        "run_seed": None,  # data order and dropout from the top-level seed
        "pooling": "cls",  # transformers' own head, BERT's pooler on [CLS] (experiments/mean_pooling.py since)
    }
)


def recorded_hyperparameters(recorded: Mapping[str, Any]) -> dict[str, Any]:
    """A run's recorded `hyperparameters` (train.* keys, max_length and any experiment's keys), where a key the run
    did not record takes its `LEGACY_DEFAULTS` value: the behaviour that run had."""
    return dict(LEGACY_DEFAULTS) | dict(recorded)


class BaselineConfig(StrictModel):
    ngram_max: int = Field(ge=1, le=3)
    min_df: int = Field(ge=1)
    sublinear_tf: bool
    C: float = Field(gt=0)


class EvaluateConfig(StrictModel):
    mistakes: int = Field(ge=1)
    bootstrap_resamples: int = Field(ge=50)
    calibration_bins: int = Field(ge=3)
    behaviour_cases_per_test: int = Field(ge=5)


class BenchConfig(StrictModel):
    threads: int = Field(ge=1)
    batch1_sentences: int = Field(ge=5)
    repeats: int = Field(ge=1)
    variants: list[Variant] = Field(min_length=1)
    max_accuracy_drop: float = Field(ge=0)


Int8Operator = Literal["MatMul", "Attention"]


class ExportConfig(StrictModel):
    opset: int = Field(ge=14)
    parity_sentences: int = Field(ge=8)
    parity_atol: float = Field(gt=0)
    int8_operators: list[Int8Operator] = Field(min_length=1)
    int8_per_channel: bool


class Config(StrictModel):
    seed: int
    data: DataConfig
    model: ModelConfig
    train: TrainConfig
    baseline: BaselineConfig
    evaluate: EvaluateConfig
    bench: BenchConfig
    export: ExportConfig
    tracking: TrackingConfig


def load(path: Path = DEFAULT_PARAMS, profile: str = "full", overrides: Sequence[str] | None = None) -> Config:
    """params.yaml, the profile's overrides, then `--set`'s (`overrides`), validated."""
    return load_config(Config, path, profile, overrides)


def profiles(path: Path = DEFAULT_PARAMS) -> list[str]:
    """The named profiles of the params file (besides `full`, its top level)."""
    raw = read_yaml(path.read_text(encoding="utf-8")) if path.is_file() else None
    return list((raw or {}).get("profiles") or {})


def outputs_for(profile: str) -> OutputDirs:
    """The profile's output folders (honours PORTFOLIO_OUTPUT_ROOT, which tests and CI set)."""
    return OutputDirs.for_project(PROJECT, PROJECT_ROOT, profile)

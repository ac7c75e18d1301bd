"""Typed view of params.yaml: a typo or a wrong type fails at load time, naming the key."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import Field

from mlshared.params import StrictModel, TrackingConfig, load_config
from mlshared.paths import project_root

PROJECT_ROOT = project_root(__file__)
DEFAULT_PARAMS = PROJECT_ROOT / "params.yaml"


class CorpusConfig(StrictModel):
    include: list[str]
    suffixes: list[str]


class EmbeddingsConfig(StrictModel):
    model: str
    batch_size: int = Field(ge=1)
    threads: int | None = Field(ge=1)


class SplitterConfig(StrictModel):
    chunk_size: int = Field(ge=100)
    chunk_overlap: int = Field(ge=0)


class StoreConfig(StrictModel):
    collection: str
    url: str | None


class BM25Config(StrictModel):
    k1: float = Field(gt=0)
    b: float = Field(ge=0, le=1)


class RetrievalConfig(StrictModel):
    k: int = Field(ge=1)
    candidates: int = Field(ge=1)
    rrf_k: int = Field(ge=1)
    weights: dict[str, float]
    stemmer: str | None
    bm25: BM25Config
    title_field: bool
    rerank: bool


class AnswerConfig(StrictModel):
    max_sentences: int = Field(ge=1)
    min_confidence: float


class EvaluateConfig(StrictModel):
    squad: Path | None
    max_articles: int | None = Field(ge=1)
    calibration_fraction: float = Field(gt=0, lt=1)
    target_precision: float = Field(gt=0, le=1)
    recall_at: list[int]


class BenchConfig(StrictModel):
    chunks: int = Field(ge=1)
    queries: int = Field(ge=2)


class Config(StrictModel):
    """Every value comes from params.yaml (no code defaults to contradict it)."""

    seed: int
    corpus: CorpusConfig
    embeddings: EmbeddingsConfig
    splitter: SplitterConfig
    store: StoreConfig
    retrieval: RetrievalConfig
    answer: AnswerConfig
    evaluate: EvaluateConfig
    bench: BenchConfig
    tracking: TrackingConfig


def load(path: Path = DEFAULT_PARAMS, profile: str = "full", overrides: Sequence[str] | None = None) -> Config:
    """params.yaml, the profile's overrides, then `--set`'s (`overrides`), validated."""
    return load_config(Config, path, profile, overrides)

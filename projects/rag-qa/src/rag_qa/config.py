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
    include: list[str] = Field(default_factory=lambda: ["README.md"])
    suffixes: list[str] = Field(default_factory=lambda: [".md", ".markdown", ".txt", ".pdf"])


class EmbeddingsConfig(StrictModel):
    model: str = "default"
    batch_size: int = Field(64, ge=1)


class SplitterConfig(StrictModel):
    chunk_size: int = Field(800, ge=100)
    chunk_overlap: int = Field(120, ge=0)


class StoreConfig(StrictModel):
    collection: str = "rag-qa"
    url: str | None = None


class RetrievalConfig(StrictModel):
    k: int = Field(5, ge=1)
    candidates: int = Field(50, ge=1)
    rrf_k: int = Field(60, ge=1)
    weights: dict[str, float] = Field(default_factory=lambda: {"bm25": 1.0, "dense": 1.0})
    stemmer: str | None = "english"
    rerank: bool = False


class AnswerConfig(StrictModel):
    max_sentences: int = Field(2, ge=1)
    min_confidence: float = 0.0


class EvaluateConfig(StrictModel):
    squad: Path | None = None
    max_articles: int | None = Field(None, ge=1)
    calibration_fraction: float = Field(0.5, gt=0, lt=1)
    target_precision: float = Field(0.8, gt=0, le=1)
    recall_at: list[int] = Field(default_factory=lambda: [1, 5, 20])


class Config(StrictModel):
    seed: int = 42
    corpus: CorpusConfig = CorpusConfig()
    embeddings: EmbeddingsConfig = EmbeddingsConfig()
    splitter: SplitterConfig = SplitterConfig()
    store: StoreConfig = StoreConfig()
    retrieval: RetrievalConfig = RetrievalConfig()
    answer: AnswerConfig = AnswerConfig()
    evaluate: EvaluateConfig = EvaluateConfig()
    tracking: TrackingConfig = TrackingConfig(experiment="rag-qa", registered_model="rag-qa")


def load(path: Path = DEFAULT_PARAMS, profile: str = "full", overrides: Sequence[str] | None = None) -> Config:
    """params.yaml, the profile's overrides, then `--set`'s (`overrides`), validated."""
    return load_config(Config, path, profile, overrides)

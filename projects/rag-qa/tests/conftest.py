"""Fixtures: the real offline MiniLM, the quick profile's parameters and small real document folders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

from rag_qa import config as config_module
from rag_qa.config import Config
from rag_qa.embeddings import embeddings
from rag_qa.pipeline import RagSystem

DOCS = {
    "tesla.md": "# Nikola Tesla\n\nNikola Tesla was born in 1856 in Smiljan. He designed the alternating current "
    "induction motor.\n\nTesla worked for Thomas Edison in New York before starting his own laboratory.",
    "rhine.md": "# Rhine\n\nThe Rhine flows from the Swiss Alps to the North Sea. It is about 1,230 kilometres long."
    "\n\nBasel, Cologne and Rotterdam lie on the Rhine.",
    "notes/oxygen.txt": "Oxygen is the chemical element with atomic number 8. Joseph Priestley and Carl Wilhelm "
    "Scheele discovered it independently in the 1770s. Oxygen makes up about 21 percent of the air.",
}


class CountingEmbeddings(Embeddings):
    """The real model, counting the texts it embeds (what 'not re-embedded' is measured by)."""

    def __init__(self, inner: Embeddings) -> None:
        self.inner = inner
        self.embedded: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded += texts
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


@pytest.fixture(scope="session")
def config() -> Config:
    return config_module.load(config_module.DEFAULT_PARAMS, "quick")


@pytest.fixture(scope="session")
def minilm(config: Config) -> Embeddings:
    return embeddings(config.embeddings.model, config.embeddings.batch_size, config.embeddings.threads)


def write_docs(folder: Path, docs: dict[str, str] = DOCS) -> Path:
    for name, text in docs.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def counting(minilm: Embeddings) -> CountingEmbeddings:
    return CountingEmbeddings(minilm)


@pytest.fixture
def write() -> Callable[[Path, dict[str, str]], Path]:
    return write_docs


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_docs(tmp_path / "corpus")


@pytest.fixture
def system(config: Config, corpus: Path, tmp_path: Path) -> Iterator[RagSystem]:
    rag = RagSystem(config, tmp_path / "index")
    rag.ingest_folder(corpus)
    yield rag
    rag.close()

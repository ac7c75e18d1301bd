"""Ingestion: loaders, splitting, and incremental re-indexing through the record manager (real Qdrant, real MiniLM)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings

from mlshared.console import UserError
from rag_qa.answer import ExtractiveAnswerer
from rag_qa.config import Config
from rag_qa.documents import load_file, load_folder, split
from rag_qa.retrieval import HybridRetriever
from rag_qa.store import Index


def test_folder_loads_markdown_and_text_with_relative_sources(corpus: Path) -> None:
    loaded = load_folder(corpus)
    assert sorted(d.metadata["source"] for d in loaded.documents) == ["notes/oxygen.txt", "rhine.md", "tesla.md"]
    assert not loaded.skipped


def test_pdf_pages_are_loaded_with_page_numbers(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    path = tmp_path / "report.pdf"
    with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(path) as pdf:
        for text in ("Quarterly revenue grew by twelve percent.", "The board approved a new warehouse."):
            fig = plt.figure()
            fig.text(0.1, 0.5, text)
            pdf.savefig(fig)
            plt.close(fig)
    pages = load_file(path, "report.pdf")
    assert [p.metadata["page"] for p in pages] == [1, 2]
    assert "twelve percent" in pages[0].page_content and "warehouse" in pages[1].page_content


def test_unreadable_and_unsupported_files_are_explained(tmp_path: Path) -> None:
    (tmp_path / "broken.pdf").write_bytes(b"this is not a pdf")
    (tmp_path / "empty.txt").write_text("   \n", encoding="utf-8")
    (tmp_path / "slides.pptx").write_bytes(b"PK\x03\x04")
    loaded = load_folder(tmp_path)
    assert not loaded.documents
    assert any(m.startswith("broken.pdf: cannot be read") for m in loaded.skipped)
    assert any(m.startswith("empty.txt: no text found") for m in loaded.skipped)
    with pytest.raises(UserError, match=r"unsupported file type '\.pptx'"):
        load_file(tmp_path / "slides.pptx", "slides.pptx")


def test_chunks_are_numbered_per_source_and_respect_the_size(
    corpus: Path, write: Callable[[Path, dict[str, str]], Path]
) -> None:
    long_text = " ".join(f"Sentence number {i} talks about rivers and bridges." for i in range(80))
    write(corpus, {"long.md": long_text})
    chunks = split(load_folder(corpus).documents, chunk_size=300, chunk_overlap=50)
    long_chunks = [c for c in chunks if c.metadata["source"] == "long.md"]
    assert len(long_chunks) > 5
    assert all(len(c.page_content) <= 300 for c in chunks)
    assert [c.metadata["chunk_id"] for c in long_chunks[:3]] == ["long.md#0", "long.md#1", "long.md#2"]


def _index(config: Config, folder: Path, index: Index) -> dict[str, int]:
    chunks = split(load_folder(folder).documents, config.splitter.chunk_size, config.splitter.chunk_overlap)
    result = index.ingest(chunks, cleanup="full")
    return {key: int(value) for key, value in result.items()}  # type: ignore[call-overload]


def test_reingest_embeds_only_changes_and_removes_deleted_documents(
    config: Config, counting: Any, corpus: Path, tmp_path: Path
) -> None:
    index = Index(tmp_path / "index", "test", counting)
    try:
        first = _index(config, corpus, index)
        assert first["num_added"] == 3 and index.count() == 3
        counting.embedded.clear()

        second = _index(config, corpus, index)  # nothing changed
        assert second == {"num_added": 0, "num_updated": 0, "num_skipped": 3, "num_deleted": 0}
        assert counting.embedded == []  # not one text re-embedded

        (corpus / "rhine.md").write_text("# Rhine\n\nThe Rhine is 1,233 km long.", encoding="utf-8")
        (corpus / "tesla.md").unlink()
        third = _index(config, corpus, index)
        # only the changed file: its chunk, then its sentences (for the reranker and the answerer)
        assert counting.embedded == ["# Rhine\n\nThe Rhine is 1,233 km long.", "# Rhine", "The Rhine is 1,233 km long."]
        assert third["num_added"] == 1 and third["num_deleted"] == 2  # old Rhine chunk + the deleted file
        assert index.sources() == ["notes/oxygen.txt", "rhine.md"]
        assert "1,233 km" in next(c.text for c in index.chunks() if c.source == "rhine.md")
    finally:
        index.close()


def test_sentence_vectors_are_embedded_at_ingest_not_at_query_time(
    config: Config, counting: Any, corpus: Path, tmp_path: Path
) -> None:
    index = Index(tmp_path / "index", "test", counting)
    try:
        _index(config, corpus, index)
        counting.embedded.clear()
        retriever = HybridRetriever(index, config.retrieval.model_copy(update={"rerank": True}))
        hits = retriever.search("Who discovered oxygen?", k=3).hits
        answer = ExtractiveAnswerer(retriever, 2, 0.0).answer("Who discovered oxygen?")
        assert hits and "Priestley" in answer.text
        assert counting.embedded == []  # only the question was embedded (embed_query is not counted)
    finally:
        index.close()


def test_index_persists_on_disk(config: Config, minilm: Embeddings, corpus: Path, tmp_path: Path) -> None:
    index = Index(tmp_path / "index", "test", minilm)
    _index(config, corpus, index)
    index.close()
    reopened = Index(tmp_path / "index", "test", minilm)
    try:
        assert reopened.count() == 3
        assert _index(config, corpus, reopened)["num_skipped"] == 3  # the record manager persisted too
    finally:
        reopened.close()

"""Hybrid retrieval behaviour on a small real index: fusion, the source filter, reranking, empty cases."""

from __future__ import annotations

import numpy as np

from rag_qa.documents import sentences
from rag_qa.pipeline import RagSystem
from rag_qa.retrieval import BM25Index, HybridRetriever, source_words


def test_each_question_finds_its_document(system: RagSystem) -> None:
    cases = {
        "When was Tesla born?": "tesla.md",
        "How long is the Rhine river?": "rhine.md",
        "Who discovered oxygen?": "notes/oxygen.txt",
    }
    for question, source in cases.items():
        hits = system.retriever.search(question, k=3).hits
        assert hits[0].chunk.source == source, question


def test_fused_score_rewards_agreement(system: RagSystem) -> None:
    plain = HybridRetriever(system.index, system.config.retrieval.model_copy(update={"rerank": False}))
    hits = plain.search("Which cities lie on the Rhine?", k=3).hits
    top = hits[0]
    assert top.bm25_rank == 1 and top.dense_rank == 1
    c, w = system.config.retrieval.rrf_k, system.config.retrieval.weights
    assert top.score == w["bm25"] / (c + 1) + w["dense"] / (c + 1)
    assert all(h.score <= top.score for h in hits)


def test_source_filter_limits_both_retrievers(system: RagSystem) -> None:
    hits = system.retriever.search("When was Tesla born?", k=3, sources=["rhine.md", "notes/oxygen.txt"]).hits
    assert hits and {h.chunk.source for h in hits} <= {"rhine.md", "notes/oxygen.txt"}
    assert system.retriever.search("Tesla", k=3, sources=["missing.md"]).hits == []


def test_rerank_adds_a_sentence_level_vote(system: RagSystem) -> None:
    config = system.config.retrieval.model_copy(update={"rerank": True})  # the default in params.yaml
    retriever = HybridRetriever(system.index, config)
    hits = retriever.search("Who discovered oxygen?", k=3).hits
    assert hits[0].chunk.source == "notes/oxygen.txt"
    two_votes = (config.weights["bm25"] + config.weights["dense"]) / (config.rrf_k + 1)
    assert hits[0].score > two_votes  # three votes, not two


def test_bm25_without_matching_terms_returns_nothing() -> None:
    bm25 = BM25Index(["the river flows north", "oxygen is an element"], "english", k1=1.2, b=0.75)
    assert bm25.search("zebra quantum", k=2) == []
    assert bm25.search("rivers", k=2)[0][0] == 0  # the stemmer maps rivers -> river
    assert BM25Index([], None, k1=1.2, b=0.75).search("anything", k=3) == []


def test_sentences_split_prose_and_markdown() -> None:
    text = "# Title\n\nFirst sentence here. Second one follows! A third? Yes.\n\nNew paragraph"
    assert sentences(text) == [
        "# Title",
        "First sentence here.",
        "Second one follows!",
        "A third?",
        "Yes.",
        "New paragraph",
    ]


def test_an_empty_index_has_no_hits(system: RagSystem, tmp_path: object) -> None:
    empty = RagSystem(
        system.config.model_copy(update={"store": system.config.store.model_copy(update={"collection": "empty"})}),
        system.index.directory.parent / "empty",
    )
    try:
        assert empty.retriever.empty
        assert empty.retriever.search("anything").hits == []
    finally:
        empty.close()


def test_source_words_make_a_title_field() -> None:
    assert source_words("projects/churn-api/README.md") == "projects churn api README"
    assert source_words("Super_Bowl_50/003") == "Super Bowl 50 003"
    texts = ["It was completed in 1889 and is 330 metres tall.", "The river flows north to the sea."]
    sources = ["landmarks/Eiffel_Tower.md", "rivers/rhine.md"]
    plain = BM25Index(texts, "english", k1=1.2, b=0.9)
    titled = BM25Index([f"{source_words(s)}\n{t}" for s, t in zip(sources, texts, strict=True)], "english", 1.2, 0.9)
    assert plain.search("Eiffel Tower height", k=2) == []  # the passage never names its topic
    assert titled.search("Eiffel Tower height", k=2)[0][0] == 0  # its source name does


def test_the_retriever_indexes_source_names_when_the_title_field_is_on(system: RagSystem) -> None:
    assert system.config.retrieval.title_field  # params.yaml turns it on
    # "notes/oxygen.txt" -> "notes oxygen": the word "notes" occurs only in a source name
    position = system.retriever.bm25.search("notes", k=3)[0][0]
    assert system.retriever.chunks[position].source == "notes/oxygen.txt"


def test_in_memory_dense_search_matches_qdrant(system: RagSystem) -> None:
    retriever = system.retriever
    assert retriever.matrix is not None  # embedded Qdrant: searched in memory
    vector = np.asarray(system.index.embeddings.embed_query("Where does the Rhine flow?"), dtype=np.float32)
    in_memory = retriever._dense(vector, 3, None)
    retriever.matrix, saved = None, retriever.matrix
    try:
        by_qdrant = retriever._dense(vector, 3, None)
        filtered = retriever._dense(vector, 3, ["tesla.md"])
    finally:
        retriever.matrix = saved
    assert [p for p, _ in in_memory] == [p for p, _ in by_qdrant]
    assert np.allclose([s for _, s in in_memory], [s for _, s in by_qdrant], atol=1e-5)
    assert [p for p, _ in retriever._dense(vector, 3, ["tesla.md"])] == [p for p, _ in filtered]

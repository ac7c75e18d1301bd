"""Hybrid retrieval: BM25 (bm25s) and dense (Qdrant) candidates fused by weighted reciprocal-rank fusion.

RRF is written out here (a few lines) rather than through LangChain's EnsembleRetriever because the
answerer, the app and the evaluation need each candidate's per-retriever rank and score, and the
evaluation embeds thousands of questions in one batch; EnsembleRetriever returns bare documents
for one query at a time. The optional reranker re-scores the fused candidates by the best cosine
between the question and any single sentence of a chunk (a question usually matches one sentence,
while a chunk's vector averages several topics).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import bm25s
import numpy as np
import numpy.typing as npt

from rag_qa.config import RetrievalConfig
from rag_qa.documents import sentences
from rag_qa.store import Index, StoredChunk

Vector = npt.NDArray[np.float32]


@dataclass
class Hit:
    """One retrieved chunk with the evidence for its place in the ranking."""

    chunk: StoredChunk
    score: float  # the fused score (or the reranker's, when on)
    bm25_rank: int | None = None
    dense_rank: int | None = None
    bm25_score: float | None = None
    dense_score: float | None = None  # cosine similarity

    @property
    def chunk_id(self) -> str:
        return self.chunk.chunk_id


@dataclass
class Retrieval:
    query: str
    hits: list[Hit] = field(default_factory=list)
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage (embed, dense, bm25, fuse, rerank)


class BM25Index:
    """bm25s over the chunk texts, with optional Snowball stemming (PyStemmer) and English stopwords;
    k1 and b come from params.yaml (tuned on the calibration half of SQuAD's articles)."""

    def __init__(self, texts: Sequence[str], stemmer: str | None, k1: float, b: float) -> None:
        self.stemmer = _stemmer(stemmer)
        self.size = len(texts)
        self.model = bm25s.BM25(k1=k1, b=b)
        if texts:
            self.model.index(self._tokenize(texts), show_progress=False)

    def _tokenize(self, texts: Sequence[str]) -> bm25s.tokenization.Tokenized:
        return bm25s.tokenize(list(texts), stopwords="en", stemmer=self.stemmer, show_progress=False)

    def search(self, query: str, k: int, mask: npt.NDArray[np.float32] | None = None) -> list[tuple[int, float]]:
        """(chunk position, score) of the best `k` chunks with a positive score."""
        if not self.size:
            return []
        tokens = self._tokenize([query])
        if not tokens.ids[0]:  # only stopwords or punctuation
            return []
        k = min(k, self.size)
        docs, scores = self.model.retrieve(tokens, k=k, show_progress=False, weight_mask=mask, n_threads=1)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


def _stemmer(language: str | None) -> object | None:
    if not language:
        return None
    import Stemmer

    stemmer: object = Stemmer.Stemmer(language)
    return stemmer


_NAME_SEPARATORS = re.compile(r"[/\\_\-.#]+")


def source_words(source: str) -> str:
    """The words of a source name (`projects/churn-api/README.md` -> `projects churn api README`,
    `Super_Bowl_50/003` -> `Super Bowl 50 003`): a title field for BM25, since a chunk often leaves
    its topic implicit ("It was founded in 1851") while the file or article name states it."""
    stem = source.rsplit(".", 1)[0] if "/" not in source.rsplit(".", 1)[-1] else source
    return " ".join(part for part in _NAME_SEPARATORS.split(stem) if part)


class _Clock:
    """Seconds between laps, written into `stages` when there is one."""

    def __init__(self, stages: dict[str, float] | None) -> None:
        self.stages = stages
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        if self.stages is not None:
            self.stages[name] = now - self.last
        self.last = now


class HybridRetriever:
    """BM25 + dense over one index; rebuilt when the index changes (see `Index.version`)."""

    def __init__(self, index: Index, config: RetrievalConfig) -> None:
        self.index = index
        self.config = config
        self.version = index.version
        self.chunks = index.chunks()
        self.position = {chunk.point_id: i for i, chunk in enumerate(self.chunks)}
        texts = [f"{source_words(c.source)}\n{c.text}" if config.title_field else c.text for c in self.chunks]
        self.bm25 = BM25Index(texts, config.stemmer, config.bm25.k1, config.bm25.b)
        # Embedded Qdrant searches by brute force in Python: 135 ms per query at 63k chunks (`rag-qa bench`).
        # The same exact search as one matrix product over the stored vectors takes a few ms, so the
        # embedded case searches in memory; a Qdrant server (store.url) keeps its own HNSW search.
        self.matrix: Vector | None = None
        if not index.url and self.chunks:
            stored_vectors = index.stored_vectors()
            self.matrix = np.stack([stored_vectors[c.point_id] for c in self.chunks])
        self.source_ids = np.asarray([c.source for c in self.chunks], dtype=object)
        # Sentence vectors were embedded at ingest (store.SentenceStore); any chunk without them (an index
        # written by an older version) is embedded on first use and cached here.
        stored = index.sentences.load({c.point_id for c in self.chunks})
        self._sentences: dict[int, tuple[list[str], Vector]] = {
            self.position[point_id]: entry for point_id, entry in stored.items()
        }

    @property
    def empty(self) -> bool:
        return not self.chunks

    def sources(self) -> list[str]:
        return sorted({c.source for c in self.chunks})

    def embed(self, queries: Sequence[str]) -> Vector:
        return np.asarray(self.index.embeddings.embed_documents(list(queries)), dtype=np.float32)

    def search(self, query: str, k: int | None = None, sources: Sequence[str] | None = None) -> Retrieval:
        start = time.perf_counter()
        vector = np.asarray(self.index.embeddings.embed_query(query), dtype=np.float32)
        stages = {"embed": time.perf_counter() - start}
        hits = self.search_vector(query, vector, k, sources, stages)
        return Retrieval(query, hits, time.perf_counter() - start, stages)

    def search_vector(
        self,
        query: str,
        vector: Vector,
        k: int | None = None,
        sources: Sequence[str] | None = None,
        stages: dict[str, float] | None = None,
    ) -> list[Hit]:
        """Fused ranking for a query whose embedding is already known (the evaluation batches them);
        `stages` (when given) receives the seconds each step took (what `rag-qa bench` reports)."""
        k = k or self.config.k
        if self.empty:
            return []
        clock = _Clock(stages)
        n = self.config.candidates
        dense = self._dense(vector, n, sources)
        clock.lap("dense")
        mask = None
        if sources:
            wanted = set(sources)
            mask = np.array([c.source in wanted for c in self.chunks], dtype=np.float32)
        lexical = self.bm25.search(query, n, mask)
        clock.lap("bm25")
        hits = self._fuse(lexical, dense)
        clock.lap("fuse")
        if self.config.rerank:
            hits = self.rerank(query, vector, hits)
            clock.lap("rerank")
        return hits[:k]

    def _dense(self, vector: Vector, n: int, sources: Sequence[str] | None) -> list[tuple[int, float]]:
        if self.matrix is not None:
            return self._dense_in_memory(vector, n, sources)
        from qdrant_client import models

        query_filter = None
        if sources:
            query_filter = models.Filter(
                must=[models.FieldCondition(key="metadata.source", match=models.MatchAny(any=list(sources)))]
            )
        result = self.index.client.query_points(
            self.index.collection, query=vector.tolist(), limit=n, query_filter=query_filter, with_payload=False
        )
        found = []
        for point in result.points:
            position = self.position.get(str(point.id))
            if position is not None:  # a point added by another process since this retriever was built
                found.append((position, float(point.score)))
        return found

    def _dense_in_memory(self, vector: Vector, n: int, sources: Sequence[str] | None) -> list[tuple[int, float]]:
        """Exact cosine top-n over the stored unit vectors (what embedded Qdrant computes, minus its overhead)."""
        assert self.matrix is not None
        scores = self.matrix @ vector
        if sources:
            scores = np.where(np.isin(self.source_ids, list(sources)), scores, -np.inf)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if np.isfinite(scores[i])]

    def _fuse(self, lexical: list[tuple[int, float]], dense: list[tuple[int, float]]) -> list[Hit]:
        c = self.config.rrf_k
        weights = self.config.weights
        hits: dict[int, Hit] = {}
        for rank, (position, score) in enumerate(lexical, start=1):
            hit = hits.setdefault(position, Hit(self.chunks[position], 0.0))
            hit.bm25_rank, hit.bm25_score = rank, score
            hit.score += weights.get("bm25", 1.0) / (c + rank)
        for rank, (position, score) in enumerate(dense, start=1):
            hit = hits.setdefault(position, Hit(self.chunks[position], 0.0))
            hit.dense_rank, hit.dense_score = rank, score
            hit.score += weights.get("dense", 1.0) / (c + rank)
        return sorted(hits.values(), key=lambda h: (-h.score, h.chunk.point_id))

    def sentence_vectors(self, hits: Sequence[Hit]) -> list[tuple[list[str], Vector]]:
        """Each hit's sentences and their unit vectors, embedded once per chunk and cached (the answerer and
        the reranker ask for the same chunks again and again)."""
        positions = [self.position[h.chunk.point_id] for h in hits]
        missing = [p for p in dict.fromkeys(positions) if p not in self._sentences]
        if missing:
            pieces = [sentences(self.chunks[p].text) or [self.chunks[p].text] for p in missing]
            vectors = self.embed([s for piece in pieces for s in piece])
            offset = 0
            for p, piece in zip(missing, pieces, strict=True):
                self._sentences[p] = (piece, vectors[offset : offset + len(piece)])
                offset += len(piece)
        return [self._sentences[p] for p in positions]

    def rerank(self, query: str, vector: Vector, hits: list[Hit]) -> list[Hit]:
        """Add a third RRF vote: the rank by the best question-sentence cosine of each candidate."""
        if not hits:
            return hits
        best = [float(np.max(vectors @ vector)) for _, vectors in self.sentence_vectors(hits)]
        c = self.config.rrf_k
        order = np.argsort(-np.asarray(best), kind="stable")
        for rank, i in enumerate(order, start=1):
            hits[i].score += self.config.weights.get("rerank", 1.0) / (c + rank)
        return sorted(hits, key=lambda h: (-h.score, h.chunk.point_id))

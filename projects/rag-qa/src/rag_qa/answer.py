"""The offline answerer: the best supporting sentence(s) of the retrieved chunks, with citations.

A sentence's score mixes its cosine similarity to the question (MiniLM) with the share of the
question's content words it contains; the answer's confidence is the best sentence's score, and
below `answer.min_confidence` (calibrated by `rag-qa evaluate` on SQuAD's unanswerable questions)
the answerer abstains. It cannot synthesise: it never combines facts from two places into one
sentence, never computes, and answers "why/how" questions only when one sentence says it.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rag_qa.abstention import AbstentionModel, features
from rag_qa.retrieval import Hit, HybridRetriever, Vector

NOT_FOUND = "Not in the documents: no passage supports an answer with enough confidence."
LEXICAL_WEIGHT = 0.5
_STOPWORD_TEXT = (
    "a an the of in on at to for from by with and or "
    "is are was were be been being do does did what which who whom "
    "whose when where why how that this these those it its as into than "
    "then there their they he she his her "
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass(frozen=True)
class Citation:
    chunk_id: str
    source: str
    text: str
    retrieval_score: float


@dataclass
class Answer:
    question: str
    text: str
    abstained: bool
    confidence: float
    citations: list[Citation] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)  # the answer's sentences, each from a cited chunk
    hits: list[Hit] = field(default_factory=list)
    mode: str = "extractive"
    evidence: list[float] = field(default_factory=list)  # abstention.FEATURES, what the abstention model reads
    unanswerable_probability: float | None = None  # None when no abstention model is loaded


def normalize(text: str) -> str:
    """SQuAD's answer normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def content_words(text: str) -> set[str]:
    return {w for w in normalize(text).split() if w not in _STOPWORDS}


def lexical_overlap(question: str, sentence: str) -> float:
    """Share of the question's content words found in the sentence."""
    wanted = content_words(question)
    return len(wanted & content_words(sentence)) / len(wanted) if wanted else 0.0


def token_f1(prediction: str, gold: str) -> float:
    pred, ref = normalize(prediction).split(), normalize(gold).split()
    common = sum((Counter(pred) & Counter(ref)).values())
    if not pred or not ref or not common:
        return float(pred == ref)
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def supported(sentence: str, context: str, threshold: float = 0.8) -> bool:
    """Faithfulness without an LLM judge: most of the sentence's content words occur in the cited context."""
    words = content_words(sentence)
    return not words or len(words & content_words(context)) / len(words) >= threshold


@dataclass(frozen=True)
class ScoredSentence:
    text: str
    hit: Hit
    cosine: float
    overlap: float

    @property
    def score(self) -> float:
        return (1 - LEXICAL_WEIGHT) * self.cosine + LEXICAL_WEIGHT * self.overlap


class ExtractiveAnswerer:
    """Abstains when the abstention model (if given) says the question is likely unanswerable, else when the
    best sentence's score is below `min_confidence`."""

    def __init__(
        self,
        retriever: HybridRetriever,
        max_sentences: int,
        min_confidence: float,
        abstention: AbstentionModel | None = None,
    ) -> None:
        self.retriever = retriever
        self.max_sentences = max_sentences
        self.min_confidence = min_confidence
        self.abstention = abstention

    def score_sentences(self, question: str, vector: Vector, hits: Sequence[Hit]) -> list[ScoredSentence]:
        scored = []
        for hit, (texts, vectors) in zip(hits, self.retriever.sentence_vectors(hits), strict=True):
            cosines = vectors @ vector
            scored += [
                ScoredSentence(s, hit, float(c), lexical_overlap(question, s))
                for s, c in zip(texts, cosines, strict=True)
            ]
        return sorted(scored, key=lambda s: -s.score)

    def answer(
        self, question: str, k: int | None = None, sources: Sequence[str] | None = None, vector: Vector | None = None
    ) -> Answer:
        if vector is None:
            vector = np.asarray(self.retriever.index.embeddings.embed_query(question), dtype=np.float32)
        hits = self.retriever.search_vector(question, vector, k, sources)
        return self.answer_from_hits(question, vector, hits)

    def answer_from_hits(self, question: str, vector: Vector, hits: list[Hit]) -> Answer:
        scored = self.score_sentences(question, vector, hits)
        evidence = features(question, scored, hits)
        if not scored:
            return Answer(question, NOT_FOUND, abstained=True, confidence=0.0, hits=hits, evidence=evidence)
        confidence = scored[0].score
        chosen = scored[: self.max_sentences]
        # A second sentence only when it is nearly as good as the first: otherwise it dilutes the answer.
        chosen = [chosen[0], *[s for s in chosen[1:] if s.score >= 0.9 * confidence]]
        citations: dict[str, Citation] = {}
        for s in chosen:
            citations.setdefault(
                s.hit.chunk_id, Citation(s.hit.chunk_id, s.hit.chunk.source, s.hit.chunk.text, s.hit.score)
            )
        probability = None
        if self.abstention is not None:
            abstained, probability = self.abstention.abstains(evidence)
        else:
            abstained = confidence < self.min_confidence
        text = NOT_FOUND if abstained else " ".join(f"{s.text} [{s.hit.chunk_id}]" for s in chosen)
        return Answer(
            question,
            text,
            abstained=abstained,
            confidence=confidence,
            citations=[] if abstained else list(citations.values()),
            sentences=[] if abstained else [s.text for s in chosen],
            hits=hits,
            evidence=evidence,
            unanswerable_probability=probability,
        )

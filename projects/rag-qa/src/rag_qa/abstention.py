"""Abstention: a small logistic regression over retrieval and answer evidence says how likely a question is
unanswerable from the retrieved passages.

One score (the best sentence's) separated SQuAD v2's unanswerable questions badly (held-out ROC AUC
0.64); these twelve features, fitted by `rag-qa evaluate` on the calibration articles' answerable and
unanswerable questions (scikit-learn, standardised), do better (about 0.68; experiments/abstention_sweep.py,
docs/experiments.md). The fitted weights and the calibrated threshold are saved as JSON beside the index
(`models/abstention.json`: no pickle, readable), and the answerer applies them with numpy. Without that
file the answerer falls back to `answer.min_confidence` on the best sentence's score.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from rag_qa.answer import ScoredSentence
    from rag_qa.retrieval import Hit

FILE_NAME = "abstention.json"
FEATURES = (
    "answer_score",  # the best sentence's 0.5 x cosine + 0.5 x overlap
    "best_cosine",  # that sentence's cosine to the question
    "best_overlap",  # share of the question's content words in it
    "max_cosine",  # best cosine of any sentence of the top passages
    "top_dense",  # best chunk cosine
    "top_bm25",  # best BM25 score
    "bm25_margin",  # (best - second) / best BM25 score of the passages
    "fused_margin",  # fused score gap between the first two passages
    "agree",  # the first passage is first for BM25 and dense alike
    "missing_share",  # share of the question's content words absent from the first passage
    "negation",  # the question contains a negation (a common way SQuAD v2 makes a question unanswerable)
    "question_words",  # number of content words in the question
)
_NEGATIONS = frozenset(["not", "never", "no", "none", "nobody", "nothing", "neither", "nor", "without", "cannot"])


def features(question: str, scored: Sequence[ScoredSentence], hits: Sequence[Hit]) -> list[float]:
    """The evidence vector, in FEATURES order (zeros where there is no passage)."""
    from rag_qa.answer import content_words  # answer.py imports this module

    if not scored or not hits:
        return [0.0] * len(FEATURES)
    best = scored[0]
    bm25 = sorted((h.bm25_score for h in hits if h.bm25_score is not None), reverse=True)
    top_bm25 = bm25[0] if bm25 else 0.0
    second = bm25[1] if len(bm25) > 1 else 0.0
    words = content_words(question)
    missing = words - content_words(hits[0].chunk.text)
    tokens = set(question.lower().replace("n't", " not").split())
    return [
        best.score,
        best.cosine,
        best.overlap,
        max(s.cosine for s in scored),
        max((h.dense_score for h in hits if h.dense_score is not None), default=0.0),
        top_bm25,
        (top_bm25 - second) / top_bm25 if top_bm25 > 0 else 0.0,
        hits[0].score - hits[1].score if len(hits) > 1 else hits[0].score,
        float(hits[0].bm25_rank == 1 and hits[0].dense_rank == 1),
        len(missing) / len(words) if words else 0.0,
        float(bool(tokens & _NEGATIONS)),
        float(len(words)),
    ]


@dataclass(frozen=True)
class AbstentionModel:
    """Standardise, then logistic regression; abstain when P(unanswerable) >= threshold."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    threshold: float
    target_precision: float
    fitted_on: str

    def probability(self, x: Sequence[float] | npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """P(unanswerable) for one feature vector or a matrix of them."""
        z = (np.asarray(x, dtype=np.float64) - np.asarray(self.mean)) / np.asarray(self.scale)
        logit = z @ np.asarray(self.coef) + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-logit)), dtype=np.float64)

    def abstains(self, x: Sequence[float]) -> tuple[bool, float]:
        p = float(self.probability(x))
        return p >= self.threshold, p

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path) -> AbstentionModel | None:
        """The saved model, or None when there is none or it was written for other features."""
        if not path.is_file():
            return None
        model = cls(**json.loads(path.read_text(encoding="utf-8")))
        return model if tuple(model.features) == FEATURES else None


def fit(x: npt.NDArray[np.float64], unanswerable: npt.NDArray[np.bool_], seed: int) -> AbstentionModel:
    """Fit on the calibration questions (threshold set later by `with_threshold`)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    scale = [s if s > 0 else 1.0 for s in scaler.scale_]
    regression = LogisticRegression(max_iter=2000, C=0.1, random_state=seed)
    regression.fit((x - scaler.mean_) / np.asarray(scale), unanswerable)
    return AbstentionModel(
        features=list(FEATURES),
        mean=[float(m) for m in scaler.mean_],
        scale=[float(s) for s in scale],
        coef=[float(c) for c in regression.coef_[0]],
        intercept=float(regression.intercept_[0]),
        threshold=math.inf,
        target_precision=0.0,
        fitted_on="",
    )

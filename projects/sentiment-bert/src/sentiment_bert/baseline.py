"""The classical baseline: TF-IDF word n-grams + logistic regression, a scikit-learn pipeline.

It answers "what does the transformer buy us?" on the same splits, and it is a useful contrast
in the behavioural tests: bag-of-n-grams cannot represent negation scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from sentiment_bert.config import BaselineConfig
from sentiment_bert.data import LABEL, TEXT
from sentiment_bert.inference import FloatArray


def build(config: BaselineConfig, seed: int) -> Pipeline:
    return Pipeline(
        [
            (
                "tfidf",
                TfidfVectorizer(
                    ngram_range=(1, config.ngram_max),
                    min_df=config.min_df,
                    sublinear_tf=config.sublinear_tf,
                    lowercase=True,
                    # Keep one-character tokens and apostrophe pieces: SST-2 is tokenised ("n't", "'s", "!").
                    token_pattern=r"(?u)n't|\b\w+\b|[!?]",
                ),
            ),
            ("logreg", LogisticRegression(C=config.C, max_iter=2000, random_state=seed)),
        ]
    )


@dataclass
class TfidfClassifier:
    """The fitted pipeline behind the same `predict_proba(texts)` interface as the transformers."""

    pipeline: Pipeline
    name: str = "tfidf-logreg"

    def predict_proba(self, texts: Sequence[str], batch_size: int = 32) -> FloatArray:
        del batch_size  # one vectorised call; the argument exists for interface compatibility
        return np.asarray(self.pipeline.predict_proba(list(texts))[:, 1], dtype=np.float64)

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.pipeline, path)
        return path

    @classmethod
    def load(cls, path: Path) -> TfidfClassifier:
        return cls(joblib.load(path))


def fit(train: pd.DataFrame, config: BaselineConfig, seed: int) -> TfidfClassifier:
    return TfidfClassifier(build(config, seed).fit(train[TEXT].tolist(), train[LABEL].to_numpy()))

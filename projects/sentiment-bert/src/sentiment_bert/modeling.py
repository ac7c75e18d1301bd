"""The classifier's architecture: transformers' own sequence-classification head on the encoder.

For the bundled all-MiniLM-L6-v2 that is `BertForSequenceClassification`, which reads BERT's pooler (a
dense + tanh layer on [CLS]). A linear layer on the mean of the token vectors, the pooling the encoder was
trained with, was tried and did not beat it (docs/experiments.md, block 6); it lives in
`experiments/mean_pooling.py`, which builds its model through `train.Extension.new_model`.
`load_classifier` is how this package loads every saved model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import AutoModelForSequenceClassification


def new_classifier(location: str, labels: tuple[str, ...], local_files_only: bool) -> Any:
    """A pretrained encoder with a fresh classification head; seed the RNG first, it initialises the head."""
    return AutoModelForSequenceClassification.from_pretrained(
        location,
        local_files_only=local_files_only,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={name: i for i, name in enumerate(labels)},
    )


def load_classifier(model_dir: Path, **kwargs: Any) -> Any:
    """A saved fine-tuned model (`save_pretrained` layout), whatever architecture its config.json names."""
    return AutoModelForSequenceClassification.from_pretrained(str(model_dir), **kwargs)

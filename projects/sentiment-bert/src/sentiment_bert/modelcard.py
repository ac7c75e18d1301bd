"""The model card saved beside the weights: a README with the Hugging Face YAML header.

`train` writes it with validation metrics; `evaluate` rewrites it with the test (GLUE dev)
metrics and behavioural pass rates, so the card never carries a number a run did not produce.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DATASET_ID = "stanfordnlp/sst2"


@dataclass
class CardFacts:
    base_model: str
    max_length: int
    train_rows: int
    validation_rows: int
    train_seconds: float
    hyperparameters: Mapping[str, Any]
    validation_metrics: Mapping[str, float]
    weights: str = ""  # which weights are the model, in words (see train.kept_weights)
    test_metrics: Mapping[str, float] = field(default_factory=dict)
    behaviour_pass_rates: Mapping[str, float] = field(default_factory=dict)


def header(facts: CardFacts) -> dict[str, Any]:
    metrics_source = facts.test_metrics or facts.validation_metrics
    split = "validation (GLUE SST-2 dev, 872 sentences)" if facts.test_metrics else "held-out slice of train"
    return {
        "language": ["en"],
        "license": "apache-2.0",
        "library_name": "transformers",
        "pipeline_tag": "text-classification",
        "base_model": facts.base_model,
        "datasets": [DATASET_ID],
        "metrics": ["accuracy", "f1"],
        "tags": ["sentiment-analysis", "sst2", "onnx"],
        "model-index": [
            {
                "name": "sentiment-bert",
                "results": [
                    {
                        "task": {"type": "text-classification", "name": "Sentiment analysis"},
                        "dataset": {"name": "SST-2", "type": DATASET_ID, "split": split},
                        "metrics": [
                            {"type": name, "value": round(float(value), 4), "name": name.replace("_", " ").title()}
                            for name, value in metrics_source.items()
                        ],
                    }
                ],
            }
        ],
    }


def render(facts: CardFacts) -> str:
    head = yaml.safe_dump(header(facts), sort_keys=False, allow_unicode=True).strip()
    hp = "\n".join(f"- `{k}`: {v}" for k, v in facts.hyperparameters.items())
    if facts.validation_rows:
        rows = f"with {facts.validation_rows:,} held out for early stopping; the model is {facts.weights}"
        val = "- Validation (held-out slice of train, used for model selection): " + ", ".join(
            f"{k} {v:.4f}" for k, v in facts.validation_metrics.items()
        )
    else:  # a refit
        rows = f"every row of the training file (no early stopping); the model is {facts.weights}"
        val = (
            "- Validation: none; this model is the refit on every training row. Its recipe was chosen beforehand "
            "on a leak-free held-out split (`sentiment-bert train --profile select`)."
        )
    test = (
        ", ".join(f"{k} {v:.4f}" for k, v in facts.test_metrics.items())
        if facts.test_metrics
        else "not evaluated yet (run `sentiment-bert evaluate`)"
    )
    behaviour = (
        "\n".join(f"- {name}: {rate:.1%} of cases pass" for name, rate in facts.behaviour_pass_rates.items())
        or "- not evaluated yet"
    )
    return f"""---
{head}
---

# sentiment-bert: {facts.base_model} fine-tuned on SST-2

Binary sentiment (0 = negative, 1 = positive) for English sentences, fine-tuned from
`{facts.base_model}` on {facts.train_rows:,} sentences of SST-2 (GLUE train), {rows}.
Inputs are truncated to {facts.max_length} WordPiece tokens.

## Results

{val}
- Test (GLUE SST-2 dev, never used for training or selection): {test}

Behavioural tests (CheckList-style, generated from templates in `sentiment_bert.behaviour`):

{behaviour}

## Training

Fine-tuned with the transformers `Trainer` on CPU in {facts.train_seconds / 60:.1f} minutes.

{hp}

## Limitations

- SST-2 is single-domain (movie-review snippets, lower-cased and tokenised); expect lower accuracy on
  tweets, product reviews or long documents, and no notion of neutral or mixed sentiment.
- {_weakest(facts.behaviour_pass_rates)}
- The base model was trained as a sentence-embedding model; its SST-2 accuracy is below the
  task-specific distilled encoders of the literature.
- English only; sarcasm and domain-specific vocabulary are not handled reliably.
"""


def _weakest(rates: Mapping[str, float]) -> str:
    weak = sorted((rate, name) for name, rate in rates.items() if rate < 0.9)
    if not rates:
        return "Behavioural tests have not been run on this model yet."
    if not weak:
        return "Every behavioural test passes on at least 90% of its cases; the suite is small, not exhaustive."
    listed = ", ".join(f"{name} ({rate:.0%})" for rate, name in weak)
    return f"Behavioural tests passing on fewer than 90% of their cases: {listed}."


def write(model_dir: Path, facts: CardFacts) -> Path:
    path = model_dir / "README.md"
    path.write_text(render(facts), encoding="utf-8")
    return path

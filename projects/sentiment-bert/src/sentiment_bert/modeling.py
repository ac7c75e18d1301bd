"""The classifier's architecture: which summary of the sentence the classification layer reads.

transformers' `BertForSequenceClassification` reads the pooler: a dense + tanh layer on the [CLS]
token. all-MiniLM-L6-v2 was never trained through either. Its pooler weights are left over from
MiniLM's initialisation, and sentence-transformers trained it on the **mean of the token vectors**.
A linear probe on the frozen encoder shows the gap (logistic regression on 6,000 training rows,
scored on the 1,000 validation sentences): pooler 0.712, [CLS] 0.746, mean 0.783. `pooling: mean`
classifies that mean instead, with the same dropout and linear layer.

The mean-pooled model is a registered transformers architecture (`model_type: bert-mean-pooled`).
It saves and loads with `save_pretrained` / `AutoModelForSequenceClassification.from_pretrained`
once this module is imported. `load_classifier` is how this package loads every saved model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import AutoConfig, AutoModelForSequenceClassification, BertConfig
from transformers.modeling_outputs import SequenceClassifierOutput
from transformers.models.bert.modeling_bert import BertModel, BertPreTrainedModel

from mlshared.console import UserError
from sentiment_bert.config import Pooling

MEAN_POOLED = "bert-mean-pooled"


class MeanPooledBertConfig(BertConfig):  # type: ignore[no-untyped-call]  # transformers' __init_subclass__
    model_type = MEAN_POOLED


class MeanPooledBertForSequenceClassification(BertPreTrainedModel):  # type: ignore[no-untyped-call]
    """BERT with a linear classifier on the attention-masked mean of the last layer's token vectors."""

    config_class = MeanPooledBertConfig

    def __init__(self, config: MeanPooledBertConfig) -> None:
        super().__init__(config)
        if config.num_labels is None:
            raise ValueError("config.num_labels is required")
        self.num_labels: int = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        dropout = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(config.hidden_size, self.num_labels)
        self.post_init()  # type: ignore[no-untyped-call]

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> SequenceClassifierOutput:
        if attention_mask is None:
            if input_ids is None:
                raise ValueError("input_ids is required")
            attention_mask = torch.ones_like(input_ids)
        hidden = self.bert(
            input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, return_dict=True, **kwargs
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        logits = self.classifier(self.dropout(pooled))
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
        return SequenceClassifierOutput(loss=loss, logits=logits)


AutoConfig.register(MEAN_POOLED, MeanPooledBertConfig)
AutoModelForSequenceClassification.register(MeanPooledBertConfig, MeanPooledBertForSequenceClassification)


def new_classifier(location: str, pooling: Pooling, labels: tuple[str, ...], local_files_only: bool) -> Any:
    """A pretrained encoder with a fresh classification head; seed the RNG first, it initialises the head."""
    label_maps: dict[str, Any] = {
        "num_labels": len(labels),
        "id2label": dict(enumerate(labels)),
        "label2id": {name: i for i, name in enumerate(labels)},
    }
    if pooling == "cls":
        return AutoModelForSequenceClassification.from_pretrained(
            location, local_files_only=local_files_only, **label_maps
        )
    base = AutoConfig.from_pretrained(location, local_files_only=local_files_only)
    if base.model_type != "bert":
        raise UserError(
            f"model.pooling: mean needs a BERT-architecture checkpoint; {location!r} is a {base.model_type!r} model.",
            hint="Use model.pooling: cls (the architecture's own classification head) with this checkpoint.",
        )
    dropped = {"model_type", "architectures", "transformers_version"}
    fields = {k: v for k, v in base.to_dict().items() if k not in dropped}
    config = MeanPooledBertConfig(**{**fields, **label_maps})
    return MeanPooledBertForSequenceClassification.from_pretrained(
        location, config=config, local_files_only=local_files_only
    )


def load_classifier(model_dir: Path, **kwargs: Any) -> Any:
    """A saved fine-tuned model of either pooling (the registration above is what makes `mean` loadable)."""
    return AutoModelForSequenceClassification.from_pretrained(str(model_dir), **kwargs)

"""Experiment (docs/experiments.md, block 6): a classifier on the mean of the token vectors instead of the pooler.

transformers' `BertForSequenceClassification` reads the pooler: a dense + tanh layer on the [CLS]
token. all-MiniLM-L6-v2 was never trained through either. Its pooler weights are left over from
MiniLM's initialisation, and sentence-transformers trained it on the **mean of the token vectors**.
A linear probe on the frozen encoder shows the gap (logistic regression on 6,000 training rows,
scored on the 1,000 validation sentences): pooler 0.712, [CLS] 0.746, mean 0.783. This head classifies
that mean instead, with the same dropout and linear layer. Fine-tuned, it did not beat the pooler
(three run seeds: 2,675 of 3,000 validation sentences right against 2,684), so the package keeps
transformers' head and this stays here.

    python experiments/mean_pooling.py --profile select [--set train.run_seed=1 --set train.cpu_bf16=true]

trains a select run through `sentiment_bert.train` with this head (`Extension.new_model`), recording
`pooling: mean` with the recipe. The model is a registered transformers architecture
(`model_type: bert-mean-pooled`): once `register()` has run (importing this module runs it),
`AutoModelForSequenceClassification.from_pretrained` loads it, which `soups.py` relies on.
"""

from __future__ import annotations

from typing import Any

import torch
import typer
from torch import nn
from transformers import AutoConfig, AutoModelForSequenceClassification, BertConfig
from transformers.modeling_outputs import SequenceClassifierOutput
from transformers.models.bert.modeling_bert import BertModel, BertPreTrainedModel

from mlshared.cli_options import OverridesOpt, ParamsOpt, ProfileOpt
from mlshared.console import UserError, console, friendly_errors
from sentiment_bert import config as config_module
from sentiment_bert.train import Extension, TrainResult, train

MEAN_POOLED = "bert-mean-pooled"
LOADING = """
## Loading

The classifier reads the mean of the token vectors, the pooling the base model was trained with,
instead of BERT's pooler. That head is the `bert-mean-pooled` architecture of the sentiment-bert
project's `experiments/mean_pooling.py`: its `register()` (run on import) registers it, and then
`AutoModelForSequenceClassification.from_pretrained` loads this folder.
"""


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


def register() -> None:
    """Make the auto classes load a saved mean-pooled model (idempotent)."""
    AutoConfig.register(MEAN_POOLED, MeanPooledBertConfig, exist_ok=True)
    AutoModelForSequenceClassification.register(
        MeanPooledBertConfig, MeanPooledBertForSequenceClassification, exist_ok=True
    )


register()


def new_classifier(location: str, labels: tuple[str, ...], local_files_only: bool) -> Any:
    """A pretrained BERT encoder with a fresh mean-pooled head; seed the RNG first, it initialises the head."""
    base = AutoConfig.from_pretrained(location, local_files_only=local_files_only)
    if base.model_type != "bert":
        raise UserError(
            f"Mean pooling needs a BERT-architecture checkpoint; {location!r} is a {base.model_type!r} model.",
            hint="Train it with `sentiment-bert train`, whose head is the architecture's own.",
        )
    dropped = {"model_type", "architectures", "transformers_version"}
    fields = {k: v for k, v in base.to_dict().items() if k not in dropped}
    label_maps = {
        "num_labels": len(labels),
        "id2label": dict(enumerate(labels)),
        "label2id": {name: i for i, name in enumerate(labels)},
    }
    config = MeanPooledBertConfig(**{**fields, **label_maps})
    return MeanPooledBertForSequenceClassification.from_pretrained(
        location, config=config, local_files_only=local_files_only
    )


# Not registered in MLflow: the registry's pyfunc loads with the package alone, which does not know this head.
EXTENSION = Extension(recipe={"pooling": "mean"}, new_model=new_classifier, register=False)


def train_mean_pooled(config: config_module.Config, profile: str) -> TrainResult:
    result = train(config, profile, config_module.outputs_for(profile), extension=EXTENSION)
    card = result.model_dir / "README.md"
    card.write_text(card.read_text(encoding="utf-8") + LOADING, encoding="utf-8")
    return result


app = typer.Typer(help=__doc__.split("\n\n")[0] if __doc__ else None, add_completion=False)


@app.command()
@friendly_errors
def main(
    profile: ProfileOpt = "select",
    params: ParamsOpt = config_module.DEFAULT_PARAMS,
    overrides: OverridesOpt = None,
) -> None:
    """Train a select run (or any profile's) with the mean-pooled head; it writes where that profile writes."""
    result = train_mean_pooled(config_module.load(params, profile, overrides), profile)
    console.print(f"Mean-pooled model in {result.model_dir}; score it with `python experiments/soups.py`.")


if __name__ == "__main__":
    app()

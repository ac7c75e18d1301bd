"""The mean-pooled classifier: what its head reads, and that it saves and loads like any transformers model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from mlshared.console import UserError
from sentiment_bert import checkpoint
from sentiment_bert.config import Pooling
from sentiment_bert.data import LABELS
from sentiment_bert.export import export_onnx, fused_operators, parity
from sentiment_bert.modeling import (
    MEAN_POOLED,
    MeanPooledBertForSequenceClassification,
    load_classifier,
    new_classifier,
)

pytestmark = pytest.mark.slow  # loads the pretrained encoder several times and exports one model to ONNX

# "[CLS] a gripping , funny film [SEP]" in the bundled WordPiece vocabulary, then two pads.
IDS = torch.tensor([[101, 1037, 13940, 1010, 6057, 2143, 102, 0, 0]])
MASK = torch.tensor([[1, 1, 1, 1, 1, 1, 1, 0, 0]])


def _fresh(pooling: Pooling, seed: int = 0) -> Any:
    torch.manual_seed(seed)
    return new_classifier(str(checkpoint.default_path()), pooling, LABELS, local_files_only=True).eval()


@pytest.fixture(scope="module")
def mean_model() -> Any:
    return _fresh("mean")


def test_the_head_reads_the_masked_mean_of_the_token_vectors(mean_model: Any) -> None:
    with torch.inference_mode():
        hidden = mean_model.bert(IDS[:, :7]).last_hidden_state
        expected = mean_model.classifier(hidden.mean(dim=1))
        logits = mean_model(input_ids=IDS, attention_mask=MASK).logits
    torch.testing.assert_close(logits, expected, atol=1e-5, rtol=1e-5)


def test_padding_does_not_change_the_logits(mean_model: Any) -> None:
    with torch.inference_mode():
        padded = mean_model(input_ids=IDS, attention_mask=MASK).logits
        unpadded = mean_model(input_ids=IDS[:, :7], attention_mask=MASK[:, :7]).logits
    torch.testing.assert_close(padded, unpadded, atol=1e-5, rtol=1e-5)


def test_the_encoder_is_pretrained_and_only_the_head_is_new(mean_model: Any) -> None:
    pooler_model = _fresh("cls", seed=1)
    for name, weight in pooler_model.bert.encoder.state_dict().items():
        torch.testing.assert_close(mean_model.bert.encoder.state_dict()[name], weight)
    assert not torch.equal(mean_model.classifier.weight, _fresh("mean", seed=1).classifier.weight)
    torch.testing.assert_close(mean_model.classifier.weight, _fresh("mean", seed=0).classifier.weight)
    assert mean_model.config.id2label == dict(enumerate(LABELS))


def test_a_saved_mean_pooled_model_loads_through_the_auto_class(mean_model: Any, tmp_path: Path) -> None:
    mean_model.save_pretrained(tmp_path)
    loaded = load_classifier(tmp_path).eval()
    assert isinstance(loaded, MeanPooledBertForSequenceClassification)
    assert loaded.config.model_type == MEAN_POOLED
    with torch.inference_mode():
        torch.testing.assert_close(
            loaded(input_ids=IDS, attention_mask=MASK).logits, mean_model(input_ids=IDS, attention_mask=MASK).logits
        )


def test_mean_pooling_refuses_a_checkpoint_that_is_not_bert(tmp_path: Path) -> None:
    from transformers import DistilBertConfig, DistilBertModel

    tiny = DistilBertConfig(vocab_size=50, dim=16, n_layers=1, n_heads=2, hidden_dim=32, max_position_embeddings=16)
    DistilBertModel(tiny).save_pretrained(tmp_path)
    with pytest.raises(UserError, match="'distilbert' model") as error:
        new_classifier(str(tmp_path), "mean", LABELS, local_files_only=True)
    assert "pooling: cls" in (error.value.hint or "")


def test_a_mean_pooled_model_exports_to_a_fused_onnx_graph_with_parity(mean_model: Any, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    model_dir = tmp_path / "model"
    mean_model.save_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(str(checkpoint.default_path()))
    tokenizer.model_max_length = 32
    tokenizer.save_pretrained(model_dir)
    onnx_path = export_onnx(model_dir, tmp_path / "model.onnx", opset=17)
    sentences = ["a gripping , funny film", "", "dull", "word " * 100]  # padded, empty and truncated inputs
    assert parity(model_dir, onnx_path, sentences)["max_abs_logit_diff"] < 1e-3
    assert fused_operators(onnx_path)["Attention"] == mean_model.config.num_hidden_layers

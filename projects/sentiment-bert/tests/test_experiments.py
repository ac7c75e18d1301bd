"""The finished experiments in experiments/: still runnable through their scripts, tested where cheap.

Weight soups (exact averages, refused members, validation only), the held-out guard of int8_choice.py and
soups.py, tail averaging (the average, and a tiny refit that keeps it) and the mean-pooled head (what it reads,
that it saves, loads and exports like any transformers model, and that it trains through `train.Extension`).
"""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner

from mlshared.console import UserError
from mlshared.params import deep_merge
from mlshared.paths import OutputDirs
from sentiment_bert import checkpoint
from sentiment_bert.config import Config, recorded_hyperparameters
from sentiment_bert.data import LABELS
from sentiment_bert.inference import TorchClassifier
from sentiment_bert.layout import Layout
from sentiment_bert.train import TrainResult

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
SCRIPTS = ("int8_choice", "mean_pooling", "soups", "tail_averaging")
# "[CLS] a gripping , funny film [SEP]" in the bundled WordPiece vocabulary, then two pads.
IDS = torch.tensor([[101, 1037, 13940, 1010, 6057, 2143, 102, 0, 0]])
MASK = torch.tensor([[1, 1, 1, 1, 1, 1, 1, 0, 0]])


def _experiment(name: str) -> ModuleType:
    """A module of experiments/, imported as its scripts import each other (the folder on sys.path)."""
    if str(EXPERIMENTS) not in sys.path:
        sys.path.insert(0, str(EXPERIMENTS))
    return importlib.import_module(name)


def _config(tiny_config: Config, overrides: dict[str, Any]) -> Config:
    return Config.model_validate(deep_merge(tiny_config.model_dump(), overrides))


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_experiment_is_a_script_with_help(name: str) -> None:
    result = CliRunner().invoke(_experiment(name).app, ["--help"])
    assert result.exit_code == 0 and "--profile" in result.output and "--set" in result.output


# --- soups.py ---


def test_a_soup_is_the_uniform_float32_average() -> None:
    a = {"w": torch.tensor([1.0, 2.0], dtype=torch.bfloat16), "b": torch.tensor([0.0])}
    b = {"w": torch.tensor([3.0, 6.0], dtype=torch.bfloat16), "b": torch.tensor([1.0])}
    soup = _experiment("soups").average([a, b])
    assert soup["w"].dtype == torch.float32
    assert torch.equal(soup["w"], torch.tensor([2.0, 4.0])) and torch.equal(soup["b"], torch.tensor([0.5]))


@pytest.mark.slow
def test_a_soup_of_a_model_with_itself_scores_as_the_model(
    trained: TrainResult, tiny_config: Config, tiny_layout: Layout, tmp_path: Path
) -> None:
    soups = _experiment("soups")
    twin = shutil.copytree(trained.model_dir, tmp_path / "twin")
    report = soups.score_soups(tiny_config, [trained.model_dir, twin], tiny_layout)
    alone, soup = report["rows"][0], report["rows"][-1]
    assert report["validation_sentences"] == tiny_config.data.validation_size
    assert [r["members"] for r in report["rows"]] == [["m1"], ["m2"], ["m1", "m2"]]
    assert alone["accuracy"] == trained.summary["validation"]["accuracy"]
    assert soup["accuracy"] == soup["members_mean"] == soup["ensemble_accuracy"] == alone["accuracy"]
    assert json.loads((tiny_layout.outputs.reports / soups.REPORT).read_text(encoding="utf-8")) == report


@pytest.mark.slow
def test_members_that_cannot_be_averaged_are_refused(trained: TrainResult, tmp_path: Path) -> None:
    soups = _experiment("soups")
    with pytest.raises(UserError, match="at least two different models"):
        soups.load_members([trained.model_dir, trained.model_dir])
    other = shutil.copytree(trained.model_dir, tmp_path / "other")
    weights = load_file(str(other / soups.WEIGHTS_FILE))
    weights["classifier.weight"] = torch.zeros(3, weights["classifier.weight"].shape[1])  # a three-class head
    save_file(weights, str(other / soups.WEIGHTS_FILE))
    with pytest.raises(UserError, match="do not have the same tensors"):
        soups.load_members([trained.model_dir, other])


# --- int8_choice.py and the held-out guard it shares with soups.py ---


@pytest.mark.slow
def test_int8_choice_scores_every_candidate_on_validation(
    trained: TrainResult, tiny_config: Config, tiny_layout: Layout
) -> None:
    int8_choice = _experiment("int8_choice")
    report = int8_choice.choose_int8(tiny_config, tiny_layout)
    assert report["validation_sentences"] == tiny_config.data.validation_size
    candidates = report["candidates"]
    assert len(candidates) == len(int8_choice.ONNX_CANDIDATES) + 2
    for c in candidates:
        assert 0.0 <= c["accuracy"] <= 1.0
        reference = report["fp32_accuracy"][c["runtime"]]
        assert c["drop_points"] == pytest.approx(100 * (reference - c["accuracy"]), abs=0.01)
    for runtime, best in report["best"].items():
        assert best["drop_points"] == min(c["drop_points"] for c in candidates if c["runtime"] == runtime)
    assert json.loads((tiny_layout.outputs.reports / int8_choice.REPORT).read_text(encoding="utf-8")) == report


def test_a_refit_model_has_no_held_out_sentences_to_score(tiny_config: Config) -> None:
    held_out = _experiment("heldout").held_out_validation
    with pytest.raises(UserError, match="no held-out sentences") as error:
        held_out(tiny_config, {Path("refit"): {"refit": True, "validation_rows": 0}}, "int8_choice.py")
    assert "python experiments/int8_choice.py --profile select" in (error.value.hint or "")


@pytest.mark.slow
def test_held_out_sentences_must_be_those_the_model_held_out(tiny_config: Config) -> None:
    held_out = _experiment("heldout").held_out_validation
    size = tiny_config.data.validation_size
    assert len(held_out(tiny_config, {Path("m"): {"refit": False, "validation_rows": size}}, "soups.py")) == size
    with pytest.raises(UserError, match=f"held out {size + 1}"):
        held_out(tiny_config, {Path("m"): {"refit": False, "validation_rows": size + 1}}, "soups.py")


# --- tail_averaging.py ---


def test_tail_average_is_the_mean_of_the_snapshots_from_its_start_step() -> None:
    tail_averaging = _experiment("tail_averaging")
    tail = tail_averaging.TailAverage(start_fraction=0.5, every=2)
    tail.begin(max_steps=10)
    model = torch.nn.Linear(2, 1)
    for step in range(1, 11):
        with torch.no_grad():
            model.weight.fill_(float(step))
        tail.maybe_snapshot(model, step, last=step == 10)
    assert tail.start_step == 5 and tail.snapshots == 4  # steps 5, 7, 9 and the last one, 10
    target = torch.nn.Linear(2, 1)
    assert tail.copy_into(target)
    assert torch.allclose(target.weight, torch.full_like(target.weight, (5 + 7 + 9 + 10) / 4))
    untouched = target.weight.detach().clone()
    assert not tail_averaging.TailAverage(0.5, 2).copy_into(target)  # never reached its start: weights stay
    assert torch.equal(target.weight, untouched)
    with pytest.raises(UserError, match="0 < --average-from < 1"):
        tail_averaging.TailAverage(1.5, 2)


@pytest.mark.slow
def test_refit_with_tail_averaging_keeps_the_average(tiny_config: Config, tmp_path: Path) -> None:
    config = _config(
        tiny_config,
        {
            "data": {"refit": True, "train_limit": 160},
            "train": {"max_steps": 20},
            "tracking": {"registered_model": "sentiment-bert-averaged"},
        },
    )
    outputs = OutputDirs(tmp_path, "test")
    from sentiment_bert.train import train

    result = train(config, "test", outputs, extension=_experiment("tail_averaging").extension(0.5, 5))
    facts = result.summary
    assert facts["kept"] == "averaged weights" and facts["global_steps"] == 20
    assert facts["weight_averaging"] == {"from_step": 10, "every_steps": 5, "snapshots": 3}  # steps 10, 15, 20
    assert recorded_hyperparameters(facts["hyperparameters"])["average_from"] == 0.5
    card = (result.model_dir / "README.md").read_text(encoding="utf-8")
    assert "the average of 3 snapshots of the weights taken every 5 steps from step 10" in card


# --- mean_pooling.py ---


def _fresh(mean: bool, seed: int = 0) -> Any:
    torch.manual_seed(seed)
    location = str(checkpoint.default_path())
    if mean:
        return _experiment("mean_pooling").new_classifier(location, LABELS, local_files_only=True).eval()
    from sentiment_bert.modeling import new_classifier

    return new_classifier(location, LABELS, local_files_only=True).eval()


@pytest.fixture(scope="module")
def mean_model() -> Any:
    return _fresh(mean=True)


@pytest.mark.slow
def test_the_head_reads_the_masked_mean_of_the_token_vectors(mean_model: Any) -> None:
    with torch.inference_mode():
        hidden = mean_model.bert(IDS[:, :7]).last_hidden_state
        expected = mean_model.classifier(hidden.mean(dim=1))
        logits = mean_model(input_ids=IDS, attention_mask=MASK).logits
        unpadded = mean_model(input_ids=IDS[:, :7], attention_mask=MASK[:, :7]).logits
    torch.testing.assert_close(logits, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(logits, unpadded, atol=1e-5, rtol=1e-5)  # padding changes nothing


@pytest.mark.slow
def test_the_encoder_is_pretrained_and_only_the_head_is_new(mean_model: Any) -> None:
    pooler_model = _fresh(mean=False, seed=1)
    for name, weight in pooler_model.bert.encoder.state_dict().items():
        torch.testing.assert_close(mean_model.bert.encoder.state_dict()[name], weight)
    assert not torch.equal(mean_model.classifier.weight, _fresh(mean=True, seed=1).classifier.weight)
    torch.testing.assert_close(mean_model.classifier.weight, _fresh(mean=True, seed=0).classifier.weight)
    assert mean_model.config.id2label == dict(enumerate(LABELS))


@pytest.mark.slow
def test_a_saved_mean_pooled_model_loads_and_exports_like_any_transformers_model(
    mean_model: Any, tmp_path: Path
) -> None:
    from transformers import AutoTokenizer

    from sentiment_bert.export import export_onnx, fused_operators, parity
    from sentiment_bert.modeling import load_classifier

    mean_pooling = _experiment("mean_pooling")
    model_dir = tmp_path / "model"
    mean_model.save_pretrained(model_dir)
    loaded = load_classifier(model_dir).eval()  # the package's loader, once the experiment registered the head
    assert isinstance(loaded, mean_pooling.MeanPooledBertForSequenceClassification)
    assert loaded.config.model_type == mean_pooling.MEAN_POOLED
    with torch.inference_mode():
        torch.testing.assert_close(
            loaded(input_ids=IDS, attention_mask=MASK).logits, mean_model(input_ids=IDS, attention_mask=MASK).logits
        )
    tokenizer = AutoTokenizer.from_pretrained(str(checkpoint.default_path()))
    tokenizer.model_max_length = 32
    tokenizer.save_pretrained(model_dir)
    onnx_path = export_onnx(model_dir, tmp_path / "model.onnx", opset=17)
    sentences = ["a gripping , funny film", "", "dull", "word " * 100]  # padded, empty and truncated inputs
    assert parity(model_dir, onnx_path, sentences)["max_abs_logit_diff"] < 1e-3
    assert fused_operators(onnx_path)["Attention"] == mean_model.config.num_hidden_layers


def test_mean_pooling_refuses_a_checkpoint_that_is_not_bert(tmp_path: Path) -> None:
    from transformers import DistilBertConfig, DistilBertModel

    tiny = DistilBertConfig(vocab_size=50, dim=16, n_layers=1, n_heads=2, hidden_dim=32, max_position_embeddings=16)
    DistilBertModel(tiny).save_pretrained(tmp_path)
    with pytest.raises(UserError, match="'distilbert' model") as error:
        _experiment("mean_pooling").new_classifier(str(tmp_path), LABELS, local_files_only=True)
    assert "sentiment-bert train" in (error.value.hint or "")


@pytest.mark.slow
def test_a_mean_pooled_run_trains_through_the_package_and_records_its_head(
    tiny_config: Config, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Two accumulated steps from a fresh head: the loss stays a per-sentence mean (ln 2 = 0.69, not 1.39)."""
    monkeypatch.setenv("PORTFOLIO_OUTPUT_ROOT", str(tmp_path))
    config = _config(
        tiny_config,
        {
            "data": {"refit": True, "train_limit": 160},
            "train": {"max_steps": 2, "batch_size": 8, "gradient_accumulation_steps": 2, "eval_steps": 2},
        },
    )
    result = _experiment("mean_pooling").train_mean_pooled(config, "test")
    first = result.summary["train_loss_curve"][0]
    assert first["step"] == 1 and 0.5 < first["loss"] < 0.9
    assert result.summary["hyperparameters"]["pooling"] == "mean"
    assert TorchClassifier.load(result.model_dir).model.config.model_type == "bert-mean-pooled"
    assert "## Loading" in (result.model_dir / "README.md").read_text(encoding="utf-8")

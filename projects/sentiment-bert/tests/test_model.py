"""Model behaviour: a tiny real fine-tune learns, saves what inference needs, and evaluates into the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from mlshared.params import deep_merge
from mlshared.paths import OutputDirs
from mlshared.reports import MetricsReport, read_report
from mlshared.tracking import flatten
from sentiment_bert import config as config_module
from sentiment_bert.config import Config
from sentiment_bert.data import LABEL, TEXT
from sentiment_bert.demo import about
from sentiment_bert.evaluate import confident_mistakes, evaluate, selection_run
from sentiment_bert.inference import TorchClassifier, softmax_positive
from sentiment_bert.layout import TRAINING_FILE, Layout
from sentiment_bert.train import TrainResult, train

pytestmark = pytest.mark.slow


def _train_variant(tiny_config: Config, overrides: dict[str, Any], tmp_path: Path) -> TrainResult:
    """A short run of the tiny recipe with some keys changed by `--set`, through the same `train` as the README
    run; the run records what --set changed."""
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(tiny_config.model_dump()), encoding="utf-8")
    changed = flatten(overrides)
    config = config_module.load(params, "full", [f"{key}={json.dumps(value)}" for key, value in changed.items()])
    result = train(config, "test", OutputDirs(tmp_path, "test"))
    assert result.summary["overrides"] == changed
    return result


def test_tiny_fine_tune_learns_well_above_chance(classifier: TorchClassifier, sst2_test: pd.DataFrame) -> None:
    held_out = sst2_test.head(300)  # never seen: test.tsv is not read by training
    proba = classifier.predict_proba(held_out[TEXT].tolist())
    accuracy = float(((proba >= 0.5) == held_out[LABEL].to_numpy()).mean())
    assert accuracy >= 0.70, f"accuracy {accuracy:.3f} on held-out sentences; chance is about 0.5"


def test_training_keeps_the_best_checkpoint_and_reports_it(trained: TrainResult, tiny_config: Config) -> None:
    facts = trained.summary
    assert facts["kept"] == "best checkpoint" and facts["overrides"] == {}
    curve = facts["validation_curve"]
    assert curve, "validation was evaluated during training"
    steps = [c["step"] for c in curve]
    assert steps == sorted(set(steps)), "one point per evaluation step (the final re-evaluation is not one)"
    assert facts["validation"]["accuracy"] == pytest.approx(max(c["accuracy"] for c in curve))
    assert facts["global_steps"] <= tiny_config.train.max_steps
    assert facts["train_rows"] == tiny_config.data.train_limit
    assert facts["baseline"]["validation_accuracy"] > 0.5


def test_saved_model_has_tokenizer_model_card_and_facts(trained: TrainResult, tiny_config: Config) -> None:
    files = {p.name for p in trained.model_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md", TRAINING_FILE} <= files
    card = (trained.model_dir / "README.md").read_text(encoding="utf-8")
    header = yaml.safe_load(card.split("---")[1])
    assert header["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert header["datasets"] == ["stanfordnlp/sst2"]
    assert "## Limitations" in card
    config = json.loads((trained.model_dir / "config.json").read_text(encoding="utf-8"))
    assert config["id2label"] == {"0": "negative", "1": "positive"}
    assert TorchClassifier.load(trained.model_dir).max_length == tiny_config.model.max_length


def test_predictions_are_deterministic_and_order_independent(classifier: TorchClassifier) -> None:
    sentences = ["a dull , lifeless film .", "one of the year 's best .", "it is what it is ."]
    forward = classifier.predict_proba(sentences)
    backward = classifier.predict_proba(sentences[::-1])[::-1]
    np.testing.assert_allclose(forward, backward, atol=1e-5)  # length-sorted batching restores the order
    np.testing.assert_allclose(forward, classifier.predict_proba(sentences), atol=1e-6)


def test_softmax_is_stable_for_extreme_logits() -> None:
    p = softmax_positive(np.array([[1000.0, -1000.0], [-1000.0, 1000.0], [0.0, 0.0]]))
    np.testing.assert_allclose(p, [0.0, 1.0, 0.5])


def test_evaluate_writes_a_valid_report(trained: TrainResult, tiny_config: Config, tiny_layout: Layout) -> None:
    report = evaluate(tiny_config, "test", tiny_layout.outputs)
    assert isinstance(read_report(tiny_layout.outputs.metrics), MetricsReport)
    assert report.primary.name == "test_accuracy" and report.primary.higher_is_better
    assert report.primary.published_baseline == 0.915
    test_scores = report.metrics["test"]
    assert set(test_scores) == {"fine-tuned", "tfidf-logreg"}
    low, high = test_scores["fine-tuned"]["accuracy_95ci"]
    assert low <= report.primary.value <= high
    names = {r["name"] for r in report.metrics["behaviour"]["fine-tuned"]}
    assert {"negated positive", "person names", "final punctuation", "intensified positive"} <= names
    assert report.metrics["data"]["test_rows"] == 872 and report.metrics["data"]["test_sentences_also_in_train"] == 0
    assert tiny_layout.data_report.is_file()
    assert (tiny_layout.outputs.figures / "confusion_matrix.png").is_file()
    assert (tiny_layout.outputs.figures / "calibration.png").is_file()
    assert report.table.rows[0][0].endswith("fine-tuned (this project)")
    card = (trained.model_dir / "README.md").read_text(encoding="utf-8")
    assert "GLUE SST-2 dev" in card and "of cases pass" in card  # the card now carries test metrics


def test_confident_mistakes_are_wrong_and_sorted() -> None:
    test = pd.DataFrame({TEXT: ["a", "b", "c", "d"], LABEL: [1, 0, 1, 0]})
    rows = confident_mistakes(test, np.array([0.1, 0.6, 0.9, 0.99]), k=5)
    assert [r["sentence"] for r in rows] == ["d", "a", "b"]


def test_registered_mlflow_model_predicts_labels(trained: TrainResult, tiny_config: Config) -> None:
    import mlflow

    from mlshared import tracking

    tracking.configure(tiny_config.tracking.experiment)
    model = mlflow.pyfunc.load_model(f"models:/{tiny_config.tracking.registered_model}@{tiny_config.tracking.alias}")
    out = model.predict(pd.DataFrame({TEXT: ["a masterpiece .", "a waste of time ."]}))
    assert list(out.columns) == ["label", "p_positive"]
    assert set(out["label"]) <= {"positive", "negative"} and out["p_positive"].between(0, 1).all()


def test_refit_trains_on_every_row_and_keeps_the_last_weights(
    tiny_config: Config, tiny_layout: Layout, trained: TrainResult, tmp_path: Path
) -> None:
    # The same recipe as the `trained` fixture, which plays the select run that chose it.
    config = Config.model_validate(deep_merge(tiny_config.model_dump(), {"data": {"refit": True, "train_limit": 320}}))
    outputs = OutputDirs(tmp_path, "test")
    result = train(config, "test", outputs)
    facts = result.summary
    assert facts["refit"] and facts["validation"] is None and facts["validation_curve"] == []
    assert facts["global_steps"] == config.train.max_steps and facts["stopped_by"] == "completed"
    assert facts["kept"] == "last weights"
    assert facts["best_checkpoint_step"] is None and facts["train_rows"] == 320 and facts["validation_rows"] == 0
    assert facts["baseline"]["validation_accuracy"] is None
    assert "every row of the training file" in (result.model_dir / "README.md").read_text(encoding="utf-8")
    assert "refit on every training row" in about(result.model_dir)

    report = evaluate(config, "test", outputs, selection_summary=tiny_layout.train_summary)
    assert report.metrics["validation"]["fine-tuned"] is None
    selection = report.metrics["selection"]
    assert selection["validation_accuracy_last"] == trained.summary["validation_curve"][-1]["accuracy"]
    assert selection["train_rows"] == tiny_config.data.train_limit
    assert (outputs.figures / "learning_curve.png").is_file()
    # A select run of another recipe is not presented as this model's evidence.
    other = dict(facts, hyperparameters=dict(facts["hyperparameters"], learning_rate=1.0))
    assert selection_run(other, tiny_layout.train_summary) is None
    assert selection_run(facts, tiny_layout.train_summary) is not None


def test_a_select_run_can_keep_its_last_weights(tiny_config: Config, tmp_path: Path) -> None:
    overrides = {
        "data": {"train_limit": 160},
        "train": {"max_steps": 20, "eval_steps": 10, "keep": "last", "run_seed": 7},
        "tracking": {"registered_model": "sentiment-bert-last"},
    }
    result = _train_variant(tiny_config, overrides, tmp_path)
    facts = result.summary
    assert facts["kept"] == "last weights" and facts["best_checkpoint_step"] is None and not facts["refit"]
    assert [c["step"] for c in facts["validation_curve"]] == [10, 20]
    assert facts["validation"]["accuracy"] == facts["validation_curve"][-1]["accuracy"]  # what it saved: step 20
    assert facts["hyperparameters"]["run_seed"] == 7
    assert "the last weights of the schedule" in (result.model_dir / "README.md").read_text(encoding="utf-8")


def test_selection_run_matches_recipes_not_run_length_guards(tmp_path: Path) -> None:
    recipe = {"learning_rate": 3e-5, "epochs": 3.0, "max_train_minutes": 60, "early_stopping_patience": 100}
    curve = [{"step": 10, "accuracy": 0.6}, {"step": 20, "accuracy": 0.7}]
    path = tmp_path / "train.json"
    path.write_text(json.dumps({"refit": False, "hyperparameters": recipe, "validation_curve": curve}))
    refit = {"refit": True, "hyperparameters": recipe | {"max_train_minutes": 40, "early_stopping_patience": 3}}
    selection = selection_run(refit, path)
    assert selection is not None and selection["validation_curve"] == curve
    assert selection_run(refit | {"refit": False}, path) is None  # only a refit has a select run behind it
    # A refit recorded before a recipe key existed matches a select run that records the key's default...
    newer = {"refit": False, "hyperparameters": recipe | {"cpu_bf16": False}, "validation_curve": curve}
    path.write_text(json.dumps(newer))
    assert selection_run(refit, path) is not None
    # ...and not one that changed it.
    path.write_text(json.dumps(newer | {"hyperparameters": recipe | {"cpu_bf16": True}}))
    assert selection_run(refit, path) is None


def test_gradient_accumulation_keeps_the_loss_a_per_sentence_mean(tiny_config: Config, tmp_path: Path) -> None:
    """A fresh two-class head starts at a loss of ln 2 = 0.69; accumulated un-normalised, it would log 1.39."""
    overrides = {
        "data": {"refit": True, "train_limit": 160},
        "train": {"max_steps": 2, "batch_size": 8, "gradient_accumulation_steps": 2, "eval_steps": 2},
        "tracking": {"registered_model": "sentiment-bert-accumulated"},
    }
    result = _train_variant(tiny_config, overrides, tmp_path)
    first = result.summary["train_loss_curve"][0]
    assert first["step"] == 1 and 0.5 < first["loss"] < 0.9
    assert "pooling" not in result.summary["hyperparameters"]  # the product's head: what LEGACY_DEFAULTS says
    assert TorchClassifier.load(result.model_dir).model.config.model_type == "bert"

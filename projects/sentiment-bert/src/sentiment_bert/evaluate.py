"""The published report: test (GLUE SST-2 dev) metrics of the fine-tuned model and the TF-IDF baseline,
bootstrap intervals, confusion matrix and calibration figures, the most confident mistakes and the
behavioural test pass rates. This is the only place (with `bench`) that reads the test set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlshared import plots, tracking
from mlshared.console import UserError, console
from mlshared.datasets import DataSettings, fingerprint
from mlshared.metrics import bootstrap_ci, classification_metrics
from mlshared.paths import OutputDirs
from mlshared.reports import (
    MetricsReport,
    PrimaryMetric,
    ResultsTable,
    fmt,
    git_commit,
    markdown_table,
    write_report,
)
from sentiment_bert import behaviour
from sentiment_bert.baseline import TfidfClassifier
from sentiment_bert.config import VALIDATION_RUN_KEYS, Config, recorded_hyperparameters
from sentiment_bert.data import DATASET, LABEL, LABELS, TEST_FILE, TEXT, TRAIN_FILE, load_test, load_train, summary
from sentiment_bert.inference import Classifier, TorchClassifier, accuracy_of, predicted_labels, require_model_dir
from sentiment_bert.layout import Layout, load_training_facts
from sentiment_bert.train import write_card

MINILM_SOURCE = "Wang et al. (2020), MiniLM, NeurIPS; GLUE dev table of microsoft/unilm minilm/README.md"
DISTILBERT_SOURCE = "Sanh et al. (2019), DistilBERT, Table 1 (GLUE dev)"
# Published SST-2 accuracy on the GLUE dev set (= our test.tsv).
PUBLISHED: dict[str, tuple[float, str]] = {
    "MiniLM-L6xH384 (22M)": (0.915, MINILM_SOURCE),
    "DistilBERT-base (66M)": (0.913, DISTILBERT_SOURCE),
    "BERT-base (110M)": (0.927, DISTILBERT_SOURCE),
}
FINE_TUNED = "fine-tuned"
BASELINE = "tfidf-logreg"
BLOCK = "evaluation"  # README block with the behavioural tests and mistakes, generated like the results table
SHOWN_MISTAKES = 6


def score(y: np.ndarray, proba: np.ndarray, resamples: int, seed: int) -> dict[str, Any]:
    metrics: dict[str, Any] = {k: round(v, 5) for k, v in classification_metrics(y, proba).items()}
    ci = bootstrap_ci(
        accuracy_of,
        y,
        proba,
        n_resamples=resamples,
        level=0.95,
        seed=seed,
    )
    metrics["accuracy_95ci"] = [round(ci.low, 4), round(ci.high, 4)]
    return metrics


def confident_mistakes(test: pd.DataFrame, proba: np.ndarray, k: int) -> list[dict[str, Any]]:
    """The k misclassified sentences the model was surest about."""
    frame = test.assign(p_positive=proba, predicted=predicted_labels(proba))
    wrong = frame[frame["predicted"] != frame[LABEL]]
    wrong = wrong.assign(confidence=np.abs(wrong["p_positive"] - 0.5) * 2).sort_values("confidence", ascending=False)
    return [
        {
            "sentence": str(row[TEXT]).strip(),
            "label": LABELS[int(row[LABEL])],
            "p_positive": round(float(row["p_positive"]), 4),
        }
        for _, row in wrong.head(k).iterrows()
    ]


def run_behaviour(
    models: dict[str, Classifier], config: Config, real_sentences: list[str]
) -> dict[str, list[dict[str, object]]]:
    suite = behaviour.build_suite(config.evaluate.behaviour_cases_per_test, config.seed, real_sentences)
    results: dict[str, list[dict[str, object]]] = {}
    for name, model in models.items():
        with console.status(f"Behavioural tests: {name}"):
            results[name] = [r.as_dict() for r in behaviour.run_suite(suite, model.predict_proba)]
    return results


def evaluate(
    config: Config,
    profile: str,
    outputs: OutputDirs,
    settings: DataSettings | None = None,
    selection_summary: Path | None = None,
) -> MetricsReport:
    """`selection_summary`: the train.json of the `select` run that chose a refit's recipe; its validation
    curve goes into the report and the learning-curve figure (a refit has none of its own)."""
    outputs.ensure()
    layout = Layout(outputs)
    model_dir = require_model_dir(layout.model_dir, profile)
    facts = load_training_facts(model_dir)
    selection = selection_run(facts, selection_summary)
    if not layout.baseline.is_file():
        raise UserError(f"No baseline at {layout.baseline}.", hint=f"Run `sentiment-bert train --profile {profile}`.")
    test = load_test(settings)
    data_facts = summary(load_train(settings), test)  # sizes, balance and train/test overlap, for the record
    layout.data_report.write_text(json.dumps(data_facts, indent=2) + "\n", encoding="utf-8")
    y = test[LABEL].to_numpy()
    sentences = test[TEXT].tolist()
    classifier = TorchClassifier.load(model_dir)
    tfidf = TfidfClassifier.load(layout.baseline)
    with console.status(f"Scoring {len(test)} test sentences"):
        proba = {FINE_TUNED: classifier.predict_proba(sentences), BASELINE: tfidf.predict_proba(sentences)}
    scores = {name: score(y, p, config.evaluate.bootstrap_resamples, config.seed) for name, p in proba.items()}
    mistakes = confident_mistakes(test, proba[FINE_TUNED], config.evaluate.mistakes)
    behaviours = run_behaviour({FINE_TUNED: classifier, BASELINE: tfidf}, config, sentences)
    bins = config.evaluate.calibration_bins
    figures = _figures(y, proba, selection or facts, outputs.figures, bins, kept=selection is None)
    pd.DataFrame({TEXT: sentences, LABEL: y, "p_fine_tuned": proba[FINE_TUNED], "p_baseline": proba[BASELINE]}).to_csv(
        layout.predictions, index=False
    )

    accuracy = scores[FINE_TUNED]["accuracy"]
    published, source = PUBLISHED["MiniLM-L6xH384 (22M)"]
    primary = PrimaryMetric(
        name="test_accuracy",
        value=round(accuracy, 4),
        higher_is_better=True,
        published_baseline=published,
        baseline_source=f"MiniLM-L6xH384, {source}",
        description=f"Accuracy on the {len(test)} sentences of the GLUE SST-2 dev set (test.tsv), never used for "
        f"training or model selection; {facts['checkpoint']['base_model']} fine-tuned for "
        f"{facts['global_steps']} steps at max length {facts['max_length']}.",
    )
    report = MetricsReport(
        project="sentiment-bert",
        profile=profile,
        primary=primary,
        metrics={
            "test": scores,
            "validation": {FINE_TUNED: facts["validation"], BASELINE: facts["baseline"]["validation_accuracy"]},
            "selection": _selection_summary(selection),
            "training": {
                k: facts[k]
                for k in (
                    "train_seconds",
                    "global_steps",
                    "epochs_completed",
                    "stopped_by",
                    "best_checkpoint_step",
                    "train_rows",
                    "validation_rows",
                    "torch_threads",
                    "device",
                    "load_average_before",
                    "load_average_after",
                    "checkpoint",
                    "hyperparameters",
                )
            }
            | {"baseline_train_seconds": facts["baseline"]["train_seconds"]},
            "data": data_facts,
            "confident_mistakes": mistakes,
            "behaviour": behaviours,
            "published": {name: {"accuracy": v, "source": s} for name, (v, s) in PUBLISHED.items()},
            "figures": [str(f.relative_to(outputs.reports)) for f in figures],
        },
        table=_table(scores, facts),
        data_fingerprint=fingerprint(DATASET, [TRAIN_FILE, TEST_FILE]),
        git_commit=git_commit(outputs.root),
    )
    write_report(report, outputs.metrics)
    write_card(
        model_dir,
        facts,
        test_metrics={"accuracy": accuracy, "f1": scores[FINE_TUNED]["f1"]},
        behaviour_pass_rates={str(r["name"]): float(str(r["pass_rate"])) for r in behaviours[FINE_TUNED]},
    )
    _track(facts, report, figures)
    low, high = scores[FINE_TUNED]["accuracy_95ci"]
    console.print(
        f"[bold]Test accuracy {accuracy:.4f}[/] (95% CI {low:.4f}-{high:.4f}); TF-IDF baseline "
        f"{scores[BASELINE]['accuracy']:.4f}; published MiniLM-L6xH384 {published}. Wrote {outputs.metrics}"
    )
    return report


def _table(scores: dict[str, dict[str, Any]], facts: dict[str, Any]) -> ResultsTable:
    def row(label: str, s: dict[str, Any], seconds: float, bold: bool = False) -> list[str]:
        low, high = s["accuracy_95ci"]
        accuracy = f"**{s['accuracy']:.4f}**" if bold else f"{s['accuracy']:.4f}"
        return [label, f"{accuracy} ({low:.3f}–{high:.3f})", fmt(s["f1"]), fmt(s["roc_auc"]),
                fmt(s["brier"]), f"{seconds / 60:.1f} min", "this run"]  # fmt: skip

    base = facts["checkpoint"]["base_model"].split("/")[-1]
    rows = [
        row(f"{base} fine-tuned (this project)", scores[FINE_TUNED], facts["train_seconds"], bold=True),
        row("TF-IDF + logistic regression (this project)", scores[BASELINE], facts["baseline"]["train_seconds"]),
        *([name, fmt(value), "—", "—", "—", "—", source] for name, (value, source) in PUBLISHED.items()),
    ]
    steps = f"{facts['global_steps']} steps ({facts['epochs_completed']:g} epochs, stopped: {facts['stopped_by']})"
    caption = (
        f"Test = GLUE SST-2 dev (872 sentences). Accuracy with a 95% bootstrap interval; F1 of the positive class; "
        f"Brier score (lower is better). Fine-tuning: {facts['train_rows']:,} sentences, {steps}, batch "
        f"{facts['hyperparameters']['batch_size']}, max length {facts['max_length']}, on a {facts['device']} with "
        f"{facts['torch_threads']} torch thread(s) (load average {facts['load_average_before'][0]:.1f} at the start: "
        "the machine is shared). Published rows are the papers' own fine-tuning runs, not this code or budget."
    )
    return ResultsTable(
        columns=["model", "accuracy (95% CI)", "F1", "ROC-AUC", "Brier", "train time", "source"],
        rows=rows,
        caption=caption,
    )


def selection_run(facts: dict[str, Any], summary_path: Path | None) -> dict[str, Any] | None:
    """The select run behind a refit, if it was made with the same recipe; None otherwise (with a warning)."""
    if not facts.get("refit") or summary_path is None or not summary_path.is_file():
        return None
    selection: dict[str, Any] = json.loads(summary_path.read_text(encoding="utf-8"))

    def recipe(run: dict[str, Any]) -> dict[str, Any]:
        filled = recorded_hyperparameters(run["hyperparameters"])
        return {k: v for k, v in filled.items() if k not in VALIDATION_RUN_KEYS}

    if selection.get("refit") or not selection.get("validation_curve") or recipe(selection) != recipe(facts):
        console.print(
            f"[yellow]{summary_path} is not a select run of this recipe[/]; the report leaves selection out. "
            "Run `sentiment-bert train --profile select` to regenerate it."
        )
        return None
    return selection


def _selection_summary(selection: dict[str, Any] | None) -> dict[str, Any] | None:
    if selection is None:
        return None
    curve = selection["validation_curve"]
    return {
        "validation_accuracy_last": curve[-1]["accuracy"],
        "validation_accuracy_best": max(c["accuracy"] for c in curve),
        "validation_rows": selection["validation_rows"],
        "train_rows": selection["train_rows"],
        "global_steps": selection["global_steps"],
        "train_seconds": selection["train_seconds"],
        "curve": [{"step": c["step"], "accuracy": c["accuracy"]} for c in curve],
    }


def _figures(
    y: np.ndarray, proba: dict[str, np.ndarray], facts: dict[str, Any], folder: Path, bins: int, kept: bool
) -> list[Path]:
    """`facts`: the run whose curve is drawn; `kept`: its best checkpoint is the evaluated model (not a refit)."""
    figures = [
        plots.confusion_matrix(
            y, predicted_labels(proba[FINE_TUNED]), folder / "confusion_matrix.png", labels=LABELS,
            title="Fine-tuned model, SST-2 test (GLUE dev)",
        ),
        plots.calibration(
            y, {"fine-tuned": proba[FINE_TUNED], "TF-IDF + LR": proba[BASELINE]}, folder / "calibration.png",
            n_bins=bins, title="Calibration on SST-2 test (quantile bins)",
        ),
    ]  # fmt: skip
    curve = facts.get("validation_curve") or []
    losses = facts.get("train_loss_curve") or []
    if curve:  # what the kept checkpoint (or, for a refit, the recipe) was chosen on
        x, name, ys = [c["step"] for c in curve], "validation accuracy", [c["accuracy"] for c in curve]
        title = f"Validation accuracy during fine-tuning ({facts['train_rows']:,} rows)"
        ylabel = "accuracy"
    else:  # a refit holds nothing out: show what it optimised
        x, name, ys = [c["step"] for c in losses], "training loss", [c["loss"] for c in losses]
        title, ylabel = "Training loss of the refit on every training row", "cross-entropy"
    if x:
        figures.append(
            plots.line(
                x, {name: ys}, folder / "learning_curve.png", title=title, xlabel="optimizer step", ylabel=ylabel,
                marker_x=facts.get("best_checkpoint_step") if kept else None, marker_label="best checkpoint (kept)",
            )
        )  # fmt: skip
    return figures


def _track(facts: dict[str, Any], report: MetricsReport, figures: list[Path]) -> None:
    run_id = facts.get("mlflow_run_id")
    if not run_id:
        return
    import mlflow

    tracking.configure(str(facts.get("experiment", report.project)))
    with mlflow.start_run(run_id=run_id):
        tracking.log_metrics({"test": report.metrics["test"]})
        tracking.log_artifacts(figures, artifact_path="figures")


def render_details(report: MetricsReport) -> str:
    """The README's `evaluation` block (written by `portfolio readme sync` from reports/metrics.json)."""
    behaviour_results = report.metrics["behaviour"]
    baseline_rates = {r["name"]: r["pass_rate"] for r in behaviour_results[BASELINE]}
    behaviour_table = ResultsTable(
        columns=["test", "capability", "type", "cases", "fine-tuned pass rate", "TF-IDF pass rate"],
        rows=[
            [
                r["name"],
                r["capability"],
                r["type"],
                str(r["cases"]),
                f"{r['pass_rate']:.1%}",
                f"{baseline_rates[r['name']]:.1%}",
            ]
            for r in behaviour_results[FINE_TUNED]
        ],
        caption="MFT: template sentences with an expected label. INV: the prediction must not flip under the "
        "perturbation. DIR: P(positive) may move only one way (tolerance 0.05). Cases are generated from "
        "templates in `behaviour.py` (person names, final punctuation on real test sentences).",
    )
    mistakes = report.metrics["confident_mistakes"][:SHOWN_MISTAKES]
    mistakes_table = ResultsTable(
        columns=["test sentence", "gold label", "P(positive)"],
        rows=[[m["sentence"].replace("|", "\\|"), m["label"], f"{m['p_positive']:.3f}"] for m in mistakes],
        caption="The fine-tuned model's most confident mistakes on the test set, with SST-2's gold label.",
    )
    return "\n\n".join(
        [
            "**Behavioural tests**",
            markdown_table(behaviour_table),
            "**Most confident mistakes**",
            markdown_table(mistakes_table),
        ]
    )

"""Score the trained model on the test set (the dataset's `val` folder, never used for any choice):
accuracy with a bootstrap interval, per-class precision and recall, confusion matrix, calibration,
the most confident mistakes and Grad-CAM maps; writes reports/metrics.json and the figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from sklearn.metrics import accuracy_score, log_loss, precision_recall_fscore_support

from image_classifier.calibration import expected_calibration_error, reliability_diagram
from image_classifier.checkpoint import MODEL_FILE, TrainedModel
from image_classifier.config import Config
from image_classifier.data import ImageData
from image_classifier.dataset import reduced
from image_classifier.explain import gradcam, model_input_rgb
from image_classifier.images import open_file
from image_classifier.train import HISTORY_FILE
from mlshared import plots, tracking
from mlshared.console import console, make_progress
from mlshared.metrics import bootstrap_ci
from mlshared.paths import OutputDirs
from mlshared.reports import MetricsReport, PrimaryMetric, ResultsTable, fmt, git_commit, write_report

BLOCK = "evaluation"
TUTORIAL = "PyTorch transfer-learning tutorial (ResNet-18, best epoch chosen on this same val folder)"
# The tutorial's published figures on the same 153 images; its training loop keeps the epoch with the best
# accuracy *on this folder*, so these are optimistic (selection on the test set).
PUBLISHED = {"fine-tuning": 0.935, "fixed feature extractor": 0.948}


def predict_test(trained: TrainedModel, data: ImageData, batch_size: int = 32) -> npt.NDArray[np.float32]:
    chunks = []
    with make_progress(transient=True) as progress:
        task = progress.add_task("Scoring the test images", total=len(data.test))
        for start in range(0, len(data.test), batch_size):
            batch = data.test[start : start + batch_size]
            chunks.append(trained.predict_proba([open_file(s.path) for s in batch]))
            progress.advance(task, len(batch))
    return np.concatenate(chunks)


def accuracy(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    return float(accuracy_score(y_true, y_pred))


def per_class(y: npt.NDArray[Any], predicted: npt.NDArray[Any], classes: list[str]) -> dict[str, dict[str, float]]:
    precision, recall, f1, support = precision_recall_fscore_support(
        y, predicted, labels=list(range(len(classes))), zero_division=0
    )
    return {
        name: {
            "precision": round(float(precision[i]), 4),
            "recall": round(float(recall[i]), 4),
            "f1": round(float(f1[i]), 4),
            "support": int(support[i]),
        }
        for i, name in enumerate(classes)
    }


def confident_mistakes(proba: npt.NDArray[np.float32], y: npt.NDArray[Any], limit: int) -> list[int]:
    """Indices of wrong predictions, most confident first."""
    predicted = proba.argmax(1)
    wrong = np.flatnonzero(predicted != y)
    return [int(i) for i in wrong[np.argsort(-proba[wrong].max(1), kind="stable")][:limit]]


def mistakes_grid(
    trained: TrainedModel, data: ImageData, proba: npt.NDArray[np.float32], indices: list[int], path: Path
) -> Path:
    columns = 4
    rows = max(1, -(-len(indices) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(2.4 * columns, 2.7 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, index in zip(axes.flat, indices, strict=False):
        sample = data.test[index]
        ax.imshow(reduced(open_file(sample.path), 240))
        guess = int(proba[index].argmax())
        ax.set_title(
            f"true {data.classes[sample.label]}, said {data.classes[guess]}\n"
            f"p={proba[index, guess]:.2f}  {sample.path.name[:24]}",
            fontsize=8,
        )
    if not indices:
        axes.flat[0].text(0.5, 0.5, "No mistakes on the test set", ha="center", va="center")
    fig.suptitle("Most confident mistakes on the test set")
    return plots.save(fig, path)


def gradcam_grid(
    trained: TrainedModel, data: ImageData, proba: npt.NDArray[np.float32], indices: list[int], path: Path
) -> Path:
    images = [open_file(data.test[i].path) for i in indices]
    explanations = gradcam(trained, images)
    fig, axes = plt.subplots(2, len(indices), figsize=(2.2 * len(indices), 4.6), squeeze=False)
    for column, (index, image, explanation) in enumerate(zip(indices, images, explanations, strict=True)):
        sample = data.test[index]
        axes[0, column].imshow(model_input_rgb(trained, image))  # the centre crop the model sees
        axes[0, column].set_title(f"true {data.classes[sample.label]}", fontsize=9)
        axes[1, column].imshow(explanation.overlay)
        axes[1, column].set_title(
            f"{data.classes[explanation.class_index]} p={proba[index, explanation.class_index]:.2f}", fontsize=9
        )
        for row in (0, 1):
            axes[row, column].axis("off")
    fig.suptitle("Grad-CAM: where the model looked for its prediction (bottom)")
    return plots.save(fig, path)


def gradcam_choice(proba: npt.NDArray[np.float32], y: npt.NDArray[Any], mistakes: list[int], count: int) -> list[int]:
    """Half mistakes (if any), the rest confident correct answers spread over the classes."""
    chosen = mistakes[: count // 2]
    predicted = proba.argmax(1)
    correct = [int(i) for i in np.argsort(-proba.max(1), kind="stable") if predicted[i] == y[i]]
    by_class: dict[int, list[int]] = {}
    for i in correct:
        by_class.setdefault(int(y[i]), []).append(i)
    queues = list(by_class.values())
    while len(chosen) < count and any(queues):
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(queue.pop(0))
    return chosen


def evaluate(
    config: Config, profile: str, outputs: OutputDirs, data: ImageData, trained: TrainedModel | None = None
) -> MetricsReport:
    outputs.ensure()
    trained = trained or TrainedModel.load(outputs.models / MODEL_FILE)
    proba = predict_test(trained, data)
    y = np.asarray([s.label for s in data.test])
    predicted = proba.argmax(1)
    ev = config.evaluate
    ci = bootstrap_ci(
        accuracy, y, predicted, n_resamples=ev.bootstrap_resamples, level=ev.interval_level, seed=config.seed
    )
    ece = expected_calibration_error(proba, y, ev.calibration_bins)
    mistakes = confident_mistakes(proba, y, ev.mistakes_shown)
    figures = [
        plots.confusion_matrix(y, predicted, outputs.figures / "confusion_matrix.png", labels=data.classes,
                               title="Confusion matrix (test set)"),
        reliability_diagram(proba, y, outputs.figures / "reliability.png", ev.calibration_bins),
        mistakes_grid(trained, data, proba, mistakes, outputs.figures / "mistakes.jpg"),
    ]  # fmt: skip
    with console.status("Grad-CAM maps"):
        figures.append(
            gradcam_grid(trained, data, proba, gradcam_choice(proba, y, mistakes, ev.gradcam_images),
                         outputs.figures / "gradcam.jpg")
        )  # fmt: skip
    history_path = outputs.work / HISTORY_FILE
    if history_path.is_file():
        history = json.loads(history_path.read_text(encoding="utf-8"))
        epochs = [row["epoch"] for row in history]
        figures.append(
            plots.line(epochs, {"train loss (smoothed labels, augmented)": [r["train_loss"] for r in history],
                                "validation loss": [r["val_loss"] for r in history]},
                       outputs.figures / "learning_curve.png", "Learning curve", "epoch", "cross-entropy",
                       marker_x=trained.metadata.get("best_epoch"), marker_label="kept epoch")
        )  # fmt: skip
    meta = trained.metadata
    metrics: dict[str, Any] = {
        "test_images": len(y),
        "test_accuracy": round(ci.value, 4),
        "test_accuracy_ci": {k: round(v, 4) for k, v in ci.as_dict().items()},
        "test_errors": int((predicted != y).sum()),
        "per_class": per_class(y, predicted, data.classes),
        "log_loss": round(float(log_loss(y, proba, labels=list(range(len(data.classes))))), 4),
        "ece": round(ece, 4),
        "calibration_bins": ev.calibration_bins,
        "confident_mistakes": [
            {
                "file": data.test[i].path.name,
                "true": data.classes[int(y[i])],
                "predicted": data.classes[int(predicted[i])],
                "probability": round(float(proba[i].max()), 4),
            }
            for i in mistakes
        ],
        "model": {
            "arch": trained.arch,
            "weights": meta.get("weights"),
            "mode": meta.get("mode"),
            "tta_flip": trained.tta_flip,
            "image_size": trained.preprocessing.image_size,
            "best_epoch": meta.get("best_epoch"),
            "epochs_run": meta.get("epochs_run"),
            "train_seconds": meta.get("train_seconds"),
            "train_images": meta.get("train_images"),
            "validation_images": meta.get("validation_images"),
        },
        "published": PUBLISHED,
        "figures": [str(f.relative_to(outputs.reports)) for f in figures],
    }
    best_published = max(PUBLISHED.values())
    primary = PrimaryMetric(
        name="test_accuracy",
        value=round(ci.value, 4),
        higher_is_better=True,
        published_baseline=best_published,
        baseline_source=TUTORIAL,
        description=f"Accuracy on the {len(y)} images of the dataset's `val` folder, used only as the test set "
        f"(early stopping used a validation split of {meta.get('validation_images')} training images).",
    )
    report = MetricsReport(
        project="image-classifier",
        profile=profile,
        primary=primary,
        metrics=metrics,
        table=_table(metrics, trained),
        data_fingerprint=data.fingerprint,
        git_commit=git_commit(outputs.root),
    )
    write_report(report, outputs.metrics)
    tracking.log_to_run(meta.get("mlflow_run_id"), config.tracking.experiment, _numeric(metrics), figures)
    console.print(
        f"[green]Test accuracy {ci.value:.4f}[/] ({100 * ci.level:.0f}% CI {ci.low:.3f}-{ci.high:.3f}), "
        f"{metrics['test_errors']} error(s) in {len(y)}; ECE {ece:.3f}. Wrote {outputs.metrics}"
    )
    return report


def _tta(model: dict[str, Any]) -> str:
    return ", flip TTA" if model.get("tta_flip") else ""


def _numeric(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: metrics[k] for k in ("test_accuracy", "test_accuracy_ci", "log_loss", "ece", "per_class")}


def _table(metrics: dict[str, Any], trained: TrainedModel) -> ResultsTable:
    ci = metrics["test_accuracy_ci"]
    model = metrics["model"]
    ours = f"**{trained.arch}, ImageNet weights, {model['mode']}** ({model['image_size']} px{_tta(model)}, this repo)"
    rows = [
        [ours, f"**{fmt(metrics['test_accuracy'])}**", f"{fmt(ci['low'], 3)}-{fmt(ci['high'], 3)}",
         str(metrics["test_errors"]), fmt(metrics["ece"], 3), "validation split carved from train"],
        ["ResNet-18 fine-tuning (tutorial)", fmt(PUBLISHED["fine-tuning"]), "—", "—", "—",
         "best epoch on val (= test)"],
        ["ResNet-18 fixed feature extractor (tutorial)", fmt(PUBLISHED["fixed feature extractor"]), "—", "—", "—",
         "best epoch on val (= test)"],
    ]  # fmt: skip
    return ResultsTable(
        columns=[
            "model",
            "test accuracy",
            f"{100 * ci['level']:.0f}% bootstrap CI",
            "errors",
            "ECE",
            "model selection",
        ],
        rows=rows,
        caption=f"Test set: the {metrics['test_images']} images of the dataset's `val` folder. Per class: "
        + "; ".join(
            f"{name} precision {m['precision']:.3f} / recall {m['recall']:.3f}"
            for name, m in metrics["per_class"].items()
        )
        + ".",
    )


def render_details(reports: Path) -> str:
    """The README's `evaluation` block: transfer learning against from-scratch and the tutorial, per class,
    calibration and the mistakes (from reports/metrics.json and reports/from_scratch.json)."""
    from image_classifier.scratch import SCRATCH_FILE
    from mlshared.reports import markdown_table, read_report

    report = read_report(reports / "metrics.json")
    m = report.metrics
    model = m["model"]
    name = f"{model['arch']}, ImageNet weights, {model['mode']} ({model['image_size']} px{_tta(model)})"
    rows = [
        [name, fmt(m["test_accuracy"]),
         f"{fmt(m['test_accuracy_ci']['low'], 3)}-{fmt(m['test_accuracy_ci']['high'], 3)}", fmt(m["ece"], 3),
         f"{model['train_seconds']:.0f} s", "this repo; early stopping on a split of train"],
    ]  # fmt: skip
    scratch_path = reports / SCRATCH_FILE
    if scratch_path.is_file():
        s = json.loads(scratch_path.read_text(encoding="utf-8"))
        rows.append(
            [f"{s['arch']} from scratch (random weights, {s['image_size']} px, {s['epochs_run']} epochs)",
             fmt(s["test_accuracy"]), f"{fmt(s['test_accuracy_ci']['low'], 3)}-{fmt(s['test_accuracy_ci']['high'], 3)}",
             fmt(s["ece"], 3), f"{s['train_seconds']:.0f} s", "this repo; same data, split and test set"]
        )  # fmt: skip
    rows += [
        ["ResNet-18 fine-tuning (tutorial)", fmt(PUBLISHED["fine-tuning"]), "—", "—", "—",
         "epoch chosen on the test set"],
        ["ResNet-18 fixed feature extractor (tutorial)", fmt(PUBLISHED["fixed feature extractor"]), "—", "—", "—",
         "epoch chosen on the test set"],
    ]  # fmt: skip
    comparison = ResultsTable(
        columns=["model", "test accuracy", f"{100 * m['test_accuracy_ci']['level']:.0f}% CI", "ECE", "training time",
                 "notes"],
        rows=rows,
    )  # fmt: skip
    classes = ResultsTable(
        columns=["class", "precision", "recall", "F1", "test images"],
        rows=[[name, fmt(v["precision"], 3), fmt(v["recall"], 3), fmt(v["f1"], 3), str(v["support"])]
              for name, v in m["per_class"].items()],
    )  # fmt: skip
    mistakes = (
        ", ".join(
            f"`{x['file']}` ({x['true']} called {x['predicted']}, p={x['probability']:.2f})"
            for x in m["confident_mistakes"]
        )
        or "none"
    )
    return "\n\n".join(
        [
            markdown_table(comparison),
            markdown_table(classes),
            f"Calibration: ECE {m['ece']:.3f} over {m['calibration_bins']} confidence bins, "
            f"log loss {m['log_loss']:.3f}. "
            f"Most confident mistakes: {mistakes}.",
        ]
    )

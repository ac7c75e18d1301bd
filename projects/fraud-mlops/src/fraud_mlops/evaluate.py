"""Turn a training run into the published report: test-week metrics of every model and feature set on both
protocols, beside the handbook's published numbers, plus figures. Every number comes from `train`'s
test-week predictions (artifacts/<profile>/predictions.parquet)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import polars as pl

from fraud_mlops.config import Config
from fraud_mlops.metrics import SCORE
from fraud_mlops.models import FraudModel, is_pipeline
from fraud_mlops.schema import LABEL
from fraud_mlops.train import MODEL_FILE, PREDICTIONS_FILE, TRAINING_FILE, summarise
from mlshared import plots, tracking
from mlshared.console import UserError, console
from mlshared.paths import OutputDirs
from mlshared.reports import MetricsReport, PrimaryMetric, ResultsTable, fmt, git_commit, write_report

# Fraud Detection Handbook, chapter 5.3 (model selection), test week 2018-08-08..14: tuned models.
PUBLISHED: dict[str, dict[str, float]] = {
    "xgboost": {"average_precision": 0.687, "roc_auc": 0.869, "card_precision_at_100": 0.303},
    "random_forest": {"average_precision": 0.678, "roc_auc": 0.870, "card_precision_at_100": 0.299},
}
PUBLISHED_SOURCE = "Fraud Detection Handbook (Le Borgne et al. 2022), ch. 5.3: tuned XGBoost, test week 2018-08-08..14"
LABELS = {"logistic_regression": "Logistic regression", "random_forest": "Random forest", "xgboost": "XGBoost"}


def load_training(outputs: OutputDirs) -> tuple[pl.DataFrame, dict[str, Any]]:
    predictions, facts = outputs.work / PREDICTIONS_FILE, outputs.work / TRAINING_FILE
    if not predictions.is_file() or not facts.is_file():
        raise UserError(
            f"No training outputs in {outputs.work}.",
            hint=f"Run `fraud-mlops train --profile {outputs.profile}` first.",
        )
    return pl.read_parquet(predictions), json.loads(facts.read_text(encoding="utf-8"))


def evaluate(config: Config, profile: str, outputs: OutputDirs) -> MetricsReport:
    outputs.ensure()
    predictions, facts = load_training(outputs)
    k = config.protocol.top_k
    cp = f"card_precision_at_{k}"
    metrics = summarise(predictions, k)
    primary_key = f"handbook/xgboost/{config.features.set}"
    primary = metrics[primary_key]
    rows: list[list[str]] = []
    for key, m in metrics.items():
        protocol, model, fs = key.split("/")
        published = PUBLISHED.get(model, {}) if protocol == "handbook" and k == 100 else {}
        rows.append(
            [protocol, LABELS[model], fs, fmt(m["average_precision"]), fmt(published.get("average_precision")),
             fmt(m["roc_auc"]), fmt(published.get("roc_auc")), fmt(m[cp]), fmt(published.get(cp))]
        )  # fmt: skip
    splits = facts["splits"]
    table = ResultsTable(
        columns=["protocol", "model", "features", "AP", "AP (handbook)", "ROC-AUC", "ROC-AUC (handbook)",
                 f"CP@{k}", f"CP@{k} (handbook)"],
        rows=rows,
        caption=(
            f"Test week without the cards known to be compromised: {splits['handbook']['describe']} (handbook "
            f"protocol), {splits['history']['describe']} (history protocol). CP@{k}: card precision@{k}, mean "
            f"over the test days. XGBoost: Optuna, {facts['tuning']['n_trials']} trials on "
            f"{len(facts['tuning']['folds'])} prequential folds (mean AP {facts['tuning']['best_value']:.4f}); "
            "the handbook columns are its tuned models' published test-week figures."
        ),
    )  # fmt: skip
    figures = _figures(config, predictions, outputs)
    report = MetricsReport(
        project="fraud-mlops",
        profile=profile,
        primary=PrimaryMetric(
            name="average_precision",
            value=round(primary["average_precision"], 4),
            higher_is_better=True,
            published_baseline=PUBLISHED["xgboost"]["average_precision"],
            baseline_source=PUBLISHED_SOURCE,
            description=f"XGBoost on the {config.features.set} features, handbook protocol "
            f"({splits['handbook']['describe']}), known-compromised cards removed from the test days.",
        ),
        metrics={
            "test": {key: {n: round(v, 5) for n, v in m.items()} for key, m in metrics.items()},
            "tuning": {
                k2: facts["tuning"][k2] for k2 in ("best_params", "best_value", "n_trials", "n_pruned", "folds")
            },
            "fit_seconds": facts["fit_seconds"],
            "served": facts["served"],
        },
        table=table,
        data_fingerprint=str(facts["data_fingerprint"]),
        git_commit=git_commit(),
    )
    write_report(report, outputs.metrics)
    console.print(
        f"[green]Wrote[/] {outputs.metrics}: AP {primary['average_precision']:.4f}, ROC-AUC {primary['roc_auc']:.4f}, "
        f"CP@{k} {primary[cp]:.4f} (handbook XGBoost: 0.687 / 0.869 / 0.303)"
    )
    tracking.log_to_run(facts.get("run_id"), config.tracking.experiment, {"report": report.metrics["test"]}, figures)
    return report


def _figures(config: Config, predictions: pl.DataFrame, outputs: OutputDirs) -> list[Path]:
    handbook = predictions.filter((pl.col("protocol") == "handbook") & (pl.col("feature_set") == config.features.set))
    curves: dict[str, np.ndarray[Any, Any]] = {}
    y = None
    for (model,), rows in handbook.group_by(["model"], maintain_order=True):
        y = rows[LABEL].to_numpy()
        curves[LABELS[str(model)]] = rows[SCORE].to_numpy()
    paths: list[Path] = []
    if y is not None:
        paths.append(
            plots.precision_recall(
                y,
                curves,
                outputs.figures / "precision_recall.png",
                title=f"Handbook test week, {config.features.set} features",
            )
        )
    model_path = outputs.models / MODEL_FILE
    if model_path.is_file():
        served: FraudModel = joblib.load(model_path)
        if not is_pipeline(served.estimator) and hasattr(served.estimator, "feature_importances_"):
            paths.append(
                plots.importances(
                    served.features,
                    served.estimator.feature_importances_,
                    outputs.figures / "feature_importance.png",
                    title=f"Served {LABELS[served.name]}: gain importance",
                    xlabel="Share of total gain",
                )
            )
    return paths

"""Turn a training run into the published report: CV ROC-AUC of every model against the published
figures, thresholded metrics at the business threshold, the cost/profit curve, calibration and
global SHAP importance. Every number comes from out-of-fold predictions of `train`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from churn_api.business import campaign_profit, threshold_grid
from churn_api.config import Config
from churn_api.data import data_fingerprint, load_customers
from churn_api.predictor import ChurnPredictor
from churn_api.schema import FEATURES
from churn_api.settings import MODEL_FILE
from churn_api.train import BASELINE, CV_FILE, OOF_FILE, RAW
from mlshared import plots, tracking
from mlshared.console import UserError, console
from mlshared.datasets import DataSettings
from mlshared.metrics import bootstrap_ci, classification_metrics
from mlshared.paths import OutputDirs
from mlshared.reports import MetricsReport, PrimaryMetric, ResultsTable, git_commit, write_report

PUBLISHED_AUC = 0.85
PUBLISHED_SOURCE = (
    "tuned logistic regression / XGBoost / CatBoost on IBM Telco churn, stratified CV: 0.84-0.85 "
    "(e.g. the Kaggle 'Telco Customer Churn' notebooks; Lalwani et al. 2022, Computing 104)"
)
LABELS = {BASELINE: "Logistic regression (baseline)", RAW: "XGBoost (tuned, uncalibrated)"}


def _label(name: str) -> str:
    return LABELS.get(name, f"XGBoost + {name.removeprefix('xgboost_')} calibration")


def _load_cv(outputs: OutputDirs) -> tuple[pd.DataFrame, dict[str, Any]]:
    oof_path, cv_path = outputs.work / OOF_FILE, outputs.work / CV_FILE
    if not oof_path.is_file() or not cv_path.is_file():
        raise UserError(
            f"No training outputs in {outputs.work}.", hint=f"Run `churn-api train --profile {outputs.profile}` first."
        )
    return pd.read_parquet(oof_path), json.loads(cv_path.read_text(encoding="utf-8"))


def evaluate(config: Config, profile: str, outputs: OutputDirs, settings: DataSettings | None = None) -> MetricsReport:
    outputs.ensure()
    oof, cv = _load_cv(outputs)
    predictor = ChurnPredictor.load(outputs.models / MODEL_FILE)
    served: str = cv["served"]
    threshold = predictor.threshold
    y = oof["churn"].to_numpy()
    names = list(cv["models"])
    detailed = {
        name: {
            "cv_roc_auc_mean": round(cv["models"][name]["mean"], 5),
            "cv_roc_auc_std": round(cv["models"][name]["std"], 5),
            # thresholded metrics at the served threshold only mean something for calibrated models;
            # the others are reported at 0.5.
            **{
                k: round(v, 5)
                for k, v in classification_metrics(y, oof[f"p_{name}"], threshold if name == served else 0.5).items()
            },
        }
        for name in names
    }
    ci = bootstrap_ci(
        roc_auc_score,
        y,
        oof[f"p_{served}"].to_numpy(),
        n_resamples=config.evaluate.bootstrap_resamples,
        seed=config.seed,
    )
    customers = load_customers(settings)
    importance = _shap_importance(predictor, customers.X)
    figures = _figures(config, oof, names, served, threshold, importance, outputs.figures)
    s = detailed[served]
    primary = PrimaryMetric(
        name="cv_roc_auc",
        value=round(cv["models"][served]["mean"], 5),
        higher_is_better=True,
        published_baseline=PUBLISHED_AUC,
        baseline_source=PUBLISHED_SOURCE,
        description=f"Stratified {config.cv.n_splits}-fold shuffled CV (seed {config.seed}) ROC-AUC of the served "
        f"model ({_label(served)}) on all {len(oof)} IBM Telco customers; hyper-parameters tuned on other folds.",
    )
    report = MetricsReport(
        project="churn-api",
        profile=profile,
        primary=primary,
        metrics={
            "models": detailed,
            "served_model": served,
            "roc_auc_bootstrap_95ci": ci.as_dict(),
            "threshold": cv["threshold"],
            "tuning": cv["tuning"],
            "shap_mean_abs_top10": dict(list(importance.items())[:10]),
            "train_seconds": cv["train_seconds"],
            "figures": [str(f.relative_to(outputs.reports)) for f in figures],
        },
        table=_table(config, cv, detailed, served, threshold, ci.low, ci.high),
        data_fingerprint=data_fingerprint(),
        git_commit=git_commit(outputs.root),
    )
    write_report(report, outputs.metrics)
    tracking.log_to_run(
        predictor.metadata.get("mlflow_run_id"),
        predictor.metadata.get("experiment", "churn-api"),
        {"evaluate": report.metrics["models"]},
        figures,
    )
    console.print(
        f"[bold]{_label(served)}: CV ROC-AUC {primary.value:.4f}[/] (95% CI {ci.low:.3f}-{ci.high:.3f}), "
        f"PR-AUC {s['pr_auc']:.3f}, Brier {s['brier']:.4f}; at threshold {threshold:.3f}: recall {s['recall']:.3f}, "
        f"F1 {s['f1']:.3f}. Published {PUBLISHED_AUC}. Wrote {outputs.metrics}"
    )
    return report


def _shap_importance(predictor: ChurnPredictor, X: pd.DataFrame) -> dict[str, float]:
    """Mean |SHAP| per IBM field over every customer (log-odds), largest first."""
    phi = predictor.scorer.explain_frame(X).contributions
    mean_abs = np.abs(phi).mean(axis=0)
    order = np.argsort(-mean_abs)
    return {FEATURES[i]: round(float(mean_abs[i]), 5) for i in order}


def _table(
    config: Config,
    cv: dict[str, Any],
    detailed: dict[str, dict[str, float]],
    served: str,
    threshold: float,
    ci_low: float,
    ci_high: float,
) -> ResultsTable:
    rows = []
    for name, m in detailed.items():
        label = f"**{_label(name)} (served)**" if name == served else _label(name)
        at = f"{m['threshold']:.3f}"
        rows.append(
            [
                label,
                f"{m['cv_roc_auc_mean']:.4f} ± {m['cv_roc_auc_std']:.4f}",
                f"{m['pr_auc']:.4f}",
                f"{m['brier']:.4f}",
                f"{m['f1']:.3f} @ {at}",
                f"{m['recall']:.3f} @ {at}",
            ]
        )
    t = cv["threshold"]
    b = config.business
    caption = (
        f"Stratified {config.cv.n_splits}-fold CV (seed {config.seed}), out-of-fold predictions for all customers. "
        f"Served model ROC-AUC 95% bootstrap CI {ci_low:.3f}-{ci_high:.3f}. Threshold {threshold:.3f} maximises "
        f"campaign profit (offer ${b.retention_offer_cost:g}, churner value ${b.churner_value:g}, "
        f"{b.offer_success_rate:.0%} of contacted churners kept; Bayes threshold {t['bayes_threshold']:.3f}): "
        f"${t['profit_per_1000']:,.0f} per 1,000 customers, {t['contacted_share']:.1%} contacted. "
        f"Published ROC-AUC on this data: 0.84-0.85."
    )
    return ResultsTable(columns=["model", "CV ROC-AUC", "PR-AUC", "Brier", "F1", "recall"], rows=rows, caption=caption)


def _figures(
    config: Config,
    oof: pd.DataFrame,
    names: list[str],
    served: str,
    threshold: float,
    importance: dict[str, float],
    folder: Path,
) -> list[Path]:
    y = oof["churn"].to_numpy()
    scores = {_label(n): oof[f"p_{n}"].to_numpy() for n in names}
    calibrated = {_label(n): oof[f"p_{n}"].to_numpy() for n in (BASELINE, RAW, served)}
    grid = threshold_grid(config.business.threshold_step)
    curves = {
        _label(n): campaign_profit(y, oof[f"p_{n}"], grid, config.business) / len(y) * 1000 for n in (BASELINE, served)
    }
    served_p = oof[f"p_{served}"].to_numpy()
    return [
        plots.roc(y, scores, folder / "roc.png", "ROC, out-of-fold"),
        plots.precision_recall(y, scores, folder / "precision_recall.png", "Precision-recall, out-of-fold"),
        plots.calibration(y, calibrated, folder / "calibration.png", title="Calibration, out-of-fold"),
        plots.confusion_matrix(
            y, (served_p >= threshold).astype(int), folder / "confusion_matrix.png", labels=["stays", "churns"],
            title=f"Served model at threshold {threshold:.3f}",
        ),
        plots.line(
            grid, curves, folder / "profit_curve.png", "Retention campaign profit vs threshold",
            "threshold on P(churn)", "profit per 1,000 customers ($)", marker_x=threshold,
            marker_label=f"chosen {threshold:.3f}",
        ),
        plots.importances(
            list(importance), list(importance.values()), folder / "shap_importance.png",
            title="Global SHAP importance (served model)", xlabel="mean |SHAP value| (log-odds)",
        ),
    ]  # fmt: skip

"""Turn a training run into the published report: CV table against the baselines, bootstrap
intervals, out-of-sample error on the set-aside outliers, figures, permutation importance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.metrics import make_scorer
from sklearn.model_selection import train_test_split

from house_prices.config import Config
from house_prices.data import DATASET, load_train
from house_prices.predictor import MODEL_FILE, HousePricePredictor
from house_prices.schema import FEATURES, ID, TARGET
from house_prices.train import CV_FILE, OOF_FILE, build_selected, split_outliers
from mlshared import plots, tracking
from mlshared.console import UserError, console
from mlshared.datasets import DataSettings, fingerprint
from mlshared.metrics import bootstrap_ci, regression_metrics, rmse
from mlshared.paths import OutputDirs
from mlshared.reports import MetricsReport, PrimaryMetric, ResultsTable, fmt, git_commit, write_report

STACKED_KERNEL = 'Serigne, "Stacked Regressions: Top 4% on LeaderBoard", Kaggle kernel (5-fold CV, log1p target)'
# Published 5-fold CV RMSE of log1p(SalePrice) on the same training rows (outliers removed).
PUBLISHED: dict[str, tuple[float, str]] = {
    "lasso": (0.1115, STACKED_KERNEL),
    "xgboost": (0.115, STACKED_KERNEL),
    "blend": (0.1081, STACKED_KERNEL + ", stacked ensemble"),
}
LABELS = {
    "ridge": "Ridge", "lasso": "Lasso", "elasticnet": "ElasticNet", "kernel_ridge": "Kernel ridge",
    "svr": "SVR (RBF)", "xgboost": "XGBoost", "lightgbm": "LightGBM", "blend": "**Blend (log-space average)**",
}  # fmt: skip


def _load_cv(outputs: OutputDirs) -> tuple[pd.DataFrame, dict[str, Any]]:
    oof_path, cv_path = outputs.work / OOF_FILE, outputs.work / CV_FILE
    if not oof_path.is_file() or not cv_path.is_file():
        raise UserError(
            f"No training outputs in {outputs.work}.",
            hint=f"Run `house-prices train --profile {outputs.profile}` first.",
        )
    return pd.read_parquet(oof_path), json.loads(cv_path.read_text(encoding="utf-8"))


def neg_log_rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return -rmse(np.log1p(y_true), np.log1p(y_pred))


def holdout_importance(config: Config, selected: str, settings: DataSettings | None, figures: Path) -> dict[str, float]:
    """Permutation importance of the raw input columns on a held-out split (not the training rows,
    where flexible models would look better than they are)."""
    houses = load_train(settings)
    rows, _ = split_outliers(houses, config)
    X, y = rows[list(FEATURES)], rows[TARGET]
    X_fit, X_hold, y_fit, y_hold = train_test_split(
        X, y, test_size=config.evaluate.holdout_fraction, random_state=config.seed
    )
    with console.status(f"Fitting {selected} on the importance split"):
        model = build_selected(config, selected).fit(X_fit, y_fit)
    with console.status(f"Permutation importance ({len(FEATURES)} columns x {config.evaluate.permutation_repeats})"):
        result = permutation_importance(
            model,
            X_hold,
            y_hold,
            scoring=make_scorer(neg_log_rmse),
            n_repeats=config.evaluate.permutation_repeats,
            random_state=config.seed,
            n_jobs=1,
        )
    plots.importances(
        list(FEATURES),
        result.importances_mean,
        figures / "permutation_importance.png",
        errors=result.importances_std,
        title=f"Permutation importance on a held-out 20% ({selected})",
        xlabel="Increase in RMSE of log1p(SalePrice) when the column is shuffled",
    )
    order = np.argsort(-result.importances_mean)
    return {FEATURES[i]: round(float(result.importances_mean[i]), 5) for i in order[:15]}


def evaluate(config: Config, profile: str, outputs: OutputDirs, settings: DataSettings | None = None) -> MetricsReport:
    outputs.ensure()
    oof, cv = _load_cv(outputs)
    predictor = HousePricePredictor.load(outputs.models / MODEL_FILE)
    selected: str = cv["selected"]
    y_log = oof["log_actual"].to_numpy()
    selected_log = oof[f"log_pred_{selected}"].to_numpy()

    ci = bootstrap_ci(rmse, y_log, selected_log, n_resamples=config.evaluate.bootstrap_resamples, seed=config.seed)
    dollars = regression_metrics(np.expm1(y_log), np.expm1(selected_log))

    # The set-aside outliers were never trained on, so the final model's predictions for them are
    # out-of-sample: together with the out-of-fold predictions they score all 1460 rows.
    houses = load_train(settings)
    outliers = houses.frame[houses.frame[ID].isin(cv["outlier_ids"])]
    all_log_true, all_log_pred = y_log, selected_log
    if len(outliers):
        all_log_true = np.concatenate([y_log, np.log1p(outliers[TARGET].to_numpy())])
        all_log_pred = np.concatenate([selected_log, np.log1p(predictor.predict(outliers))])
    rmse_all_rows = rmse(all_log_true, all_log_pred)

    importance = holdout_importance(config, selected, settings, outputs.figures)
    figures = _figures(oof, selected, outputs.figures)

    models = cv["models"]
    primary = PrimaryMetric(
        name="cv_rmse_log1p",
        value=round(models[selected]["mean"], 5),
        higher_is_better=False,
        published_baseline=PUBLISHED["blend"][0],
        baseline_source=PUBLISHED["blend"][1],
        description=f"{config.cv.n_splits}-fold shuffled CV (seed {config.seed}) RMSE of log1p(SalePrice) on "
        f"{len(oof)} training rows (the {len(outliers)} De Cock partial-sale outliers set aside, as in the "
        f"published kernels), of the selected model ({selected}: the lowest CV RMSE among the candidates and "
        "their fixed-weight blend).",
    )
    report = MetricsReport(
        project="house-prices",
        profile=profile,
        primary=primary,
        metrics={
            "cv_rmse_log1p": {name: {"mean": m["mean"], "std": m["std"]} for name, m in models.items()},
            "selected_model": selected,
            "rmse_log1p_bootstrap_95ci": ci.as_dict(),
            "rmse_log1p_all_1460_rows": round(rmse_all_rows, 5),
            "oof_dollars": {k: round(v, 4) for k, v in dollars.items()},
            "prediction_interval": {
                "level": predictor.interval_level,
                "log_residual_quantiles": list(predictor.log_residual_quantiles),
            },
            "training_rows": len(oof),
            "outlier_ids": cv["outlier_ids"],
            "train_seconds": cv["train_seconds"],
            "permutation_importance_top15": importance,
            "figures": [str(f.relative_to(outputs.reports)) for f in figures],
        },
        table=_table(models, selected, ci.low, ci.high, rmse_all_rows, config),
        data_fingerprint=fingerprint(DATASET, ["train.csv"]),
        git_commit=git_commit(outputs.root),
    )
    write_report(report, outputs.metrics)
    tracking.log_to_run(
        predictor.metadata.get("mlflow_run_id"),
        predictor.metadata.get("experiment", "house-prices"),
        {k: v for k, v in report.metrics.items() if k != "outlier_ids"},
        figures,
    )
    console.print(
        f"[bold]{selected} CV RMSE(log1p) = {primary.value:.4f}[/] (95% CI {ci.low:.4f}-{ci.high:.4f}); "
        f"all 1460 rows {rmse_all_rows:.4f}; published stacked {PUBLISHED['blend'][0]}. Wrote {outputs.metrics}"
    )
    return report


def _table(
    models: dict[str, Any], selected: str, ci_low: float, ci_high: float, rmse_all_rows: float, config: Config
) -> ResultsTable:
    rows = []
    for name, m in sorted(models.items(), key=lambda item: (item[0] == "blend", item[1]["mean"])):
        baseline = PUBLISHED.get(name)
        label = LABELS.get(name, name)
        rows.append(
            [
                f"**{label} (selected)**" if name == selected else label,
                f"{m['mean']:.4f} ± {m['std']:.4f}",
                fmt(baseline[0]) if baseline else "—",
                f"{m.get('fit_seconds', 0):.0f} s" if name != "blend" else "(members)",
            ]
        )
    weights = ", ".join(f"{k} {v:g}" for k, v in config.blend.weights.items())
    caption = (
        f"{config.cv.n_splits}-fold shuffled CV (seed {config.seed}), RMSE of log1p(SalePrice), mean ± std over "
        f"folds. Blend weights: {weights}. Selected model: 95% bootstrap CI over rows {ci_low:.4f}-{ci_high:.4f}; "
        f"scoring all 1460 rows (the 2 set-aside outliers predicted out of sample) {rmse_all_rows:.4f}. "
        f"Published figures: {STACKED_KERNEL}."
    )
    return ResultsTable(columns=["model", "CV RMSE (log1p)", "published", "CV time"], rows=rows, caption=caption)


def _figures(oof: pd.DataFrame, selected: str, folder: Path) -> list[Path]:
    column, label = f"log_pred_{selected}", LABELS.get(selected, selected)
    actual, predicted = np.expm1(oof["log_actual"]), np.expm1(oof[column])
    return [
        plots.predicted_vs_actual(actual, predicted, folder / "predicted_vs_actual.png",
                                  f"{label}: out-of-fold predictions", units="SalePrice ($)"),
        plots.residuals(oof["log_actual"], oof[column], folder / "residuals.png",
                        f"{label}: out-of-fold residuals (log scale)", units="log1p(SalePrice)"),
        folder / "permutation_importance.png",
    ]  # fmt: skip

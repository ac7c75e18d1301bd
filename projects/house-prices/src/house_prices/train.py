"""Cross-validate every candidate model, blend them, fit the final model, track and register it."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from house_prices.config import Config
from house_prices.data import DATASET, Houses, is_de_cock_outlier, load_train
from house_prices.models import blend_log_predictions, build_blend, build_models
from house_prices.predictor import MODEL_FILE, HousePricePredictor, typical_house
from house_prices.schema import FEATURES, ID, TARGET
from mlshared import tracking
from mlshared.console import console
from mlshared.datasets import DataSettings, fingerprint
from mlshared.metrics import CVResult, cross_val_oof, fold_scores, make_cv, rmse
from mlshared.paths import OutputDirs

OOF_FILE = "oof.parquet"
CV_FILE = "cv.json"


@dataclass
class TrainResult:
    predictor: HousePricePredictor
    cv: dict[str, CVResult]
    model_path: Path
    run_id: str | None


def split_outliers(houses: Houses, config: Config) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows used for training and CV, rows set aside as De Cock outliers)."""
    frame = houses.frame
    if not config.data.drop_outliers:
        return frame, frame.iloc[0:0]
    mask = is_de_cock_outlier(frame, config.data.outliers.min_living_area, config.data.outliers.max_price)
    return frame[~mask], frame[mask]


def log_predict(model: Any, X: pd.DataFrame) -> np.ndarray:
    return np.asarray(np.log1p(np.asarray(model.predict(X), dtype=float)), dtype=float)


def cross_validate(config: Config, X: pd.DataFrame, y: pd.Series) -> dict[str, CVResult]:
    """Seeded, shuffled K-fold CV of every model on the same folds; RMSE on log1p(SalePrice)."""
    models = build_models(config)
    cv = make_cv(config.cv.n_splits, config.seed)
    y_log = np.log1p(y.to_numpy())
    results: dict[str, CVResult] = {}
    for name, model in models.items():
        results[name] = cross_val_oof(name, model, X, y, cv, score=rmse, predict=log_predict, y_score=y_log)
        r = results[name]
        console.print(f"  {name:<13} CV RMSE(log) {r.mean:.4f} ± {r.std:.4f}  ({r.fit_seconds:.0f} s)")
    # The blend's folds are its members' folds, so its CV score comes from their out-of-fold predictions.
    members = list(config.blend.weights)
    weights = np.array([config.blend.weights[m] for m in members], dtype=float)
    weights /= weights.sum()
    blend_oof = np.log1p(blend_log_predictions([np.expm1(results[m].oof) for m in members], weights))
    folds = results[members[0]].folds
    results["blend"] = CVResult("blend", blend_oof, fold_scores(y_log, blend_oof, folds, rmse), folds)
    console.print(f"  {'blend':<13} CV RMSE(log) {results['blend'].mean:.4f} ± {results['blend'].std:.4f}")
    return results


def build_selected(config: Config, name: str) -> Any:
    """The estimator called `name` in the CV results: the blend or one of its candidates."""
    return build_blend(config) if name == "blend" else build_models(config)[name]


def select_best(cv: dict[str, CVResult]) -> str:
    """The model with the lowest mean CV RMSE (the blend included) is the one saved and registered."""
    return min(cv, key=lambda name: cv[name].mean)


def fit_final(config: Config, X: pd.DataFrame, y: pd.Series, name: str) -> Any:
    with console.status(f"Fitting the selected model ({name}) on all training rows"):
        return build_selected(config, name).fit(X, y)


def residual_quantiles(y: pd.Series, blend_oof_log: np.ndarray, level: float) -> tuple[float, float]:
    residuals = np.log1p(y.to_numpy()) - blend_oof_log
    alpha = (1 - level) / 2
    low, high = np.quantile(residuals, [alpha, 1 - alpha])
    return float(low), float(high)


def train(config: Config, profile: str, outputs: OutputDirs, settings: DataSettings | None = None) -> TrainResult:
    start = time.perf_counter()
    outputs.ensure()
    houses = load_train(settings)
    train_rows, outlier_rows = split_outliers(houses, config)
    X, y = train_rows[list(FEATURES)], train_rows[TARGET]
    console.print(
        f"Training rows: {len(train_rows)} of {len(houses.frame)} "
        f"({len(outlier_rows)} De Cock outliers set aside: Id {', '.join(map(str, outlier_rows[ID]))})"
    )
    cv = cross_validate(config, X, y)
    selected = select_best(cv)
    console.print(f"Selected [bold]{selected}[/] (lowest CV RMSE)")
    model = fit_final(config, X, y, selected)
    predictor = HousePricePredictor(
        model=model,
        log_residual_quantiles=residual_quantiles(y, cv[selected].oof, config.evaluate.interval_level),
        interval_level=config.evaluate.interval_level,
        typical_house=typical_house(X),
        metadata={
            "profile": profile,
            "data_fingerprint": fingerprint(DATASET, ["train.csv"]),
            "training_rows": len(train_rows),
            "outlier_ids": outlier_rows[ID].tolist(),
            "cv": {name: {"mean": r.mean, "std": r.std} for name, r in cv.items()},
            "selected_model": selected,
            "blend_weights": config.blend.weights,
            "experiment": config.tracking.experiment,
            "trained_at": pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
        },
    )
    model_path = predictor.save(outputs.models / MODEL_FILE)
    _save_cv(cv, selected, train_rows, outlier_rows, outputs, time.perf_counter() - start)
    run_id = _track(config, profile, predictor, X, cv)
    predictor.metadata["mlflow_run_id"] = run_id
    predictor.save(model_path)
    console.print(f"[green]Saved[/] {model_path} ({time.perf_counter() - start:.0f} s)")
    return TrainResult(predictor, cv, model_path, run_id)


def _save_cv(
    cv: dict[str, CVResult],
    selected: str,
    train_rows: pd.DataFrame,
    outliers: pd.DataFrame,
    outputs: OutputDirs,
    seconds: float,
) -> None:
    """Out-of-fold predictions and fold scores, the inputs of `evaluate`."""
    oof = pd.DataFrame({ID: train_rows[ID].to_numpy(), "log_actual": np.log1p(train_rows[TARGET].to_numpy())})
    fold_of = np.empty(len(train_rows), dtype=int)
    for k, (_, val) in enumerate(next(iter(cv.values())).folds):
        fold_of[val] = k
    oof["fold"] = fold_of
    for name, result in cv.items():
        oof[f"log_pred_{name}"] = result.oof
    oof.to_parquet(outputs.work / OOF_FILE, index=False)
    summary = {
        "train_seconds": round(seconds, 1),
        "selected": selected,
        "outlier_ids": outliers[ID].tolist(),
        "models": {
            name: {"mean": r.mean, "std": r.std, "folds": r.fold_scores, "fit_seconds": round(r.fit_seconds, 1)}
            for name, r in cv.items()
        },
    }
    (outputs.work / CV_FILE).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


def _track(
    config: Config, profile: str, predictor: HousePricePredictor, X: pd.DataFrame, cv: dict[str, CVResult]
) -> str:
    with tracking.tracked_run(
        config.tracking.experiment,
        run_name=f"train-{profile}",
        params=config.model_dump(),
        tags={"profile": profile, "data_fingerprint": str(predictor.metadata["data_fingerprint"])},
    ) as run:
        tracking.log_metrics({f"cv_rmse_log.{name}": {"mean": r.mean, "std": r.std} for name, r in cv.items()})
        with console.status("Logging and registering the model in MLflow"):
            registered = tracking.log_sklearn_model(
                predictor.model,
                input_example=X.head(3),
                registered_name=config.tracking.registered_model,
                alias=config.tracking.alias,
                requirements=(
                    "scikit-learn",
                    "pandas",
                    "numpy",
                    "scipy",
                    "xgboost-cpu",
                    "lightgbm",
                    "pydantic",
                    "pyyaml",
                    "rich",
                ),
                code_packages=("house_prices", "mlshared"),
            )
        if registered:
            console.print(f"Registered {registered.alias_uri} (version {registered.version})")
        return str(run.info.run_id)

"""Tune XGBoost, cross-validate it (raw and calibrated) against the logistic baseline, pick the
calibration and the business threshold on out-of-fold predictions, fit the served model on all
customers, check the serving engine reproduces it, then track and register it in MLflow."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from churn_api.business import ThresholdChoice, choose_threshold
from churn_api.config import CalibrationMethod, Config
from churn_api.data import DATASET, FILE, Customers, data_fingerprint, load_customers
from churn_api.models import ChurnModel, build_baseline, build_calibrated, build_xgboost, positive_proba
from churn_api.schema import ID
from churn_api.scoring import ScoringMode, select_scorer
from churn_api.settings import MODEL_FILE
from churn_api.tuning import tune
from mlshared import tracking
from mlshared.console import UserError, console
from mlshared.datasets import DataSettings
from mlshared.metrics import CVResult, cross_val_oof, make_cv
from mlshared.params import overrides_of
from mlshared.paths import OutputDirs
from mlshared.reports import git_commit
from mlshared.tuning import StudyResult

OOF_FILE = "oof.parquet"
CV_FILE = "cv.json"
BASELINE = "logistic_regression"
RAW = "xgboost"
ENGINE_TOLERANCE = 1e-5


@dataclass
class TrainResult:
    model: ChurnModel
    cv: dict[str, CVResult]
    model_path: Path
    run_id: str | None


def calibrated_name(method: CalibrationMethod) -> str:
    return f"xgboost_{method}"


def cross_validate(
    config: Config, X: pd.DataFrame, y: npt.NDArray[np.int_], params: dict[str, Any]
) -> dict[str, CVResult]:
    """Every candidate on the same stratified folds; ROC-AUC per fold, out-of-fold P(churn)."""
    cv = make_cv(config.cv.n_splits, config.seed, stratified=True)
    candidates: dict[str, Any] = {
        BASELINE: build_baseline(config.baseline.C, config.seed),
        RAW: build_xgboost(params, config.seed, config.n_jobs),
    }
    for method in config.calibration.methods:
        candidates[calibrated_name(method)] = build_calibrated(
            params, method, config.calibration.inner_folds, config.seed, config.n_jobs
        )
    results: dict[str, CVResult] = {}
    for name, estimator in candidates.items():
        result = cross_val_oof(name, estimator, X, y, cv, score=roc_auc_score, predict=positive_proba)
        results[name] = result
        brier = brier_score_loss(y, result.oof)
        console.print(
            f"  {name:<20} CV ROC-AUC {result.mean:.4f} ± {result.std:.4f}   Brier {brier:.4f}"
            f"   ({result.fit_seconds:.0f} s)"
        )
    return results


def select_calibration(config: Config, y: npt.NDArray[np.int_], cv: dict[str, CVResult]) -> CalibrationMethod:
    """The calibration with the better out-of-fold Brier score (or log loss), as params.yaml says."""
    score = brier_score_loss if config.calibration.select_by == "brier" else log_loss
    return min(config.calibration.methods, key=lambda m: float(score(y, cv[calibrated_name(m)].oof)))


def verify_scorers(model: ChurnModel, customers: Customers) -> dict[str, float | None]:
    """Every scorer that can serve the model must reproduce the scikit-learn model on every training row.
    XGBoost's own path serves any model; the compiled engine only shallow ones (its gap is None otherwise)."""
    expected = model.predict_proba(customers.X)[:, 1]
    gaps: dict[str, float | None] = {}
    modes: tuple[ScoringMode, ...] = ("xgboost", "engine")
    for mode in modes:
        try:
            scorer = select_scorer(model, mode)
        except UserError:
            gaps[mode] = None
            continue
        gap = float(np.max(np.abs(scorer.explain_frame(customers.X).probability - expected)))
        if gap > ENGINE_TOLERANCE:
            raise RuntimeError(f"the {mode} scorer disagrees with the model by {gap:.2e} (> {ENGINE_TOLERANCE:g})")
        gaps[mode] = gap
    return gaps


def train(config: Config, profile: str, outputs: OutputDirs, settings: DataSettings | None = None) -> TrainResult:
    start = time.perf_counter()
    outputs.ensure()
    customers = load_customers(settings)
    X, y = customers.X, customers.y
    console.print(
        f"{len(X)} customers, churn rate {customers.churn_rate:.1%}; "
        f"{customers.blank_total_charges} blank TotalCharges (all tenure 0) set to $0"
    )
    console.print(f"Tuning XGBoost: {config.tuning.n_trials} Optuna trials x {config.tuning.n_splits} folds")
    tuning = tune(config, X, y)
    console.print(
        f"  best tuning-fold ROC-AUC {tuning.best_value:.4f} ({tuning.n_pruned} of {tuning.n_trials} trials pruned, "
        f"{tuning.seconds:.0f} s): {_short(tuning.best_params)}"
    )
    console.print(f"Cross-validating on {config.cv.n_splits} stratified folds (seed {config.seed})")
    cv = cross_validate(config, X, y, tuning.best_params)
    method = select_calibration(config, y, cv)
    served = calibrated_name(method)
    choice = choose_threshold(y, cv[served].oof, config.business)
    console.print(
        f"Calibration: {method}. Threshold {choice.threshold:.3f} (Bayes {choice.bayes_threshold:.3f}): "
        f"${choice.profit_per_1000:,.0f} per 1000 customers, {choice.contacted_share:.1%} contacted"
    )
    with console.status("Fitting the served model on all customers"):
        estimator = build_calibrated(
            tuning.best_params, method, config.calibration.inner_folds, config.seed, config.n_jobs
        )
        model = ChurnModel(estimator, threshold=choice.threshold).fit(X, y)
    gaps = verify_scorers(model, customers)
    model.metadata_ = _metadata(config, profile, customers, tuning, cv, method, choice, gaps)
    model_path = outputs.models / MODEL_FILE
    _save(model, model_path)
    _save_cv(outputs, customers, cv, tuning, method, choice, time.perf_counter() - start)
    run_id = _track(config, profile, model, X, cv, tuning)
    model.metadata_["mlflow_run_id"] = run_id
    _save(model, model_path)
    console.print(f"[green]Saved[/] {model_path} ({time.perf_counter() - start:.0f} s)")
    return TrainResult(model, cv, model_path, run_id)


def _short(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def _metadata(
    config: Config,
    profile: str,
    customers: Customers,
    tuning: StudyResult,
    cv: dict[str, CVResult],
    method: CalibrationMethod,
    choice: ThresholdChoice,
    scorer_gaps: dict[str, float | None],
) -> dict[str, Any]:
    served = cv[calibrated_name(method)]
    return {
        "project": "churn-api",
        "profile": profile,
        "overrides": overrides_of(config),  # what --set changed on top of params.yaml's profile
        "dataset": f"{DATASET}/{FILE}",
        "data_fingerprint": data_fingerprint(),
        "training_rows": len(customers.frame),
        "churn_rate": round(customers.churn_rate, 5),
        "blank_total_charges_set_to_zero": customers.blank_total_charges,
        "xgboost_params": tuning.best_params,
        "calibration": method,
        "threshold": choice.threshold,
        "bayes_threshold": round(choice.bayes_threshold, 5),
        "business": config.business.model_dump(),
        "cv_roc_auc": {"mean": round(served.mean, 5), "std": round(served.std, 5), "folds": config.cv.n_splits},
        "cv_metrics": {
            "brier": round(float(brier_score_loss(customers.y, served.oof)), 5),
            "profit_per_1000_customers": round(choice.profit_per_1000, 2),
        },
        "engine_max_abs_gap": scorer_gaps["engine"],  # None: too deep for the engine, XGBoost serves it
        "xgboost_max_abs_gap": scorer_gaps["xgboost"],
        "top_reasons": config.explain.top_reasons,
        "experiment": config.tracking.experiment,
        "registered_model": config.tracking.registered_model,
        "alias": config.tracking.alias,
        "git_commit": git_commit(),
        "trained_at": pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
    }


def _save(model: ChurnModel, path: Path) -> None:
    import joblib

    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, path, compress=3)


def _save_cv(
    outputs: OutputDirs,
    customers: Customers,
    cv: dict[str, CVResult],
    tuning: StudyResult,
    method: CalibrationMethod,
    choice: ThresholdChoice,
    seconds: float,
) -> None:
    """Out-of-fold predictions and the CV summary: the inputs of `evaluate`."""
    first = next(iter(cv.values()))
    fold = np.empty(len(customers.frame), dtype=int)
    for k, (_, val) in enumerate(first.folds):
        fold[val] = k
    oof = pd.DataFrame({ID: customers.ids.to_numpy(), "churn": customers.y, "fold": fold})
    for name, result in cv.items():
        oof[f"p_{name}"] = result.oof
    oof.to_parquet(outputs.work / OOF_FILE, index=False)
    summary = {
        "train_seconds": round(seconds, 1),
        "served": calibrated_name(method),
        "calibration": method,
        "threshold": {k: v for k, v in asdict(choice).items() if k not in {"grid", "curve"}},
        "tuning": {k: v for k, v in asdict(tuning).items() if k != "trials"},
        "tuning_trials": tuning.trials,
        "models": {
            name: {"mean": r.mean, "std": r.std, "folds": r.fold_scores, "fit_seconds": round(r.fit_seconds, 1)}
            for name, r in cv.items()
        },
    }
    (outputs.work / CV_FILE).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


def _track(
    config: Config,
    profile: str,
    model: ChurnModel,
    X: pd.DataFrame,
    cv: dict[str, CVResult],
    tuning: StudyResult,
) -> str:
    with tracking.tracked_run(
        config.tracking.experiment,
        run_name=f"train-{profile}",
        params={**config.model_dump(), "best": tuning.best_params},
        tags={"profile": profile, "data_fingerprint": str(model.metadata_["data_fingerprint"])},
    ) as run:
        tracking.log_metrics(
            {
                "cv_roc_auc": {name: {"mean": r.mean, "std": r.std} for name, r in cv.items()},
                "tuning_best_roc_auc": tuning.best_value,
                "threshold": model.threshold,
            }
        )
        with console.status("Logging and registering the model in MLflow"):
            registered = tracking.log_sklearn_model(
                model,
                input_example=X.head(3),
                registered_name=config.tracking.registered_model,
                alias=config.tracking.alias,
                requirements=("scikit-learn", "pandas", "numpy", "scipy", "xgboost-cpu", "pydantic", "pyyaml", "rich"),
                code_packages=("churn_api", "mlshared"),
            )
        if registered:
            console.print(f"Registered {registered.alias_uri} (version {registered.version})")
            model.metadata_["registered_version"] = registered.version
        return str(run.info.run_id)

"""Training: features once, Optuna on prequential folds, every model on both protocols, the served model
saved, logged and registered in MLflow.

Which models run on which protocol:
- handbook protocol (train 2018-07-25..07-31, test 08-08..08-14): logistic regression, random forest and
  XGBoost, each on the handbook's 15 features and on the extended set;
- history protocol (train from `protocol.history_start` to 07-31, same test week): logistic regression on both
  sets and XGBoost on `features.set` (the shared two-core machine had no time for more).
XGBoost uses the parameters Optuna found on the extended set's prequential folds for both feature sets.
The served model is XGBoost on `features.set`, history protocol: the most data a live system would have.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import joblib
import polars as pl

from fraud_mlops.config import Config
from fraud_mlops.data import DATASET, load_handbook
from fraud_mlops.features import FEATURE_SETS, FeatureSet, compute, feature_names
from fraud_mlops.metrics import SCORE, fraud_metrics
from fraud_mlops.models import FraudModel, ModelName, build, matrix
from fraud_mlops.protocol import handbook_split, history_split, prequential_folds, test_rows, train_rows
from fraud_mlops.schema import CUSTOMER, DAYS, LABEL, TX_ID
from fraud_mlops.tuning import tune
from mlshared import tracking
from mlshared.console import console
from mlshared.datasets import fingerprint
from mlshared.paths import OutputDirs
from mlshared.reports import git_commit

MODEL_FILE = "model.joblib"
PREDICTIONS_FILE = "predictions.parquet"
TRAINING_FILE = "training.json"
SERVED: tuple[str, ModelName] = ("history", "xgboost")
PLAN: dict[str, tuple[ModelName, ...]] = {
    "handbook": ("logistic_regression", "random_forest", "xgboost"),
    "history": ("logistic_regression", "xgboost"),
}
REQUIREMENTS = ("scikit-learn", "pandas", "numpy", "scipy", "xgboost-cpu", "polars")


@dataclass
class TrainResult:
    model: FraudModel
    model_path: Path
    predictions: pl.DataFrame
    facts: dict[str, Any]


def model_params(config: Config, name: ModelName, tuned: dict[str, Any]) -> dict[str, Any]:
    if name == "xgboost":
        return tuned
    return dict(getattr(config.models, name))


def fit(config: Config, name: ModelName, params: dict[str, Any], rows: pl.DataFrame, features: list[str]) -> Any:
    return build(name, params, config.seed, config.n_jobs).fit(matrix(rows, features), rows[LABEL].to_numpy())


def train(config: Config, profile: str, outputs: OutputDirs, featured: pl.DataFrame | None = None) -> TrainResult:
    """`featured`: a log with its extended features already computed (tests pass a simulated one)."""
    outputs.ensure()
    started = time.perf_counter()
    if featured is None:
        with console.status("Loading the transactions and computing the features"):
            featured = compute(load_handbook(), "extended", config.features.windows)
        data_fingerprint = fingerprint(DATASET)
    else:
        data_fingerprint = "supplied"
    names = {fs: feature_names(fs, config.features.windows) for fs in FEATURE_SETS}
    served_set: FeatureSet = config.features.set

    tuning = tune(config, featured, names[served_set])
    console.print(
        f"Optuna: {tuning.n_trials} trials ({tuning.n_pruned} pruned) in {tuning.seconds:.0f} s, "
        f"prequential AP {tuning.best_value:.4f}"
    )
    splits = {"handbook": handbook_split(config.protocol), "history": history_split(config.protocol)}
    scored: list[pl.DataFrame] = []
    fits: dict[str, float] = {}
    served: FraudModel | None = None
    for protocol, models in PLAN.items():
        split = splits[protocol]
        train_set, test_set = train_rows(featured, split), test_rows(featured, split)
        for name in models:
            for fs in FEATURE_SETS:
                if (protocol, name) == SERVED and fs != served_set:
                    continue
                with console.status(f"{protocol}: {name} on the {fs} features ({train_set.height:,} rows)"):
                    t0 = time.perf_counter()
                    estimator = fit(config, name, model_params(config, name, tuning.best_params), train_set, names[fs])
                    fits[f"{protocol}/{name}/{fs}"] = round(time.perf_counter() - t0, 1)
                model = FraudModel(
                    name, estimator, fs, names[fs], config.features.windows, config.decision.threshold,
                    split.describe(),
                )  # fmt: skip
                scored.append(_scored(test_set, model, protocol))
                if (protocol, name) == SERVED and fs == served_set:
                    served = model
    assert served is not None
    predictions = pl.concat(scored)
    predictions.write_parquet(outputs.work / PREDICTIONS_FILE)
    facts: dict[str, Any] = {
        "profile": profile,
        "data_fingerprint": data_fingerprint,
        "splits": {k: asdict(v) | {"describe": v.describe()} for k, v in splits.items()},
        "tuning": {**asdict(tuning), "folds": [fold.describe() for fold in prequential_folds(config.protocol)]},
        "fit_seconds": fits,
        "served": {"protocol": SERVED[0], "model": SERVED[1], "feature_set": served_set},
        "seconds": round(time.perf_counter() - started, 1),
        "git_commit": git_commit(),
    }
    served.info = {k: facts[k] for k in ("data_fingerprint", "served", "git_commit")}
    model_path = outputs.models / MODEL_FILE
    joblib.dump(served, model_path)
    facts["registered"] = _track(config, profile, served, predictions, featured, facts)
    (outputs.work / TRAINING_FILE).write_text(json.dumps(facts, indent=2, default=str) + "\n", encoding="utf-8")
    console.print(f"[green]Saved[/] {model_path} ({served.name}, {served.feature_set} features, {served.trained_on})")
    return TrainResult(served, model_path, predictions, facts)


def _scored(test_set: pl.DataFrame, model: FraudModel, protocol: str) -> pl.DataFrame:
    return test_set.select(TX_ID, CUSTOMER, DAYS, LABEL).with_columns(
        pl.Series(SCORE, model.score(test_set)),
        pl.lit(protocol).alias("protocol"),
        pl.lit(model.name).alias("model"),
        pl.lit(model.feature_set).alias("feature_set"),
    )


def summarise(predictions: pl.DataFrame, k: int) -> dict[str, dict[str, float]]:
    """Test-week metrics per protocol/model/feature set."""
    out: dict[str, dict[str, float]] = {}
    for (protocol, model, fs), rows in predictions.group_by(["protocol", "model", "feature_set"], maintain_order=True):
        out[f"{protocol}/{model}/{fs}"] = fraud_metrics(rows, k)
    return out


def _track(
    config: Config, profile: str, served: FraudModel, predictions: pl.DataFrame, featured: pl.DataFrame,
    facts: dict[str, Any],
) -> dict[str, Any] | None:  # fmt: skip
    """Log params, test metrics and the served model; register it under the profile's alias."""
    import mlflow

    metrics = summarise(predictions, config.protocol.top_k)
    with tracking.tracked_run(
        config.tracking.experiment,
        run_name=f"train-{profile}",
        params={**config.model_dump(mode="json"), "best": facts["tuning"]["best_params"]},
        tags={"profile": profile, "data_fingerprint": str(facts["data_fingerprint"]), **model_tags(served)},
    ) as run:
        facts["run_id"] = str(run.info.run_id)
        tracking.log_metrics({"test": metrics, "tuning_best_average_precision": facts["tuning"]["best_value"]})
        mlflow.log_dict(facts["tuning"], "tuning.json")
        with console.status("Logging and registering the model in MLflow"):
            registered = tracking.log_sklearn_model(
                served.estimator,
                input_example=matrix(featured.head(5), served.features),
                registered_name=config.tracking.registered_model,
                alias=config.tracking.alias,
                requirements=REQUIREMENTS,
            )
    if registered is None:
        return None
    console.print(f"Registered {registered.alias_uri} (version {registered.version})")
    return {"name": registered.name, "version": registered.version, "alias": registered.alias}


def model_tags(model: FraudModel) -> dict[str, str]:
    """What a registry loader needs besides the estimator (see `registry.load`)."""
    return {
        "fraud.model": model.name,
        "fraud.feature_set": model.feature_set,
        "fraud.features": json.dumps(model.features),
        "fraud.windows": json.dumps(asdict(model.windows)),
        "fraud.threshold": str(model.threshold),
        "fraud.trained_on": model.trained_on,
    }

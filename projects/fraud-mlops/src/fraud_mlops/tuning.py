"""XGBoost hyper-parameters from an Optuna study on the handbook's prequential folds, within a stated budget.

TPE with a seeded sampler; `n_trials` trials or `timeout_s` seconds, whichever comes first. The objective
is the mean average precision over the folds, each a train week, a delay week and a validation week moved
back in time (`protocol.prequential_folds`); the test week is never used. Trials are pruned fold by fold
(median rule) once five have finished.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import polars as pl

from fraud_mlops.config import Config, Range
from fraud_mlops.metrics import SCORE, fraud_metrics
from fraud_mlops.models import build, matrix
from fraud_mlops.protocol import prequential_folds, test_rows, train_rows
from fraud_mlops.schema import LABEL
from mlshared.console import make_progress


@dataclass(frozen=True)
class TuningResult:
    best_params: dict[str, Any]
    best_value: float
    n_trials: int
    n_pruned: int
    seconds: float
    folds: list[str]
    trials: list[dict[str, Any]]


def suggest(trial: optuna.Trial, name: str, space: Range) -> float | int:
    if space.integer:
        return trial.suggest_int(name, int(space.low), int(space.high), log=space.log)
    return trial.suggest_float(name, space.low, space.high, log=space.log)


def tune(config: Config, featured: pl.DataFrame, features: list[str]) -> TuningResult:
    folds = prequential_folds(config.protocol)
    data = []
    for fold in folds:
        train, valid = train_rows(featured, fold), test_rows(featured, fold)
        data.append((matrix(train, features), train[LABEL].to_numpy(), matrix(valid, features), valid))

    def objective(trial: optuna.Trial) -> float:
        params: dict[str, Any] = {
            name: suggest(trial, name, space) for name, space in config.models.xgboost.search.items()
        }
        params.update(config.models.xgboost.fixed)
        scores: list[float] = []
        for k, (X, y, X_valid, valid) in enumerate(data):
            model = build("xgboost", params, config.seed, config.n_jobs).fit(X, y)
            scored = valid.with_columns(pl.Series(SCORE, model.predict_proba(X_valid)[:, 1]))
            scores.append(fraud_metrics(scored, config.protocol.top_k)["average_precision"])
            trial.report(float(np.mean(scores)), k)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return float(np.mean(scores))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=config.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
        study_name="fraud-xgboost",
    )
    start = time.perf_counter()
    with make_progress(transient=True) as progress:
        task = progress.add_task("Optuna (XGBoost, prequential AP)", total=config.tuning.n_trials)
        study.optimize(
            objective, n_trials=config.tuning.n_trials, timeout=config.tuning.timeout_s,
            callbacks=[lambda *_: progress.advance(task)], gc_after_trial=False,
        )  # fmt: skip
    trials = [{"number": t.number, "state": t.state.name, "value": t.value, "params": t.params} for t in study.trials]
    return TuningResult(
        best_params={**study.best_params, **config.models.xgboost.fixed},
        best_value=float(study.best_value),
        n_trials=len(study.trials),
        n_pruned=sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials),
        seconds=time.perf_counter() - start,
        folds=[f.describe() for f in folds],
        trials=trials,
    )

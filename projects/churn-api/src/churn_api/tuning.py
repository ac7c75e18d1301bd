"""XGBoost hyper-parameters from an Optuna study with a fixed trial budget.

TPE with a seeded sampler, so the same budget gives the same study. The objective is mean
ROC-AUC over stratified folds seeded differently from the evaluation folds, and unpromising
trials are pruned fold by fold (median rule). The evaluation CV then scores the chosen
parameters on other folds; it is not nested CV, so a small optimism remains (see README).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import optuna
import pandas as pd
from sklearn.metrics import roc_auc_score

from churn_api.config import Config, Range
from churn_api.models import build_xgboost, positive_proba
from mlshared.console import make_progress
from mlshared.metrics import make_cv


@dataclass(frozen=True)
class TuningResult:
    best_params: dict[str, Any]
    best_value: float
    n_trials: int
    n_pruned: int
    seconds: float
    trials: list[dict[str, Any]]


def suggest(trial: optuna.Trial, name: str, space: Range) -> float | int:
    if space.integer:
        return trial.suggest_int(name, int(space.low), int(space.high), log=space.log)
    return trial.suggest_float(name, space.low, space.high, log=space.log)


def tune(config: Config, X: pd.DataFrame, y: npt.NDArray[np.int_]) -> TuningResult:
    folds = list(make_cv(config.tuning.n_splits, config.tuning.cv_seed, stratified=True).split(X, y))

    def objective(trial: optuna.Trial) -> float:
        params: dict[str, Any] = {name: suggest(trial, name, space) for name, space in config.xgboost.search.items()}
        params.update(config.xgboost.fixed)
        scores: list[float] = []
        for k, (train_idx, val_idx) in enumerate(folds):
            model = build_xgboost(params, config.seed, config.n_jobs).fit(X.iloc[train_idx], y[train_idx])
            scores.append(float(roc_auc_score(y[val_idx], positive_proba(model, X.iloc[val_idx]))))
            trial.report(float(np.mean(scores)), k)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return float(np.mean(scores))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=config.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=config.tuning.pruning_warmup_folds),
        study_name="churn-xgboost",
    )
    start = time.perf_counter()
    with make_progress(transient=True) as progress:
        task = progress.add_task("Optuna (XGBoost)", total=config.tuning.n_trials)
        study.optimize(
            objective,
            n_trials=config.tuning.n_trials,
            callbacks=[lambda *_: progress.advance(task)],
            gc_after_trial=False,
        )
    trials = [{"number": t.number, "state": t.state.name, "value": t.value, "params": t.params} for t in study.trials]
    return TuningResult(
        best_params={**study.best_params, **config.xgboost.fixed},
        best_value=float(study.best_value),
        n_trials=len(study.trials),
        n_pruned=sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials),
        seconds=time.perf_counter() - start,
        trials=trials,
    )

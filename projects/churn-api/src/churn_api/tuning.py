"""XGBoost hyper-parameters from an Optuna study with a fixed trial budget.

TPE with a seeded sampler, so the same budget gives the same study. The objective is mean
ROC-AUC over stratified folds seeded differently from the evaluation folds, and unpromising
trials are pruned fold by fold (median rule). The evaluation CV then scores the chosen
parameters on other folds; it is not nested CV, so a small optimism remains (see README).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import optuna
import pandas as pd
from sklearn.metrics import roc_auc_score

from churn_api.config import Config
from churn_api.models import build_xgboost, positive_proba
from mlshared.metrics import make_cv
from mlshared.tuning import StudyResult, maximise, suggest


def tune(config: Config, X: pd.DataFrame, y: npt.NDArray[np.int_]) -> StudyResult:
    folds = list(make_cv(config.tuning.n_splits, config.tuning.cv_seed, stratified=True).split(X, y))

    def objective(trial: optuna.Trial) -> float:
        params = {**suggest(trial, config.xgboost.search), **config.xgboost.fixed}
        scores: list[float] = []
        for k, (train_idx, val_idx) in enumerate(folds):
            model = build_xgboost(params, config.seed, config.n_jobs).fit(X.iloc[train_idx], y[train_idx])
            scores.append(float(roc_auc_score(y[val_idx], positive_proba(model, X.iloc[val_idx]))))
            trial.report(float(np.mean(scores)), k)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return float(np.mean(scores))

    return maximise(
        objective, n_trials=config.tuning.n_trials, seed=config.seed, name="churn-xgboost", label="Optuna (XGBoost)",
        warmup_steps=config.tuning.pruning_warmup_folds, fixed=config.xgboost.fixed,
    )  # fmt: skip

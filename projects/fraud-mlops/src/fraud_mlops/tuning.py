"""XGBoost hyper-parameters from an Optuna study on the handbook's prequential folds, within a stated budget.

TPE with a seeded sampler; `n_trials` trials or `timeout_s` seconds, whichever comes first. The objective
is the mean average precision over the folds, each a train week, a delay week and a validation week moved
back in time (`protocol.prequential_folds`); the test week is never used. Trials are pruned fold by fold
(median rule) once five have finished. The study starts from `tuning.start_from` (the last study's best), so
a retrain keeps a known point when TPE does not find it again (docs/experiments.md, section 10).
"""

from __future__ import annotations

import numpy as np
import optuna
import polars as pl

from fraud_mlops.config import Config
from fraud_mlops.metrics import SCORE, fraud_metrics
from fraud_mlops.models import build, matrix
from fraud_mlops.protocol import prequential_folds, test_rows, train_rows
from fraud_mlops.schema import LABEL
from mlshared.tuning import StudyResult, maximise, suggest


def tune(config: Config, featured: pl.DataFrame, features: list[str]) -> StudyResult:
    folds = prequential_folds(config.protocol)
    data = []
    for fold in folds:
        train, valid = train_rows(featured, fold), test_rows(featured, fold)
        data.append((matrix(train, features), train[LABEL].to_numpy(), matrix(valid, features), valid))

    def objective(trial: optuna.Trial) -> float:
        params = {**suggest(trial, config.models.xgboost.search), **config.models.xgboost.fixed}
        scores: list[float] = []
        for k, (X, y, X_valid, valid) in enumerate(data):
            model = build("xgboost", params, config.seed, config.n_jobs).fit(X, y)
            scored = valid.with_columns(pl.Series(SCORE, model.predict_proba(X_valid)[:, 1]))
            scores.append(fraud_metrics(scored, config.protocol.top_k)["average_precision"])
            trial.report(float(np.mean(scores)), k)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return float(np.mean(scores))

    return maximise(
        objective, n_trials=config.tuning.n_trials, seed=config.seed, name="fraud-xgboost",
        label="Optuna (XGBoost, prequential AP)", warmup_steps=1, timeout_s=config.tuning.timeout_s,
        fixed=config.models.xgboost.fixed, start_from=config.tuning.start_from,
    )  # fmt: skip

"""Model candidates on the prequential folds (what decides) and the handbook test week (recorded, never used to
choose): tuned XGBoost variants, the random forest and two blends. See docs/experiments.md for the results.

    PORTFOLIO_DATA_MIRROR=... nice -n 10 python experiments/model_candidates.py --folds 3
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy.stats import rankdata

from fraud_mlops import config as config_module
from fraud_mlops.data import load_handbook
from fraud_mlops.features import compute, feature_names
from fraud_mlops.metrics import SCORE, fraud_metrics
from fraud_mlops.models import ModelName, build, matrix
from fraud_mlops.protocol import handbook_split, prequential_folds, test_rows, train_rows
from fraud_mlops.schema import LABEL

# The best of the 40-trial Optuna study on 3 folds (artifacts/full/training.json has the pipeline's own).
TUNED = {"learning_rate": 0.0281832646650601, "max_depth": 7, "min_child_weight": 2.6809531706944223,
         "subsample": 0.8978069691162128, "colsample_bytree": 0.7665058352251144, "reg_lambda": 2.364212624619626,
         "scale_pos_weight": 1.4022919935793614, "tree_method": "hist", "n_estimators": 300, "n_jobs": 1}  # fmt: skip
CANDIDATES: dict[str, tuple[ModelName, dict[str, Any]]] = {
    "xgb_tuned": ("xgboost", TUNED),
    "xgb_800_trees": ("xgboost", TUNED | {"n_estimators": 800}),
    "xgb_depth_10": ("xgboost", TUNED | {"max_depth": 10}),
    "xgb_depth_10_800_trees": ("xgboost", TUNED | {"max_depth": 10, "n_estimators": 800}),
    "random_forest": ("random_forest", {"n_estimators": 100, "max_depth": 20, "min_samples_leaf": 1}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=3)
    args = parser.parse_args()
    config = config_module.load(overrides=[f"protocol.validation_folds={args.folds}"])
    featured = compute(load_handbook(), "extended", config.features.windows)
    names = feature_names("extended", config.features.windows)
    results: dict[str, dict[str, float]] = {}
    for split in [*prequential_folds(config.protocol), handbook_split(config.protocol)]:
        train, test = train_rows(featured, split), test_rows(featured, split)
        X, y, X_test = matrix(train, names), train[LABEL].to_numpy(), matrix(test, names)
        scores: dict[str, npt.NDArray[np.float64]] = {}
        for name, (family, params) in CANDIDATES.items():
            start = time.perf_counter()
            scores[name] = build(family, params, config.seed, config.n_jobs).fit(X, y).predict_proba(X_test)[:, 1]
            print(f"{split.name} {name}: {time.perf_counter() - start:.0f} s", flush=True)
        xgb, forest = scores["xgb_tuned"], scores["random_forest"]
        scores["blend_mean"] = (xgb + forest) / 2
        scores["blend_rank"] = (rankdata(xgb) + rankdata(forest)) / (2 * len(xgb))
        for name, score in scores.items():
            metrics = fraud_metrics(test.with_columns(pl.Series(SCORE, score)), config.protocol.top_k)
            results.setdefault(name, {})[split.name] = round(metrics["average_precision"], 4)
    for by_split in results.values():
        folds = [v for k, v in by_split.items() if k != "handbook"]
        by_split["folds_mean"] = round(float(np.mean(folds)), 4)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

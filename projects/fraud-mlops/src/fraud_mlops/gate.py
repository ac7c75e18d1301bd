"""The CI model-quality gate: simulate a small log, train XGBoost on a handbook-style split of it, score the
test week and fail when average precision falls below the recorded baseline (params `gate`).

Everything is seeded (simulation, model), so the same code gives the same number on any machine; a
drop means the simulator, the features or the model changed behaviour.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from fraud_mlops.config import Config
from fraud_mlops.features import compute, feature_names
from fraud_mlops.metrics import SCORE, fraud_metrics
from fraud_mlops.models import build, matrix
from fraud_mlops.protocol import Split, test_rows, train_rows
from fraud_mlops.schema import LABEL
from fraud_mlops.simulate import SimulationSpec, simulate

START = date(2018, 4, 1)
# Mid-range values of the search space: the gate checks the pipeline, not the tuning.
GATE_XGBOOST = {"learning_rate": 0.1, "max_depth": 5, "min_child_weight": 5, "subsample": 0.8, "colsample_bytree": 0.8}


def gate_split(days: int, delay: int) -> Split:
    """The last three weeks: train, delay, test (the earlier days are feature history)."""
    test_end = START + timedelta(days=days)
    test_start = test_end - timedelta(days=7)
    train_end = test_start - timedelta(days=delay)
    return Split("gate", train_end - timedelta(days=7), train_end, test_start, test_end, delay)


def run_gate(config: Config, output: Path) -> dict[str, Any]:
    g = config.gate
    spec = SimulationSpec(customers=g.customers, terminals=g.terminals, days=g.days, start_date=START, seed=g.seed)
    featured = compute(simulate(spec), config.features.set, config.features.windows)
    split = gate_split(g.days, config.features.delay_days)
    names = feature_names(config.features.set, config.features.windows)
    train, test = train_rows(featured, split), test_rows(featured, split)
    params = {**config.models.xgboost.fixed, **GATE_XGBOOST}
    model = build("xgboost", params, config.seed, config.n_jobs).fit(matrix(train, names), train[LABEL].to_numpy())
    scored = test.with_columns(pl.Series(SCORE, model.predict_proba(matrix(test, names))[:, 1]))
    metrics = fraud_metrics(scored, config.protocol.top_k)
    result = {
        "average_precision": round(metrics["average_precision"], 4),
        "min_average_precision": g.min_average_precision,
        "passed": metrics["average_precision"] >= g.min_average_precision,
        "metrics": metrics,
        "simulation": {k: str(v) for k, v in asdict(spec).items()},
        "split": split.describe(),
        "train_rows": train.height,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result

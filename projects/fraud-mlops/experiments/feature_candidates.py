"""Where the tuned XGBoost loses average precision (per fraud scenario) and which causal customer-baseline
features win it back, on the prequential folds only; the test week is recorded, never used to choose.
See docs/experiments.md, section 5, for the decision rule (written before the run) and the results.

    PORTFOLIO_DATA_MIRROR=... nice -n 15 python experiments/feature_candidates.py

The candidate columns are written here with plain polars windows (no same-timestamp arrival correction:
42 tied rows in 1.47M); the chosen ones then went into `features.py` and `online.py` with it.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score

from fraud_mlops import config as config_module
from fraud_mlops.data import load_handbook
from fraud_mlops.features import compute, feature_names
from fraud_mlops.metrics import SCORE, fraud_metrics
from fraud_mlops.models import build, matrix
from fraud_mlops.protocol import handbook_split, prequential_folds, test_rows, train_rows
from fraud_mlops.schema import AMOUNT, CUSTOMER, LABEL, SCENARIO, TIME

# The best of the 40-trial Optuna study on 3 folds (reports/metrics.json, tuning.best_params).
TUNED = {"learning_rate": 0.0281832646650601, "max_depth": 7, "min_child_weight": 2.6809531706944223,
         "subsample": 0.8978069691162128, "colsample_bytree": 0.7665058352251144, "reg_lambda": 2.364212624619626,
         "scale_pos_weight": 1.4022919935793614, "tree_method": "hist", "n_estimators": 300, "n_jobs": 1}  # fmt: skip


def _win(value: pl.Expr, days: int) -> pl.Expr:
    return value.cast(pl.Float64).rolling_sum_by(TIME, window_size=f"{days}d", closed="right").over(CUSTOMER)


def candidate_columns(shift: int = 14, span: int = 30) -> dict[str, pl.Expr]:
    """Customer baselines from window sums (count, sum, sum of squares)."""
    amount = pl.col(AMOUNT).cast(pl.Float64)
    one = pl.lit(1.0) + amount * 0
    n = {d: _win(one, d) for d in (7, 14, 30, shift + span)}
    s = {d: _win(amount, d) for d in (7, 14, 30, shift + span)}
    q = {d: _win(amount * amount, d) for d in (7, 14, 30, shift + span)}

    def std(nn: pl.Expr, ss: pl.Expr, qq: pl.Expr) -> pl.Expr:
        return pl.when(nn > 1).then((qq / nn - (ss / nn) ** 2).clip(0, None).sqrt()).otherwise(0.0)

    std30 = std(n[30], s[30], q[30])
    mean30 = s[30] / n[30]
    nb, sb, qb = n[shift + span] - n[shift], s[shift + span] - s[shift], q[shift + span] - q[shift]
    base_mean = sb / nb
    base_std = std(nb, sb, qb)
    return {
        "STD30": std30,
        "Z30": pl.when(std30 > 0).then((amount - mean30) / std30).otherwise(0.0),
        "BASE_N": nb,
        "BASE_RATIO": pl.when(nb > 0).then(amount / base_mean).otherwise(1.0),
        "BASE_Z": pl.when(base_std > 0).then((amount - base_mean) / base_std).otherwise(0.0),
        "DRIFT14": pl.when(nb > 0).then((s[14] / n[14]) / base_mean).otherwise(1.0),
        "DRIFT7": pl.when(nb > 0).then((s[7] / n[7]) / base_mean).otherwise(1.0),
    }


GROUPS: dict[str, list[str]] = {
    "extended": [],
    "+std30_z30": ["STD30", "Z30"],
    "+base_ratio": ["BASE_N", "BASE_RATIO"],
    "+base_ratio_z": ["BASE_N", "BASE_RATIO", "BASE_Z"],
    "+base_ratio_drift": ["BASE_N", "BASE_RATIO", "DRIFT7", "DRIFT14"],
    "+all": ["STD30", "Z30", "BASE_N", "BASE_RATIO", "BASE_Z", "DRIFT7", "DRIFT14"],
}


def scenario_ap(scored: pl.DataFrame) -> dict[str, float]:
    """AP of one scenario's frauds against every genuine transaction, and that scenario's share of frauds."""
    out: dict[str, float] = {}
    for s in (1, 2, 3):
        rows = scored.filter((pl.col(LABEL) == 0) | (pl.col(SCENARIO) == s))
        y = rows[LABEL].to_numpy()
        out[f"s{s}_ap"] = (
            round(float(average_precision_score(y, rows[SCORE].to_numpy())), 4) if y.sum() else float("nan")
        )
        out[f"s{s}_n"] = int(y.sum())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--forest", action="store_true", help="also the random forest on each group")
    parser.add_argument("--baseline", default="14,30", help="the baseline window: SHIFT,SPAN days")
    parser.add_argument("--groups", nargs="*", default=list(GROUPS), choices=list(GROUPS))
    args = parser.parse_args()
    config = config_module.load(overrides=[f"protocol.validation_folds={args.folds}"])
    started = time.perf_counter()
    featured = compute(load_handbook(), "extended", config.features.windows).with_columns(
        **candidate_columns(*(int(v) for v in args.baseline.split(",")))
    )
    print(f"features: {time.perf_counter() - started:.1f} s", flush=True)
    base = feature_names("extended", config.features.windows)
    results: dict[str, dict[str, Any]] = {}
    families: list[tuple[str, Any, dict[str, Any]]] = [("xgb", "xgboost", TUNED)]
    if args.forest:
        families.append(("rf", "random_forest", dict(config.models.random_forest)))
    for split in [*prequential_folds(config.protocol), handbook_split(config.protocol)]:
        train, test = train_rows(featured, split), test_rows(featured, split)
        for group in args.groups:
            names = base + GROUPS[group]
            for tag, family, params in families:
                model = build(family, params, config.seed, config.n_jobs).fit(
                    matrix(train, names), train[LABEL].to_numpy()
                )
                scored = test.with_columns(pl.Series(SCORE, model.predict_proba(matrix(test, names))[:, 1]))
                m = fraud_metrics(scored, config.protocol.top_k)
                row = {"ap": round(m["average_precision"], 4), "auc": round(m["roc_auc"], 4),
                       "cp100": round(m["card_precision_at_100"], 4), **scenario_ap(scored)}  # fmt: skip
                results.setdefault(f"{tag} {group}", {})[split.name] = row
                print(f"{split.name} {tag} {group}: {row}", flush=True)
    for by_split in results.values():
        folds = [v for k, v in by_split.items() if k != "handbook"]
        by_split["folds_mean"] = {k: round(float(np.mean([f[k] for f in folds])), 4) for k in ("ap", "auc", "cp100")}
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

"""How old is a terminal's known compromise? Candidate terminal features from the *times* of the frauds whose
labels are known, beside the handbook's fraud shares, on the prequential folds only; the test week is printed
and recorded, never used to choose. See docs/experiments.md, section 9, for the decision rule (written before
the run) and the results.

    PORTFOLIO_DATA_MIRROR=/work/shared/data nice -n 15 .venv/bin/python \\
        projects/fraud-mlops/experiments/terminal_candidates.py --out /tmp/terminal.json

Why: the handbook's terminal features are fraud shares over `(t - 7 - d, t - 7]`. A terminal whose frauds stop
(in the simulator a compromise lasts 28 days; in life the terminal is repaired) keeps a 1- and 7-day share of
1.0 for another week after the last fraud, exactly as during the compromise, so its genuine transactions rank
beside the frauds. The age of the earliest known fraud in the window tells the two apart; the time since the
latest one and the number of known frauds are the other ways to say it.

Candidates, each over the terminal's known window `(t - 37 d, t - 7 d]` (the 30-day risk window, what the
online store already reads), 0 when it holds no known fraud (a known fraud is at least 7 days old):
- `TERMINAL_ID_DAYS_SINCE_FIRST_FRAUD`: days from the earliest known fraud to this transaction;
- `TERMINAL_ID_DAYS_SINCE_LAST_FRAUD`: days from the latest known fraud;
- `TERMINAL_ID_NB_FRAUD_30DAY_WINDOW`: how many known frauds.
Written here with polars' asof joins; the winner then goes into `features.py` and `online.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from feature_candidates import scenario_ap
from variance_candidates import TRAINING_JSON

from fraud_mlops import config as config_module
from fraud_mlops.data import load_handbook
from fraud_mlops.features import compute, feature_names
from fraud_mlops.metrics import SCORE, fraud_metrics
from fraud_mlops.models import build, matrix
from fraud_mlops.protocol import handbook_split, prequential_folds, test_rows, train_rows
from fraud_mlops.schema import LABEL, TERMINAL, TIME

FIRST, LAST, COUNT = (
    "TERMINAL_ID_DAYS_SINCE_FIRST_FRAUD",
    "TERMINAL_ID_DAYS_SINCE_LAST_FRAUD",
    "TERMINAL_ID_NB_FRAUD_30DAY_WINDOW",
)
GROUPS: dict[str, list[str]] = {
    "extended": [],
    "+first": [FIRST],
    "+last": [LAST],
    "+count": [COUNT],
    "+first_last": [FIRST, LAST],
    "+first_count": [FIRST, COUNT],
    "+all3": [FIRST, LAST, COUNT],
}


def candidate_columns(featured: pl.DataFrame, delay_days: int = 7, window_days: int = 30) -> pl.DataFrame:
    """The three candidates for every row of `featured` (stream order, labels present)."""
    unit = featured.schema[TIME].time_unit  # type: ignore[attr-defined]
    delay = pl.duration(days=delay_days, time_unit=unit)
    span = pl.duration(days=delay_days + window_days, time_unit=unit)
    frauds = featured.filter(pl.col(LABEL) == 1).select(TERMINAL, pl.col(TIME).alias("_fraud")).sort("_fraud")
    rows = featured.select(TERMINAL, TIME).with_row_index("_pos")
    known_until = rows.with_columns((pl.col(TIME) - delay).alias("_until")).sort("_until")
    latest = known_until.join_asof(frauds, left_on="_until", right_on="_fraud", by=TERMINAL, strategy="backward")
    window_start = rows.with_columns((pl.col(TIME) - span).alias("_from")).sort("_from")
    earliest = window_start.join_asof(
        frauds, left_on="_from", right_on="_fraud", by=TERMINAL, strategy="forward", allow_exact_matches=False
    )
    one = pl.when(pl.col(LABEL) == 1).then(1.0).otherwise(0.0)
    count = (
        one.rolling_sum_by(TIME, window_size=f"{delay_days + window_days}d", closed="right")
        - one.rolling_sum_by(TIME, window_size=f"{delay_days}d", closed="right")
    ).over(TERMINAL)
    days = 86_400.0

    def age(of: pl.DataFrame, inside: pl.Expr) -> pl.Series:
        aged = of.sort("_pos").with_columns(
            pl.when(inside).then((pl.col(TIME) - pl.col("_fraud")).dt.total_seconds(fractional=True) / days)
            .otherwise(0.0).alias("age")
        )  # fmt: skip
        return aged["age"]

    first = age(earliest, pl.col("_fraud").is_not_null() & (pl.col("_fraud") <= pl.col(TIME) - delay))
    last = age(latest, pl.col("_fraud").is_not_null() & (pl.col("_fraud") > pl.col(TIME) - span))
    return featured.with_columns(first.alias(FIRST), last.alias(LAST), count.alias(COUNT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--training", type=Path, default=TRAINING_JSON, help="the full run's training.json")
    parser.add_argument("--out", type=Path, help="also write every figure as JSON here")
    args = parser.parse_args()
    tuned: dict[str, Any] = json.loads(args.training.read_text(encoding="utf-8"))["tuning"]["best_params"]
    config = config_module.load()
    started = time.perf_counter()
    w = config.features.windows
    featured = candidate_columns(compute(load_handbook(), "extended", w), w.delay, w.compromise)
    base = feature_names("extended", w)
    print(f"features: {time.perf_counter() - started:.1f} s", flush=True)
    results: dict[str, dict[str, Any]] = {}
    for split in [*prequential_folds(config.protocol), handbook_split(config.protocol)]:
        train, test = train_rows(featured, split), test_rows(featured, split)
        for group, extra in GROUPS.items():
            names = base + extra
            load = os.getloadavg()[0]
            model = build("xgboost", tuned, config.seed, 1).fit(matrix(train, names), train[LABEL].to_numpy())
            scored = test.with_columns(pl.Series(SCORE, model.predict_proba(matrix(test, names))[:, 1]))
            m = fraud_metrics(scored, config.protocol.top_k)
            row = {"ap": round(m["average_precision"], 4), "auc": round(m["roc_auc"], 4),
                   "cp100": round(m["card_precision_at_100"], 4), **scenario_ap(scored),
                   "load": round(load, 2)}  # fmt: skip
            results.setdefault(group, {})[split.name] = row
            print(f"{split.name} {group}: {row}", flush=True)
    for by_split in results.values():
        folds = [v for k, v in by_split.items() if k != "handbook"]
        by_split["folds_mean"] = {k: round(float(np.mean([f[k] for f in folds])), 4) for k in ("ap", "auc", "cp100")}
    print(json.dumps({g: r["folds_mean"] for g, r in results.items()}, indent=1))
    print(f"total {time.perf_counter() - started:.0f} s, load now {os.getloadavg()}")
    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

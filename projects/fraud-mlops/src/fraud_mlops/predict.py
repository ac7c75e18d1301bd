"""Batch scoring of a transaction log: causal features over the whole file (its history included), scores
for the rows from a given date on, and the metrics of that period when the file has labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from fraud_mlops.features import compute
from fraud_mlops.metrics import SCORE, fraud_metrics
from fraud_mlops.models import FraudModel
from fraud_mlops.schema import CUSTOMER, DAYS, LABEL, TERMINAL, TIME, TX_ID
from mlshared.console import UserError


@dataclass(frozen=True)
class Scored:
    frame: pl.DataFrame
    metrics: dict[str, float] | None
    history_rows: int


def score_log(model: FraudModel, log: pl.DataFrame, start: datetime, k: int) -> Scored:
    has_labels = LABEL in log.columns and log[LABEL].null_count() == 0
    featured = compute(log, model.feature_set, model.windows)
    rows = featured.filter(pl.col(TIME) >= start)
    if rows.is_empty():
        raise UserError(
            f"No transaction on or after {start:%Y-%m-%d} (the file ends {log[TIME].max()!s}).",
            hint="Pick an earlier --from.",
        )
    scores = model.score(rows)
    out = rows.select(TX_ID, TIME, CUSTOMER, TERMINAL, DAYS, *([LABEL] if has_labels else [])).with_columns(
        pl.Series(SCORE, scores)
    )
    out = out.with_columns(
        pl.when(pl.col(SCORE) >= model.threshold).then(pl.lit("block")).otherwise(pl.lit("allow")).alias("decision")
    )
    metrics = fraud_metrics(out, k) if has_labels and out[LABEL].n_unique() == 2 else None
    return Scored(out, metrics, featured.height - rows.height)


def write(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        frame.write_csv(path)
    else:
        frame.write_parquet(path)

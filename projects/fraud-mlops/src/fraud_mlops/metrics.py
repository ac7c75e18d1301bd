"""The handbook's metrics: ROC-AUC, average precision and card precision@k per day.

Card precision@k (handbook chapter 4.2): each day, rank cards by their most suspicious transaction, take
the top k, count the compromised ones; a card found on one day is left out of the following days; the
result is the mean over the days.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl
from sklearn.metrics import average_precision_score, roc_auc_score

from fraud_mlops.schema import CUSTOMER, DAYS, LABEL

SCORE = "score"


def card_precision_at_k(scored: pl.DataFrame, k: int) -> float:
    """`scored` has CUSTOMER_ID, TX_TIME_DAYS, TX_FRAUD and `score`."""
    detected: set[int] = set()
    per_day: list[float] = []
    for day in sorted(scored[DAYS].unique().to_list()):
        today = scored.filter((pl.col(DAYS) == day) & ~pl.col(CUSTOMER).is_in(list(detected)))
        cards = (
            today.group_by(CUSTOMER)
            .agg(pl.col(SCORE).max(), pl.col(LABEL).max())
            .sort([SCORE, CUSTOMER], descending=[True, False])
        )
        top = cards.head(k)
        found = top.filter(pl.col(LABEL) == 1)[CUSTOMER].to_list()
        per_day.append(len(found) / k)
        detected.update(found)
    return float(np.mean(per_day)) if per_day else float("nan")


def fraud_metrics(scored: pl.DataFrame, k: int) -> dict[str, float]:
    y: npt.NDArray[np.int_] = scored[LABEL].to_numpy()
    s: npt.NDArray[np.float64] = scored[SCORE].to_numpy()
    return {
        "average_precision": float(average_precision_score(y, s)),
        "roc_auc": float(roc_auc_score(y, s)),
        f"card_precision_at_{k}": card_precision_at_k(scored, k),
        "transactions": float(scored.height),
        "frauds": float(y.sum()),
    }

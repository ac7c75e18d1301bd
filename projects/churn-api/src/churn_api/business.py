"""The decision threshold from the retention campaign's economics (params.yaml `business`).

Contacting a customer costs the offer (C). A contacted churner stays with probability s, saving
their value (V). A customer not contacted costs nothing extra (a churner simply leaves). Against
doing nothing, contacting everyone with P(churn) >= t earns

    profit(t) = sum over contacted customers of (s * V * churned - C).

With calibrated probabilities the expected-profit-maximising rule is p >= C / (s * V) (the
"Bayes threshold"); the served threshold is the one that maximises profit on out-of-fold
predictions, and the two agreeing is a check on the calibration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from churn_api.config import BusinessConfig

FloatArray = npt.NDArray[np.float64]


def threshold_grid(step: float) -> FloatArray:
    return np.round(np.arange(step, 1.0, step), 6)


def campaign_profit(
    y: npt.ArrayLike, proba: npt.ArrayLike, thresholds: FloatArray, business: BusinessConfig
) -> FloatArray:
    """Total profit versus no campaign, for each threshold (vectorised over thresholds)."""
    y_arr = np.asarray(y, dtype=float)
    p = np.asarray(proba, dtype=float)
    gain = business.offer_success_rate * business.churner_value * y_arr - business.retention_offer_cost
    order = np.argsort(-p, kind="stable")
    cumulative = np.concatenate([[0.0], np.cumsum(gain[order])])
    # customers with p >= t are the first n of the descending order
    contacted = np.searchsorted(-p[order], -thresholds, side="right")
    return np.asarray(cumulative[contacted], dtype=float)


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    profit: float  # total over the customers scored
    profit_per_1000: float
    contacted_share: float
    bayes_threshold: float
    grid: FloatArray
    curve: FloatArray  # profit per 1000 customers at each grid threshold


def choose_threshold(y: npt.ArrayLike, proba: npt.ArrayLike, business: BusinessConfig) -> ThresholdChoice:
    """The grid threshold with the highest profit (ties: the higher threshold, fewer contacts)."""
    grid = threshold_grid(business.threshold_step)
    profit = campaign_profit(y, proba, grid, business)
    best = int(np.flatnonzero(profit == profit.max())[-1])
    n = len(np.asarray(y))
    return ThresholdChoice(
        threshold=float(grid[best]),
        profit=float(profit[best]),
        profit_per_1000=float(profit[best] / n * 1000),
        contacted_share=float(np.mean(np.asarray(proba) >= grid[best])),
        bayes_threshold=business.bayes_threshold,
        grid=grid,
        curve=profit / n * 1000,
    )

"""Causal features, one definition for training, batch scoring and the online store's tests.

The handbook's set (chapter 3.4): weekend and night flags; per customer the number of transactions
and their mean amount over the last 1, 7 and 30 days; per terminal the number of transactions and
the share of frauds over 1, 7 and 30 days *ending 7 days ago*, because a fraud label is only known
after an investigation delay of 7 days. The extended set adds causal features the handbook does not
use: the amount relative to the customer's 7- and 30-day mean, the time since the customer's
previous transaction and the customer's transactions at the same terminal over 30 days; and customer
baselines that a compromise cannot contaminate (the handbook's scenario 3 multiplies a third of a card's
amounts by 5 for 14 days, which drags the recent means up with it): the spread (standard deviation) of the
customer's amounts over 30 days and the amount's z-score against it, and a baseline window that *ends* 14
days ago, `(t - 14 - b, t - 14]`, with the amount's ratio and z-score against that baseline and the ratio
of the customer's recent (7- and 14-day) mean to it. They are window sums (count, sum, sum of squares),
what the online store computes too; docs/experiments.md, section 5, has the fold results that chose them.
Per terminal it adds how old the terminal's known compromise is: the number of known frauds over the longest
risk window and the days since the earliest of them. A terminal whose frauds stopped keeps a 1- and 7-day risk
of 1.0 for a week after the last one, as during the compromise; the age tells the two apart (section 9).

Every window is `(t - w, t]` and holds the rows that arrived *at or before* this one (time, then
transaction id): what a stream processor that sees one transaction at a time knows. The windows are
polars' `rolling_sum_by` grouped with `.over(key)`: multi-threaded and vectorised (pandas'
groupby-rolling takes ~46 s on the 1.47M rows here). polars puts *every* row with the same timestamp
in a window, later arrivals included, so `_arrived` subtracts the same-key, same-time rows that come
after this one. The expressions of one key read only that key's rows, which is what lets Dask compute
them per partition after a shuffle by key (`KEYED`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Final, Literal

import polars as pl

from fraud_mlops.schema import AMOUNT, CUSTOMER, LABEL, LABEL_COLUMNS, TERMINAL, TIME, TX_ID

FeatureSet = Literal["handbook", "extended"]
FEATURE_SETS: Final[tuple[FeatureSet, ...]] = ("handbook", "extended")
SINCE_CAP_S: Final = 30 * 86_400.0  # a first transaction and a gap of a month or more read the same
NS_PER_DAY: Final = 86_400 * 10**9
DAY = "d"


@dataclass(frozen=True)
class Windows:
    """Window lengths in days; `delay` is how long until a fraud label is known."""

    customer: tuple[int, ...] = (1, 7, 30)
    terminal: tuple[int, ...] = (1, 7, 30)
    delay: int = 7
    ratio: tuple[int, ...] = (7, 30)
    pair: int = 30
    spread: int = 30
    baseline_shift: int = 14
    baseline_days: int = 23
    drift: tuple[int, ...] = (7, 14)

    @cached_property
    def customer_days(self) -> tuple[int, ...]:
        """Every customer window `(t - d, t]` the extended set reads, shortest first: the handbook's, the ratio's,
        the spread's, the drift's, and the two whose difference is the baseline `(t - shift - b, t - shift]`.
        Cached (the fields are frozen): the serving path reads it twice a request."""
        baseline = (self.baseline_shift, self.baseline_shift + self.baseline_days)
        return tuple(sorted({*self.customer, *self.ratio, self.spread, *self.drift, *baseline}))

    @property
    def compromise(self) -> int:
        """The terminal window whose known frauds date a compromise (extended set): the longest risk window, which
        the online store reads anyway."""
        return max(self.terminal)

    @property
    def lookback(self) -> int:
        """How many days back any feature reads: older rows change nothing (the Dask run's and the API bench's
        history start here)."""
        return max(*self.customer_days, self.pair, self.delay + self.compromise)


VARIANCE_FLOOR: Final = 1e-9  # relative to the mean square: below it the amounts are equal and the spread is 0


def spread(n: float, total: float, squares: float) -> float:
    """The standard deviation of `n` amounts from their sum and sum of squares; 0 for fewer than two or equal
    amounts. The online store calls this; `spread_expr` is the same formula for polars."""
    if n < 2:
        return 0.0
    mean_square = squares / n
    variance = mean_square - (total / n) ** 2
    return math.sqrt(variance) if variance > VARIANCE_FLOOR * mean_square else 0.0


def spread_expr(n: pl.Expr, total: pl.Expr, squares: pl.Expr) -> pl.Expr:
    mean_square = squares / n
    variance = mean_square - (total / n) ** 2
    return pl.when((n >= 2) & (variance > VARIANCE_FLOOR * mean_square)).then(variance.sqrt()).otherwise(0.0)


def _one() -> pl.Expr:
    return pl.col(AMOUNT).is_not_null().cast(pl.Float64)


def _window(value: pl.Expr, days: int, keys: list[str]) -> pl.Expr:
    """Sum of `value` over `(t - days, t]` per key, every row with timestamp t included."""
    window = value.cast(pl.Float64).rolling_sum_by(TIME, window_size=f"{days}{DAY}", closed="right")
    return window.over(keys)


LATER_N, LATER_AMOUNT, LATER_SQUARES, LATER_PAIR_N = "_later_n", "_later_amount", "_later_squares", "_later_pair_n"
LATER: Final = (LATER_N, LATER_AMOUNT, LATER_SQUARES, LATER_PAIR_N)


def with_arrival_corrections(frame: pl.DataFrame) -> pl.DataFrame:
    """Add, per row, what the same customer (and customer-terminal pair) did at the same timestamp
    *after* this row: `rolling_sum_by` counts those rows, a stream does not know them yet.

    Ties are rare (42 rows of 1.47M in the handbook data), so they are found with one hash pass and
    corrected on that small subset instead of a group-by over every (customer, time).
    """
    tied = frame.with_row_index("_pos").filter(pl.struct(CUSTOMER, TIME).is_duplicated())
    zeros = pl.Series(values=[0.0] * frame.height, dtype=pl.Float64)
    if tied.is_empty():
        return frame.with_columns(zeros.alias(c) for c in LATER)
    one, amount = _one(), pl.col(AMOUNT).cast(pl.Float64)
    pair = [CUSTOMER, TERMINAL, TIME]
    fixes = tied.select(
        "_pos",
        (one.sum() - one.cum_sum()).over([CUSTOMER, TIME]).alias(LATER_N),
        (amount.sum() - amount.cum_sum()).over([CUSTOMER, TIME]).alias(LATER_AMOUNT),
        ((amount * amount).sum() - (amount * amount).cum_sum()).over([CUSTOMER, TIME]).alias(LATER_SQUARES),
        (one.sum() - one.cum_sum()).over(pair).alias(LATER_PAIR_N),
    )
    positions = fixes["_pos"]
    return frame.with_columns(zeros.scatter(positions, fixes[c]).alias(c) for c in LATER)


def customer_features(w: Windows, feature_set: FeatureSet) -> dict[str, pl.Expr]:
    """Per-customer windows; needs the columns of `with_arrival_corrections`."""
    keys = [CUSTOMER]
    amount = pl.col(AMOUNT).cast(pl.Float64)
    days = w.customer_days if feature_set == "extended" else tuple(sorted(w.customer))
    counts = {d: _window(_one(), d, keys) - pl.col(LATER_N) for d in days}
    sums = {d: _window(amount, d, keys) - pl.col(LATER_AMOUNT) for d in days}
    out: dict[str, pl.Expr] = {}
    for d in w.customer:
        out[f"CUSTOMER_ID_NB_TX_{d}DAY_WINDOW"] = counts[d]
        out[f"CUSTOMER_ID_AVG_AMOUNT_{d}DAY_WINDOW"] = sums[d] / counts[d]
    if feature_set == "extended":
        for d in w.ratio:
            mean = sums[d] / counts[d]
            out[f"CUSTOMER_ID_AMOUNT_RATIO_{d}DAY"] = pl.when(mean > 0).then(amount / mean).otherwise(1.0)
        gap = (pl.col(TIME) - pl.col(TIME).shift(1)).over(keys).dt.total_seconds(fractional=True)
        out["CUSTOMER_ID_LOG_SECONDS_SINCE_PREV_TX"] = gap.fill_null(SINCE_CAP_S).clip(0, SINCE_CAP_S).log1p()
        pair = _window(_one(), w.pair, [CUSTOMER, TERMINAL]) - pl.col(LATER_PAIR_N)
        out[f"CUSTOMER_TERMINAL_NB_TX_{w.pair}DAY_WINDOW"] = pair
        out |= baseline_features(w, counts, sums)
    return out


def baseline_features(w: Windows, counts: dict[int, pl.Expr], sums: dict[int, pl.Expr]) -> dict[str, pl.Expr]:
    """The spread over `w.spread` days and the baseline `(t - shift - b, t - shift]`: the long window minus the
    shift window, so rows with this row's timestamp cancel (no arrival correction, as for the terminals)."""
    keys = [CUSTOMER]
    amount = pl.col(AMOUNT).cast(pl.Float64)
    squares = amount * amount
    d = w.spread
    n_d, s_d = counts[d], sums[d]
    q_d = _window(squares, d, keys) - pl.col(LATER_SQUARES)
    std_d = spread_expr(n_d, s_d, q_d)
    shift, long = w.baseline_shift, w.baseline_shift + w.baseline_days
    n_b = _window(_one(), long, keys) - _window(_one(), shift, keys)
    s_b = _window(amount, long, keys) - _window(amount, shift, keys)
    q_b = _window(squares, long, keys) - _window(squares, shift, keys)
    mean_b, std_b = s_b / n_b, spread_expr(n_b, s_b, q_b)
    known = (n_b > 0) & (s_b > 0)  # counts are exact; an empty window's sum may be rounding noise, not 0
    out = {
        f"CUSTOMER_ID_AMOUNT_STD_{d}DAY_WINDOW": std_d,
        f"CUSTOMER_ID_AMOUNT_ZSCORE_{d}DAY": pl.when(std_d > 0).then((amount - s_d / n_d) / std_d).otherwise(0.0),
        "CUSTOMER_ID_BASELINE_NB_TX": n_b,
        "CUSTOMER_ID_AMOUNT_RATIO_BASELINE": pl.when(known).then(amount / mean_b).otherwise(1.0),
        "CUSTOMER_ID_AMOUNT_ZSCORE_BASELINE": pl.when(std_b > 0).then((amount - mean_b) / std_b).otherwise(0.0),
    }
    for r in w.drift:
        drift = (sums[r] / counts[r]) / mean_b
        out[f"CUSTOMER_ID_AVG_AMOUNT_{r}DAY_TO_BASELINE"] = pl.when(known).then(drift).otherwise(1.0)
    return out


def terminal_features(w: Windows, feature_set: FeatureSet) -> dict[str, pl.Expr]:
    """Counts and fraud shares over `(t - delay - d, t - delay]`: the long window minus the delay window.

    Rows that share this row's timestamp are in both windows and cancel: no arrival correction is needed.
    The extended set adds, over the longest window, the number of known frauds and the days since the earliest
    (0 when there is none; a known fraud is at least `delay` days old).
    """
    keys = [TERMINAL]
    frauds = pl.col(LABEL).cast(pl.Float64)
    delay_tx = _window(_one(), w.delay, keys)
    delay_frauds = _window(frauds, w.delay, keys)
    out: dict[str, pl.Expr] = {}
    known_frauds: dict[int, pl.Expr] = {}
    for d in w.terminal:
        n = _window(_one(), w.delay + d, keys) - delay_tx
        known_frauds[d] = _window(frauds, w.delay + d, keys) - delay_frauds
        out[f"TERMINAL_ID_NB_TX_{d}DAY_WINDOW"] = n
        out[f"TERMINAL_ID_RISK_{d}DAY_WINDOW"] = pl.when(n > 0).then(known_frauds[d] / n).otherwise(0.0)
    if feature_set == "extended":
        d = w.compromise
        t = pl.col(TIME).dt.epoch("ns")
        # The earliest fraud in (t - delay - d, t]; it is known when it is at least `delay` days old.
        earliest = pl.when(pl.col(LABEL) == 1).then(t).rolling_min_by(TIME, f"{w.delay + d}{DAY}", closed="right")
        earliest = earliest.over(keys)
        age = pl.when(earliest <= t - w.delay * NS_PER_DAY).then((t - earliest).cast(pl.Float64) / NS_PER_DAY)
        out[f"TERMINAL_ID_NB_FRAUD_{d}DAY_WINDOW"] = known_frauds[d]
        out["TERMINAL_ID_DAYS_SINCE_FIRST_FRAUD"] = age.otherwise(0.0)
    return out


def calendar_features() -> dict[str, pl.Expr]:
    return {
        "TX_DURING_WEEKEND": (pl.col(TIME).dt.weekday() >= 6).cast(pl.Float64),  # polars: Monday = 1
        "TX_DURING_NIGHT": (pl.col(TIME).dt.hour() <= 6).cast(pl.Float64),  # the handbook's "hour <= 6"
    }


def feature_exprs(feature_set: FeatureSet, w: Windows = Windows()) -> dict[str, pl.Expr]:
    """Feature name -> polars expression, in the model's column order."""
    exprs: dict[str, pl.Expr] = {AMOUNT: pl.col(AMOUNT).cast(pl.Float64), **calendar_features()}
    exprs |= customer_features(w, feature_set)
    exprs |= terminal_features(w, feature_set)
    return exprs


def feature_names(feature_set: FeatureSet, w: Windows = Windows()) -> list[str]:
    names = list(feature_exprs(feature_set, w))
    assert_no_labels(names)
    return names


def assert_no_labels(names: list[str]) -> None:
    """The label and the simulator's scenario are outcomes, never inputs."""
    leaked = set(names) & set(LABEL_COLUMNS)
    if leaked:
        raise ValueError(f"label columns among the features: {sorted(leaked)}")


def in_stream_order(frame: pl.DataFrame) -> pl.DataFrame:
    """Time, then transaction id: the order a stream processor sees the rows in."""
    return frame.sort([TIME, TX_ID])


def _prepared(frame: pl.DataFrame) -> pl.DataFrame:
    """Stream order, and a label column where unknown labels count as genuine (as they do for a live system
    until the label arrives)."""
    base = in_stream_order(frame)
    if LABEL not in base.columns:
        base = base.with_columns(pl.lit(0, pl.Int64).alias(LABEL))
    return base.with_columns(pl.col(LABEL).fill_null(0))


def compute(frame: pl.DataFrame, feature_set: FeatureSet = "extended", w: Windows = Windows()) -> pl.DataFrame:
    """The transactions (stream order) with their features. Needs TX_FRAUD for the terminal risk."""
    exprs = feature_exprs(feature_set, w)
    computed = (
        with_arrival_corrections(_prepared(frame))
        .lazy()
        .with_columns(**{k: v for k, v in exprs.items() if k != AMOUNT})
    )
    return computed.drop(*LATER).collect()


KEYED: Final[dict[str, Callable[[Windows, FeatureSet], dict[str, pl.Expr]]]] = {
    CUSTOMER: customer_features,
    TERMINAL: terminal_features,
}


def compute_keyed(
    frame: pl.DataFrame, key: str, feature_set: FeatureSet = "extended", w: Windows = Windows()
) -> pl.DataFrame:
    """Only `key`'s features (`KEYED[key]`), in stream order, for a frame that holds *every* row of each of its
    keys: one partition of a log shuffled by that key (see `scale.py`). The expressions are `compute`'s own,
    so a partitioned run cannot drift from the single-machine one (a test compares the two to 1e-9)."""
    if key not in KEYED:
        raise ValueError(f"no per-key features for {key!r}; choose one of {sorted(KEYED)}")
    base = _prepared(frame)
    if key == CUSTOMER:
        base = with_arrival_corrections(base)
    computed = base.lazy().with_columns(**KEYED[key](w, feature_set))
    return computed.drop(*LATER, strict=False).collect()

"""Feature behaviour: the polars windows equal a plain one-transaction-at-a-time reference, and no feature
looks ahead (anything after time t leaves every feature at or before t unchanged)."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from fraud_mlops.features import SINCE_CAP_S, Windows, compute, feature_names
from fraud_mlops.schema import AMOUNT, CUSTOMER, LABEL, TERMINAL, TIME, TX_ID

W = Windows()
DAY = 86_400.0


def reference(frame: pl.DataFrame) -> dict[int, dict[str, float]]:
    """The definitions written out row by row, in stream order, from each key's history so far."""
    seen_c: dict[int, list[tuple[float, float]]] = defaultdict(list)
    seen_t: dict[int, list[tuple[float, int]]] = defaultdict(list)
    seen_p: dict[tuple[int, int], list[float]] = defaultdict(list)
    out: dict[int, dict[str, float]] = {}
    rows = frame.sort([TIME, TX_ID]).iter_rows(named=True)
    for r in rows:
        t = r[TIME].timestamp()
        c, term, amount = r[CUSTOMER], r[TERMINAL], r[AMOUNT]
        seen_c[c].append((t, amount))
        f: dict[str, float] = {AMOUNT: amount, "TX_DURING_WEEKEND": float(r[TIME].weekday() >= 5),
                               "TX_DURING_NIGHT": float(r[TIME].hour <= 6)}  # fmt: skip
        for d in (*W.customer, *W.ratio):
            inside = [a for (s, a) in seen_c[c] if t - d * DAY < s <= t]
            f[f"n{d}"], f[f"avg{d}"] = len(inside), sum(inside) / len(inside)
        for d in W.customer:
            f[f"CUSTOMER_ID_NB_TX_{d}DAY_WINDOW"], f[f"CUSTOMER_ID_AVG_AMOUNT_{d}DAY_WINDOW"] = f[f"n{d}"], f[f"avg{d}"]
        for d in W.ratio:
            f[f"CUSTOMER_ID_AMOUNT_RATIO_{d}DAY"] = amount / f[f"avg{d}"] if f[f"avg{d}"] > 0 else 1.0
        f |= reference_baselines(seen_c[c], t, amount)
        gap = t - seen_c[c][-2][0] if len(seen_c[c]) > 1 else SINCE_CAP_S
        f["CUSTOMER_ID_LOG_SECONDS_SINCE_PREV_TX"] = math.log1p(min(max(gap, 0.0), SINCE_CAP_S))
        seen_p[(c, term)].append(t)
        f[f"CUSTOMER_TERMINAL_NB_TX_{W.pair}DAY_WINDOW"] = sum(t - W.pair * DAY < s <= t for s in seen_p[(c, term)])
        seen_t[term].append((t, r[LABEL]))
        for d in W.terminal:
            old = [y for (s, y) in seen_t[term] if t - (W.delay + d) * DAY < s <= t - W.delay * DAY]
            f[f"TERMINAL_ID_NB_TX_{d}DAY_WINDOW"] = len(old)
            f[f"TERMINAL_ID_RISK_{d}DAY_WINDOW"] = sum(old) / len(old) if old else 0.0
        d = max(W.terminal)
        known = [s for (s, y) in seen_t[term] if y == 1 and t - (W.delay + d) * DAY < s <= t - W.delay * DAY]
        f[f"TERMINAL_ID_NB_FRAUD_{d}DAY_WINDOW"] = len(known)
        f["TERMINAL_ID_DAYS_SINCE_FIRST_FRAUD"] = (t - min(known)) / DAY if known else 0.0
        out[r[TX_ID]] = f
    return out


def _mean_std(values: list[float]) -> tuple[float, float]:
    """Two-pass population standard deviation (not the window sums the code uses)."""
    mean = math.fsum(values) / len(values)
    return mean, math.sqrt(math.fsum((v - mean) ** 2 for v in values) / len(values))


def reference_baselines(history: list[tuple[float, float]], t: float, amount: float) -> dict[str, float]:
    """The spread and the baseline `(t - shift - b, t - shift]` features from the customer's rows so far."""
    recent = [a for (s, a) in history if t - W.spread * DAY < s <= t]
    mean, std = _mean_std(recent)
    shift, long = W.baseline_shift * DAY, (W.baseline_shift + W.baseline_days) * DAY
    base = [a for (s, a) in history if t - long < s <= t - shift]
    f = {
        f"CUSTOMER_ID_AMOUNT_STD_{W.spread}DAY_WINDOW": std,
        f"CUSTOMER_ID_AMOUNT_ZSCORE_{W.spread}DAY": (amount - mean) / std if std > 0 else 0.0,
        "CUSTOMER_ID_BASELINE_NB_TX": float(len(base)),
    }
    base_mean, base_std = _mean_std(base) if base else (0.0, 0.0)
    f["CUSTOMER_ID_AMOUNT_RATIO_BASELINE"] = amount / base_mean if base_mean > 0 else 1.0
    f["CUSTOMER_ID_AMOUNT_ZSCORE_BASELINE"] = (amount - base_mean) / base_std if base_std > 0 else 0.0
    for r in W.drift:
        window = [a for (s, a) in history if t - r * DAY < s <= t]
        drift = math.fsum(window) / len(window) / base_mean if base_mean > 0 else 1.0
        f[f"CUSTOMER_ID_AVG_AMOUNT_{r}DAY_TO_BASELINE"] = drift
    return f


@pytest.fixture(scope="module")
def sample(small_log: pl.DataFrame) -> pl.DataFrame:
    """Forty days of a tenth of the customers: every window fills, and the reference stays fast."""
    return small_log.filter((pl.col(CUSTOMER) % 10 == 0) & (pl.col("TX_TIME_DAYS") < 40))


def test_features_equal_the_row_by_row_reference(sample: pl.DataFrame) -> None:
    names = feature_names("extended")
    got = compute(sample, "extended")
    expected = reference(sample)
    # The comparison means something only where the terminal has known frauds (a compromise 7+ days old).
    assert (got["TERMINAL_ID_DAYS_SINCE_FIRST_FRAUD"] > W.delay).sum() > 100
    for row in got.iter_rows(named=True):
        want = expected[row[TX_ID]]
        for name in names:
            # A spread from window sums of squares loses a few digits to cancellation (E[x^2] - E[x]^2) against
            # the two-pass reference: 1e-9 for those, the online store's tolerance.
            tol = 1e-9 if "STD" in name or "ZSCORE" in name else 1e-12
            assert row[name] == pytest.approx(want[name], rel=tol, abs=tol), (row[TX_ID], name)


def test_same_time_transactions_count_in_arrival_order() -> None:
    t0 = datetime(2018, 4, 2, 12)
    frame = pl.DataFrame(
        {TX_ID: [5, 6, 7, 8], TIME: [t0, t0, t0, t0 + timedelta(seconds=1)], CUSTOMER: [1, 1, 1, 1],
         TERMINAL: [9, 9, 8, 9], AMOUNT: [10.0, 20.0, 60.0, 1.0], LABEL: [0, 0, 0, 0]}
    ).with_columns(pl.col(TIME).cast(pl.Datetime("ns")))  # fmt: skip
    got = compute(frame.reverse(), "extended")
    assert got[TX_ID].to_list() == [5, 6, 7, 8]
    assert got["CUSTOMER_ID_NB_TX_1DAY_WINDOW"].to_list() == [1, 2, 3, 4]
    assert got["CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW"].to_list() == [10.0, 15.0, 30.0, 22.75]
    assert got["CUSTOMER_TERMINAL_NB_TX_30DAY_WINDOW"].to_list() == [1, 2, 1, 3]
    assert got["CUSTOMER_ID_LOG_SECONDS_SINCE_PREV_TX"].to_list()[1:] == [0.0, 0.0, math.log1p(1.0)]
    stds = got["CUSTOMER_ID_AMOUNT_STD_30DAY_WINDOW"].to_list()[:3]  # the squares are corrected for arrival too
    assert stds == pytest.approx([0.0, 5.0, math.sqrt(1400 / 3)], rel=1e-12)


@pytest.mark.parametrize("cut_day", [20.5, 33.25])
def test_no_feature_looks_ahead(small_log: pl.DataFrame, cut_day: float) -> None:
    """Shuffle every column of every row after t, relabel them and add rows: features up to t stay identical."""
    names = feature_names("extended")
    cut = small_log[TIME].min() + timedelta(days=cut_day)  # type: ignore[operator]
    before = small_log.filter(pl.col(TIME) <= cut)
    after = small_log.filter(pl.col(TIME) > cut)
    rng = np.random.default_rng(0)
    changed = after.with_columns(
        pl.Series(CUSTOMER, rng.permutation(after[CUSTOMER].to_numpy())),
        pl.Series(TERMINAL, rng.permutation(after[TERMINAL].to_numpy())),
        pl.Series(AMOUNT, rng.permutation(after[AMOUNT].to_numpy()) * 3),
        pl.Series(LABEL, 1 - after[LABEL].to_numpy()),
    )
    extra = changed.head(500).with_columns(pl.col(TX_ID) + 10_000_000)
    reference_features = compute(small_log)
    altered_features = compute(pl.concat([before, changed, extra]))
    keep = pl.col(TIME) <= cut
    assert altered_features.filter(keep)[names].equals(reference_features.filter(keep)[names])
    assert not altered_features.filter(~keep)[names].equals(reference_features.filter(~keep)[names])


def test_terminal_risk_waits_for_the_label_delay(small_log: pl.DataFrame) -> None:
    """Flipping the labels of the last 7 days changes no terminal feature: they are not known yet."""
    last = small_log[TIME].max() - timedelta(days=W.delay)  # type: ignore[operator]
    flipped = small_log.with_columns(pl.when(pl.col(TIME) > last).then(1 - pl.col(LABEL)).otherwise(pl.col(LABEL)))
    names = feature_names("extended")
    assert compute(flipped)[names].equals(compute(small_log)[names])


def test_rows_older_than_the_lookback_change_no_feature(small_log: pl.DataFrame) -> None:
    """`Windows.lookback` is where the Dask run and the API bench start their history: enough for every window."""
    start = small_log[TIME].min() + timedelta(days=W.lookback + 3)  # type: ignore[operator]
    recent = small_log.filter(pl.col(TIME) > start - timedelta(days=W.lookback))
    names = feature_names("extended")
    full, cut = (compute(log).filter(pl.col(TIME) >= start).sort(TX_ID) for log in (small_log, recent))
    assert full.height == cut.height > 1000
    np.testing.assert_allclose(cut.select(names).to_numpy(), full.select(names).to_numpy(), rtol=1e-7, atol=1e-9)
    assert Windows(baseline_days=40).lookback == W.baseline_shift + 40  # longer than every other window now

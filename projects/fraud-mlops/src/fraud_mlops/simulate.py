"""The Fraud Detection Handbook's transaction simulator (chapter 3.2), vectorised with numpy.

The generative process is the handbook's, step by step:

- customers and terminals lie uniformly on a 100 x 100 grid; a customer uses the terminals within
  `radius` of them, uniformly at random;
- each customer has a mean amount ~ U(5, 100) (standard deviation: half of it) and a mean daily
  transaction count ~ U(0, 4); the count on each day is Poisson; the time of day is
  N(noon, 20,000 s), rejected outside the day; a negative amount is redrawn ~ U(0, 2 x mean);
- scenario 1: every amount above 220 is a fraud;
- scenario 2: each day two terminals are compromised; their transactions of the next 28 days are frauds;
- scenario 3: each day three customers' credentials leak; over the next 14 days a third of their
  transactions (drawn at random) are frauds whose amounts are multiplied by 5.

The handbook loops over customers in Python (about an hour for its 1.75M transactions); here every
customer-day is drawn at once, so the same process runs in seconds and scales to 10x or 100x the
published size. Its random stream differs from the handbook's, so it reproduces the published data
set's statistics, not its rows; everything is deterministic given `seed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy.spatial import cKDTree

from fraud_mlops.schema import AMOUNT, CUSTOMER, DAYS, LABEL, SCENARIO, SECONDS, TERMINAL, TIME, TX_ID

DAY_SECONDS = 86_400


@dataclass(frozen=True)
class SimulationSpec:
    """The simulator's inputs; the defaults are the handbook's data set (183 days from 2018-04-01)."""

    customers: int = 5_000
    terminals: int = 10_000
    days: int = 183
    start_date: date = date(2018, 4, 1)
    radius: float = 5.0
    seed: int = 0
    amount_threshold: float = 220.0  # scenario 1
    compromised_terminals_per_day: int = 2  # scenario 2
    terminal_compromise_days: int = 28
    compromised_customers_per_day: int = 3  # scenario 3
    customer_compromise_days: int = 14
    card_fraud_share: float = 1 / 3
    card_fraud_amount_factor: float = 5.0

    def __post_init__(self) -> None:
        if min(self.customers, self.terminals, self.days) < 1:
            raise ValueError("customers, terminals and days must be positive")
        if self.compromised_terminals_per_day > self.terminals or self.compromised_customers_per_day > self.customers:
            raise ValueError("more compromised terminals/customers per day than exist")


@dataclass(frozen=True)
class Profiles:
    customer_xy: npt.NDArray[np.float64]
    mean_amount: npt.NDArray[np.float64]
    std_amount: npt.NDArray[np.float64]
    mean_daily_count: npt.NDArray[np.float64]
    terminal_xy: npt.NDArray[np.float64]
    # The terminals each customer uses, as CSR: customer c's are terminals[offsets[c]:offsets[c + 1]].
    offsets: npt.NDArray[np.int64]
    terminals: npt.NDArray[np.int32]


def profiles(spec: SimulationSpec, rng: np.random.Generator) -> Profiles:
    customer_xy = rng.uniform(0, 100, size=(spec.customers, 2))
    mean_amount = rng.uniform(5, 100, size=spec.customers)
    mean_daily_count = rng.uniform(0, 4, size=spec.customers)
    terminal_xy = rng.uniform(0, 100, size=(spec.terminals, 2))
    nearby = cKDTree(terminal_xy).query_ball_point(customer_xy, r=spec.radius, return_sorted=True)
    counts = np.fromiter((len(n) for n in nearby), dtype=np.int64, count=spec.customers)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    flat = np.fromiter((t for n in nearby for t in n), dtype=np.int32, count=int(offsets[-1]))
    return Profiles(customer_xy, mean_amount, mean_amount / 2, mean_daily_count, terminal_xy, offsets, flat)


def genuine_transactions(spec: SimulationSpec, p: Profiles, rng: np.random.Generator) -> pl.DataFrame:
    """Every customer-day's Poisson count, times, amounts and terminals, drawn as whole arrays."""
    per_day = rng.poisson(np.repeat(p.mean_daily_count[:, None], spec.days, axis=1))
    customer = np.repeat(np.repeat(np.arange(spec.customers, dtype=np.int64), spec.days), per_day.ravel())
    day = np.repeat(np.tile(np.arange(spec.days, dtype=np.int64), spec.customers), per_day.ravel())
    seconds = rng.normal(DAY_SECONDS / 2, 20_000, size=customer.size).astype(np.int64)  # int(): toward zero
    mean = p.mean_amount[customer]
    amount = rng.normal(mean, p.std_amount[customer])
    negative = amount < 0
    amount[negative] = rng.uniform(0, 2 * mean[negative])
    amount = np.round(amount, 2)
    n_terminals = np.diff(p.offsets)[customer]
    keep = (seconds > 0) & (seconds < DAY_SECONDS) & (n_terminals > 0)  # the handbook drops both
    customer, day, seconds, n_terminals = customer[keep], day[keep], seconds[keep], n_terminals[keep]
    amount = amount[keep]
    pick = (rng.random(customer.size) * n_terminals).astype(np.int64)
    terminal = p.terminals[p.offsets[customer] + pick].astype(np.int64)
    frame = pl.DataFrame(
        {SECONDS: seconds + day * DAY_SECONDS, DAYS: day, CUSTOMER: customer, TERMINAL: terminal, AMOUNT: amount}
    )
    frame = (
        frame.sort([SECONDS, CUSTOMER], maintain_order=True)
        .with_row_index(TX_ID)
        .with_columns(pl.col(TX_ID).cast(pl.Int64))
    )
    origin = pl.lit(spec.start_date).cast(pl.Datetime("ns"))
    return frame.with_columns((origin + pl.duration(seconds=pl.col(SECONDS))).cast(pl.Datetime("ns")).alias(TIME))


def add_frauds(spec: SimulationSpec, frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """The handbook's three scenarios, applied in its order (a later scenario relabels an earlier one)."""
    amount = frame[AMOUNT].to_numpy().copy()
    day = frame[DAYS].to_numpy()
    customer = frame[CUSTOMER].to_numpy()
    terminal = frame[TERMINAL].to_numpy()
    scenario = np.where(amount > spec.amount_threshold, 1, 0).astype(np.int64)

    # Scenario 2: a (terminal x day) compromise table from interval start/end marks, one cumulative sum.
    marks = np.zeros((spec.terminals, spec.days + spec.terminal_compromise_days + 1), dtype=np.int32)
    for d in range(spec.days):
        hit = rng.choice(spec.terminals, size=spec.compromised_terminals_per_day, replace=False)
        marks[hit, d] += 1
        marks[hit, d + spec.terminal_compromise_days] -= 1
    compromised = np.cumsum(marks, axis=1) > 0
    scenario[compromised[terminal, day]] = 2

    # Scenario 3: rows sorted by (customer, day), so each leaked card's 14 days are one slice.
    order = np.lexsort((day, customer))
    key = customer[order] * spec.days + day[order]
    for d in range(spec.days):
        leaked = rng.choice(spec.customers, size=spec.compromised_customers_per_day, replace=False)
        start = np.searchsorted(key, leaked * spec.days + d, side="left")
        stop = np.searchsorted(key, leaked * spec.days + min(d + spec.customer_compromise_days, spec.days), "left")
        rows = order[np.concatenate([np.arange(a, b) for a, b in zip(start, stop, strict=True)])]
        chosen = rng.choice(rows, size=int(rows.size * spec.card_fraud_share), replace=False)
        amount[chosen] *= spec.card_fraud_amount_factor
        scenario[chosen] = 3

    return frame.with_columns(
        pl.Series(AMOUNT, np.round(amount, 2)),
        pl.Series(LABEL, (scenario > 0).astype(np.int64)),
        pl.Series(SCENARIO, scenario),
    )


def simulate(spec: SimulationSpec) -> pl.DataFrame:
    """A transaction log in the handbook's layout, sorted by time, with labels and scenarios."""
    profile_rng, tx_rng, fraud_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(spec.seed).spawn(3))
    frame = genuine_transactions(spec, profiles(spec, profile_rng), tx_rng)
    frame = add_frauds(spec, frame, fraud_rng)
    return frame.select(TX_ID, TIME, CUSTOMER, TERMINAL, AMOUNT, SECONDS, DAYS, LABEL, SCENARIO)

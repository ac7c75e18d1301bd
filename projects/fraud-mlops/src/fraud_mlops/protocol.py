"""Time-ordered splits: the handbook's train / delay / test weeks, the larger-history protocol and the
prequential folds used for tuning.

A fraud label becomes known `delay` days after the transaction. So a model trained up to day T can only
be tested from T + delay on, and a card is "known compromised" (and left out of the test days, as the
handbook does) once one of its frauds is at least `delay` + 1 days old.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import polars as pl

from fraud_mlops.config import ProtocolConfig
from fraud_mlops.schema import CUSTOMER, LABEL, TIME


@dataclass(frozen=True)
class Split:
    name: str
    train_start: date
    train_end: date  # exclusive
    test_start: date
    test_end: date  # exclusive
    delay_days: int

    def describe(self) -> str:
        last_train = self.train_end - timedelta(days=1)
        last_test = self.test_end - timedelta(days=1)
        return f"train {self.train_start}..{last_train}, test {self.test_start}..{last_test}"


def _at(day: date) -> datetime:
    return datetime.combine(day, time())


def _between(start: date, end: date) -> pl.Expr:
    return (pl.col(TIME) >= _at(start)) & (pl.col(TIME) < _at(end))


def handbook_split(p: ProtocolConfig) -> Split:
    h = p.handbook
    train_end = h.train_start + timedelta(days=h.train_days)
    test_start = train_end + timedelta(days=h.delay_days)
    return Split(
        "handbook", h.train_start, train_end, test_start, test_start + timedelta(days=h.test_days), h.delay_days
    )


def history_split(p: ProtocolConfig) -> Split:
    """The same delay and test week, trained on everything from `history_start` to the handbook's last training day."""
    h = handbook_split(p)
    return Split("history", p.history_start, h.train_end, h.test_start, h.test_end, h.delay_days)


def prequential_folds(p: ProtocolConfig) -> list[Split]:
    """The handbook's prequential validation: the whole protocol moved back so its test week ends before the
    real training week starts, then back by one test-week length per fold. The test week is never seen."""
    h = handbook_split(p)
    span = timedelta(days=p.handbook.delay_days + p.handbook.test_days)
    step = timedelta(days=p.handbook.test_days)
    folds = []
    for k in range(p.validation_folds):
        shift = span + k * step
        folds.append(
            Split(
                f"fold{k}",
                h.train_start - shift,
                h.train_end - shift,
                h.test_start - shift,
                h.test_end - shift,
                h.delay_days,
            )
        )
    return folds


def train_rows(frame: pl.DataFrame, split: Split) -> pl.DataFrame:
    return frame.filter(_between(split.train_start, split.train_end))


def test_rows(frame: pl.DataFrame, split: Split) -> pl.DataFrame:
    """The test days without the cards known to be compromised by then (the handbook's rule: frauds from the
    training start up to `delay` + 1 days before each test day)."""
    days: list[pl.DataFrame] = []
    day = split.test_start
    while day < split.test_end:
        known_until = day - timedelta(days=split.delay_days)  # exclusive: frauds at least delay + 1 days old
        known = frame.filter(_between(split.train_start, known_until) & (pl.col(LABEL) == 1))[CUSTOMER].unique()
        todays = frame.filter(_between(day, day + timedelta(days=1)))
        days.append(todays.filter(~pl.col(CUSTOMER).is_in(known.implode())))
        day += timedelta(days=1)
    return pl.concat(days)


def latest_labelled_week(frame: pl.DataFrame, delay_days: int, days: int = 7) -> tuple[date, date]:
    """The most recent `days` whose labels are all known at the end of the log (`delay_days` before its last
    day): what `promote` compares models on. Returns (first day, day after the last)."""
    last = frame[TIME].max()
    if not isinstance(last, datetime):
        raise ValueError("the log has no timestamps")
    end = last.date() + timedelta(days=1) - timedelta(days=delay_days)
    return end - timedelta(days=days), end


def rows_between(frame: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    return frame.filter(_between(start, end))

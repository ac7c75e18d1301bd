"""Data behaviour: the mirror matches the contract, bad files get a clear error, labels never become inputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from fraud_mlops.data import TransactionsError, load_handbook, read_transactions, validate
from fraud_mlops.features import FEATURE_SETS, assert_no_labels, compute, feature_names
from fraud_mlops.schema import AMOUNT, CUSTOMER, LABEL, LABEL_COLUMNS, SCENARIO, TIME, TX_ID


def test_the_handbook_data_matches_its_published_description() -> None:
    frame = load_handbook()
    assert frame.height == 1_466_282
    assert int(frame[LABEL].sum()) == 12_134
    assert str(frame[TIME].min().date()) == "2018-04-01" and str(frame[TIME].max().date()) == "2018-08-31"  # type: ignore[union-attr]
    assert set(frame[SCENARIO].unique()) == {0, 1, 2, 3}
    assert ((frame[SCENARIO] > 0) == (frame[LABEL] == 1)).all()


@pytest.mark.parametrize("feature_set", FEATURE_SETS)
def test_no_label_column_is_a_feature(feature_set: str) -> None:
    names = feature_names(feature_set)  # type: ignore[arg-type]
    assert not set(names) & set(LABEL_COLUMNS)
    with pytest.raises(ValueError, match="label columns"):
        assert_no_labels([*names, SCENARIO])


def test_features_do_not_read_the_scenario(small_log: pl.DataFrame) -> None:
    """Scrambling or dropping TX_FRAUD_SCENARIO changes no feature: it is never read."""
    names = feature_names("extended")
    reference = compute(small_log)[names]
    scrambled = small_log.with_columns(pl.col(SCENARIO).shuffle(seed=1))
    assert compute(scrambled)[names].equals(reference)
    assert compute(small_log.drop(SCENARIO))[names].equals(reference)


def test_a_bad_log_lists_every_problem(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {TX_ID: [1, 1, 2], TIME: ["2018-04-01 10:00:00", "2018-04-01 11:00:00", "not a time"],
         CUSTOMER: [1, 2, -3], "TERMINAL_ID": [1, 2, 3], AMOUNT: [10.0, -5.0, 3.0]}
    )  # fmt: skip
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(TransactionsError) as error:
        read_transactions(path)
    message = str(error.value)
    for expected in (TX_ID, TIME, CUSTOMER, AMOUNT, "must be unique"):
        assert expected in message


def test_a_missing_column_is_named() -> None:
    frame = pd.DataFrame({TX_ID: [1], TIME: ["2018-04-01"], CUSTOMER: [1], AMOUNT: [1.0]})
    with pytest.raises(TransactionsError, match="TERMINAL_ID"):
        validate(frame, "log")


def test_a_valid_log_is_returned_in_stream_order_with_day_columns(small_log: pl.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    small_log.drop("TX_TIME_SECONDS", "TX_TIME_DAYS").reverse().write_parquet(path)
    read = read_transactions(path, require_label=True)
    assert read[TX_ID].to_list() == small_log[TX_ID].to_list()
    assert read["TX_TIME_DAYS"].to_list() == small_log["TX_TIME_DAYS"].to_list()

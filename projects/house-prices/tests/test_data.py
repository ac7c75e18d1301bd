"""Data tests: the real Kaggle files satisfy the contract; bad files are rejected with clear messages."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from house_prices.data import HouseDataError, Houses, is_de_cock_outlier, read_houses
from house_prices.schema import CATEGORIES, FEATURES, ID, TARGET


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def test_kaggle_files_load_with_the_documented_shapes(train_houses: Houses, test_houses: Houses) -> None:
    assert train_houses.frame.shape == (1460, 81)
    assert test_houses.frame.shape == (1459, 80)
    assert TARGET not in test_houses.frame
    assert train_houses.frame[ID].is_unique and test_houses.frame[ID].is_unique


def test_kaggle_spellings_are_normalised_to_the_documented_codes(train_houses: Houses) -> None:
    frame = train_houses.frame
    assert "NAmes" not in set(frame["Neighborhood"]) and "Names" in set(frame["Neighborhood"])
    for column, codes in CATEGORIES.items():
        assert set(frame[column].dropna()) <= set(codes), column


def test_the_known_test_file_typo_is_a_warning_not_an_error(test_houses: Houses) -> None:
    assert any("GarageYrBlt=2207" in w and "Id 2593" in w for w in test_houses.warnings)


def test_de_cock_outliers_are_the_two_partial_sales(train_houses: Houses) -> None:
    mask = is_de_cock_outlier(train_houses.frame, 4000, 300_000)
    assert sorted(train_houses.frame.loc[mask, ID]) == [524, 1299]


@pytest.fixture
def sample(test_houses: Houses) -> pd.DataFrame:
    return test_houses.frame.head(8).copy()


def test_missing_columns_are_named(sample: pd.DataFrame) -> None:
    with pytest.raises(HouseDataError, match="missing column\\(s\\): KitchenQual, PoolArea"):
        read_houses(_csv(sample.drop(columns=["KitchenQual", "PoolArea"])))


def test_mistyped_values_name_column_row_and_value(sample: pd.DataFrame) -> None:
    sample["LotArea"] = sample["LotArea"].astype(object)
    sample.loc[2, "LotArea"] = "large"
    with pytest.raises(HouseDataError) as caught:
        read_houses(_csv(sample))
    assert caught.value.problems == ["column 'LotArea': not a valid 'float64' value in row(s) 3 (got 'large')"]


def test_impossible_values_and_unknown_codes_are_rejected(sample: pd.DataFrame) -> None:
    sample.loc[1, "GrLivArea"] = -10
    sample.loc[4, "Neighborhood"] = "Atlantis"
    sample.loc[5, "OverallQual"] = 11
    with pytest.raises(HouseDataError) as caught:
        read_houses(_csv(sample))
    text = "\n".join(caught.value.problems)
    assert "'GrLivArea': must be between 1 and 100000 in row(s) 2 (got -10.0)" in text
    assert "'Neighborhood': must be one of" in text and "'Atlantis'" in text
    assert "'OverallQual': must be between 1 and 10 in row(s) 6" in text


def test_required_values_cannot_be_empty(sample: pd.DataFrame) -> None:
    sample.loc[0, "YearBuilt"] = None
    with pytest.raises(HouseDataError, match="'YearBuilt': is empty but required in row\\(s\\) 1"):
        read_houses(_csv(sample))


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "it is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary", "not UTF-8 text"),
        (b"a,b\n1,2\n", "house columns are missing"),
        (b"Id,SalePrice\n", "has no rows"),
    ],
)
def test_files_that_are_not_house_csvs(payload: bytes, message: str) -> None:
    with pytest.raises(HouseDataError, match=message):
        read_houses(io.BytesIO(payload))


def test_extra_columns_are_ignored_and_numeric_codes_accepted(sample: pd.DataFrame) -> None:
    sample["Notes"] = "x"
    sample["MSSubClass"] = sample["MSSubClass"].astype(float)  # 20.0, as a spreadsheet might write it
    houses = read_houses(_csv(sample))
    assert list(houses.X.columns) == list(FEATURES)
    assert set(houses.frame["MSSubClass"]) <= set(CATEGORIES["MSSubClass"])

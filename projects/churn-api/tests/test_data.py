"""Data behaviour: the IBM file as documented, and bad customer files rejected with named problems."""

from __future__ import annotations

import pandas as pd
import pytest

from churn_api.data import CustomerDataError, Customers, read_csv, validate
from churn_api.features import build_preprocessor
from churn_api.schema import FEATURES, ID

DATA_TEXT = "the IBM file"


def _raw(customers: Customers) -> pd.DataFrame:
    """The validated frame back as text, the way a CSV arrives."""
    return customers.frame.astype(str)


def test_ibm_file_shape_and_churn_rate(customers: Customers) -> None:
    assert len(customers.frame) == 7043
    assert customers.frame[ID].is_unique
    assert customers.churn_rate == pytest.approx(0.2654, abs=1e-3)


def test_blank_total_charges_are_the_eleven_tenure_zero_customers(customers: Customers) -> None:
    assert customers.blank_total_charges == 11
    zero_tenure = customers.frame[customers.frame["tenure"] == 0]
    assert len(zero_tenure) == 11
    assert (zero_tenure["TotalCharges"] == 0).all()


def test_blank_total_charges_with_tenure_is_an_error(customers: Customers) -> None:
    frame = _raw(customers).head(20)
    frame.loc[3, "TotalCharges"] = " "
    with pytest.raises(CustomerDataError, match=r"TotalCharges.*tenure > 0.*line\(s\) 5"):
        validate(frame, DATA_TEXT)


def test_missing_column_is_named(customers: Customers) -> None:
    frame = _raw(customers).head(5).drop(columns=["Contract"])
    with pytest.raises(CustomerDataError, match=r"missing column.*Contract"):
        validate(frame, DATA_TEXT, require_target=False)


def test_unknown_category_and_impossible_number_are_named_with_lines(customers: Customers) -> None:
    frame = _raw(customers).head(5)
    frame.loc[1, "Contract"] = "Three year"
    frame.loc[2, "tenure"] = "-4"
    frame.loc[4, "MonthlyCharges"] = "lots"
    with pytest.raises(CustomerDataError) as error:
        validate(frame, DATA_TEXT)
    problems = "\n".join(error.value.problems)
    assert "'Contract'" in problems and "'Three year'" in problems and "line(s) 3" in problems
    assert "'tenure'" in problems and "line(s) 4" in problems
    assert "'MonthlyCharges'" in problems and "not a valid" in problems


def test_contradictory_phone_fields_are_rejected(customers: Customers) -> None:
    frame = _raw(customers).head(5)
    row = frame.index[frame["PhoneService"] == "Yes"][0]
    frame.loc[row, "MultipleLines"] = "No phone service"
    with pytest.raises(CustomerDataError, match="contradict"):
        validate(frame, DATA_TEXT)


def test_unexpected_column_is_rejected(customers: Customers) -> None:
    frame = _raw(customers).head(3).assign(Contarct="x")
    with pytest.raises(CustomerDataError, match=r"unexpected column.*Contarct"):
        validate(frame, DATA_TEXT)


def test_not_a_csv_is_a_clear_error() -> None:
    with pytest.raises(CustomerDataError, match="not UTF-8"):
        read_csv(b"\xff\xd8\xff\xe0 binary", "photo.jpg")
    with pytest.raises(CustomerDataError, match="empty"):
        read_csv(b"", "empty.csv")


def test_customer_id_never_reaches_the_features(customers: Customers) -> None:
    assert ID not in FEATURES and "Churn" not in FEATURES
    for flavour in ("tree", "linear"):
        names = build_preprocessor(flavour).fit(customers.X).get_feature_names_out()  # type: ignore[arg-type]
        assert not [n for n in names if ID in n or "Churn" in n]

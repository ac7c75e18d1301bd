"""Reading user files and explaining schema failures."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pytest

from mlshared.validation import DataFileError, read_table, validate_frame

SCHEMA = pa.DataFrameSchema(
    {
        "id": pa.Column(int, unique=True, coerce=True),
        "area": pa.Column(float, pa.Check.in_range(1, 1000, error="must be between 1 and 1000"), coerce=True),
        "kind": pa.Column(str, pa.Check.isin(["a", "b"], error="must be one of a, b"), nullable=True),
    }
)


def test_read_table_explains_unreadable_files() -> None:
    with pytest.raises(DataFileError, match="it is empty"):
        read_table(b"", "x.csv")
    with pytest.raises(DataFileError, match="not UTF-8 text"):
        read_table(b"\xff\xfe\x00binary", "x.csv")
    with pytest.raises(DataFileError, match="not a readable TSV"):
        read_table(b'a\tb\n"1\t2\n', "x.tsv", sep="\t")


def test_every_failure_is_reported_with_rows_and_values() -> None:
    frame = pd.DataFrame({"id": [1, 1, 3], "area": ["10", "huge", "-5"], "kind": ["a", "c", None]})
    with pytest.raises(DataFileError) as caught:
        validate_frame(SCHEMA, frame, "houses.csv")
    problems = caught.value.problems
    assert "column 'id': must be unique in row(s) 1, 2 (got 1, 1)" in problems
    assert "column 'area': not a valid 'float64' value in row(s) 2 (got 'huge')" in problems
    assert "column 'kind': must be one of a, b in row(s) 2 (got 'c')" in problems
    assert not any("TypeError" in p for p in problems)  # follow-on failures of an unconvertible column are hidden
    assert caught.value.source == "houses.csv"


def test_missing_columns_are_named_or_summarised() -> None:
    with pytest.raises(DataFileError, match=r"missing column\(s\): kind"):
        validate_frame(SCHEMA, pd.DataFrame({"id": [1], "area": [2.0]}), "t")
    wide = pa.DataFrameSchema({f"c{i}": pa.Column(int) for i in range(12)})
    with pytest.raises(DataFileError, match="12 of the 12 expected columns are missing"):
        validate_frame(wide, pd.DataFrame({"x": [1]}), "t")


def test_empty_frames_are_rejected() -> None:
    with pytest.raises(DataFileError, match="no rows"):
        validate_frame(SCHEMA, pd.DataFrame(columns=["id", "area", "kind"]), "t")


def test_valid_frames_come_back_coerced() -> None:
    out = validate_frame(SCHEMA, pd.DataFrame({"id": ["1"], "area": ["2.5"], "kind": ["b"]}), "t")
    assert out["area"].dtype == float and out["id"].tolist() == [1]

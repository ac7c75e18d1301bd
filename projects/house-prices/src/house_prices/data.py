"""Read and validate house files: the Kaggle train/test CSVs or any CSV in the same schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pandas as pd

from house_prices.schema import ALIASES, FEATURES, ID, PLAUSIBILITY, TARGET, input_schema
from mlshared.datasets import DataSettings, resolve_file
from mlshared.validation import MAX_EXAMPLES, DataFileError, read_table, validate_frame

DATASET = "house-prices"
CSV_HINT = "Upload a comma-separated text file with a header row, in the column layout of Kaggle's test.csv."


class HouseDataError(DataFileError):
    """A house file that cannot be used; the message lists every problem found."""

    def __init__(self, problems: list[str], source: str, hint: str | None = None) -> None:
        super().__init__(
            problems,
            source,
            hint or "Fix these values (data_description.txt of the Kaggle data lists the valid codes) and try again.",
        )


@dataclass
class Houses:
    """A validated frame of houses plus the non-fatal warnings found while validating it."""

    frame: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    @property
    def X(self) -> pd.DataFrame:  # noqa: N802 (scikit-learn's name for the feature matrix)
        return self.frame[list(FEATURES)]

    @property
    def y(self) -> pd.Series:
        return self.frame[TARGET]

    @property
    def ids(self) -> pd.Series | None:
        return self.frame.get(ID)


def read_csv(source: Path | IO[bytes] | IO[str] | bytes, name: str = "the file") -> pd.DataFrame:
    """Read a CSV, turning parser failures into a message instead of a traceback."""
    # MSSubClass is a code ("20", "60", ...), not a quantity.
    return read_table(source, name, error=HouseDataError, hint=CSV_HINT, dtype={"MSSubClass": "string"})


def normalise_codes(frame: pd.DataFrame) -> pd.DataFrame:
    """Map the Kaggle files' alternative spellings to the documented codes."""
    frame = frame.copy()
    for column, mapping in ALIASES.items():
        if column in frame:
            frame[column] = frame[column].replace(mapping)
    if "MSSubClass" in frame:
        # Numeric codes may arrive as 20, "20" or 20.0 depending on the tool that wrote the file.
        codes = pd.to_numeric(frame["MSSubClass"], errors="coerce")
        frame["MSSubClass"] = frame["MSSubClass"].where(codes.isna(), codes.astype("Int64").astype("string"))
    return frame


def validate(frame: pd.DataFrame, name: str, require_target: bool = False, require_id: bool = False) -> Houses:
    """Validate against the schema, collecting every error (lazy) and every plausibility warning."""
    validated = validate_frame(
        input_schema(require_target=require_target, require_id=require_id),
        normalise_codes(frame),
        name,
        error=HouseDataError,
        expected_columns=len(FEATURES),
        noun="house",
        wrong_file="is this a file in the layout of Kaggle's train.csv / test.csv?",
    )
    return Houses(validated, plausibility_warnings(validated))


def plausibility_warnings(frame: pd.DataFrame) -> list[str]:
    """Possible-but-suspicious values, one line per rule, naming rows (and Ids) and the values."""
    notes = []
    for rule in PLAUSIBILITY:
        flagged = frame[rule.suspicious(frame).fillna(False).astype(bool)]
        if flagged.empty:
            continue
        examples = []
        for index, row in flagged.head(MAX_EXAMPLES).iterrows():
            label = f"row {int(index) + 1}" + (f" (Id {row[ID]})" if ID in frame else "")  # type: ignore[call-overload]
            values = ", ".join(f"{c}={row[c]:g}" for c in rule.columns)
            examples.append(f"{label}: {values}")
        more = f" and {len(flagged) - MAX_EXAMPLES} more" if len(flagged) > MAX_EXAMPLES else ""
        notes.append(f"{rule.message}: {'; '.join(examples)}{more}")
    return notes


def read_houses(
    source: Path | IO[bytes] | IO[str] | bytes,
    name: str | None = None,
    require_target: bool = False,
    require_id: bool = False,
) -> Houses:
    label = name or (str(source) if isinstance(source, Path) else "the uploaded file")
    return validate(read_csv(source, label), label, require_target=require_target, require_id=require_id)


def is_de_cock_outlier(frame: pd.DataFrame, min_area: float, max_price: float) -> pd.Series:
    """De Cock (2011) recommends dropping houses over 4000 sq ft; the two partial sales among them
    sell far below what their size implies and distort any least-squares fit."""
    return (frame["GrLivArea"] > min_area) & (frame[TARGET] < max_price)


def load_train(settings: DataSettings | None = None) -> Houses:
    path = resolve_file(DATASET, "train.csv", settings)
    return read_houses(path, "house-prices/train.csv", require_target=True, require_id=True)


def load_test(settings: DataSettings | None = None) -> Houses:
    path = resolve_file(DATASET, "test.csv", settings)
    return read_houses(path, "house-prices/test.csv", require_id=True)


__all__ = [
    "DATASET",
    "HouseDataError",
    "Houses",
    "is_de_cock_outlier",
    "load_test",
    "load_train",
    "read_csv",
    "read_houses",
    "validate",
]

"""Read and validate house files: the Kaggle train/test CSVs or any CSV in the same schema."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pandas as pd
from pandera.errors import SchemaError, SchemaErrors

from house_prices.schema import ALIASES, FEATURES, ID, PLAUSIBILITY, TARGET, input_schema
from mlshared.console import UserError
from mlshared.datasets import DataSettings, resolve_file

DATASET = "house-prices"
MAX_EXAMPLES = 5
CSV_HINT = "Upload a comma-separated text file with a header row, in the column layout of Kaggle's test.csv."


class HouseDataError(UserError):
    """A house file that cannot be used; the message lists every problem found."""

    def __init__(self, problems: list[str], source: str, hint: str | None = None) -> None:
        self.problems = problems
        super().__init__(
            f"{source} has {len(problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in problems),
            hint=hint
            or "Fix these values (data_description.txt of the Kaggle data lists the valid codes) and try again.",
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
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        # MSSubClass is a code ("20", "60", ...), not a quantity.
        return pd.read_csv(source, dtype={"MSSubClass": "string"})
    except UnicodeDecodeError as error:
        problem = f"it is not UTF-8 text ({error.reason}); is it really a CSV file?"
        raise HouseDataError([problem], name, hint=CSV_HINT) from error
    except pd.errors.EmptyDataError as error:
        raise HouseDataError(["it is empty"], name, hint=CSV_HINT) from error
    except pd.errors.ParserError as error:
        raise HouseDataError([f"it is not a readable CSV: {error}"], name, hint=CSV_HINT) from error


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


def _describe(failures: pd.DataFrame) -> list[str]:
    problems: list[str] = []
    # A value that could not be converted also fails every later check of its column; report it once.
    unconvertible = set(failures.loc[failures["check"].astype(str).str.startswith("coerce_dtype"), "column"])
    for (column, check), group in failures.groupby(["column", "check"], dropna=False, sort=False):
        if column in unconvertible and not str(check).startswith("coerce_dtype"):
            continue
        if check == "column_in_dataframe":
            missing = sorted(str(v) for v in group["failure_case"])
            if len(missing) > 10:
                problems.append(
                    f"{len(missing)} of the {len(FEATURES)} house columns are missing (e.g. {', '.join(missing[:6])}); "
                    "is this a file in the layout of Kaggle's train.csv / test.csv?"
                )
            else:
                problems.append(f"missing column(s): {', '.join(missing)}")
            continue
        rows = [int(i) + 1 for i in group["index"].dropna()][:MAX_EXAMPLES]
        values = [repr(v) for v in group["failure_case"]][:MAX_EXAMPLES]
        more = f" and {len(group) - MAX_EXAMPLES} more" if len(group) > MAX_EXAMPLES else ""
        if str(check).startswith("coerce_dtype"):
            reason = f"not a valid {str(check).split('(')[-1].rstrip(')')} value"
        elif check == "not_nullable":
            reason = "is empty but required"
            values = []
        else:
            reason = str(check)
        where = f" in row(s) {', '.join(map(str, rows))}{more}" if rows else ""
        shown = f" (got {', '.join(values)})" if values else ""
        problems.append(f"column {column!r}: {reason}{where}{shown}")
    return problems


def validate(frame: pd.DataFrame, name: str, require_target: bool = False, require_id: bool = False) -> Houses:
    """Validate against the schema, collecting every error (lazy) and every plausibility warning."""
    if frame.empty:
        raise HouseDataError(["it has no rows"], name)
    schema = input_schema(require_target=require_target, require_id=require_id)
    try:
        validated = schema.validate(normalise_codes(frame), lazy=True)
    except SchemaErrors as errors:
        raise HouseDataError(_describe(errors.failure_cases), name) from errors
    except SchemaError as error:  # non-lazy failures, e.g. a dataframe-level check crashing
        raise HouseDataError([str(error)], name) from error
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

"""Read and validate customer files: the IBM Telco CSV or any CSV in the same layout.

The IBM file stores `TotalCharges` as text, and 11 rows hold a blank. All 11 are customers with
`tenure == 0`: they signed up in the billing month and have not been billed yet, so their total
is $0, not unknown. `resolve_blank_total_charges` makes that explicit and refuses a blank on
any customer with tenure > 0, where a blank would be a real gap rather than "no bill yet".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt
import pandas as pd

from churn_api.schema import (
    CONSISTENCY_CHECK,
    FEATURES,
    ID,
    POSITIVE,
    TARGET,
    consistency_problems,
    customer_schema,
)
from mlshared.datasets import DataSettings, fingerprint, resolve_file
from mlshared.validation import MAX_EXAMPLES, DataFileError, describe_failures, read_table, validate_frame

DATASET = "telco-churn"
FILE = "Telco-Customer-Churn.csv"


class CustomerDataError(DataFileError):
    """A customer file that cannot be used; the message lists every problem found."""

    def __init__(self, problems: list[str], source: str, hint: str | None = None) -> None:
        super().__init__(
            problems,
            source,
            hint or "Fix these values (the README's 'Data' section lists every column and its valid values).",
        )


@dataclass(frozen=True)
class Customers:
    """A validated frame of customers (one row each) and how its `TotalCharges` blanks were resolved."""

    frame: pd.DataFrame
    blank_total_charges: int = 0

    @property
    def X(self) -> pd.DataFrame:  # noqa: N802 (scikit-learn's name for the feature matrix)
        return self.frame[list(FEATURES)]

    @property
    def y(self) -> npt.NDArray[np.int_]:
        return np.asarray(self.frame[TARGET].eq(POSITIVE), dtype=int)

    @property
    def ids(self) -> pd.Series:
        return self.frame[ID]

    @property
    def churn_rate(self) -> float:
        return float(self.y.mean())


def resolve_blank_total_charges(frame: pd.DataFrame, source: str) -> tuple[pd.DataFrame, int]:
    """Blank `TotalCharges` -> 0.0 for tenure-0 customers (not billed yet); any other blank is an error.

    Returns the frame with a numeric `TotalCharges` column and the number of blanks filled.
    """
    if "TotalCharges" not in frame or "tenure" not in frame:
        return frame, 0  # the schema reports the missing column
    raw = frame["TotalCharges"].astype("string").str.strip()
    blank = raw.isna() | raw.eq("")
    tenure = pd.to_numeric(frame["tenure"], errors="coerce")
    unexplained = blank & tenure.ne(0)
    if unexplained.any():
        rows = [str(i + 2) for i in np.flatnonzero(unexplained.to_numpy())[:MAX_EXAMPLES]]  # +2: header, 1-based
        raise CustomerDataError(
            [
                f"column 'TotalCharges' is blank for {int(unexplained.sum())} customer(s) with tenure > 0 "
                f"(file line(s) {', '.join(rows)}); only a customer with tenure 0 may have no bill yet"
            ],
            source,
        )
    frame = frame.copy()
    frame["TotalCharges"] = raw.mask(blank, "0")
    return frame, int(blank.sum())


def _describe(failures: pd.DataFrame, frame: pd.DataFrame) -> list[str]:
    """The shared per-column descriptions, plus one line for rows that break the consistency rules."""
    problems: list[str] = []
    if failures["check"].astype(str).eq(CONSISTENCY_CHECK).any():
        bad = consistency_problems(frame)
        bad = bad[bad.ne("")]
        lines = ", ".join(str(int(i) + 2) for i in bad.index[:MAX_EXAMPLES])
        more = f" and {len(bad) - MAX_EXAMPLES} more" if len(bad) > MAX_EXAMPLES else ""
        problems.append(f"{len(bad)} row(s) contradict themselves (file line(s) {lines}{more}): {bad.iloc[0]}")
        failures = failures[failures["check"].astype(str).ne(CONSISTENCY_CHECK)]
    return problems + describe_failures(failures, row_offset=2, row_word="file line(s)")


def validate(frame: pd.DataFrame, source: str, require_target: bool = True) -> Customers:
    """Resolve `TotalCharges` blanks, then check the schema, collecting every error (lazy)."""
    frame, filled = resolve_blank_total_charges(frame.reset_index(drop=True), source)
    validated = validate_frame(
        customer_schema(require_target),
        frame,
        source,
        error=CustomerDataError,
        describe=lambda failures: _describe(failures, frame),
    )
    return Customers(validated, filled)


def read_csv(source: Path | IO[bytes] | IO[str] | bytes, name: str) -> pd.DataFrame:
    """Every column as text first (IDs keep leading zeros; `TotalCharges` blanks stay visible)."""
    return read_table(source, name, error=CustomerDataError, dtype=str, keep_default_na=False)


def read_customers(source: Path, require_target: bool = False) -> Customers:
    return validate(read_csv(source, str(source)), str(source), require_target=require_target)


def load_customers(settings: DataSettings | None = None) -> Customers:
    """The IBM Telco file, sha256-verified by the shared data layer, validated."""
    path = resolve_file(DATASET, FILE, settings)
    return validate(read_csv(path, f"{DATASET}/{FILE}"), f"{DATASET}/{FILE}", require_target=True)


def data_fingerprint() -> str:
    return fingerprint(DATASET, [FILE])

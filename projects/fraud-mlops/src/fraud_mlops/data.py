"""Read and validate transaction logs: the handbook's data from the mirror, or any Parquet/CSV file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl

from fraud_mlops.schema import CUSTOMER, DAYS, SECONDS, TERMINAL, TIME, TX_ID, transactions_schema
from mlshared.datasets import DataSettings, resolve_file
from mlshared.validation import DataFileError, validate_frame

DATASET = "fraud-sim"
FILE = "transactions.parquet"
HINT = (
    "A transaction log needs the columns TRANSACTION_ID, TX_DATETIME, CUSTOMER_ID, TERMINAL_ID and TX_AMOUNT "
    "(TX_FRAUD optional), one row per transaction, as written by `fraud-mlops simulate`."
)


class TransactionsError(DataFileError):
    """A transaction log that cannot be used; the message lists every problem found."""

    def __init__(self, problems: list[str], source: str, hint: str | None = None) -> None:
        super().__init__(problems, source, hint or HINT)


def read_frame(path: Path) -> pd.DataFrame:
    """Parquet or CSV into pandas, with file errors turned into a message."""
    if not path.is_file():
        raise TransactionsError([f"{path} does not exist"], str(path))
    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path, parse_dates=["TX_DATETIME"])
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise TransactionsError([f"it is not a readable Parquet or CSV file: {exc}"], str(path)) from exc


def validate(
    frame: pd.DataFrame, name: str, require_label: bool = False, require_scenario: bool = False
) -> pl.DataFrame:
    """Check against the schema (every problem at once) and return a polars frame in time order."""
    checked = validate_frame(
        transactions_schema(require_label, require_scenario), frame, name, error=TransactionsError, noun="transaction"
    )
    out = pl.from_pandas(checked).with_columns(pl.col(TIME).cast(pl.Datetime("ns")))
    out = out.sort([TIME, TX_ID])
    if SECONDS not in out.columns or DAYS not in out.columns:
        # Counted from midnight of the first day, as the handbook does.
        seconds = (pl.col(TIME) - pl.col(TIME).min().dt.truncate("1d")).dt.total_seconds()
        out = out.with_columns(seconds.alias(SECONDS), (seconds // 86_400).alias(DAYS))
    return out


def read_transactions(path: Path, require_label: bool = False) -> pl.DataFrame:
    return validate(read_frame(path), str(path), require_label=require_label)


def load_handbook(settings: DataSettings | None = None) -> pl.DataFrame:
    """The handbook's 1.47M simulated transactions (2018-04-01..2018-08-31), checksum-verified."""
    path = resolve_file(DATASET, FILE, settings)
    return validate(pd.read_parquet(path), f"{DATASET}/{FILE}", require_label=True, require_scenario=True)


def summary(frame: pl.DataFrame) -> dict[str, object]:
    """Counts a data report and the README state."""
    from fraud_mlops.schema import LABEL, SCENARIO

    out: dict[str, object] = {
        "transactions": frame.height,
        "customers": frame[CUSTOMER].n_unique(),
        "terminals": frame[TERMINAL].n_unique(),
        "first": str(frame[TIME].min()),
        "last": str(frame[TIME].max()),
    }
    if LABEL in frame.columns:
        out["frauds"] = int(frame[LABEL].sum())
        out["fraud_rate"] = round(int(frame[LABEL].sum()) / max(frame.height, 1), 6)
    if SCENARIO in frame.columns:
        counts = frame.group_by(SCENARIO).len().sort(SCENARIO)
        out["scenarios"] = {str(s): int(n) for s, n in counts.iter_rows()}
    return out

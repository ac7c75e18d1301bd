"""The transaction log's contract: columns, types, ranges, and which columns are labels.

The layout is the Fraud Detection Handbook's. `TX_FRAUD` is the label; `TX_FRAUD_SCENARIO` says which
simulated scenario made a fraud. Both are known only after the fact, so neither may ever be a model
input: `LABEL_COLUMNS` is what the feature code refuses (see `features.assert_no_labels`).
"""

from __future__ import annotations

from typing import Final

import pandera.pandas as pa

TX_ID: Final = "TRANSACTION_ID"
TIME: Final = "TX_DATETIME"
CUSTOMER: Final = "CUSTOMER_ID"
TERMINAL: Final = "TERMINAL_ID"
AMOUNT: Final = "TX_AMOUNT"
SECONDS: Final = "TX_TIME_SECONDS"
DAYS: Final = "TX_TIME_DAYS"
LABEL: Final = "TX_FRAUD"
SCENARIO: Final = "TX_FRAUD_SCENARIO"

# What a payment network knows when the transaction happens.
INPUT_COLUMNS: Final = (TX_ID, TIME, CUSTOMER, TERMINAL, AMOUNT)
# Known only later (the label after the investigation delay; the scenario only in a simulation).
LABEL_COLUMNS: Final = (LABEL, SCENARIO)
ALL_COLUMNS: Final = (TX_ID, TIME, CUSTOMER, TERMINAL, AMOUNT, SECONDS, DAYS, LABEL, SCENARIO)
SCENARIOS: Final = {0: "genuine", 1: "amount over 220", 2: "compromised terminal", 3: "compromised card"}


def transactions_schema(require_label: bool = False, require_scenario: bool = False) -> pa.DataFrameSchema:
    """Hard checks of a transaction log; labels are optional (a log to score has none)."""
    columns: dict[str, pa.Column] = {
        TX_ID: pa.Column("int64", pa.Check.ge(0), unique=True, coerce=True),
        TIME: pa.Column("datetime64[ns]", coerce=True),
        CUSTOMER: pa.Column("int64", pa.Check.ge(0), coerce=True),
        TERMINAL: pa.Column("int64", pa.Check.ge(0), coerce=True),
        AMOUNT: pa.Column("float64", [pa.Check.ge(0), pa.Check.lt(1e9)], coerce=True),
        SECONDS: pa.Column("int64", pa.Check.ge(0), coerce=True, required=False),
        DAYS: pa.Column("int64", pa.Check.ge(0), coerce=True, required=False),
        LABEL: pa.Column("int64", pa.Check.isin([0, 1]), coerce=True, required=require_label),
        SCENARIO: pa.Column("int64", pa.Check.isin(list(SCENARIOS)), coerce=True, required=require_scenario),
    }
    return pa.DataFrameSchema(columns, strict=False, name="transactions")

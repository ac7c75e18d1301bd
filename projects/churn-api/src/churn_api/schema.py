"""The customer contract: every IBM Telco column, its type and its valid values, in one place.

The `Literal` types are the single source of truth: the pandera schema that validates the
training file, the API's pydantic request model and the serving engine's one-hot layout are
all derived from them, so a category cannot be valid in one place and unknown in another.

Two consistency rules hold on every row of the IBM file and are enforced everywhere:
`MultipleLines` is "No phone service" exactly when `PhoneService` is "No", and the six internet
add-ons are "No internet service" exactly when `InternetService` is "No".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

import pandas as pd
import pandera.pandas as pa

ID: Final = "customerID"
TARGET: Final = "Churn"
POSITIVE: Final = "Yes"

YesNo = Literal["Yes", "No"]
Gender = Literal["Female", "Male"]
SeniorFlag = Literal[0, 1]
PhoneLines = Literal["Yes", "No", "No phone service"]
Internet = Literal["DSL", "Fiber optic", "No"]
InternetAddon = Literal["Yes", "No", "No internet service"]
ContractType = Literal["Month-to-month", "One year", "Two year"]
Payment = Literal["Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)"]

CONSISTENCY_CHECK: Final = "phone/internet fields contradict each other"
NO_PHONE: Final = "No phone service"
NO_INTERNET: Final = "No internet service"
INTERNET_ADDONS: Final = (
    "OnlineSecurity", "OnlineBackup", "DeviceProtection", "TechSupport", "StreamingTV", "StreamingMovies",
)  # fmt: skip

# Categorical fields and their values, in the IBM file's column order.
CATEGORIES: Final[dict[str, tuple[str, ...]]] = {
    "gender": get_args(Gender),
    "Partner": get_args(YesNo),
    "Dependents": get_args(YesNo),
    "PhoneService": get_args(YesNo),
    "MultipleLines": get_args(PhoneLines),
    "InternetService": get_args(Internet),
    **dict.fromkeys(INTERNET_ADDONS, get_args(InternetAddon)),
    "Contract": get_args(ContractType),
    "PaperlessBilling": get_args(YesNo),
    "PaymentMethod": get_args(Payment),
}


# Numeric fields: (hard minimum, hard maximum, integer?). Outside the bounds a value is impossible
# or far outside anything a telco bills; the data itself spans tenure 0-72 months,
# MonthlyCharges 18.25-118.75 and TotalCharges 0-8684.80.
@dataclass(frozen=True)
class Bounds:
    low: float
    high: float
    integer: bool
    description: str


NUMERIC: Final[dict[str, Bounds]] = {
    "SeniorCitizen": Bounds(0, 1, True, "1 if the customer is 65 or older, else 0"),
    "tenure": Bounds(0, 240, True, "months with the company (the data spans 0-72)"),
    "MonthlyCharges": Bounds(0, 1000, False, "current monthly bill in dollars"),
    "TotalCharges": Bounds(0, 250_000, False, "dollars billed so far (0 for a customer with tenure 0)"),
}

# Model inputs in the IBM file's column order; customerID is an identifier, never a feature.
FEATURES: Final[tuple[str, ...]] = (
    "gender", "SeniorCitizen", "Partner", "Dependents", "tenure", "PhoneService", "MultipleLines",
    "InternetService", *INTERNET_ADDONS, "Contract", "PaperlessBilling", "PaymentMethod", "MonthlyCharges",
    "TotalCharges",
)  # fmt: skip
COLUMNS: Final[tuple[str, ...]] = (ID, *FEATURES, TARGET)

assert set(FEATURES) == set(CATEGORIES) | set(NUMERIC), "every feature is either categorical or numeric"


def consistency_problems(frame: pd.DataFrame) -> pd.Series:
    """Per row, the consistency rules it breaks (an empty string when it breaks none)."""
    no_phone = frame["PhoneService"].eq("No")
    problems = pd.Series("", index=frame.index, dtype=object)
    bad_lines = no_phone != frame["MultipleLines"].eq(NO_PHONE)
    problems[bad_lines] += "MultipleLines must be 'No phone service' exactly when PhoneService is 'No'; "
    no_internet = frame["InternetService"].eq("No")
    for addon in INTERNET_ADDONS:
        bad = no_internet != frame[addon].eq(NO_INTERNET)
        problems[bad] += f"{addon} must be 'No internet service' exactly when InternetService is 'No'; "
    return problems.str.rstrip("; ")


def _consistent(frame: pd.DataFrame) -> pd.Series:
    return consistency_problems(frame).eq("")


def customer_schema(require_target: bool = True) -> pa.DataFrameSchema:
    """What a file of customers must satisfy once `TotalCharges` blanks are resolved (see `data.py`).

    `customerID` is required and unique (it keys the predictions); `Churn` only for training data.
    Extra columns are rejected so a misspelt column name cannot silently go missing.
    """
    columns: dict[str, pa.Column] = {
        ID: pa.Column(str, checks=pa.Check.str_length(1, 64), unique=True, nullable=False),
    }
    columns[TARGET] = pa.Column(
        str, checks=pa.Check.isin(["Yes", "No"], error="must be Yes or No"), required=require_target
    )
    for name, values in CATEGORIES.items():
        columns[name] = pa.Column(
            str, checks=pa.Check.isin(values, error=f"must be one of {', '.join(values)}"), nullable=False
        )
    for name, b in NUMERIC.items():
        columns[name] = pa.Column(
            int if b.integer else float,
            checks=pa.Check.in_range(b.low, b.high, error=f"must be between {b.low:g} and {b.high:g}"),
            nullable=False,
            coerce=True,
        )
    return pa.DataFrameSchema(
        columns,
        checks=[pa.Check(_consistent, error=CONSISTENCY_CHECK)],
        strict=True,
        ordered=False,
        name="telco-customers",
    )

"""The API's request and response contract (pydantic), built from the types in `schema.py`.

Enums come from the same `Literal` types as the pandera schema, bounds from the same `NUMERIC`
table, and the same consistency rules apply, so the API accepts exactly the customers the
training data could contain. Unknown fields are rejected: a misspelt field is a 422, never a
silently defaulted value.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from churn_api.schema import (
    INTERNET_ADDONS,
    NO_INTERNET,
    NO_PHONE,
    NUMERIC,
    ContractType,
    Gender,
    Internet,
    InternetAddon,
    Payment,
    PhoneLines,
    SeniorFlag,
    YesNo,
)

STRICT = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


def _bounded(name: str) -> Any:
    b = NUMERIC[name]
    return Field(ge=b.low, le=b.high, description=b.description)


EXAMPLE: dict[str, Any] = {
    "customerID": "7590-VHVEG",
    "gender": "Female",
    "SeniorCitizen": 0,
    "Partner": "Yes",
    "Dependents": "No",
    "tenure": 1,
    "PhoneService": "No",
    "MultipleLines": "No phone service",
    "InternetService": "DSL",
    "OnlineSecurity": "No",
    "OnlineBackup": "Yes",
    "DeviceProtection": "No",
    "TechSupport": "No",
    "StreamingTV": "No",
    "StreamingMovies": "No",
    "Contract": "Month-to-month",
    "PaperlessBilling": "Yes",
    "PaymentMethod": "Electronic check",
    "MonthlyCharges": 29.85,
    "TotalCharges": 29.85,
}


class Customer(BaseModel):
    """One customer in the IBM Telco column names (customerID optional, Churn not accepted)."""

    model_config = ConfigDict(**STRICT, json_schema_extra={"examples": [EXAMPLE]})

    customerID: Annotated[str, Field(min_length=1, max_length=64)] | None = None  # noqa: N815 (IBM column name)
    gender: Gender
    SeniorCitizen: SeniorFlag = Field(description=NUMERIC["SeniorCitizen"].description)
    Partner: YesNo
    Dependents: YesNo
    tenure: int = _bounded("tenure")
    PhoneService: YesNo
    MultipleLines: PhoneLines
    InternetService: Internet
    OnlineSecurity: InternetAddon
    OnlineBackup: InternetAddon
    DeviceProtection: InternetAddon
    TechSupport: InternetAddon
    StreamingTV: InternetAddon
    StreamingMovies: InternetAddon
    Contract: ContractType
    PaperlessBilling: YesNo
    PaymentMethod: Payment
    MonthlyCharges: float = _bounded("MonthlyCharges")
    TotalCharges: float = _bounded("TotalCharges")

    @model_validator(mode="after")
    def consistent(self) -> Customer:
        """The phone/internet rules that hold on every row of the IBM file (see `schema.py`)."""
        if (self.PhoneService == "No") != (self.MultipleLines == NO_PHONE):
            raise ValueError(f"MultipleLines must be '{NO_PHONE}' exactly when PhoneService is 'No'")
        no_internet = self.InternetService == "No"
        bad = [a for a in INTERNET_ADDONS if no_internet != (getattr(self, a) == NO_INTERNET)]
        if bad:
            raise ValueError(f"{', '.join(bad)} must be '{NO_INTERNET}' exactly when InternetService is 'No'")
        return self


class Batch(BaseModel):
    model_config = ConfigDict(**STRICT, json_schema_extra={"examples": [{"customers": [EXAMPLE]}]})

    customers: list[Customer] = Field(min_length=1, description="Customers to score (the server sets a maximum).")


class ReasonOut(BaseModel):
    field: str = Field(description="The IBM column.")
    value: str | int | float = Field(description="This customer's value of it.")
    impact: float = Field(description="SHAP value in log-odds: > 0 pushes towards churn, < 0 away from it.")
    direction: str = Field(description="'raises risk' or 'lowers risk'.")


class PredictionOut(BaseModel):
    customerID: str | None = None  # noqa: N815 (IBM column name)
    churn_probability: float = Field(ge=0, le=1, description="Calibrated P(churn).")
    churn: bool = Field(description="churn_probability >= threshold (chosen from the business costs).")
    threshold: float
    reasons: list[ReasonOut] = Field(description="The fields that moved this prediction most, largest first.")


class BatchOut(BaseModel):
    count: int
    predictions: list[PredictionOut]


class ErrorOut(BaseModel):
    message: str
    errors: list[dict[str, Any]] = Field(default_factory=list)

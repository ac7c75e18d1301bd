"""The API's request and response contract (pydantic), built from the types in `schema.py`.

Enums come from the same `Literal` types as the pandera schema, bounds from the same `NUMERIC`
table, and the same consistency rules apply, so the API accepts exactly the customers the
training data could contain. Unknown fields are rejected: a misspelt field is a 422, never a
silently defaulted value. Types are strict: `tenure: "5"`, `tenure: true`, `tenure: 5.0`,
`SeniorCitizen: 1.0` and `MonthlyCharges: "29.85"` are refused, not coerced (a number field takes
any JSON number). The two
consistency rules are in the JSON schema too (`allOf` of two `anyOf`s, and each field's
description), so a request that is valid by the schema is valid for the API.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StrictFloat, StrictInt, model_validator

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
    YesNo,
)

STRICT = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)
PHONE_RULE = f"'{NO_PHONE}' exactly when PhoneService is 'No'."
INTERNET_RULE = f"'{NO_INTERNET}' exactly when InternetService is 'No'."
ADDON_VALUES: list[JsonValue] = ["Yes", "No"]
# The consistency rules as JSON Schema, so schema-driven clients and fuzzers generate valid customers.
CONSISTENCY_SCHEMA: list[JsonValue] = [
    {
        "anyOf": [
            {"properties": {"PhoneService": {"const": "No"}, "MultipleLines": {"const": NO_PHONE}}},
            {"properties": {"PhoneService": {"const": "Yes"}, "MultipleLines": {"enum": ADDON_VALUES}}},
        ]
    },
    {
        "anyOf": [
            {
                "properties": {
                    "InternetService": {"const": "No"},
                    **{a: {"const": NO_INTERNET} for a in INTERNET_ADDONS},
                }
            },
            {
                "properties": {
                    "InternetService": {"enum": ["DSL", "Fiber optic"]},
                    **{a: {"enum": ADDON_VALUES} for a in INTERNET_ADDONS},
                }
            },
        ]
    },
]


def _bounded(name: str) -> Any:
    b = NUMERIC[name]
    return Field(ge=b.low, le=b.high, description=b.description)


def _addon() -> Any:
    return Field(description=INTERNET_RULE)


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
    """One customer in the IBM Telco column names (customerID optional, Churn not accepted). MultipleLines is
    'No phone service' exactly when PhoneService is 'No'; the six internet add-ons are 'No internet service'
    exactly when InternetService is 'No'."""

    model_config = ConfigDict(**STRICT, json_schema_extra={"examples": [EXAMPLE], "allOf": CONSISTENCY_SCHEMA})

    customerID: Annotated[str, Field(min_length=1, max_length=64)] | None = None  # noqa: N815 (IBM column name)
    gender: Gender
    SeniorCitizen: StrictInt = _bounded("SeniorCitizen")
    Partner: YesNo
    Dependents: YesNo
    tenure: StrictInt = _bounded("tenure")
    PhoneService: YesNo
    MultipleLines: PhoneLines = Field(description=PHONE_RULE)
    InternetService: Internet
    OnlineSecurity: InternetAddon = _addon()
    OnlineBackup: InternetAddon = _addon()
    DeviceProtection: InternetAddon = _addon()
    TechSupport: InternetAddon = _addon()
    StreamingTV: InternetAddon = _addon()
    StreamingMovies: InternetAddon = _addon()
    Contract: ContractType
    PaperlessBilling: YesNo
    PaymentMethod: Payment
    MonthlyCharges: StrictFloat = _bounded("MonthlyCharges")
    TotalCharges: StrictFloat = _bounded("TotalCharges")

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


class ModelOut(BaseModel):
    """GET /model: what is served and where it came from."""

    model: str = Field(description="The model's name (a file relative to the project, or an MLflow URI).")
    scoring: str = Field(description="'engine' (compiled tables, depth <= 3) or 'xgboost' (XGBoost's own predict).")
    registered_model: str | None = None
    version: str | int | None = None
    mlflow_run_id: str | None = None
    trained_at: str | None = None
    git_commit: str | None = None
    threshold: float
    calibration: str | None = None
    training_data: dict[str, Any]
    metrics: dict[str, Any]
    business: dict[str, Any] | None = None
    features: list[str]

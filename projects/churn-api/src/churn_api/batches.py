"""Large batches in pieces, so no single native call holds the GIL (and the event loop) for long.

pydantic-core and `to_json` do not release the GIL: validating a 10,000-row body in one call held
it for ~0.4 s on this VM, and while it was held `/health` could not answer, even with the work in
a worker thread. Here the JSON is parsed once (`from_json`, the shortest hold), the customers are
validated and scored `CHUNK_ROWS` at a time, and the answer is serialised per chunk and joined;
between chunks the worker thread lets the event loop run. Errors still name every bad field,
with its row number in the whole batch.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import from_json, to_json

from churn_api.api_models import Batch, Customer
from churn_api.predictor import ChurnPredictor
from churn_api.schema import FEATURES

CHUNK_ROWS = 1000
CUSTOMERS = TypeAdapter(list[Customer])


class Envelope(BaseModel):
    """The batch's outer shape, checked before its rows."""

    model_config = ConfigDict(extra="forbid", strict=True)
    customers: list[Any] = Field(min_length=1)


def _located(error: ValidationError, prefix: tuple[Any, ...], offset: int = 0) -> list[dict[str, Any]]:
    problems = []
    for e in error.errors(include_url=False):
        loc = tuple(e["loc"])
        if offset and loc and isinstance(loc[0], int):
            loc = (loc[0] + offset, *loc[1:])
        problems.append({"type": e["type"], "loc": (*prefix, *loc), "msg": e["msg"], "input": None})
    return problems


def parse_batch(body: bytes) -> Batch:
    """The body as a validated `Batch`, built chunk by chunk (see the module docstring)."""
    try:
        data = from_json(body)
    except ValueError as error:
        problem = {"type": "json_invalid", "loc": ("body", 0), "msg": "JSON decode error", "ctx": {"error": str(error)}}
        raise RequestValidationError([problem]) from None
    try:
        rows = Envelope.model_validate(data).customers
    except ValidationError as error:
        raise RequestValidationError(_located(error, ("body",))) from None
    customers: list[Customer] = []
    problems: list[dict[str, Any]] = []
    for start in range(0, len(rows), CHUNK_ROWS):
        try:
            customers += CUSTOMERS.validate_python(rows[start : start + CHUNK_ROWS])
        except ValidationError as error:
            problems += _located(error, ("body", "customers"), start)
    if problems:
        raise RequestValidationError(problems)
    return Batch.model_construct(customers=customers)


def score_batch(model: ChurnPredictor, customers: list[Customer]) -> tuple[bytes, list[float]]:
    """The answer as JSON bytes (`BatchOut`) and the probabilities (for the metrics), chunk by chunk."""
    parts: list[bytes] = []
    probabilities: list[float] = []
    for start in range(0, len(customers), CHUNK_ROWS):
        chunk = customers[start : start + CHUNK_ROWS]
        columns = {f: [getattr(c, f) for c in chunk] for f in FEATURES}
        records, chunk_probabilities = model.predict_records(columns, len(chunk), [c.customerID for c in chunk])
        parts.append(to_json(records)[1:-1])  # the records without the list's brackets
        probabilities += chunk_probabilities
    body = b'{"count":' + str(len(customers)).encode() + b',"predictions":[' + b",".join(parts) + b"]}"
    return body, probabilities

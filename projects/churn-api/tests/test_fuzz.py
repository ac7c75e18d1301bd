"""Schemathesis fuzzing against the app's own OpenAPI schema: no input, valid or not, yields a 5xx,
and every rejection says what is wrong."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from churn_api.predictor import ChurnPredictor
from churn_api.serve import create_app
from churn_api.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api_schema(predictor: ChurnPredictor) -> Any:
    app = create_app(Settings(access_log=False, max_batch_rows=20), predictor=predictor)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_every_rejection_names_the_problem(case: Any) -> None:
    response = case.call()
    assert response.status_code < 500, response.text
    if 400 <= response.status_code < 500:
        assert response.json()["message"]

"""Schemathesis fuzzing of the real app through its own OpenAPI schema (in-process ASGI): no input, valid or
not, yields a 5xx; every answer is documented (status code, content type, response schema); schema-invalid
input is rejected; and a rejected request changes no state (the store's newest time, its transactions and
the prediction log are the same after it).

The cases come from `schema.as_strategy()` inside a plain Hypothesis test, as in churn-api (schemathesis'
lazy pytest loader does not work with pytest 9); a bounded number of examples per generation mode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from fraud_mlops.models import FraudModel
from fraud_mlops.serve import Served, Settings, create_app

KEY = "fuzz-key"
EXAMPLES = 150
CHECKS = [
    not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
    negative_data_rejection,
]  # fmt: skip


@pytest.fixture(scope="module")
def app_and_paths(fraud_model: FraudModel, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    folder = tmp_path_factory.mktemp("fuzz")
    joblib.dump(fraud_model, folder / "model.joblib")
    settings_ = Settings(
        state_path=folder / "online.sqlite", prediction_log=folder / "predictions.jsonl", api_key=KEY,
        access_log=False, model_path=folder / "model.joblib",
    )  # fmt: skip
    return create_app(settings_, Served(fraud_model, "fuzz")), folder


def snapshot(app: Any, folder: Path) -> tuple[Any, ...]:
    store = app.state.service.extras["fraud"].online.store
    count = store.db.execute("SELECT COUNT(*), COALESCE(SUM(label), 0) FROM tx").fetchone()
    log = folder / "predictions.jsonl"
    return store.latest_ns(), tuple(count), log.read_text() if log.is_file() else ""


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
def test_no_server_errors_and_rejections_change_nothing(app_and_paths: tuple[Any, Path], mode: Any) -> None:
    app, folder = app_and_paths
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    seen: dict[tuple[str, int], int] = {}

    # derandomize: the same cases every run (a seed derived from the test), so a failure reproduces and a pass is
    # not luck. With random cases the positive run failed 1 time in 3-5: most schema-valid bodies carry times the
    # schema cannot bound (JSON Schema's date-time has no range) or ids above 2**63 - 1 that pass the float-rounded
    # maximum, so only 0-3 of 150 reached the model.
    @settings(
        max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True
    )
    @given(case=schema.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        before = snapshot(app, folder)
        response = case.call_and_validate(headers={"X-API-Key": KEY}, checks=CHECKS)
        key = (f"{case.method} {case.path}", response.status_code)
        seen[key] = seen.get(key, 0) + 1
        if response.status_code >= 400:
            assert response.json().get("message"), f"{key}: {response.text}"  # says what is wrong
            assert snapshot(app, folder) == before, f"{key} changed the state: {case.body!r}"

    check()
    # The fuzzer reached the model (positive) and sent input the API refused (negative).
    if mode == schemathesis.GenerationMode.POSITIVE:
        assert seen.get(("POST /predict", 200), 0) > 0, seen
    else:
        assert seen.get(("POST /predict", 422), 0) > 0, seen

"""The real entrypoint as a process: `churn-api serve` (uvicorn) on a free port, spoken to over HTTP."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from typing import Any

import pytest

from churn_api.predictor import ChurnPredictor
from churn_api.train import TrainResult
from mlshared.servers import free_port, serve

pytestmark = [pytest.mark.slow, pytest.mark.live]


def _post(url: str, payload: Any) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_served_process_answers_over_http(trained: TrainResult, customer: dict[str, Any]) -> None:
    port = free_port()
    command = [sys.executable, "-m", "churn_api", "serve", "--port", str(port), "--model", str(trained.model_path)]
    with serve(command, port, ready_path="/ready") as server:
        status, body = _post(server.base_url + "/predict", customer)
        assert status == 200 and 0 <= body["churn_probability"] <= 1
        status, body = _post(server.base_url + "/predict", {**customer, "tenure": "x"})
        assert status == 422 and body["errors"][0]["field"] == "tenure"
        with urllib.request.urlopen(server.base_url + "/metrics", timeout=10) as response:
            assert b"churn_api_predicted_probability" in response.read()
    # one JSON access-log line per request, with a request id
    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    requests = [entry for entry in lines if entry.get("message") == "request" and entry["path"] == "/predict"]
    assert len(requests) == 2 and all(entry["request_id"] for entry in requests)
    assert {entry["status"] for entry in requests} == {200, 422}


def test_model_loads_from_the_mlflow_registry_alias(trained: TrainResult, customer: dict[str, Any]) -> None:
    registered = ChurnPredictor.from_registry("models:/churn-api@test")
    local = ChurnPredictor.load(trained.model_path)
    assert registered.predict_one(customer) == local.predict_one(customer)

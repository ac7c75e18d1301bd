"""The FastAPI app in-process (TestClient): contract, errors, limits, auth, ops endpoints."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from churn_api.predictor import ChurnPredictor
from churn_api.schema import FEATURES
from churn_api.serve import create_app
from churn_api.settings import Settings

pytestmark = pytest.mark.slow  # needs the session's trained model


def test_predict_one(client: TestClient, customer: dict[str, Any], predictor: ChurnPredictor) -> None:
    response = client.post("/predict", json=customer)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["customerID"] == customer["customerID"]
    assert 0 <= body["churn_probability"] <= 1
    assert body["churn"] == (body["churn_probability"] >= predictor.threshold)
    assert [r["field"] for r in body["reasons"]] == [r.field for r in predictor.predict_one(customer).reasons]
    assert response.headers["x-request-id"]


def test_request_id_is_echoed(client: TestClient) -> None:
    assert client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"


def test_bad_fields_are_each_named(client: TestClient, customer: dict[str, Any]) -> None:
    bad = {**customer, "tenure": -3, "Contract": "Forever", "MonthlyCharges": "a lot"}
    response = client.post("/predict", json=bad)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"tenure", "Contract", "MonthlyCharges"}
    assert "tenure" in response.json()["message"]


def test_missing_and_unknown_fields_are_rejected(client: TestClient, customer: dict[str, Any]) -> None:
    payload = {k: v for k, v in customer.items() if k != "gender"} | {"Gender": "Female"}
    response = client.post("/predict", json=payload)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"gender", "Gender"}


def test_contradictory_customer_is_rejected(client: TestClient, customer: dict[str, Any]) -> None:
    response = client.post("/predict", json={**customer, "PhoneService": "Yes"})  # MultipleLines says no phone
    assert response.status_code == 422
    assert "MultipleLines" in response.json()["message"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("tenure", "5"), ("tenure", True), ("tenure", 5.0), ("SeniorCitizen", 1.0), ("SeniorCitizen", True),
     ("SeniorCitizen", 2), ("MonthlyCharges", "29.85")],
)  # fmt: skip
def test_lookalike_types_are_refused_not_coerced(
    client: TestClient, customer: dict[str, Any], field: str, value: Any
) -> None:
    response = client.post("/predict", json={**customer, field: value})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_not_json_is_a_4xx(client: TestClient) -> None:
    response = client.post("/predict", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 422


@pytest.mark.parametrize("content_type", ["text/plain", "text/notjson", "application/x-www-form-urlencoded"])
@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_wrong_content_type_is_415_saying_how_to_send_it(
    client: TestClient, customer: dict[str, Any], content_type: str, path: str
) -> None:
    # curl -d without -H sends application/x-www-form-urlencoded: say so instead of a puzzling 422.
    body = json.dumps(customer if path == "/predict" else {"customers": [customer]})
    response = client.post(path, content=body, headers={"Content-Type": content_type})
    assert response.status_code == 415
    assert "application/json" in response.json()["message"]


def test_openapi_documents_bodies_errors_and_the_consistency_rules(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path, model in (("/predict", "Customer"), ("/predict/batch", "Batch")):
        operation = schema["paths"][path]["post"]
        assert (
            operation["requestBody"]["content"]["application/json"]["schema"]["$ref"] == f"#/components/schemas/{model}"
        )
        assert {"200", "401", "413", "415", "422", "503"} <= set(operation["responses"]), path
    assert {"401", "503"} <= set(schema["paths"]["/model"]["get"]["responses"])
    customer = schema["components"]["schemas"]["Customer"]
    assert set(customer["properties"]) == {"customerID", *FEATURES}
    assert len(customer["allOf"]) == 2  # phone and internet rules, as anyOf alternatives
    assert "exactly when PhoneService is 'No'" in customer["properties"]["MultipleLines"]["description"]
    assert customer["properties"]["tenure"]["type"] == "integer"


def test_docs_are_served_without_a_cdn(client: TestClient) -> None:
    """Swagger UI from the installed package: /docs works in an air-gapped container."""
    page = client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and not [a for a in assets if a.startswith(("http://", "https://", "//"))]
    assert all(client.get(a).status_code == 200 for a in assets)


def test_batch(client: TestClient, customer: dict[str, Any]) -> None:
    two_year = {**customer, "customerID": "B", "Contract": "Two year"}
    response = client.post("/predict/batch", json={"customers": [customer, two_year]})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2 and [p["customerID"] for p in body["predictions"]] == [customer["customerID"], "B"]
    single = client.post("/predict", json=customer).json()
    assert body["predictions"][0]["churn_probability"] == pytest.approx(single["churn_probability"], abs=1e-6)


def test_batch_over_the_limit_is_413_naming_the_limit(client: TestClient, customer: dict[str, Any]) -> None:
    response = client.post("/predict/batch", json={"customers": [customer] * 51})
    assert response.status_code == 413
    assert "limit is 50" in response.json()["message"]


def test_large_batches_score_off_the_loop_like_small_ones(predictor: ChurnPredictor, customer: dict[str, Any]) -> None:
    app = create_app(Settings(access_log=False), predictor=predictor)
    with TestClient(app) as client:
        many = client.post("/predict/batch", json={"customers": [customer] * 1000})  # > INLINE_ROWS, > 64 KiB
        assert many.status_code == 200 and many.json()["count"] == 1000
        one = client.post("/predict", json=customer).json()
        assert {p["churn_probability"] for p in many.json()["predictions"]} == {one["churn_probability"]}


def test_body_over_the_byte_limit_is_413_before_parsing(predictor: ChurnPredictor, customer: dict[str, Any]) -> None:
    app = create_app(Settings(access_log=False, max_body_bytes=10_000), predictor=predictor)
    with TestClient(app) as client:
        response = client.post("/predict/batch", json={"customers": [customer] * 100})  # ~56 KB
        assert response.status_code == 413 and "10,000 bytes" in response.json()["message"]


def test_empty_batch_is_422(client: TestClient) -> None:
    assert client.post("/predict/batch", json={"customers": []}).status_code == 422


def test_model_endpoint(client: TestClient, predictor: ChurnPredictor) -> None:
    body = client.get("/model").json()
    assert body["threshold"] == predictor.threshold
    assert len(body["training_data"]["sha256"]) == 64
    assert body["training_data"]["rows"] == 7043
    assert body["metrics"]["cv_roc_auc"]["mean"] > 0.8


def test_metrics_endpoint_counts_requests_and_probabilities(client: TestClient, customer: dict[str, Any]) -> None:
    client.post("/predict", json=customer)
    client.post("/predict", json={**customer, "tenure": "5"})
    text = client.get("/metrics").text
    assert 'http_requests_total{handler="/predict",method="POST",status="200"} 1.0' in text
    assert 'http_requests_total{handler="/predict",method="POST",status="422"} 1.0' in text
    assert "http_request_duration_seconds_bucket" in text
    assert "churn_api_predicted_probability_count 1.0" in text


@pytest.mark.parametrize("key", ["s3cret", "clé-ü-密钥"])
def test_api_key_when_configured(predictor: ChurnPredictor, customer: dict[str, Any], key: str) -> None:
    app = create_app(Settings(api_key=key, access_log=False), predictor=predictor)
    with TestClient(app) as client:
        assert client.post("/predict", json=customer).status_code == 401
        for wrong in ("wrong", "clé", "ünïcödé", "密钥"):
            response = client.post("/predict", json=customer, headers={b"X-API-Key": wrong.encode()})
            assert response.status_code == 401, (wrong, response.text)
        right = {b"X-API-Key": key.encode()}
        assert client.post("/predict", json=customer, headers=right).status_code == 200
        assert client.post("/predict/batch", json={"customers": [customer]}, headers=right).status_code == 200
        assert client.get("/model").status_code == 401
        assert client.get("/health").status_code == 200  # probes stay open
        assert client.get("/ready").status_code == 200


def test_probes_answer_head_and_ready_names_the_model_not_the_path(client: TestClient, trained: Any) -> None:
    assert client.head("/health").status_code == 200
    ready = client.get("/ready").json()
    assert ready["status"] == "ready" and ready["model"].endswith("model.joblib")
    assert str(trained.model_path.parent) not in ready["model"]
    assert client.get("/model").json()["scoring"] == "engine"  # the test model is shallow: compiled


def test_not_ready_without_a_model(tmp_path: Any, customer: dict[str, Any]) -> None:
    app = create_app(Settings(model_path=tmp_path / "missing.joblib", access_log=False))
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        ready = client.get("/ready")
        assert ready.status_code == 503 and "churn-api train" in ready.json()["reason"]
        assert str(tmp_path) not in ready.json()["reason"]
        response = client.post("/predict", json=customer)
        assert response.status_code == 503 and "Model not loaded" in response.json()["message"]


def test_corrupt_model_file_stays_not_ready_naming_it(tmp_path: Any, trained: Any) -> None:
    broken = tmp_path / "model.joblib"
    broken.write_bytes(trained.model_path.read_bytes()[:5000])  # a truncated copy, as a failed download leaves
    app = create_app(Settings(model_path=broken, access_log=False))
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        ready = client.get("/ready")
        assert ready.status_code == 503
        reason = ready.json()["reason"]
        assert "model.joblib" in reason and "corrupt" in reason and "churn-api train" in reason

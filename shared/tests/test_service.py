"""The service chassis in-process (TestClient): keys, content types, limits, errors, readiness, OpenAPI."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, field_validator
from pydantic_settings import SettingsConfigDict

from mlshared.console import UserError
from mlshared.service import (
    ServiceSettings,
    build_app,
    json_body,
    loaded_model,
    protected_router,
    require_json,
    run_blocking,
    without_host_paths,
)


class Item(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    x: int
    flag: bool = False


class Items(BaseModel):
    items: list[Item]


Doubler = Annotated[dict[str, int], Depends(loaded_model)]
router = protected_router(tags=["toy"])


@router.post("/one", dependencies=[Depends(require_json)])
async def one(item: Item, model: Doubler) -> dict[str, int]:
    return {"y": item.x * model["k"]}


@router.post("/many")
async def many(
    request: Request, body: Annotated[Items, Depends(json_body(Items, off_loop_bytes=100))]
) -> dict[str, Any]:
    return {"n": await run_blocking(request, len, body.items)}


open_router = APIRouter()


@open_router.get("/open")
async def open_route() -> dict[str, str]:
    return {"open": "yes"}


def make_app(settings: ServiceSettings | None = None, **kwargs: Any) -> FastAPI:
    options: dict[str, Any] = {"model": {"k": 2}, "model_name": "toy.joblib"} | kwargs
    return build_app(
        settings or ServiceSettings(access_log=False),
        router,
        open_router,
        title="toy-api",
        version="0",
        load_hint="Train one with `toy train`.",
        **options,
    )


@pytest.fixture
def client() -> Any:
    with TestClient(make_app()) as test_client:
        yield test_client


def test_typed_body_scores(client: TestClient) -> None:
    response = client.post("/one", json={"x": 3})
    assert response.status_code == 200 and response.json() == {"y": 6}
    assert response.headers["x-request-id"]


@pytest.mark.parametrize("bad", [{"x": "5"}, {"x": True}, {"x": 1.0}, {"x": 1, "flag": 1}, {"x": 1, "extra": 0}])
def test_strict_types_refuse_lookalikes(client: TestClient, bad: dict[str, Any]) -> None:
    response = client.post("/one", json=bad)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["status"] == 422 and body["errors"] and body["message"].startswith("1 invalid field(s)")


@pytest.mark.parametrize("content_type", ["text/notjson", "text/plain", "application/x-www-form-urlencoded", None])
def test_only_json_media_types_are_accepted(client: TestClient, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    for path in ("/one", "/many"):
        response = client.post(path, content=b'{"x": 1, "items": []}', headers=headers)
        assert response.status_code == 415, (path, response.text)
        assert "application/json" in response.json()["message"]


def test_json_suffix_and_parameters_are_json(client: TestClient) -> None:
    for content_type in ("application/json; charset=utf-8", "application/vnd.toy+json", "Application/JSON"):
        response = client.post("/one", content=b'{"x": 1}', headers={"Content-Type": content_type})
        assert response.status_code == 200, (content_type, response.text)


def test_json_body_parses_small_and_large_bodies_alike(client: TestClient) -> None:
    assert client.post("/many", json={"items": [{"x": 1}]}).json() == {"n": 1}
    assert client.post("/many", json={"items": [{"x": 1}] * 500}).json() == {"n": 500}  # off the loop
    response = client.post("/many", json={"items": [{"x": 1}, {"x": "2"}]})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "items.1.x"
    invalid = client.post("/many", content=b"{not json", headers={"Content-Type": "application/json"})
    assert invalid.status_code == 422 and "not valid JSON" in invalid.json()["message"]


def test_declared_oversize_body_is_413_problem_before_reading() -> None:
    with TestClient(make_app(ServiceSettings(access_log=False, max_body_bytes=1000))) as client:
        response = client.post("/many", json={"items": [{"x": 1}] * 300})
        assert response.status_code == 413
        body = response.json()
        assert "1,000 bytes" in body["message"] and body["request_id"] == response.headers["x-request-id"]
        streamed = client.post(
            "/one", content=(b" " * 500 for _ in range(10)), headers={"Content-Type": "application/json"}
        )  # no Content-Length: counted while it streams
        assert streamed.status_code == 413 and "1,000 bytes" in streamed.json()["message"]
        assert client.post("/one", json={"x": 1}).status_code == 200


@pytest.mark.parametrize("configured", ["s3cret", "clé-ünïcode", "密钥"])
def test_api_key_compares_bytes_any_characters(configured: str) -> None:
    with TestClient(make_app(ServiceSettings(access_log=False, api_key=configured))) as client:
        right = {b"X-API-Key": configured.encode("utf-8")}
        assert client.post("/one", json={"x": 1}, headers=right).status_code == 200
        if configured.isascii() or configured == "clé-ünïcode":  # latin-1 form too (Python's urllib sends it)
            latin = {b"X-API-Key": configured.encode("latin-1")}
            assert client.post("/one", json={"x": 1}, headers=latin).status_code == 200
        for wrong in (None, "wrong", "clé", "密", "ünï" * 40, configured + "x"):
            headers = {b"X-API-Key": wrong.encode("utf-8")} if wrong is not None else {}
            response = client.post("/one", json={"x": 1}, headers=headers)
            assert response.status_code == 401, (wrong, response.text)
            assert "X-API-Key" in response.json()["message"]
        # the key is checked before the body: a wrong key never learns what the body should look like
        assert client.post("/one", content=b"x", headers={"Content-Type": "text/plain"}).status_code == 401
        for probe in ("/health", "/ready", "/metrics", "/open"):
            assert client.get(probe).status_code == 200, probe


def test_empty_key_means_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = ServiceSettings(access_log=False, api_key="  ")
    assert settings.api_key is None

    class ProjectSettings(ServiceSettings):  # a project's settings with a validator of their own
        model_config = SettingsConfigDict(env_prefix="TOY_")
        model_uri: str | None = None

        @field_validator("model_uri", mode="before")
        @classmethod
        def empty_is_unset(cls, value: object) -> object:
            return value or None

    monkeypatch.setenv("TOY_API_KEY", "")  # what compose passes for ${TOY_API_KEY:-}
    assert ProjectSettings().api_key is None


def test_probes_answer_get_and_head(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.head("/health").status_code == 200
    assert client.head("/ready").status_code == 200
    assert client.get("/ready").json() == {"status": "ready", "model": "toy.joblib"}


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    missing = client.get("/nope")
    assert missing.status_code == 404 and missing.json()["title"] == "Not Found"
    wrong_method = client.delete("/health")
    assert wrong_method.status_code == 405 and "DELETE" in wrong_method.json()["message"]


def _corrupt() -> Any:
    raise KeyError(110)  # what joblib raised on a truncated model file


def test_corrupt_model_leaves_the_service_up_and_not_ready() -> None:
    with TestClient(make_app(model=None, load_model=_corrupt, model_name="model.joblib")) as client:
        assert client.get("/health").status_code == 200
        ready = client.get("/ready")
        assert ready.status_code == 503
        reason = ready.json()["reason"]
        assert "model.joblib" in reason and "corrupt" in reason and "KeyError" in reason and "toy train" in reason
        response = client.post("/one", json={"x": 1})
        assert response.status_code == 503 and "Model not loaded" in response.json()["message"]


def test_missing_model_reason_names_the_file_not_the_host_path(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "models" / "model.joblib"

    def missing() -> Any:
        raise UserError(f"No trained model at {path}.", hint="Train one with `toy train`.")

    with TestClient(make_app(model=None, load_model=missing)) as client:
        reason = client.get("/ready").json()["reason"]
        assert "model.joblib" in reason and str(tmp_path) not in reason and "toy train" in reason


def test_without_host_paths_keeps_uris_and_relative_paths() -> None:
    assert without_host_paths("at /srv/app/models/model.joblib.") == "at model.joblib."
    assert without_host_paths("models:/churn-api@champion") == "models:/churn-api@champion"
    assert without_host_paths("see artifacts/quick/models") == "see artifacts/quick/models"


def test_request_id_is_echoed_or_replaced(client: TestClient) -> None:
    assert client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    replaced = client.get("/health", headers={"X-Request-ID": "x" * 65}).headers["x-request-id"]
    assert replaced != "x" * 65 and len(replaced) == 32


def test_each_app_has_its_own_metrics(client: TestClient) -> None:
    client.post("/one", json={"x": 1})
    client.post("/one", json={"x": "1"})
    with TestClient(make_app()) as other:  # a second app in the same process: no duplicate-series error
        assert 'handler="/one"' not in other.get("/metrics").text
    text = client.get("/metrics").text
    assert 'http_requests_total{handler="/one",method="POST",status="200"} 1.0' in text
    assert 'http_requests_total{handler="/one",method="POST",status="422"} 1.0' in text
    assert "http_client_aborts_total 0.0" in text


def test_openapi_declares_what_the_chassis_answers(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert {"401", "413", "415", "422", "503"} <= set(paths["/one"]["post"]["responses"])
    assert {"401", "413", "415", "422"} <= set(paths["/many"]["post"]["responses"])
    body = paths["/many"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Items"} and "Items" in schema["components"]["schemas"]
    assert "401" not in paths["/open"]["get"]["responses"] and "401" not in paths["/health"]["get"]["responses"]
    assert paths["/one"]["post"]["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/Problem"
    )
    assert "HTTPValidationError" not in schema["components"]["schemas"]


def test_startup_freezes_the_heap_and_shutdown_runs_the_hook() -> None:
    """What lives at startup (libraries, the model) is kept out of the collector's full passes while serving;
    `on_shutdown` runs when the server stops (fraud-mlops commits and closes its store there)."""
    import gc

    events: list[str] = []
    app = make_app(on_startup=lambda _: events.append("start"), on_shutdown=lambda _: events.append("stop"))
    with TestClient(app):
        assert events == ["start"] and gc.get_freeze_count() > 0
    assert events == ["start", "stop"] and gc.get_freeze_count() == 0

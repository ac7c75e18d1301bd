"""The service chassis: every API of the portfolio is built the same way on it.

A project writes its routes, its settings and one factory call; the chassis supplies the rest:
JSON logs with request ids, Prometheus metrics, problem-style errors, the request-body size limit
(413 while the body streams in), a body read timeout, client-abort accounting, the strict JSON
content-type check, the optional API key (async, byte comparison), offline `/docs`, `/health`
(GET and HEAD), `/ready` (the model's name and, when not ready, why), model loading that leaves
the service up and not ready instead of crash-looping, bounded off-loop work for big jobs, and an
OpenAPI schema that declares the 401/413/415/422/503 answers of every route.

    # routes.py
    from typing import Annotated
    from fastapi import APIRouter, Depends
    from mlshared.service import json_body, loaded_model, protected_router, responses, run_blocking

    Predictor = Annotated[MyPredictor, Depends(loaded_model)]
    router = protected_router(tags=["model"])            # X-API-Key checked when one is configured

    @router.post("/predict", response_model=Out)
    async def predict(item: Item, model: Predictor) -> Out:       # FastAPI typed body, strict types
        return model.predict(item)

    @router.post("/predict/batch", responses=responses(413))
    async def batch(request: Request, rows: Annotated[Batch, Depends(json_body(Batch))], model: Predictor) -> Out:
        return await run_blocking(request, model.predict_many, rows)   # off the loop, bounded

    # settings.py
    class Settings(ServiceSettings):
        model_config = SettingsConfigDict(env_prefix="MYAPI_", env_file=".env", extra="ignore")
        model_path: Path = Path("models/model.joblib")

    # serve.py
    def create_app(settings: Settings | None = None, model: MyPredictor | None = None) -> FastAPI:
        settings = settings or Settings()
        return build_app(settings, router, title="my-api", version="0.1.0", model=model,
                         model_name=settings.model_path.name, load_model=lambda: MyPredictor.load(settings.model_path),
                         load_hint="Train one with `my-api train`.")

A route on the hot path reads its body with `json_body(Item)` and answers with `json_response(...)`
(keeping `response_model=` for the schema): FastAPI's typed body and response-model check each cost a
validation pass that churn-api's and fraud-mlops' /predict measured (body.py). Run it with
`uvicorn my_api.serve:create_app --factory` (`uvicorn_log_config()` makes uvicorn's own
lines JSON too). Settings come from `MYAPI_*` variables: `API_KEY`, `MAX_BODY_BYTES`,
`BODY_TIMEOUT_S`, `BLOCKING_CONCURRENCY`, `LOG_LEVEL`, `ACCESS_LOG` (see `ServiceSettings`).
Libraries: FastAPI (and its `max_body_size`), pydantic-settings, python-json-logger,
asgi-correlation-id, prometheus-fastapi-instrumentator, fastapi-offline; what is hand-written
(body timeout and aborts, the content-type check, off-loop JSON bodies) says why in `body.py`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from mlshared.service.app import REQUEST_ID_HEADER, Service, ServiceDep, build_app, get_service
from mlshared.service.body import json_body, json_response, parse_json, require_json
from mlshared.service.concurrency import run_blocking
from mlshared.service.errors import Problem, problem, responses
from mlshared.service.logs import json_logger, uvicorn_log_config
from mlshared.service.model import ModelSlot, loaded_model, without_host_paths
from mlshared.service.security import API_KEY_HEADER, require_api_key
from mlshared.service.settings import ServiceSettings


def protected_router(**kwargs: Any) -> APIRouter:
    """An APIRouter whose routes require the API key (when one is configured)."""
    dependencies = [Depends(require_api_key), *kwargs.pop("dependencies", [])]
    return APIRouter(dependencies=dependencies, **kwargs)


__all__ = [
    "API_KEY_HEADER",
    "REQUEST_ID_HEADER",
    "ModelSlot",
    "Problem",
    "Service",
    "ServiceDep",
    "ServiceSettings",
    "build_app",
    "get_service",
    "json_body",
    "json_logger",
    "json_response",
    "loaded_model",
    "parse_json",
    "problem",
    "protected_router",
    "require_api_key",
    "require_json",
    "responses",
    "run_blocking",
    "uvicorn_log_config",
    "without_host_paths",
]

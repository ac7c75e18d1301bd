"""`build_app`: a project's routers mounted on the chassis (see the package docstring)."""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

import anyio
import fastapi.routing
from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from prometheus_client import CollectorRegistry, Counter
from pydantic.json_schema import models_json_schema

from mlshared.service.body import BodyGuard, body_models, require_json
from mlshared.service.errors import DESCRIPTIONS, Problem, install_error_handlers, problem
from mlshared.service.logs import json_logger
from mlshared.service.metrics import instrument
from mlshared.service.model import ModelSlot, loaded_model
from mlshared.service.security import api_key_header, key_forms, require_api_key
from mlshared.service.settings import ServiceSettings

REQUEST_ID_HEADER = "X-Request-ID"
API_KEY_SCHEME = "APIKeyHeader"


@dataclass
class Service:
    """What the chassis keeps per app (`app.state.service`); routes reach it with `ServiceDep`."""

    settings: ServiceSettings
    model: ModelSlot[Any]
    registry: CollectorRegistry
    logger: logging.Logger
    api_key: tuple[bytes, ...] | None  # the configured key's accepted byte forms (see security.py)
    limiter: anyio.CapacityLimiter | None = None
    extras: dict[str, Any] = field(default_factory=dict)


async def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


def valid_request_id(value: str) -> bool:
    """A client's X-Request-ID is kept when it is short printable ASCII (else a new one is made)."""
    return 0 < len(value) <= 64 and value.isascii() and value.isprintable()


def probes_router() -> APIRouter:
    router = APIRouter(tags=["ops"])

    @router.get("/health")
    @router.head("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        """Liveness: the process answers (open even when an API key is set)."""
        return {"status": "ok"}

    @router.get("/ready", responses={503: {"model": Problem, "description": "Not ready: which model, and why."}})
    @router.head("/ready", include_in_schema=False)
    async def ready(service: ServiceDep) -> JSONResponse:
        """Readiness: the model is loaded and can score. Shows the model's name, never a host path."""
        slot = service.model
        if slot.model is None:
            return JSONResponse({"status": "not ready", "model": slot.name, "reason": slot.error}, status_code=503)
        return JSONResponse({"status": "ready", "model": slot.name})

    return router


def _document_chassis_answers(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """FastAPI's schema plus what the chassis' dependencies answer: 401 where the key is checked,
    413/415 and the request body where `json_body` parses one, 503 where the model is needed."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = FastAPI.openapi(app)
        wanted: list[type[Any]] = [Problem]
        for route in _api_routes(app):
            calls = _calls(route.dependant)
            models = body_models(route.dependant)
            codes = {401} if require_api_key in calls else set()
            if loaded_model in calls:
                codes.add(503)
            if models or route.body_field is not None:
                codes |= {413, 422}
            if models or require_json in calls:
                codes.add(415)
            wanted += models
            for method in route.methods:
                operation = schema["paths"].get(route.path_format, {}).get(method.lower())
                if operation is None:
                    continue
                if require_api_key in calls:
                    operation.setdefault("security", []).append({API_KEY_SCHEME: []})
                if "422" in operation["responses"]:  # FastAPI's default shape -> what the handler answers
                    operation["responses"]["422"] = problem_answer(422)
                if models and "requestBody" not in operation:
                    ref = {"$ref": f"#/components/schemas/{models[0].__name__}"}
                    operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref}}}
                for code in sorted(codes):
                    operation["responses"].setdefault(str(code), problem_answer(code))
        _, defs = models_json_schema([(m, "validation") for m in wanted], ref_template="#/components/schemas/{model}")
        if any(require_api_key in _calls(route.dependant) for route in _api_routes(app)):
            schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
            schemes[API_KEY_SCHEME] = api_key_header.model.model_dump(mode="json", by_alias=True, exclude_none=True)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, definition in defs.get("$defs", {}).items():
            components.setdefault(name, definition)
        for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 shape, replaced above
            if f'/{name}"' not in json.dumps(schema):
                components.pop(name, None)
        app.openapi_schema = schema
        return schema

    return openapi


def problem_answer(code: int) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": DESCRIPTIONS[code], "content": {"application/json": {"schema": schema}}}


def _api_routes(app: FastAPI, all_routes: bool = False) -> list[Any]:
    """Every API route in the schema, with its effective (router-merged) dependencies. FastAPI >= 0.16x
    nests included routers; `iter_route_contexts` flattens them, as FastAPI's own get_openapi does."""
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    contexts: list[Any] = list(iterate(app.routes)) if iterate is not None else list(app.routes)
    routes = []
    for context in contexts:
        original = getattr(context, "original_route", context)
        if isinstance(original, APIRoute) and (all_routes or context.include_in_schema):
            routes.append(context)
    return routes


def _calls(dependant: Any) -> set[Any]:
    found: set[Any] = set()
    for sub in getattr(dependant, "dependencies", []):
        if sub.call is not None:
            found.add(sub.call)
        found |= _calls(sub)
    return found


def build_app(
    settings: ServiceSettings,
    *routers: APIRouter,
    title: str,
    version: str,
    summary: str | None = None,
    model_name: str,
    load_model: Callable[[], Any] | None = None,
    model: Any = None,
    load_hint: str = "",
    on_startup: Callable[[Service], None] | None = None,
    on_shutdown: Callable[[Service], None] | None = None,
) -> FastAPI:
    """The service: probes, metrics, docs, error handling and limits around the project's `routers`.

    Pass `model` (tests) or `load_model` (called once at startup, in a worker thread; any failure
    leaves the service up and not ready, `/ready` naming `model_name` and saying `load_hint`).
    `on_startup` runs after loading, e.g. to create project metrics in `service.registry`;
    `on_shutdown` when the server stops, e.g. to flush and close what the routes keep open.
    """
    logger = json_logger(title.replace("-", "_"), settings.log_level)
    key = key_forms(settings.api_key.get_secret_value()) if settings.api_key is not None else None
    service = Service(settings, ModelSlot(model_name, model), CollectorRegistry(), logger, key)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.limiter = anyio.CapacityLimiter(settings.blocking_concurrency)
        if service.model.model is None and load_model is not None:
            await anyio.to_thread.run_sync(service.model.load, load_model, load_hint, logger)
        if on_startup is not None:
            on_startup(service)
        # Everything alive now (libraries, the model) lives as long as the process: freezing it keeps the garbage
        # collector's full passes off it. One full pass over fraud-mlops' loaded service took ~140 ms, a pause
        # every request in flight waited out; after the freeze it takes microseconds (Python's gc.freeze docs).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()  # back to the oldest generation: a process that builds many apps (tests) keeps collecting
            if on_shutdown is not None:
                on_shutdown(service)

    # FastAPIOffline: FastAPI whose /docs and /redoc serve Swagger UI and ReDoc from the installed
    # package instead of a CDN, so the docs work in an air-gapped container too.
    app = FastAPIOffline(
        title=title,
        version=version,
        summary=summary,
        lifespan=lifespan,
    )
    app.state.service = service
    install_error_handlers(app)

    async def server_error(request: Request, error: Exception) -> JSONResponse:
        return problem(500, "Internal error; the service log has the details (quote the request id).")

    app.add_exception_handler(500, server_error)
    # Middleware: the last added is the outermost. Request id, then metrics + access log, then the body guard.
    aborts = Counter(
        "http_client_aborts", "Requests whose client disconnected before the body arrived.", registry=service.registry
    )
    app.add_middleware(
        BodyGuard,
        max_body_bytes=settings.max_body_bytes,
        timeout_s=settings.body_timeout_s,
        aborts=aborts,
        logger=logger,
    )
    static: list[frozenset[str]] = []

    def static_paths() -> frozenset[str]:
        """Route templates without parameters (computed once the routes exist, at the first request)."""
        if not static:
            static.append(
                frozenset(r.path_format for r in _api_routes(app, all_routes=True) if "{" not in r.path_format)
            )
        return static[0]

    instrument(app, service.registry, logger, settings.access_log, static_paths)
    app.add_middleware(
        CorrelationIdMiddleware, header_name=REQUEST_ID_HEADER, validator=valid_request_id, update_request_header=True
    )
    app.include_router(probes_router())
    for router in routers:
        app.include_router(router)
    app.openapi = _document_chassis_answers(app)  # type: ignore[method-assign]
    return app

"""Request bodies: a read timeout, client aborts, the JSON content-type check and JSON bodies parsed
by pydantic-core (off the event loop when large).

The size limit counts streamed bytes with Starlette's `RequestBodyLimitMiddleware` (what
`FastAPI(max_body_size=...)` installs), answering 413 as soon as the count passes the limit, before
anything is parsed. FastAPI's app-level option is not used because it sits outside every user
middleware and, for a declared Content-Length over the limit, replaces whatever answer the app
sends with a plain-text 413 (no JSON problem, no request id). What the libraries do not do is here:

- `BodyGuard` (plain ASGI, no task or copy per request): a declared Content-Length over the limit is
  answered 413 at once, without reading a byte; a body that has not fully arrived
  `body_timeout_s` after the request started is answered 408 (slowloris); a client that disconnects
  mid-body is a client abort (status 499 in the metrics, one JSON log line), not a 500 with a
  plain-text traceback. Both are raised as HTTPExceptions from `receive`, which FastAPI's own body
  reading re-raises untouched, so typed body parameters get the same treatment.
- `require_json`: exact media-type check (`application/json` or `*+json`), 415 otherwise. FastAPI's
  `strict_content_type` only refuses a *missing* header, and then answers 422.
- `json_body(Model)`: a typed dependency that parses the bytes straight into the model with
  pydantic-core; bodies over `off_loop_bytes` are parsed in a worker thread so the event loop keeps
  answering probes (FastAPI's typed bodies are parsed on the loop: `json.loads`, then validation of
  the Python objects). Errors are FastAPI's 422 naming each field.
- `json_response(content)`: an answer serialised once by pydantic-core from plain data. FastAPI's
  `response_model` path validates the returned object against the model again, then encodes it
  (`jsonable_encoder`, `json.dumps`); a route that builds its answer from trusted values keeps
  `response_model=` on the decorator for the schema and returns this. FastAPI documents returning a
  `Response` directly: it is sent as it is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from prometheus_client import Counter
from pydantic import BaseModel, ValidationError
from pydantic_core import to_json
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlshared.service.errors import CLIENT_CLOSED_REQUEST, problem, too_large_message

M = TypeVar("M", bound=BaseModel)
BODY_MODEL_ATTRIBUTE = "__json_body_model__"  # how the OpenAPI hook finds json_body's model
OFF_LOOP_BYTES = 64 * 1024


class ClientAborted(HTTPException):
    def __init__(self) -> None:
        super().__init__(CLIENT_CLOSED_REQUEST, "The client closed the connection before the body arrived.")


class BodyTimeout(HTTPException):
    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"The request body did not arrive within {seconds:g} s. Send it faster or smaller.")


class BodyGuard:
    """Read timeout and client-abort accounting for request bodies (see the module docstring)."""

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, timeout_s: float, aborts: Counter, logger: logging.Logger
    ) -> None:
        self.inner = app
        self.app = RequestBodyLimitMiddleware(app, max_body_bytes)
        self.max_body_bytes = max_body_bytes
        self.timeout_s = timeout_s
        self.aborts = aborts
        self.logger = logger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not has_body(scope):
            await self.inner(scope, receive, send)  # GET /health and friends: nothing to guard, no cost
            return
        declared = declared_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await problem(413, too_large_message(self.max_body_bytes))(scope, receive, send)
            return
        deadline = time.monotonic() + self.timeout_s
        body_done = False

        async def guarded_receive() -> Message:
            nonlocal body_done
            if body_done:  # after the body: only disconnect notices, no deadline
                return await receive()
            with anyio.move_on_after(deadline - time.monotonic()) as scope_:
                message = await receive()
            if scope_.cancelled_caught:
                raise BodyTimeout(self.timeout_s)
            if message["type"] == "http.disconnect":
                self.aborts.inc()
                self.logger.warning(
                    "client aborted",
                    extra={"method": scope["method"], "path": scope["path"], "status": CLIENT_CLOSED_REQUEST},
                )
                raise ClientAborted
            if not message.get("more_body", False):
                body_done = True
            return message

        await self.app(scope, guarded_receive, send)


def has_body(scope: Scope) -> bool:
    return any(
        (name == b"content-length" and value != b"0") or name == b"transfer-encoding"
        for name, value in scope["headers"]
    )


def declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def media_type(request: Request) -> str | None:
    header = request.headers.get("content-type")
    return header.split(";", 1)[0].strip().lower() if header is not None else None


async def require_json(request: Request) -> None:
    """415 unless the body is declared as JSON (`application/json` or a `+json` type)."""
    kind = media_type(request)
    if kind is None or not (kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))):
        got = f"got {request.headers.get('content-type')!r}" if kind is not None else "no Content-Type header"
        raise HTTPException(415, f"Send the body as JSON with `Content-Type: application/json` ({got}).")


def parse_json(model: type[M], body: bytes) -> M:
    """pydantic-core parses the bytes straight into the model; errors become FastAPI's 422."""
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        problems = [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        raise RequestValidationError(problems, body=body) from None


def json_response(content: Any, status_code: int = 200) -> Response:
    """`content` (dicts, lists, numbers, datetimes, models) as JSON, serialised once; see the module docstring."""
    return Response(to_json(content), status_code=status_code, media_type="application/json")


def json_body(
    model: type[M], off_loop_bytes: int = OFF_LOOP_BYTES, parser: Callable[[bytes], M] | None = None
) -> Callable[[Request], Awaitable[M]]:
    """A dependency giving the request body as a validated `model`; use it as
    `Annotated[Batch, Depends(json_body(Batch))]`. The OpenAPI schema declares it as the request body.
    `parser` replaces `model.model_validate_json` (e.g. one that validates a long list in chunks, so no
    single native call holds the GIL for long); it raises RequestValidationError for bad input."""
    from mlshared.service.concurrency import run_blocking

    async def dependency(request: Request) -> M:
        await require_json(request)
        body = await request.body()
        if parser is not None:
            return await run_blocking(request, parser, body) if len(body) > off_loop_bytes else parser(body)
        if len(body) > off_loop_bytes:
            return await run_blocking(request, parse_json, model, body)
        return parse_json(model, body)

    setattr(dependency, BODY_MODEL_ATTRIBUTE, model)
    dependency.__name__ = f"json_body_{model.__name__}"
    return dependency


def body_models(dependant: Any) -> list[type[BaseModel]]:
    """The json_body models a route's dependency tree uses (for the OpenAPI hook)."""
    found: list[type[BaseModel]] = []
    for sub in getattr(dependant, "dependencies", []):
        model = getattr(sub.call, BODY_MODEL_ATTRIBUTE, None)
        if model is not None:
            found.append(model)
        found += body_models(sub)
    return found

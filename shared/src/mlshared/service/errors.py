"""Problem-style error answers: every 4xx/5xx is `{"status", "title", "message", "errors", "request_id"}`
(the RFC 9457 idea, with the field list a client needs to fix a request), and OpenAPI says so.

`responses(401, 413, 415, 503)` declares the answers a route can give, so the schema lists them
(schemathesis' ST103 checks undocumented status codes).
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from asgi_correlation_id import correlation_id
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

CLIENT_CLOSED_REQUEST = 499  # nginx's code for "the client went away before the answer"


class Problem(BaseModel):
    """What every error answer looks like."""

    status: int = Field(description="The HTTP status code, repeated for logs and clients that lose it.")
    title: str = Field(description="The status' standard phrase.")
    message: str = Field(description="What is wrong and how to fix it.")
    errors: list[dict[str, Any]] = Field(
        default_factory=list, description="For invalid input: every bad field as {field, problem}."
    )
    request_id: str | None = Field(None, description="The X-Request-ID of this request (quote it in bug reports).")


DESCRIPTIONS: dict[int, str] = {
    400: "The request is malformed.",
    401: "Missing or wrong API key (header X-API-Key).",
    404: "No such route.",
    408: "The request body arrived too slowly.",
    413: "The request body (or the batch) is larger than the configured maximum.",
    415: "The body is not sent as application/json.",
    422: "Invalid input: every bad field and why.",
    503: "The model is not loaded; GET /ready says why.",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for these status codes, each with the Problem schema."""
    return {code: {"model": Problem, "description": DESCRIPTIONS.get(code, HTTPStatus(code).phrase)} for code in codes}


def title_of(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Client Closed Request" if status == CLIENT_CLOSED_REQUEST else "Error"


def problem(
    status: int, message: str, errors: list[dict[str, Any]] | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = Problem(
        status=status, title=title_of(status), message=message, errors=errors or [], request_id=correlation_id.get()
    )
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def validation_problems(error: RequestValidationError) -> list[dict[str, Any]]:
    """FastAPI's error list as {field, problem}: the field path without the `body` prefix."""
    problems = []
    for item in error.errors():
        if item.get("type") == "json_invalid":
            reason = item.get("ctx", {}).get("error", "")
            problems.append({"field": "body", "problem": f"not valid JSON ({reason})".replace(" ()", "")})
            continue
        loc = [str(part) for part in item.get("loc", ()) if part != "body"]
        problems.append({"field": ".".join(loc) or "body", "problem": item.get("msg", "invalid")})
    return problems


async def invalid_input(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = validation_problems(error)
    summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:10])
    more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
    return problem(422, f"{len(problems)} invalid field(s): {summary}{more}", problems)


def too_large_message(limit: int) -> str:
    return f"The request body is larger than the limit of {limit:,} bytes. Send less per request (split it)."


def _message(request: Request, error: HTTPException) -> str:
    if error.status_code == 413 and error.detail == "Content Too Large":  # Starlette's body limit
        return too_large_message(request.app.state.service.settings.max_body_bytes)
    if error.status_code == 405:
        return f"{request.method} is not allowed on {request.url.path}."
    if error.status_code == 404:
        return f"No route {request.url.path}; see /docs for the API."
    return str(error.detail)


async def http_error(request: Request, error: Exception) -> JSONResponse:
    """Every HTTPException (ours, the router's 404/405, the body limit's 413) as a Problem."""
    assert isinstance(error, HTTPException)
    return problem(error.status_code, _message(request, error), headers=error.headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, invalid_input)
    app.add_exception_handler(HTTPException, http_error)

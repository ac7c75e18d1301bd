"""Prometheus metrics (prometheus-fastapi-instrumentator) in a registry of the app's own, plus the
JSON access log as one of the instrumentator's per-request hooks (no second middleware).

Each app gets its own `CollectorRegistry`, so tests and benchmarks build as many apps as they like
in one process. Series: `http_requests_total{handler,method,status}` (exact codes: 401, 413, 499
stay apart), `http_request_duration_seconds{handler,method}` and `http_client_aborts_total`.
Projects add their own metrics to `service.registry`.

Overhead, measured (2-core VM shared with other jobs, load average ~17, so ranges are wide): in-process,
a /health request costs ~1,060 us with the chassis against ~540 us for bare FastAPI, ~380 us of it this
instrumentation (after `StaticRouteMiddleware` and two series families instead of the default five;
before them the instrumentation alone was ~500 us, its route naming ~460 us). Over HTTP, against
churn-api's former hand-written middleware (one counter, one histogram, a JSON line), /health keeps
72% of the old throughput (rounds 70-84%) and /predict 69% (56-73%)
(`projects/churn-api/experiments/chassis_overhead.py`, 4 interleaved wrk rounds of 3 s). That buys exact
status codes per route, client aborts and a library others maintain; churn-api's benchmark targets are
judged on its own table (README).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from prometheus_client import CollectorRegistry
from prometheus_fastapi_instrumentator import Instrumentator, metrics
from prometheus_fastapi_instrumentator.middleware import PrometheusInstrumentatorMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp

from mlshared.service.errors import CLIENT_CLOSED_REQUEST

PROBES = ("/health", "/ready", "/metrics")
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def access_log(logger: logging.Logger) -> Callable[[metrics.Info], None]:
    """One JSON line per request: method, path, route, status, latency (the request id comes from the filter)."""

    def log(info: metrics.Info) -> None:
        status = info.response.status_code if info.response is not None else 500
        if status == CLIENT_CLOSED_REQUEST:
            return  # BodyGuard logged the abort: one line per event
        logger.info(
            "request",
            extra={
                "method": info.method,
                "path": info.request.url.path,
                "route": info.modified_handler,
                "status": status,
                "duration_ms": round(info.modified_duration * 1000, 3),
            },
        )

    return log


class StaticRouteMiddleware(PrometheusInstrumentatorMiddleware):
    """The instrumentator's middleware, naming routes without path parameters by a set lookup.

    Its own route naming (`routing.get_route_name`: a Request, then every route's `matches`) was
    the largest single cost of a /health request in-process (~460 of ~1,300 us, cProfile, this VM);
    paths like `/predict` are their own template, so only paths with parameters take its way.
    """

    def __init__(self, app: ASGIApp, *, static_paths: Callable[[], frozenset[str]], **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._static_paths = static_paths

    def _get_handler(self, request: Request) -> tuple[str, bool]:
        path = str(request.scope.get("path", ""))
        if path in self._static_paths():
            return path, True
        return super()._get_handler(request)


def instrument(
    app: FastAPI,
    registry: CollectorRegistry,
    logger: logging.Logger,
    access: bool,
    static_paths: Callable[[], frozenset[str]],
) -> None:
    """Add the metrics middleware (with the access log as a hook) and GET /metrics."""
    instrumentator = Instrumentator(registry=registry)
    # Two series families, not the default five (no request/response size summaries, one histogram):
    # each costs time on every request, and the benchmark measures it.
    instrumentator.add(metrics.requests(registry=registry))
    instrumentator.add(metrics.latency(registry=registry, buckets=LATENCY_BUCKETS, should_include_status=False))
    if access:
        instrumentator.add(access_log(logger))
    app.add_middleware(
        StaticRouteMiddleware,  # type: ignore[arg-type]  # the library class's __call__ is typed loosely
        static_paths=static_paths,
        should_group_status_codes=False,
        should_ignore_untemplated=True,  # 404 scans must not create a series per path
        instrumentations=instrumentator.instrumentations,
        registry=registry,
    )
    # Documented as what it returns, Prometheus' text format (schemathesis' ST105 caught application/json).
    instrumentator.expose(app, include_in_schema=True, tags=["ops"], response_class=PlainTextResponse)

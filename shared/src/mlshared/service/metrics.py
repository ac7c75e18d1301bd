"""Prometheus metrics (prometheus-fastapi-instrumentator) in a registry of the app's own, plus the
JSON access log as one of the instrumentator's per-request hooks (no second middleware).

Each app gets its own `CollectorRegistry`, so tests and benchmarks build as many apps as they like
in one process. Series: `http_requests_total{handler,method,status}` (exact codes: 401, 413, 499
stay apart), `http_request_duration_seconds{handler,method}` and `http_client_aborts_total`.
Projects add their own metrics to `service.registry`.

Overhead against the hand-written ASGI middleware it replaced: measured with churn-api's bench
(see projects/churn-api/README.md, "Serving benchmark").
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from prometheus_fastapi_instrumentator import Instrumentator, metrics

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


def instrument(app: FastAPI, registry: CollectorRegistry, logger: logging.Logger, access: bool) -> None:
    """Add the metrics middleware (with the access log as a hook) and GET /metrics."""
    instrumentator = Instrumentator(
        should_group_status_codes=False,
        should_ignore_untemplated=True,  # 404 scans must not create a series per path
        registry=registry,
    )
    # Two series families, not the default five (no request/response size summaries, one histogram):
    # each costs time on every request, and the benchmark measures it.
    instrumentator.add(metrics.requests(registry=registry))
    instrumentator.add(metrics.latency(registry=registry, buckets=LATENCY_BUCKETS, should_include_status=False))
    if access:
        instrumentator.add(access_log(logger))
    instrumentator.instrument(app).expose(app, include_in_schema=True, tags=["ops"])

"""JSON logs (python-json-logger): one object per line, with the request id of the request that
logged it (asgi-correlation-id's filter), so log shippers (Loki, CloudWatch, ...) parse them without rules."""

from __future__ import annotations

import logging
import sys

from asgi_correlation_id import CorrelationIdFilter
from pythonjsonlogger.json import JsonFormatter

FORMAT = "{asctime}{levelname}{name}{message}"
RENAMED = {"asctime": "time", "levelname": "level", "name": "logger", "correlation_id": "request_id"}


def json_formatter() -> JsonFormatter:
    return JsonFormatter(FORMAT, style="{", rename_fields=RENAMED, datefmt="%Y-%m-%dT%H:%M:%S%z")


def json_logger(name: str, level: str) -> logging.Logger:
    """`name`'s logger writing JSON lines to stdout (idempotent: building many apps adds one handler)."""
    logger = logging.getLogger(name)
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(json_formatter())
        handler.addFilter(CorrelationIdFilter())
        logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
    return logger


def uvicorn_log_config(level: str = "warning") -> dict[str, object]:
    """uvicorn's own loggers (startup, errors) as JSON too: pass as `uvicorn.run(..., log_config=...)`."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "asgi_correlation_id.CorrelationIdFilter"}},
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": FORMAT,
                "style": "{",
                "rename_fields": RENAMED,
            }
        },
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["request_id"],
                "stream": "ext://sys.stdout",
            }
        },
        "loggers": {
            name: {"handlers": ["json"], "level": level.upper(), "propagate": False}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }

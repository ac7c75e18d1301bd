"""The served model: loaded once at startup, and a service that stays up, not ready, when it cannot load.

A missing or corrupt model file used to crash startup (`KeyError: 110` from joblib), so the
container crash-looped and nobody saw why. `ModelSlot.load` catches every failure: the service
starts, `/health` answers, `/ready` answers 503 with the model's *name* (never the host path) and
what to do, the log has the full error, and routes that need the model answer 503.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import Request
from starlette.exceptions import HTTPException

from mlshared.console import UserError

T = TypeVar("T")
HOST_PATH = re.compile(r"(?<![\w:.])/(?:[^\s/]+/)+([^\s/]+)")  # /abs/dir/file -> file


def without_host_paths(text: str) -> str:
    """`/srv/app/models/model.joblib` -> `model.joblib`: what the service says publicly names files,
    it does not map the host (the log keeps the full message)."""
    return HOST_PATH.sub(r"\1", text)


@dataclass
class ModelSlot(Generic[T]):
    """The loaded model (or why there is none) and the name `/ready` shows."""

    name: str
    model: T | None = None
    error: str | None = None

    def load(self, loader: Callable[[], T], hint: str, logger: logging.Logger) -> None:
        """Run `loader`; on any failure keep the service up and not ready, saying which model and why."""
        try:
            self.model = loader()
        except UserError as error:
            self.error = without_host_paths(f"{self.name}: {error.message.rstrip('.')}. {error.hint or hint}")
            logger.error("model not loaded", extra={"model": self.name, "reason": str(error)})
            return
        except Exception as error:  # a corrupt or foreign file raises anything (KeyError, EOFError, ...)
            self.error = without_host_paths(
                f"{self.name} could not be loaded: it is corrupt or not a model this service can read "
                f"({type(error).__name__}: {str(error)[:200]}). {hint}"
            )
            logger.error("model not loaded", exc_info=error, extra={"model": self.name})
            return
        logger.info("model loaded", extra={"model": self.name})


async def loaded_model(request: Request) -> Any:
    """The loaded model, or 503 naming the reason. Use it typed:
    `Predictor = Annotated[MyPredictor, Depends(loaded_model)]`."""
    slot: ModelSlot[Any] = request.app.state.service.model
    if slot.model is None:
        raise HTTPException(503, f"Model not loaded: {slot.error}")
    return slot.model

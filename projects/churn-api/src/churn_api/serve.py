"""The app factory: churn-api's routes and settings on the shared service chassis.

`create_app(settings)` builds an app with its own Prometheus registry and no module-level state,
so tests build as many as they like; `uvicorn churn_api.serve:create_app --factory` (what
`churn-api serve` and the Docker image run) configures it from `CHURN_*` environment variables.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from threadpoolctl import threadpool_limits

from churn_api.predictor import ChurnPredictor
from churn_api.routes import ChurnMetrics, router
from churn_api.settings import Settings
from mlshared.console import UserError
from mlshared.service import Service, build_app

TRAIN_HINT = (
    "Train one with `churn-api train --profile quick` (what `make run` does) or `churn-api train`, "
    "or point CHURN_MODEL_PATH / CHURN_MODEL_URI at a model."
)


def load_predictor(settings: Settings) -> ChurnPredictor:
    if settings.model_uri:
        return ChurnPredictor.from_registry(settings.model_uri, settings.scoring)
    path = settings.model_file()
    if path is None:
        raise UserError(f"No trained model under {settings.model_root}.", hint=TRAIN_HINT)
    return ChurnPredictor.load(path, settings.scoring)


def create_app(settings: Settings | None = None, predictor: ChurnPredictor | None = None) -> FastAPI:
    """The service. Pass `predictor` to skip loading (tests); otherwise it loads once at startup."""
    settings = settings or Settings()
    # The engine's matrix products are small: one BLAS thread is fastest, and idle BLAS threads
    # spinning on the other core would slow every request when uvicorn shares the machine.
    threadpool_limits(limits=1, user_api="blas")

    def add_metrics(service: Service) -> None:
        if "churn_metrics" not in service.extras:  # once per app, however often its lifespan starts
            service.extras["churn_metrics"] = ChurnMetrics(service.registry)

    return build_app(
        settings,
        router,
        title="churn-api",
        version="0.1.0",
        summary="Telco churn probability, decision and top reasons from a calibrated XGBoost model.",
        model_name=settings.model_name(),
        model=predictor,
        load_model=lambda: load_predictor(settings),
        load_hint=TRAIN_HINT,
        on_startup=add_metrics,
    )


def __getattr__(name: str) -> Any:
    """`uvicorn churn_api.serve:app` gets an app configured from the environment, built on first access."""
    if name == "app":
        return create_app()
    raise AttributeError(name)

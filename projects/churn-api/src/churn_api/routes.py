"""churn-api's routes: all a service on the chassis (`mlshared.service`) has to write.

Both bodies are read through the chassis' `json_body` (pydantic-core straight from the bytes), not
FastAPI's typed body parameters: in `churn-api bench` on the same loaded machine, /predict reached 38%
of /health's throughput with a typed body (target >= 50%) and 45-50% with `json_body` (README table).
/predict/batch parses, validates, scores and serialises large batches in a worker thread, chunk by
chunk (`batches.py`), so /health and /ready stay answered while 10,000-row batches arrive.
Answers are serialised once from plain data (the chassis' `json_response`), not re-validated.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import Depends, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from churn_api.api_models import Batch, BatchOut, Customer, ModelOut, PredictionOut
from churn_api.batches import parse_batch, score_batch
from churn_api.predictor import ChurnPredictor
from churn_api.schema import FEATURES
from churn_api.settings import Settings
from mlshared.service import (
    ServiceDep,
    json_body,
    json_response,
    loaded_model,
    protected_router,
    responses,
    run_blocking,
)

INLINE_ROWS = 200  # smaller batches score on the loop: the thread hand-off costs more than they do

router = protected_router(tags=["model"])
Predictor = Annotated[ChurnPredictor, Depends(loaded_model)]


class ChurnMetrics:
    """Prediction metrics beside the chassis' HTTP metrics, in the app's registry."""

    def __init__(self, registry: Any) -> None:
        from prometheus_client import Counter, Histogram

        self.probability = Histogram(
            "churn_api_predicted_probability", "Distribution of predicted P(churn).", registry=registry,
            buckets=tuple(round(0.1 * i, 1) for i in range(1, 11)),
        )  # fmt: skip
        predictions = Counter("churn_api_predictions", "Predicted labels.", ["churn"], registry=registry)
        self.yes, self.no = predictions.labels(churn="yes"), predictions.labels(churn="no")

    def observe(self, probabilities: list[float], threshold: float) -> None:
        churners = 0
        for p in probabilities:
            self.probability.observe(p)
            churners += p >= threshold
        self.yes.inc(churners)
        self.no.inc(len(probabilities) - churners)


def metrics_of(request: Request) -> ChurnMetrics:
    """The app's prediction metrics (a plain lookup, not a dependency: /predict pays per dependency)."""
    return cast(ChurnMetrics, request.app.state.service.extras["churn_metrics"])


async def churn_settings(service: ServiceDep) -> Settings:
    return cast(Settings, service.settings)


ChurnSettings = Annotated[Settings, Depends(churn_settings)]


@router.get("/model", response_model=ModelOut)
async def model_info(model: Predictor, service: ServiceDep) -> dict[str, Any]:
    """Version, training metrics, threshold, scoring path and the sha256 of the training data."""
    meta = model.metadata
    return {
        "model": service.model.name,
        "scoring": model.scorer.name,
        "registered_model": meta.get("registered_model"),
        "version": meta.get("registered_version"),
        "mlflow_run_id": meta.get("mlflow_run_id"),
        "trained_at": meta.get("trained_at"),
        "git_commit": meta.get("git_commit"),
        "threshold": model.threshold,
        "calibration": meta.get("calibration"),
        "training_data": {
            "dataset": meta.get("dataset"),
            "sha256": model.training_data_sha256,
            "fingerprint": meta.get("data_fingerprint"),
            "rows": meta.get("training_rows"),
        },
        "metrics": {"cv_roc_auc": meta.get("cv_roc_auc"), **meta.get("cv_metrics", {})},
        "business": meta.get("business"),
        "features": list(FEATURES),
    }


@router.post("/predict", response_model=PredictionOut)
async def predict(
    request: Request, customer: Annotated[Customer, Depends(json_body(Customer))], model: Predictor
) -> Response:
    """Score one customer: calibrated P(churn), the decision at the business threshold, top reasons."""
    prediction = model.predict_one(vars(customer))
    metrics_of(request).observe([prediction.probability], model.threshold)
    return json_response(model.record(prediction, customer.customerID))


@router.post("/predict/batch", response_model=BatchOut, responses=responses(413))
async def predict_batch(
    request: Request,
    batch: Annotated[Batch, Depends(json_body(Batch, parser=parse_batch))],
    model: Predictor,
    settings: ChurnSettings,
) -> Response:
    """Score many customers at once (vectorised); at most CHURN_MAX_BATCH_ROWS per request."""
    n = len(batch.customers)
    if n > settings.max_batch_rows:
        limit = settings.max_batch_rows
        raise HTTPException(413, f"{n} customers in one batch; the limit is {limit}. Split the batch.")
    if n <= INLINE_ROWS:
        body, probabilities = score_batch(model, batch.customers)
    else:
        body, probabilities = await run_blocking(request, score_batch, model, batch.customers)
    metrics_of(request).observe(probabilities, model.threshold)
    return Response(body, media_type="application/json")

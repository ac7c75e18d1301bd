"""The fraud-scoring API on the shared service chassis (`mlshared.service`): a transaction in, a fraud
probability, a decision and the top reasons out, with online features from the store in `online.py`.

Routes: POST /predict, POST /feedback (a delayed label), GET /model, POST /admin/reload (API key required);
the chassis adds /health, /ready, /metrics and /docs. A request that fails validation (schema, types, a
duplicate transaction id, a timestamp more than `max_lateness_s` older than the newest one seen, feedback
for an unknown id) gets a 4xx and changes no state. Every prediction is appended to the prediction log
(JSON lines) that `monitor` reads. A reload loads the new model completely before swapping it in, so no
request ever sees a half-loaded model.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Literal, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import to_json
from pydantic_settings import SettingsConfigDict
from starlette.exceptions import HTTPException

from fraud_mlops.compiled import CompiledTrees, compile_booster
from fraud_mlops.models import FraudModel
from fraud_mlops.online import OnlineFeatures, Tx, open_store, to_ns
from mlshared.service import (
    ServiceSettings,
    build_app,
    get_service,
    json_body,
    json_response,
    loaded_model,
    protected_router,
    responses,
)
from mlshared.service.app import Service

TOP_REASONS = 3
MAX_ID = 2**63 - 1
EARLIEST, LATEST = datetime(1970, 1, 1), datetime(2200, 1, 1)


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FRAUD_", env_file=".env", extra="ignore")

    model_path: Path | None = Field(None, description="A model file (models/model.joblib); else the registry.")
    registered_model: str = Field("fraud-mlops", description="Registry name, loaded as models:/<name>@<alias>.")
    model_alias: str = "champion"
    redis_url: str | None = Field(None, description="Online state in Redis (redis://host:6379/0); else SQLite.")
    state_path: Path = Field(Path("state/online.sqlite"), description="SQLite online state.")
    prediction_log: Path = Field(Path("state/predictions.jsonl"), description="One JSON line per prediction.")
    scoring: Literal["auto", "xgboost"] = Field(
        "auto",
        description="auto: an XGBoost model's trees compiled to numpy arrays when possible; xgboost: its own call.",
    )
    reasons: Literal["blocked", "all"] = Field(
        "blocked", description="Which answers carry the top reasons (exact TreeSHAP): blocked transactions, or all."
    )
    max_lateness_s: float = Field(
        60.0, ge=0, description="Accept transactions at most this much older than the newest."
    )
    commit_interval_ms: float = Field(
        20.0, ge=0, description="SQLite state: commit writes in groups at most this often (0: every write commits "
        "itself). A crash loses at most this interval of state; the prediction log has every answer.",
    )  # fmt: skip


class Transaction(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "transaction_id": 1_466_282, "tx_datetime": "2018-09-01T10:15:00", "customer_id": 42, "terminal_id": 3156,
        "amount": 57.16}]})  # fmt: skip

    # Strict numbers: "12" or true is a client bug to report, not a value to guess. Ids are signed 64-bit
    # integers in both stores (schemathesis found the 500 an id of 2**63 gave).
    transaction_id: int = Field(ge=0, le=MAX_ID, strict=True)
    tx_datetime: datetime = Field(
        description=f"ISO 8601, {EARLIEST:%Y-%m-%d} up to (not including) {LATEST:%Y-%m-%d}; naive times are the "
        "data's clock, aware ones go to UTC."
    )
    customer_id: int = Field(ge=0, le=MAX_ID, strict=True)
    terminal_id: int = Field(ge=0, le=MAX_ID, strict=True)
    amount: float = Field(ge=0, lt=1e9, allow_inf_nan=False, strict=True)

    @field_validator("tx_datetime")
    @classmethod
    def storable_time(cls, value: datetime) -> datetime:
        """The stores keep nanoseconds since 1970 in a signed 64-bit integer (good until 2262)."""
        try:
            naive = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value
        except OverflowError:
            naive = datetime.max
        if not EARLIEST <= naive < LATEST:
            raise ValueError(f"must be from {EARLIEST:%Y-%m-%d} up to (not including) {LATEST:%Y-%m-%d}")
        return naive

    def tx(self) -> Tx:
        return Tx(self.transaction_id, self.tx_datetime, self.customer_id, self.terminal_id, self.amount)


class Reason(BaseModel):
    feature: str
    value: float
    contribution: float = Field(description="Contribution to the log-odds (XGBoost's exact tree SHAP).")


class Prediction(BaseModel):
    transaction_id: int
    fraud_probability: float
    decision: Literal["block", "allow"]
    threshold: float
    reasons: list[Reason] = Field(
        description="Up to 3 features that pushed the score up most (exact TreeSHAP): for a block, or for every "
        "answer with FRAUD_REASONS=all; empty otherwise."
    )
    features: dict[str, float]
    model_version: str


class Feedback(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transaction_id: int = Field(ge=0, le=MAX_ID, strict=True)
    label: Literal[0, 1] = Field(description="1: the transaction was a fraud.")


class FeedbackAnswer(BaseModel):
    transaction_id: int
    label: int
    used_from: datetime = Field(
        description="Terminal risk features count this label from this time on (delay); the data's clock as UTC "
        "(RFC 3339 needs an offset: schemathesis caught the naive form)."
    )


class ModelInfo(BaseModel):
    name: str
    version: str
    feature_set: str
    features: list[str]
    threshold: float
    trained_on: str


@dataclass
class Served:
    """The loaded model, prepared for one-row requests.

    Why not `FraudModel.score`: on one row its fixed costs dominate (measured on this shared two-core machine
    at load 12, per request: a polars frame -> pandas 12 ms, `predict_proba` with XGBoost's two threads 55 ms,
    with one thread 2.4 ms). So an XGBoost model scores a numpy row with one thread through `inplace_predict`
    (the call `predict_proba` makes, so the probability is the same), or, with `scoring="auto"`, through the
    booster's trees compiled into numpy arrays (`compiled.py`: 0.07 ms against 1.5 ms a row, equal
    to 3e-7); other estimators get a one-row pandas frame with their feature names."""

    model: FraudModel
    version: str
    scoring: Literal["auto", "xgboost"] = "auto"
    booster: Any = field(init=False, default=None)
    compiled: CompiledTrees | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        get_booster = getattr(self.model.estimator, "get_booster", None)
        if get_booster is not None:
            self.booster = get_booster()
            self.booster.set_param({"nthread": 1})  # one row: threads cost more than they save
            if self.scoring == "auto":
                self.compiled = compile_booster(self.booster)  # None: XGBoost's own call

    def row(self, features: dict[str, float]) -> npt.NDArray[np.float64]:
        return np.array([[features[name] for name in self.model.features]], dtype=np.float64)

    def probability(self, row: npt.NDArray[np.float64]) -> float:
        if self.compiled is not None:
            return self.compiled.probability(row[0])
        if self.booster is not None:
            return float(self.booster.inplace_predict(row)[0])
        frame = pd.DataFrame(row, columns=self.model.features)
        return float(self.model.estimator.predict_proba(frame)[0, 1])

    def explain(self, row: npt.NDArray[np.float64]) -> list[Reason]:
        if self.booster is None:
            return []
        import xgboost

        matrix = xgboost.DMatrix(row, feature_names=self.model.features, nthread=1)
        contributions = self.booster.predict(matrix, pred_contribs=True)[0][:-1]
        order = np.argsort(contributions)[::-1][:TOP_REASONS]
        names = self.model.features
        return [
            Reason(feature=names[i], value=float(row[0, i]), contribution=float(contributions[i]))
            for i in order
            if contributions[i] > 0
        ]


def load_served(settings: Settings) -> Served:
    if settings.model_path is not None:
        from mlshared.artifacts import load_model_file

        model = load_model_file(settings.model_path, FraudModel, "fraud-mlops", "FRAUD_MODEL_PATH")
        return Served(model, f"file:{settings.model_path.name}", settings.scoring)
    from fraud_mlops.registry import load

    model, version = load(settings.registered_model, settings.model_alias)
    return Served(model, f"{settings.registered_model}/{version}", settings.scoring)


Model = Annotated[Served, Depends(loaded_model)]
ServiceDep = Annotated[Service, Depends(get_service)]
router = protected_router(tags=["fraud"])
admin = protected_router(tags=["admin"])


class PredictionLog:
    """The JSON-lines log of every answer, which `monitor` reads. The file stays open (opening it per request cost
    more than writing the line) and unbuffered: each line is one `write`, in the file when the answer leaves."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO | None = None
        self._lock = threading.Lock()

    def append(self, answer: dict[str, Any], tx_time: datetime) -> None:
        line = to_json({"logged_at": datetime.now(UTC).isoformat(), "tx_datetime": tx_time.isoformat(), **answer})
        with self._lock:
            if self._file is None:
                self._file = self.path.open("ab", buffering=0)
            self._file.write(line + b"\n")

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


@dataclass
class State:
    online: OnlineFeatures
    log: PredictionLog
    max_lateness_ns: int
    reasons: Literal["blocked", "all"]

    def close(self) -> None:
        self.online.store.close()
        self.log.close()


def fraud_state(request: Request) -> State:
    """The app's online state and log (a plain lookup, not a dependency: /predict pays per dependency)."""
    return cast(State, request.app.state.service.extras["fraud"])


TransactionBody = Annotated[Transaction, Depends(json_body(Transaction))]


@router.post("/predict", response_model=Prediction, responses=responses(400, 409, 422, 503))
async def predict(request: Request, item: TransactionBody, served: Model) -> Response:
    """Score one transaction with features from the online store, then add it to the store and the log.

    `async` on purpose, though nothing in it awaits: it runs on the event loop instead of a pool thread. The
    work is milliseconds and serialised by the store's lock anyway, and in a thread every return from a C call
    (SQLite, XGBoost) waited for the GIL behind the loop's request parsing (wrk, 8 clients: 105 /predict a
    second with the thread pool on this loaded machine). The body is parsed by pydantic-core straight from the
    bytes and the answer serialised once (`json_body`, `json_response`): FastAPI's typed body and
    `response_model` validation cost more than the scoring (docs/experiments.md section 8)."""
    state, tx = fraud_state(request), item.tx()
    with state.online.lock:
        evidence = state.online.evidence(tx, served.model.windows)  # one read of the store for all that follows
        if evidence.known:
            raise HTTPException(409, f"Transaction {tx.tx_id} was already scored; transaction ids must be unique.")
        latest = evidence.newest_ns
        if latest is not None and tx.time_ns < latest - state.max_lateness_ns:
            raise HTTPException(
                409, f"Transaction {tx.tx_id} at {tx.time:%Y-%m-%d %H:%M:%S} is more than "
                f"{state.max_lateness_ns / 1e9:g} s older than the newest transaction seen; send them in time order.",
            )  # fmt: skip
        features = state.online.features(tx, served.model.windows, evidence)
        row = served.row(features)
        probability = served.probability(row)
        state.online.store.add(tx)
    blocked = probability >= served.model.threshold
    # Outside the lock: it reads no state. Exact TreeSHAP is the costliest step of a request (~8 ms a row against
    # ~1 ms for all the rest, docs/experiments.md section 8), so by default only a block is explained.
    reasons = served.explain(row) if blocked or state.reasons == "all" else []
    answer = {
        "transaction_id": tx.tx_id, "fraud_probability": probability, "decision": "block" if blocked else "allow",
        "threshold": served.model.threshold, "reasons": reasons, "features": features, "model_version": served.version,
    }  # fmt: skip
    state.log.append(answer, tx.time)
    return json_response(answer)


@router.post("/feedback", response_model=FeedbackAnswer, responses=responses(400, 422))
async def feedback(request: Request, item: Feedback, served: Model) -> FeedbackAnswer:
    """Record a transaction's label (it feeds the terminal risk features once `delay` days old)."""
    state = fraud_state(request)
    with state.online.lock:
        if not state.online.store.label(item.transaction_id, item.label):
            # 422, not 404: the route exists; the body names a transaction this service never scored.
            raise HTTPException(
                422, f"Unknown transaction {item.transaction_id}: only scored transactions take labels."
            )
        time_ns = state.online.store.transaction_ns(item.transaction_id)
    used_from = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
        microseconds=time_ns // 1000, days=served.model.windows.delay
    )
    return FeedbackAnswer(transaction_id=item.transaction_id, label=item.label, used_from=used_from)


@router.get("/model", response_model=ModelInfo, responses=responses(503))
def model_info(served: Model) -> ModelInfo:
    m = served.model
    return ModelInfo(name=m.name, version=served.version, feature_set=m.feature_set, features=m.features,
                     threshold=m.threshold, trained_on=m.trained_on)  # fmt: skip


@admin.post("/admin/reload", response_model=ModelInfo, responses=responses(401, 403, 503))
def reload(service: ServiceDep) -> ModelInfo:
    """Load the configured model again (e.g. a new champion) and swap it in once it is completely loaded."""
    if service.api_key is None:
        raise HTTPException(403, "Reloading needs an API key: start the service with FRAUD_API_KEY set.")
    settings: Settings = service.extras["settings"]
    current = service.model.model
    try:
        fresh = load_served(settings)  # completely loaded before anything changes
    except Exception as error:  # a missing, corrupt or foreign model: keep serving the current one
        serving = f"still serving {current.version}" if isinstance(current, Served) else "no model is loaded"
        service.logger.error("reload failed", exc_info=error)
        raise HTTPException(503, f"Reload failed ({type(error).__name__}); {serving}.") from error
    service.model.model, service.model.error = fresh, None
    return model_info(fresh)


def create_app(settings: Settings | None = None, served: Served | None = None) -> FastAPI:
    settings = settings or Settings()
    app = build_app(
        settings, router, admin, title="fraud-mlops", version="0.1.0",
        summary="Card-fraud scoring with online features, delayed feedback and a prediction log.",
        model=served, model_name=f"{settings.registered_model}@{settings.model_alias}"
        if settings.model_path is None else settings.model_path.name,
        load_model=lambda: load_served(settings),
        load_hint="Train one with `fraud-mlops train`, then `fraud-mlops promote`.",
        on_startup=open_state, on_shutdown=close_state,
    )  # fmt: skip
    service: Service = app.state.service
    service.extras["settings"] = settings
    return app


def open_state(service: Service) -> None:
    """At startup: the online store (its group-commit thread) and the prediction log, closed at shutdown."""
    settings: Settings = service.extras["settings"]
    settings.prediction_log.parent.mkdir(parents=True, exist_ok=True)
    store = open_store(settings.redis_url, settings.state_path, settings.commit_interval_ms / 1000)
    service.extras["fraud"] = State(
        OnlineFeatures(store), PredictionLog(settings.prediction_log), int(settings.max_lateness_s * 1e9),
        settings.reasons,
    )  # fmt: skip


def close_state(service: Service) -> None:
    state: State = service.extras.pop("fraud")
    state.close()


__all__ = ["Settings", "Transaction", "create_app", "to_ns"]

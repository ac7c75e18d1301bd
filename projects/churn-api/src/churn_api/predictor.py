"""The served model: a trained `ChurnModel` plus its scorer (`scoring.py`), loaded once.

Both the CLI (`churn-api predict`) and the API go through `ChurnPredictor`, so a file scored on
the command line and the same customers posted to `/predict/batch` get identical answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from churn_api.models import ChurnModel
from churn_api.schema import FEATURES, ID
from churn_api.scoring import Scorer, ScoringMode, select_scorer
from mlshared.console import UserError

FloatArray = npt.NDArray[np.float64]


RAISES, LOWERS = "raises risk", "lowers risk"


@dataclass(frozen=True)
class Reason:
    """One field's push on this customer's churn risk (SHAP value, in log-odds)."""

    field: str
    value: Any
    impact: float

    @property
    def direction(self) -> str:
        return direction_of(self.impact)

    def as_dict(self) -> dict[str, Any]:
        return reason_record(self.field, self.value, self.impact)


def direction_of(impact: float) -> str:
    return RAISES if impact > 0 else LOWERS


def reason_record(field: str, value: Any, impact: float) -> dict[str, Any]:
    """One reason in the API's `ReasonOut` shape."""
    return {"field": field, "value": value, "impact": impact, "direction": direction_of(impact)}


def prediction_record(
    customer_id: str | None, probability: float, churn: bool, threshold: float, reasons: list[dict[str, Any]]
) -> dict[str, Any]:
    """One prediction in the API's `PredictionOut` shape, as plain data: serialised once, without
    re-validating our own output. Both the single and the batch endpoint build their answers here."""
    return {
        "customerID": customer_id,
        "churn_probability": round(probability, 6),
        "churn": churn,
        "threshold": threshold,
        "reasons": reasons,
    }


@dataclass(frozen=True)
class Prediction:
    probability: float
    churn: bool
    reasons: list[Reason]


def top_reason_indices(phi: FloatArray, k: int) -> npt.NDArray[np.intp]:
    """Per row, the k fields with the largest absolute SHAP value, largest first (rows x k)."""
    return np.argsort(-np.abs(phi), axis=-1, kind="stable")[..., :k]


class ChurnPredictor:
    """Scores customers given as IBM-column records; `customerID` and unknown extras are ignored."""

    def __init__(self, model: ChurnModel, source: str, scoring: ScoringMode = "auto") -> None:
        self.model = model
        self.source = source
        self.scorer: Scorer = select_scorer(model, scoring)
        self.metadata: dict[str, Any] = dict(getattr(model, "metadata_", {}) or {})
        self.threshold = float(model.threshold)
        self.top_k = int(self.metadata.get("top_reasons", 3))

    @classmethod
    def load(cls, path: Path, scoring: ScoringMode = "auto") -> ChurnPredictor:
        from mlshared.artifacts import load_model_file

        model = load_model_file(path, ChurnModel, "churn-api", "CHURN_MODEL_PATH")
        return cls(model, str(path), scoring)

    @classmethod
    def from_registry(cls, uri: str, scoring: ScoringMode = "auto") -> ChurnPredictor:
        """Load `models:/<name>@<alias>` (or any MLflow model URI) from the configured tracking store."""
        import mlflow.sklearn

        from mlshared.tracking import configure_uri

        configure_uri()
        try:
            model = mlflow.sklearn.load_model(uri)
        except Exception as error:  # MLflow raises many types; all mean "cannot load this URI"
            raise UserError(
                f"Cannot load {uri} from MLflow: {error}",
                hint="Check MLFLOW_TRACKING_URI and that the model is registered with that alias (`churn-api train`).",
            ) from error
        if not isinstance(model, ChurnModel):
            raise UserError(f"{uri} holds a {type(model).__name__}, not a churn-api model.")
        return cls(model, uri, scoring)

    @property
    def training_data_sha256(self) -> str | None:
        """sha256 of the training file: the data layer verified this checksum before training on it."""
        from mlshared.datasets.store import get_spec

        dataset, _, relpath = str(self.metadata.get("dataset", "")).partition("/")
        try:
            return get_spec(dataset).checksums.get(relpath)
        except UserError:
            return None

    def predict_one(self, record: Mapping[str, Any]) -> Prediction:
        probability, phi = self.scorer.explain_one(record)
        # Plain floats and a stable sort: the same order as top_reason_indices, without numpy's
        # per-call overhead on a 19-element vector (the /predict hot path).
        impacts = phi.tolist()
        top = sorted(range(len(impacts)), key=lambda i: -abs(impacts[i]))[: self.top_k]
        reasons = [Reason(FEATURES[i], record[FEATURES[i]], round(impacts[i], 4)) for i in top]
        return Prediction(probability, probability >= self.threshold, reasons)

    def record(self, prediction: Prediction, customer_id: str | None) -> dict[str, Any]:
        """`predict_one`'s result in the API's JSON shape."""
        reasons = [r.as_dict() for r in prediction.reasons]
        return prediction_record(customer_id, prediction.probability, prediction.churn, self.threshold, reasons)

    def _explain_batch(
        self, columns: Mapping[str, Sequence[Any]], n_rows: int
    ) -> tuple[list[float], list[bool], list[list[str]], list[list[float]]]:
        """One vectorised scorer pass; reasons picked for all rows together (plain lists, cheap to emit)."""
        explained = self.scorer.explain_columns(columns, n_rows)
        top = top_reason_indices(explained.contributions, self.top_k)
        impacts = np.round(np.take_along_axis(explained.contributions, top, axis=1), 4).tolist()
        names = [[FEATURES[j] for j in row] for row in top.tolist()]
        return explained.probability.tolist(), (explained.probability >= self.threshold).tolist(), names, impacts

    def predict_columns(self, columns: Mapping[str, Sequence[Any]], n_rows: int) -> list[Prediction]:
        """Many customers at once, as `Prediction` objects."""
        probabilities, labels, names, impacts = self._explain_batch(columns, n_rows)
        return [
            Prediction(
                probabilities[i],
                labels[i],
                [Reason(f, columns[f][i], impact) for f, impact in zip(names[i], impacts[i], strict=True)],
            )
            for i in range(n_rows)
        ]

    def predict_records(
        self, columns: Mapping[str, Sequence[Any]], n_rows: int, ids: Sequence[str | None]
    ) -> tuple[list[dict[str, Any]], list[float]]:
        """Many customers at once, straight to the API's JSON shape (no intermediate objects): the
        batch endpoint's hot path. Returns the records and the probabilities (for the metrics)."""
        probabilities, labels, names, impacts = self._explain_batch(columns, n_rows)
        records = [
            prediction_record(
                ids[i],
                probabilities[i],
                labels[i],
                self.threshold,
                [reason_record(f, columns[f][i], v) for f, v in zip(names[i], impacts[i], strict=True)],
            )
            for i in range(n_rows)
        ]
        return records, probabilities

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A validated customer frame -> customerID, churn_probability, churn, reason_1..k."""
        columns = {f: frame[f].tolist() for f in FEATURES}
        predictions = self.predict_columns(columns, len(frame))
        out = pd.DataFrame(
            {
                ID: frame[ID].to_numpy() if ID in frame else np.arange(1, len(frame) + 1),
                "churn_probability": [round(p.probability, 5) for p in predictions],
                "churn": ["Yes" if p.churn else "No" for p in predictions],
            }
        )
        for k in range(self.top_k):
            out[f"reason_{k + 1}"] = [
                f"{p.reasons[k].field}={p.reasons[k].value} ({p.reasons[k].direction}, {p.reasons[k].impact:+.3f})"
                for p in predictions
            ]
        return out

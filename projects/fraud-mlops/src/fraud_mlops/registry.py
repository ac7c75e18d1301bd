"""The MLflow model registry loop: load a model by alias, compare challenger and champion, move the alias.

A registered version is the estimator (MLflow's scikit-learn flavour) plus tags on its training run that
say how to compute its inputs (`train.model_tags`), so any process with the registry can rebuild a
`FraudModel` from `models:/<name>@<alias>` alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl

from fraud_mlops.features import Windows, compute
from fraud_mlops.metrics import SCORE, fraud_metrics
from fraud_mlops.models import FraudModel
from fraud_mlops.protocol import latest_labelled_week, rows_between
from mlshared import tracking
from mlshared.console import UserError

CHAMPION, CHALLENGER = "champion", "challenger"


def _client() -> Any:
    import mlflow

    tracking.configure_uri()
    return mlflow.MlflowClient()


def version_for(name: str, alias: str) -> Any | None:
    from mlflow.exceptions import MlflowException

    try:
        return _client().get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def load(name: str, alias: str) -> tuple[FraudModel, str]:
    """`models:/<name>@<alias>` as a `FraudModel`, and its version number."""
    import mlflow

    version = version_for(name, alias)
    if version is None:
        raise UserError(
            f"The registry has no model {name}@{alias}.",
            hint="Train one with `fraud-mlops train` (it registers the challenger), then `fraud-mlops promote`.",
        )
    tags = _client().get_run(version.run_id).data.tags
    estimator = mlflow.sklearn.load_model(f"models:/{name}/{version.version}")
    model = FraudModel(
        name=tags["fraud.model"],
        estimator=estimator,
        feature_set=tags["fraud.feature_set"],
        features=json.loads(tags["fraud.features"]),
        windows=windows_from_json(tags["fraud.windows"]),
        threshold=float(tags["fraud.threshold"]),
        trained_on=tags["fraud.trained_on"],
        info={"registered": f"{name}@{alias}", "version": str(version.version)},
    )
    return model, str(version.version)


def windows_from_json(text: str) -> Windows:
    """A model tag's windows; a key a model registered before it existed takes the `Windows` default (such a model
    does not use the feature the key shapes)."""
    raw: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else int(v) for k, v in json.loads(text).items()}
    return Windows(**raw)


@dataclass(frozen=True)
class Decision:
    promoted: bool
    reason: str
    week: tuple[date, date]
    champion: dict[str, Any] | None
    challenger: dict[str, Any]


def week_metrics(model: FraudModel, log: pl.DataFrame, week: tuple[date, date], k: int) -> dict[str, float]:
    featured = compute(log, model.feature_set, model.windows)
    rows = rows_between(featured, *week)
    return fraud_metrics(rows.with_columns(pl.Series(SCORE, model.score(rows))), k)


def promote(name: str, log: pl.DataFrame, delay_days: int, k: int, min_improvement: float) -> Decision:
    """Compare challenger and champion on the log's most recent labelled week by average precision; move
    `champion` to the challenger only when it is better by more than `min_improvement`."""
    challenger, challenger_version = load(name, CHALLENGER)
    week = latest_labelled_week(log, delay_days)
    c_metrics: dict[str, Any] = week_metrics(challenger, log, week, k) | {"version": challenger_version}
    champion_version = version_for(name, CHAMPION)
    span = f"{week[0]}..{week[1] - timedelta(days=1)}"
    if champion_version is None:
        _client().set_registered_model_alias(name, CHAMPION, challenger_version)
        ap = c_metrics["average_precision"]
        reason = f"no champion yet: version {challenger_version} becomes champion (AP {ap:.4f} on {span})"
        return Decision(True, reason, week, None, c_metrics)
    if str(champion_version.version) == challenger_version:
        return Decision(False, f"version {challenger_version} is already the champion", week, c_metrics, c_metrics)
    champion, _ = load(name, CHAMPION)
    h_metrics: dict[str, Any] = week_metrics(champion, log, week, k) | {"version": str(champion_version.version)}
    gain = float(c_metrics["average_precision"]) - float(h_metrics["average_precision"])
    versus = (
        f"challenger v{challenger_version} AP {c_metrics['average_precision']:.4f} vs champion "
        f"v{h_metrics['version']} AP {h_metrics['average_precision']:.4f} on {span}"
    )
    if gain > min_improvement:
        _client().set_registered_model_alias(name, CHAMPION, challenger_version)
        return Decision(True, f"promoted: {versus} (+{gain:.4f} > {min_improvement})", week, h_metrics, c_metrics)
    return Decision(
        False, f"kept the champion: {versus} ({gain:+.4f}, needs > {min_improvement})", week, h_metrics, c_metrics
    )

"""Metrics, seeded cross-validation and bootstrap confidence intervals shared by all projects.

Thin, typed wrappers over scikit-learn so every project reports the same metric under the
same name and computes CV the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from sklearn import metrics as skm
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import KFold, StratifiedKFold

from mlshared.console import make_progress

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]
MetricFn = Callable[[Any, Any], float]


def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    return float(skm.root_mean_squared_error(y_true, y_pred))


def regression_metrics(y_true: ArrayLike, y_pred: ArrayLike) -> dict[str, float]:
    """RMSE, MAE, R2 and MAPE, in the units of the inputs."""
    return {
        "rmse": rmse(y_true, y_pred),
        "mae": float(skm.mean_absolute_error(y_true, y_pred)),
        "r2": float(skm.r2_score(y_true, y_pred)),
        "mape": float(skm.mean_absolute_percentage_error(y_true, y_pred)),
    }


def classification_metrics(y_true: ArrayLike, proba: ArrayLike, threshold: float = 0.5) -> dict[str, float]:
    """Ranking (ROC-AUC, PR-AUC), calibration (Brier, log loss) and thresholded metrics."""
    y = np.asarray(y_true).astype(int)
    p = np.asarray(proba, dtype=float)
    label = (p >= threshold).astype(int)
    return {
        "roc_auc": float(skm.roc_auc_score(y, p)),
        "pr_auc": float(skm.average_precision_score(y, p)),
        "brier": float(skm.brier_score_loss(y, p)),
        "log_loss": float(skm.log_loss(y, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1])),
        "accuracy": float(skm.accuracy_score(y, label)),
        "precision": float(skm.precision_score(y, label, zero_division=0)),
        "recall": float(skm.recall_score(y, label, zero_division=0)),
        "f1": float(skm.f1_score(y, label, zero_division=0)),
        "threshold": float(threshold),
    }


def make_cv(n_splits: int = 5, seed: int = 42, stratified: bool = False) -> KFold | StratifiedKFold:
    """The one splitter every project uses: shuffled and seeded, so splits are reproducible."""
    splitter = StratifiedKFold if stratified else KFold
    return splitter(n_splits=n_splits, shuffle=True, random_state=seed)


class _Splitter(Protocol):
    def split(self, X: Any, y: Any = None) -> Any: ...


@dataclass
class CVResult:
    """Out-of-fold predictions and per-fold scores of one model."""

    name: str
    oof: FloatArray
    fold_scores: list[float]
    folds: list[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]] = field(repr=False)
    fit_seconds: float = 0.0

    @property
    def mean(self) -> float:
        return float(np.mean(self.fold_scores))

    @property
    def std(self) -> float:
        return float(np.std(self.fold_scores))


def fold_scores(
    y: ArrayLike, oof: ArrayLike, folds: Sequence[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]], score: MetricFn
) -> list[float]:
    """Per-fold scores of out-of-fold predictions (also used for blends of several models)."""
    y_arr, oof_arr = np.asarray(y), np.asarray(oof)
    return [float(score(y_arr[val], oof_arr[val])) for _, val in folds]


def cross_val_oof(
    name: str,
    estimator: BaseEstimator,
    X: Any,
    y: Any,
    cv: _Splitter,
    score: MetricFn,
    predict: Callable[[Any, Any], FloatArray] | None = None,
    y_score: ArrayLike | None = None,
) -> CVResult:
    """Fit a clone per fold, collect out-of-fold predictions, score each fold, with a progress bar.

    `predict(model, X_val)` defaults to `model.predict`; pass `predict_proba`-based callables for
    classifiers. `y_score` is what the score compares against (defaults to `y`), e.g. log1p(y)
    when the model predicts in price units but the metric is defined on the log scale.
    """
    predict = predict or (lambda model, X_val: np.asarray(model.predict(X_val), dtype=float))
    folds = [(np.asarray(tr), np.asarray(va)) for tr, va in cv.split(X, y)]
    oof = np.full(len(X), np.nan)
    start = time.perf_counter()
    with make_progress(transient=True) as progress:
        task = progress.add_task(f"CV {name}", total=len(folds))
        for train_idx, val_idx in folds:
            model = clone(estimator)
            model.fit(_take(X, train_idx), _take(y, train_idx))
            oof[val_idx] = predict(model, _take(X, val_idx))
            progress.advance(task)
    target = np.asarray(y if y_score is None else y_score)
    return CVResult(name, oof, fold_scores(target, oof, folds, score), folds, time.perf_counter() - start)


def _take(data: Any, idx: npt.NDArray[np.intp]) -> Any:
    return data.iloc[idx] if hasattr(data, "iloc") else np.asarray(data)[idx]


@dataclass(frozen=True)
class ConfidenceInterval:
    value: float
    low: float
    high: float
    level: float

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high, "level": self.level}


def bootstrap_ci(
    metric: MetricFn,
    y_true: ArrayLike,
    y_pred: ArrayLike,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> ConfidenceInterval:
    """Percentile bootstrap interval of a metric over resampled rows (paired y_true / y_pred)."""
    y_arr, p_arr = np.asarray(y_true), np.asarray(y_pred)
    rng = np.random.default_rng(seed)
    n = len(y_arr)
    stats = np.empty(n_resamples)
    for i in range(n_resamples):
        idx = rng.integers(0, n, n)
        stats[i] = metric(y_arr[idx], p_arr[idx])
    alpha = (1 - level) / 2
    low, high = np.quantile(stats, [alpha, 1 - alpha])
    return ConfidenceInterval(float(metric(y_arr, p_arr)), float(low), float(high), level)

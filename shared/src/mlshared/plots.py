"""The standard figures every README embeds, written as PNG files (headless Agg backend).

Built on scikit-learn's display classes so the curves are the library's, not hand-rolled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure
from sklearn.calibration import CalibrationDisplay
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    PrecisionRecallDisplay,
    PredictionErrorDisplay,
    RocCurveDisplay,
)

ArrayLike = npt.ArrayLike
DPI = 110


def save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _prediction_error(
    y_true: ArrayLike, y_pred: ArrayLike, path: Path, title: str, units: str, kind: str, y_label: str
) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4.5) if kind == "residual_vs_predicted" else (5.5, 5))
    PredictionErrorDisplay.from_predictions(y_true, y_pred, kind=kind, ax=ax, scatter_kwargs={"alpha": 0.4, "s": 10})
    ax.set_title(title)
    if units:
        ax.set_xlabel(f"Predicted {units}")
        ax.set_ylabel(f"{y_label} {units}")
    return save(fig, path)


def residuals(y_true: ArrayLike, y_pred: ArrayLike, path: Path, title: str, units: str = "") -> Path:
    return _prediction_error(
        y_true, y_pred, path, title, units, "residual_vs_predicted", "Residual (actual - predicted)"
    )


def predicted_vs_actual(y_true: ArrayLike, y_pred: ArrayLike, path: Path, title: str, units: str = "") -> Path:
    return _prediction_error(y_true, y_pred, path, title, units, "actual_vs_predicted", "Actual")


def roc(y_true: ArrayLike, scores: Mapping[str, ArrayLike], path: Path, title: str = "ROC curve") -> Path:
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, score in scores.items():
        RocCurveDisplay.from_predictions(y_true, score, name=name, ax=ax)
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="chance")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return save(fig, path)


def precision_recall(
    y_true: ArrayLike, scores: Mapping[str, ArrayLike], path: Path, title: str = "Precision-recall curve"
) -> Path:
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, score in scores.items():
        PrecisionRecallDisplay.from_predictions(y_true, score, name=name, ax=ax)
    prevalence = float(np.mean(np.asarray(y_true)))
    ax.axhline(prevalence, linestyle=":", color="grey", label=f"prevalence {prevalence:.3f}")
    ax.set_title(title)
    ax.legend(loc="upper right")
    return save(fig, path)


def confusion_matrix(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    path: Path,
    labels: Sequence[str] | None = None,
    title: str = "Confusion matrix",
) -> Path:
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, display_labels=list(labels) if labels else None, ax=ax, colorbar=False, cmap="Blues"
    )
    ax.set_title(title)
    return save(fig, path)


def calibration(
    y_true: ArrayLike, probas: Mapping[str, ArrayLike], path: Path, n_bins: int = 10, title: str = "Calibration"
) -> Path:
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, proba in probas.items():
        CalibrationDisplay.from_predictions(y_true, proba, n_bins=n_bins, name=name, ax=ax, strategy="quantile")
    ax.set_title(title)
    return save(fig, path)


def importances(
    names: Sequence[str],
    values: ArrayLike,
    path: Path,
    errors: ArrayLike | None = None,
    title: str = "Feature importance",
    xlabel: str = "Importance",
    top: int = 20,
) -> Path:
    """Horizontal bars of the `top` largest values, largest on top."""
    vals = np.asarray(values, dtype=float)
    order = np.argsort(vals)[::-1][:top][::-1]
    err = None if errors is None else np.asarray(errors, dtype=float)[order]
    fig, ax = plt.subplots(figsize=(6.5, 0.28 * len(order) + 1.2))
    ax.barh([names[i] for i in order], vals[order], xerr=err, color="#4C72B0")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return save(fig, path)


def line(
    x: ArrayLike,
    series: Mapping[str, ArrayLike],
    path: Path,
    title: str,
    xlabel: str,
    ylabel: str,
    marker_x: float | None = None,
    marker_label: str | None = None,
) -> Path:
    """Curves over a shared x axis, with an optional vertical marker (e.g. a chosen threshold)."""
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, ys in series.items():
        ax.plot(x, ys, label=name)
    if marker_x is not None:
        ax.axvline(marker_x, linestyle="--", color="crimson", label=marker_label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend()
    ax.grid(alpha=0.3)
    return save(fig, path)

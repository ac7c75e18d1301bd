"""Expected calibration error and the reliability diagram of the top-class confidence.

Written here because scikit-learn's `calibration_curve` / `CalibrationDisplay` bin the probability of one
positive class; the top-class diagram needs the predicted class's probability against whether it was
right, for any number of classes. ECE weighs each equal-width bin's gap by its share of the images.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt

from mlshared import plots


def expected_calibration_error(proba: npt.ArrayLike, y_true: npt.ArrayLike, n_bins: int = 10) -> float:
    """ECE over `n_bins` equal-width confidence bins: sum of |accuracy - confidence| x bin share."""
    p = np.asarray(proba, dtype=float)
    y = np.asarray(y_true)
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def reliability_diagram(proba: npt.ArrayLike, y_true: npt.ArrayLike, path: Path, n_bins: int = 10) -> Path:
    p = np.asarray(proba, dtype=float)
    y = np.asarray(y_true)
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    centres, accuracy, counts = [], [], []
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            centres.append(confidence[mask].mean())
            accuracy.append(correct[mask].mean())
            counts.append(int(mask.sum()))
    ece = expected_calibration_error(p, y, n_bins)
    fig, (ax, hist) = plt.subplots(2, 1, figsize=(5.5, 6), gridspec_kw={"height_ratios": [3, 1]}, sharex=True)
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfect calibration")
    ax.plot(centres, accuracy, marker="o", label=f"model (ECE {ece:.3f})")
    for x, acc, n in zip(centres, accuracy, counts, strict=True):
        ax.annotate(str(n), (x, acc), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
    ax.set(ylabel="Accuracy", title="Reliability of the top-class confidence (test set)", ylim=(0, 1.05))
    ax.legend(loc="upper left")
    hist.hist(confidence, bins=edges, color="#4C72B0")
    hist.set(xlabel="Confidence of the predicted class", ylabel="Images", xlim=(0, 1))
    return plots.save(fig, path)

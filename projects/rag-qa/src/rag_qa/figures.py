"""The evaluation's figures: recall@k per retriever and the abstention precision/recall curve."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from mlshared import plots


def recall_curve(ranks: dict[str, npt.NDArray[np.int_]], max_k: int, path: Path) -> Path:
    import matplotlib.pyplot as plt

    ks = np.arange(1, max_k + 1)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for name, r in ranks.items():
        ax.plot(ks, [np.mean((r >= 1) & (r <= k)) for k in ks], marker="o", markersize=3, label=name)
    ax.set_xlabel("k (distinct paragraphs retrieved)")
    ax.set_ylabel("recall@k")
    ax.set_title("SQuAD v2 dev: is the question's paragraph in the top k?")
    ax.set_xticks([1, 5, 10, 15, 20])
    ax.grid(alpha=0.3)
    ax.legend()
    return plots.save(fig, path)


def abstention_curve(
    risks: dict[str, npt.NDArray[np.float64]], impossible: npt.NDArray[np.bool_], threshold: float, path: Path
) -> Path:
    """Precision/recall of abstaining on unanswerable questions, one curve per signal (higher = abstain);
    the star is the first signal at its calibrated threshold."""
    import matplotlib.pyplot as plt
    from sklearn.metrics import PrecisionRecallDisplay

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for name, risk in risks.items():
        PrecisionRecallDisplay.from_predictions(impossible, risk, ax=ax, name=name)
    first = next(iter(risks.values()))
    abstain = first >= threshold
    if abstain.any() and impossible.any():
        precision = float(np.mean(impossible[abstain]))
        recall = float(np.sum(abstain & impossible) / np.sum(impossible))
        ax.plot([recall], [precision], "r*", markersize=12, label=f"calibrated threshold {threshold:.3f}")
    ax.axhline(float(np.mean(impossible)), color="grey", linestyle=":", label="share unanswerable")
    ax.set_title("Abstention on held-out articles' questions")
    ax.legend(loc="upper right", fontsize=8)
    return plots.save(fig, path)

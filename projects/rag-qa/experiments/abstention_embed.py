"""Does adding MiniLM vectors (the question's, and its product with the best sentence's) to the scalar
abstention features help? Logistic regression fitted on calibration articles, scored on held-out ones."""

from __future__ import annotations

import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from cache_features import OUT

d = np.load(OUT / "abstention_features.npz")
x, y, cal, best = d["x"], d["y"], d["cal"], d["best"]
qv = np.load(OUT / "questions.npy")
sv = np.load(OUT / "sentences.npy")[best]
sets = {
    "scalars": x,
    "scalars+q": np.hstack([x, qv]),
    "scalars+q*s": np.hstack([x, qv * sv]),
    "scalars+q+q*s+s": np.hstack([x, qv, qv * sv, sv]),
}
for name, f in sets.items():
    for c in (0.01, 0.1, 1.0):
        m = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=c)).fit(f[cal], y[cal])
        p = m.predict_proba(f[~cal])[:, 1]
        order = np.argsort(-p)
        tp = np.cumsum(y[~cal][order])
        at = []
        for r in (0.02, 0.05, 0.1, 0.2):
            n = int(np.searchsorted(tp, r * y[~cal].sum())) + 1
            at.append(f"P@R{r}={tp[n - 1] / n:.2f}")
        print(
            f"{name:18s} C={c:<5} AP {average_precision_score(y[~cal], p):.3f} AUC {roc_auc_score(y[~cal], p):.3f} "
            + " ".join(at)
        )

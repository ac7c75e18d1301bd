"""The fallback idea after the answerability cross-encoder lost on its own (docs/experiments.md section 4): does
its probability help as a 15th feature of the logistic regression?

The cross-encoder fine-tuned by the section-4 run (the `rag-qa evaluate` of commit 559ce89, copied to
artifacts/experiments/answerability-model/) has out-of-sample scores only on the 4 inner-validation calibration
articles, so the comparison there is leave-one-article-out: a logistic regression over the cached scalar
features (the 14 of abstention_sweep.py) with and without logit(P(unanswerable)). Only if the feature helps
there (higher average precision) are the held-out articles scored, once, with both fitted on all 4
inner-validation articles. Passages are the cached paragraph of the answerer's best sentence.

Run after cache_features.py and abstention_sweep.py:
PORTFOLIO_DATA_MIRROR=/work/shared/data nice -n 15 .venv/bin/python \
    projects/rag-qa/experiments/abstention_crossencoder_feature.py
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from rag_qa.evaluate import precision_at_recalls, split_articles

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from cache_features import OUT

SEED = 42
MODEL = OUT / "answerability-model"
RECALLS = (0.05, 0.1, 0.2)


def score(questions: list[str], passages: list[str]) -> np.ndarray:
    """P(unanswerable) per pair, batched by length, one torch thread."""
    torch.set_num_threads(1)
    tokenizer = AutoTokenizer.from_pretrained(MODEL)
    model = AutoModelForSequenceClassification.from_pretrained(MODEL).eval()
    order = np.argsort([len(q) + len(p) for q, p in zip(questions, passages, strict=True)])
    out = np.zeros(len(questions))
    with torch.inference_mode():
        for start in range(0, len(order), 32):
            batch = order[start : start + 32]
            enc = tokenizer([questions[i] for i in batch], [passages[i] for i in batch], truncation="only_second",
                            max_length=256, padding=True, return_tensors="pt")  # fmt: skip
            out[batch] = torch.softmax(model(**enc).logits, dim=-1)[:, 1].double().numpy()
    return out


def line(name: str, y: np.ndarray, p: np.ndarray) -> None:
    curve = precision_at_recalls(p, y, RECALLS)
    print(f"{name:40s} AP {average_precision_score(y, p):.3f} AUC {roc_auc_score(y, p):.3f} "
          + " ".join(f"P@R{r}={v:.3f}" for r, v in curve.items() if v is not None), flush=True)  # fmt: skip


def cached_scores(name: str, idx: np.ndarray, questions: list[str], passages: list[str]) -> np.ndarray:
    path = OUT / f"{name}.npy"
    if path.is_file():
        return np.asarray(np.load(path), dtype=np.float64)
    start = time.perf_counter()
    scores = score([questions[i] for i in idx], [passages[i] for i in idx])
    np.save(path, scores)
    print(f"scored {len(idx)} pairs in {time.perf_counter() - start:.0f} s, load {os.getloadavg()}", flush=True)
    return scores


def with_logit(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    return np.hstack([x, np.log(np.clip(p, 1e-6, 1 - 1e-6) / np.clip(1 - p, 1e-6, 1))[:, None]])


def logreg() -> object:
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.1))


def main() -> None:
    meta = json.loads((OUT / "meta.json").read_text())
    d = np.load(OUT / "abstention_features.npz")
    x, y, best = d["x"], d["y"].astype(bool), d["best"]
    questions = [q["text"] for q in meta["questions"]]
    paragraphs = [p["text"] for p in meta["paragraphs"]]
    passages = [paragraphs[meta["sentence_paragraph"][int(b)]] for b in best]
    article = np.array([q["article"] for q in meta["questions"]])
    articles = list(dict.fromkeys(article.tolist()))
    calibration, _ = split_articles(articles, 0.5, SEED)
    _, inner_val = split_articles([a for a in articles if a in calibration], 0.7, SEED)
    va, test = np.isin(article, list(inner_val)), ~np.isin(article, list(calibration))
    p = np.full(len(questions), np.nan)
    p[va] = cached_scores("crossencoder_inner_val", np.flatnonzero(va), questions, passages)
    print("== inner-validation, leave one article out (the decision) ==")
    folds = {"scalars": np.zeros(len(y)), "scalars + cross-encoder": np.zeros(len(y))}
    for a in inner_val:
        fit_on, held = va & (article != a), article == a
        for name, features in (("scalars", x), ("scalars + cross-encoder", with_logit(x, p))):
            model = logreg().fit(features[fit_on], y[fit_on])  # type: ignore[attr-defined]
            folds[name][held] = model.predict_proba(features[held])[:, 1]
    for name, pred in folds.items():
        line(f"logistic regression, {name}", y[va], pred[va])
    line("cross-encoder alone", y[va], p[va])
    base, stacked = (average_precision_score(y[va], folds[k][va]) for k in folds)
    if stacked <= base:
        print("the cross-encoder feature does not help on inner-validation: held-out articles not scored")
    else:
        p[test] = cached_scores("crossencoder_test", np.flatnonzero(test), questions, passages)
        print("== held-out articles (scored once; fitted on the 4 inner-validation articles) ==")
        for name, features in (("scalars", x), ("scalars + cross-encoder", with_logit(x, p))):
            model = logreg().fit(features[va], y[va])  # type: ignore[attr-defined]
            line(f"logistic regression, {name}", y[test], model.predict_proba(features[test])[:, 1])
        line("cross-encoder alone (paragraph passages)", y[test], p[test])
    print(f"load {os.getloadavg()}")


if __name__ == "__main__":
    main()

"""Abstention signals on SQuAD v2 dev: which features separate unanswerable from answerable questions,
fitted on the calibration articles only and scored on the held-out articles (average precision and
precision/recall at the threshold that reaches precision 0.8 on calibration).

Run after retrieval_sweep.py:
PORTFOLIO_DATA_MIRROR=/work/shared/data nice -n 10 .venv/bin/python projects/rag-qa/experiments/abstention_sweep.py
"""

from __future__ import annotations

import json
import math
import sys
from collections import Counter

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from rag_qa.answer import content_words, lexical_overlap
from rag_qa.evaluate import calibrate, split_articles

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from cache_features import OUT
from retrieval_sweep import bm25_matrix, rank_matrix, rrf

NEGATION = {"not", "never", "no", "none", "nobody", "nothing", "neither", "nor", "without", "cannot"}


def main() -> None:
    meta = json.loads((OUT / "meta.json").read_text())
    qv = np.load(OUT / "questions.npy")
    pv = np.load(OUT / "paragraphs.npy")
    sv = np.load(OUT / "sentences.npy")
    texts = [p["text"] for p in meta["paragraphs"]]
    questions = meta["questions"]
    queries = [q["text"] for q in questions]
    titles = [p["source"].rsplit("/", 1)[0].replace("_", " ") for p in meta["paragraphs"]]
    bm = bm25_matrix([f"{t}\n{x}" for t, x in zip(titles, texts, strict=True)], queries, 1.2, 0.9, True)
    dense = qv @ pv.T
    owner = np.asarray(meta["sentence_paragraph"])
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    sims = qv @ sv.T
    sent = np.maximum.reduceat(sims, starts, axis=1)
    rb, rd, rs = rank_matrix(bm), rank_matrix(dense), rank_matrix(sent)
    fused = rrf([rb, rd, rs], [1.0, 0.5, 0.5], 5, (rb <= 50) | (rd <= 50))
    order = np.argsort(-fused, axis=1)[:, :5]
    df = Counter(w for t in texts for w in content_words(t))
    idf = {w: math.log(len(texts) / c) for w, c in df.items()}
    sentences = meta["sentences"]
    rows = []
    best_sentence = []
    for i, q in enumerate(questions):
        top = order[i]
        p = int(top[0])
        words = content_words(q["text"])
        in_top = content_words(texts[p])
        missing = words - in_top
        sent_ids = [j for t in top for j in range(starts[t], starts[t + 1] if t + 1 < len(starts) else len(owner))]
        cos = sims[i, sent_ids]
        ov = np.array([lexical_overlap(q["text"], sentences[j]) for j in sent_ids])
        score = 0.5 * cos + 0.5 * ov
        b = int(np.argmax(score))
        best_sentence.append(sent_ids[b])
        bm_sorted = np.sort(bm[i])[::-1]
        rows.append([
            float(score[b]), float(cos[b]), float(ov[b]), float(cos.max()),
            float(dense[i, p]), float(bm[i, p]), float((bm_sorted[0] - bm_sorted[1]) / (bm_sorted[0] + 1e-6)),
            float(fused[i, top[0]] - fused[i, top[1]]), float(rb[i, p] == 1 and rd[i, p] == 1),
            len(missing) / max(1, len(words)), sum(idf.get(w, math.log(len(texts))) for w in missing),
            max((idf.get(w, math.log(len(texts))) for w in missing), default=0.0),
            float(bool(set(q["text"].lower().replace("n't", " not").split()) & NEGATION)), float(len(words)),
        ])  # fmt: skip
    names = [
        "answer_score", "best_cos", "best_overlap", "max_cos", "top_dense", "top_bm25", "bm25_margin",
        "fused_margin", "agree", "missing_share", "missing_idf", "missing_idf_max", "negation", "n_words",
    ]  # fmt: skip
    x = np.asarray(rows)
    y = np.array([q["impossible"] for q in questions])
    articles = list(dict.fromkeys(q["article"] for q in questions))
    calibration, _ = split_articles(articles, 0.5, 42)
    cal = np.array([q["article"] in calibration for q in questions])
    np.savez(
        OUT / "abstention_features.npz", x=x, y=y, cal=cal, names=np.asarray(names), best=np.asarray(best_sentence)
    )
    print(f"base rate test {y[~cal].mean():.3f}")
    for j, name in enumerate(names):
        auc = roc_auc_score(y[~cal], x[~cal, j])
        print(f"{name:18s} test AUC {auc:.3f} (unanswerable when {'high' if auc > 0.5 else 'low'})")
    models = {
        "logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, C=1.0)),
        "hgb": HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=15, random_state=0),
    }
    for label, model in models.items():
        model.fit(x[cal], y[cal])
        p_cal, p_test = model.predict_proba(x[cal])[:, 1], model.predict_proba(x[~cal])[:, 1]
        print(
            f"{label}: test AP {average_precision_score(y[~cal], p_test):.3f} AUC {roc_auc_score(y[~cal], p_test):.3f}"
        )
        for target in (0.8, 0.7, 0.6):
            thr = -calibrate(-p_cal, y[cal], target)  # abstain when p >= thr
            ab = p_test >= thr
            prec = y[~cal][ab].mean() if ab.any() else float("nan")
            rec = (ab & y[~cal]).sum() / y[~cal].sum()
            print(f"  target {target}: threshold {thr:.3f} test precision {prec:.3f} recall {rec:.3f} n={ab.sum()}")
        # the precision/recall curve on test at fixed recalls
        order_t = np.argsort(-p_test)
        tp = np.cumsum(y[~cal][order_t])
        for rec_target in (0.01, 0.02, 0.05, 0.1, 0.2):
            n = int(np.searchsorted(tp, rec_target * y[~cal].sum())) + 1
            print(f"  test precision at recall {rec_target}: {tp[n - 1] / n:.3f}")
        if label == "logreg":
            print("  coefficients:", dict(zip(names, np.round(model[-1].coef_[0], 3), strict=True)))


if __name__ == "__main__":
    main()

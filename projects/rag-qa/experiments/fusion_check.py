"""Product-faithful check of the two best fusions from retrieval_sweep.py: the sentence vote ranks only the
candidates (union of the two top-50 lists), and a candidate missing from the dense list gets that list's
lowest cosine (Qdrant returns only the top 50). Tuned settings are the calibration winners."""

from __future__ import annotations

import sys

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from cache_features import OUT
from retrieval_sweep import gold_ranks, load, rank_matrix

from rag_qa.evaluate import split_articles

meta, v = load()
keep = np.array([not q["impossible"] for q in meta["questions"]])
qs = [q for q in meta["questions"] if not q["impossible"]]
pos = {p["source"]: i for i, p in enumerate(meta["paragraphs"])}
gold = np.array([pos[q["gold"]] for q in qs])
calibration, _ = split_articles(list(dict.fromkeys(q["article"] for q in meta["questions"])), 0.5, 42)
cal = np.array([q["article"] in calibration for q in qs])
qv = v["questions"][keep]
bm = np.load(OUT / "bm25_best.npy")
dense = qv @ v["paragraphs"].T
owner = np.asarray(meta["sentence_paragraph"])
starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
sent = np.maximum.reduceat(qv @ v["sentences"].T, starts, axis=1)
rb, rd = rank_matrix(bm), rank_matrix(dense)
cand = (rb <= 50) | (rd <= 50)
rs = rank_matrix(np.where(cand, sent, -9.0))  # the vote ranks candidates only


def z(scores, ranks):
    top = np.where(ranks <= 50, scores, np.nan)
    floor = np.nanmin(top, axis=1, keepdims=True)
    seen = np.where(ranks <= 50, scores, floor)  # missing from the list: its lowest score
    m, s = np.nanmean(top, axis=1, keepdims=True), np.nanstd(top, axis=1, keepdims=True) + 1e-6
    return (seen - m) / s


def zc(scores):
    c = np.where(cand, scores, np.nan)
    m, s = np.nanmean(c, axis=1, keepdims=True), np.nanstd(c, axis=1, keepdims=True) + 1e-6
    return (scores - m) / s


def show(name, fused):
    r = gold_ranks(np.where(cand, fused, -1e9), gold)
    print(
        f"{name:50s} cal {np.mean(r[cal] <= 5):.4f} test {np.mean(r[~cal] <= 5):.4f} all {np.mean(r <= 5):.4f} "
        f"r1 {np.mean(r <= 1):.4f} r20 {np.mean(r <= 20):.4f}"
    )


for c, w in ((10, (1, 0.5, 0.5)), (60, (1, 1, 1)), (10, (1, 1, 1)), (20, (1, 0.5, 0.5)), (5, (1, 0.5, 0.5))):
    f = sum(np.where(r <= 50, wi / (c + r), 0) for r, wi in zip((rb, rd, rs), w, strict=True))
    show(f"rrf c={c} w={w}", f)
zs = zc(sent)
for w in ((1, 0.5, 0.5), (1, 0.5, 0.75), (1, 0.75, 0.75), (1, 0.5, 0.0)):
    show(f"zsum list-z w={w}", w[0] * z(bm, rb) + w[1] * z(dense, rd) + w[2] * zs)

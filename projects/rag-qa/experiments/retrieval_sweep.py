"""Retrieval sweep on SQuAD v2 dev (paragraph = document): BM25 parameters, title field, fusion kind and
weights, tuned on the calibration articles' answerable questions only and reported on the held-out
articles and on all. Reads the vectors cached by cache_features.py.

Run: PORTFOLIO_DATA_MIRROR=/work/shared/data nice -n 10 .venv/bin/python projects/rag-qa/experiments/retrieval_sweep.py
"""

from __future__ import annotations

import itertools
import json
import sys

import bm25s
import numpy as np
import Stemmer

from rag_qa.evaluate import split_articles

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from cache_features import OUT

CANDIDATES = 50


def load() -> tuple[dict, dict[str, np.ndarray]]:
    meta = json.loads((OUT / "meta.json").read_text())
    vectors = {
        name: np.load(OUT / f"{name}.npy") for name in ("questions", "paragraphs", "sentences", "paragraphs_titled")
    }
    return meta, vectors


def bm25_matrix(docs: list[str], queries: list[str], k1: float, b: float, stem: bool) -> np.ndarray:
    stemmer = Stemmer.Stemmer("english") if stem else None
    model = bm25s.BM25(k1=k1, b=b)
    model.index(bm25s.tokenize(docs, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)
    tokens = bm25s.tokenize(queries, stopwords="en", stemmer=stemmer, show_progress=False, return_ids=False)
    out = np.zeros((len(queries), len(docs)), dtype=np.float32)
    for i, t in enumerate(tokens):
        if t:
            out[i] = model.get_scores(t)
    return out


def gold_ranks(scores: np.ndarray, gold: np.ndarray) -> np.ndarray:
    g = scores[np.arange(len(gold)), gold]
    return 1 + (scores > g[:, None]).sum(axis=1)


def rank_matrix(scores: np.ndarray) -> np.ndarray:
    order = np.argsort(-scores, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(scores.shape[0])[:, None]
    ranks[rows, order] = np.arange(1, scores.shape[1] + 1)[None, :]
    return ranks


def rrf(ranks: list[np.ndarray], weights: list[float], c: float, candidates: np.ndarray | None) -> np.ndarray:
    total = np.zeros(ranks[0].shape, dtype=np.float64)
    for r, w in zip(ranks, weights, strict=True):
        total += np.where(r <= CANDIDATES, w / (c + r), 0.0)
    if candidates is not None:
        total = np.where(candidates, total, -1.0)
    return total


def zscore_candidates(scores: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Normalise each query's scores by the mean/std of that retriever's own top-50 (what a product sees)."""
    top = np.where(ranks <= CANDIDATES, scores, np.nan)
    mean, std = np.nanmean(top, axis=1, keepdims=True), np.nanstd(top, axis=1, keepdims=True) + 1e-6
    return (scores - mean) / std


def report(name: str, r: np.ndarray, cal: np.ndarray) -> dict[str, float]:
    row = {
        "cal_r5": float(np.mean(r[cal] <= 5)),
        "test_r5": float(np.mean(r[~cal] <= 5)),
        "all_r1": float(np.mean(r <= 1)),
        "all_r5": float(np.mean(r <= 5)),
        "all_r20": float(np.mean(r <= 20)),
    }
    print(f"{name:55s} " + " ".join(f"{k} {v:.4f}" for k, v in row.items()), flush=True)
    return row


def main() -> None:
    meta, v = load()
    qs = [q for q in meta["questions"] if not q["impossible"]]
    keep = np.array([not q["impossible"] for q in meta["questions"]])
    sources = [p["source"] for p in meta["paragraphs"]]
    pos = {s: i for i, s in enumerate(sources)}
    gold = np.array([pos[q["gold"]] for q in qs])
    articles = list(dict.fromkeys(q["article"] for q in meta["questions"]))
    calibration, _ = split_articles(articles, 0.5, 42)
    cal = np.array([q["article"] in calibration for q in qs])
    texts = [p["text"] for p in meta["paragraphs"]]
    titles = [s.rsplit("/", 1)[0].replace("_", " ") for s in sources]
    queries = [q["text"] for q in qs]
    qv = v["questions"][keep]

    dense = qv @ v["paragraphs"].T
    dense_t = qv @ v["paragraphs_titled"].T
    sims = qv @ v["sentences"].T
    owner = np.asarray(meta["sentence_paragraph"])
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    sent = np.maximum.reduceat(sims, starts, axis=1)
    del sims
    report("dense paragraph", gold_ranks(dense, gold), cal)
    chunk_file = OUT / "chunks_800.npz"
    if not chunk_file.is_file():
        from qdrant_client import QdrantClient

        client = QdrantClient(path=str(OUT.parent / "full" / "squad-index" / "6b9ab2b2da7c" / "qdrant"))
        vecs, srcs, offset = [], [], None
        while True:
            points, offset = client.scroll("squad", limit=1000, offset=offset, with_payload=True, with_vectors=True)
            for point in points:
                vecs.append(point.vector)
                srcs.append(point.payload["metadata"]["source"])
            if offset is None:
                break
        client.close()
        np.savez(chunk_file, vectors=np.asarray(vecs, dtype=np.float32), sources=np.asarray(srcs))
    chunks = np.load(chunk_file)
    cpos = np.array([pos[str(s)] for s in chunks["sources"]])
    csims = qv @ chunks["vectors"].T
    dense_chunk = np.full(dense.shape, -1.0, dtype=np.float32)
    for j in range(len(cpos)):
        dense_chunk[:, cpos[j]] = np.maximum(dense_chunk[:, cpos[j]], csims[:, j])
    del csims
    report("dense chunk-max (800-char chunks)", gold_ranks(dense_chunk, gold), cal)
    report("dense paragraph + title", gold_ranks(dense_t, gold), cal)
    report("sentence max cosine", gold_ranks(sent, gold), cal)

    bm = {}
    for k1, b, stem, titled in itertools.product((0.9, 1.2, 1.5), (0.5, 0.75, 0.9), (True,), (False, True)):
        docs = [f"{t}\n{x}" for t, x in zip(titles, texts, strict=True)] if titled else texts
        m = bm25_matrix(docs, queries, k1, b, stem)
        bm[(k1, b, titled)] = m
        report(f"bm25 k1={k1} b={b} titled={titled}", gold_ranks(m, gold), cal)
    report("bm25 default unstemmed", gold_ranks(bm25_matrix(texts, queries, 1.5, 0.75, False), gold), cal)

    # choose BM25 params on calibration
    best_bm = max(bm, key=lambda key: np.mean(gold_ranks(bm[key][cal], gold[cal]) <= 5))
    print("best bm25 on calibration:", best_bm)
    np.save(OUT / "bm25_best.npy", bm[best_bm])
    (OUT / "bm25_best.json").write_text(json.dumps({"k1": best_bm[0], "b": best_bm[1], "titled": best_bm[2]}))

    results = []
    for bm_key in {best_bm, (1.5, 0.75, False)}:
        bscores = bm[bm_key]
        for dname, dscores in (("dense", dense), ("dense+title", dense_t), ("dense chunk800", dense_chunk)):
            rb, rd, rs = rank_matrix(bscores), rank_matrix(dscores), rank_matrix(sent)
            candidates = (rb <= CANDIDATES) | (rd <= CANDIDATES)
            for c, wb, wd, ws in itertools.product((10, 30, 60), (1.0, 1.5, 2.0), (0.5, 1.0), (0.0, 0.5, 1.0, 1.5)):
                fused = rrf([rb, rd, rs], [wb, wd, ws], c, candidates)
                r = gold_ranks(fused, gold)
                row = {"kind": "rrf", "bm25": bm_key, "dense": dname, "c": c, "w": (wb, wd, ws)}
                row |= {"cal_r5": float(np.mean(r[cal] <= 5)), "test_r5": float(np.mean(r[~cal] <= 5)),
                        "all_r5": float(np.mean(r <= 5)), "all_r1": float(np.mean(r <= 1))}  # fmt: skip
                results.append(row)
            zb, zd = zscore_candidates(bscores, rb), zscore_candidates(dscores, rd)
            zs = zscore_candidates(sent, rs)
            for wb, wd, ws in itertools.product((1.0,), (0.0, 0.25, 0.5, 0.75, 1.0), (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)):
                fused = np.where(candidates, wb * zb + wd * zd + ws * zs, -1e9)
                r = gold_ranks(fused, gold)
                row = {"kind": "zsum", "bm25": bm_key, "dense": dname, "c": 0, "w": (wb, wd, ws)}
                row |= {"cal_r5": float(np.mean(r[cal] <= 5)), "test_r5": float(np.mean(r[~cal] <= 5)),
                        "all_r5": float(np.mean(r <= 5)), "all_r1": float(np.mean(r <= 1))}  # fmt: skip
                results.append(row)
    results.sort(key=lambda row: -row["cal_r5"])
    for row in results[:25]:
        print(row)
    for kind in ("rrf", "zsum"):
        print("best", kind, next(r for r in results if r["kind"] == kind))
    (OUT / "fusion_sweep.json").write_text(json.dumps(results, default=str))


if __name__ == "__main__":
    main()

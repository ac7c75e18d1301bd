"""`rag-qa evaluate`: retrieval, answer, abstention, faithfulness and latency on a SQuAD v2-format file.

The file's paragraphs become a fresh index (persisted per file, so a re-run embeds nothing new), a
question's gold is its own paragraph, and rankings are compared at paragraph level (a paragraph
longer than one chunk counts once, at its best chunk). BM25-only and dense-only rankings are the
two candidate lists the fusion itself reads, so the ablation costs no extra search.

Abstention is calibrated without touching the test questions: the articles are shuffled (seeded)
and split; the threshold is the lowest confidence cut that reaches the target abstention precision
on the calibration articles' questions, and precision/recall are reported on the other articles'.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mlshared import tracking
from mlshared.console import console, track
from mlshared.paths import OutputDirs
from mlshared.reports import MetricsReport, PrimaryMetric, ResultsTable, fmt, git_commit, write_report
from rag_qa import abstention as abstention_model
from rag_qa import figures
from rag_qa.answer import ExtractiveAnswerer, normalize, supported, token_f1
from rag_qa.config import Config
from rag_qa.documents import split
from rag_qa.embeddings import embeddings
from rag_qa.retrieval import Hit, HybridRetriever
from rag_qa.squad import Question, SquadSet, load_squad
from rag_qa.store import Index

SCOPING = "issue 15 scoping run on the same 1,383 paragraphs (BM25 0.897, MiniLM dense 0.862, RRF 0.927)"
LATENCY_SAMPLE = 300
CURVE_K = 20
CURVE_RECALLS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)


@dataclass
class Rankings:
    """Per question, the gold paragraph's 1-based rank in each ranking (0 = not among the candidates)."""

    fused: npt.NDArray[np.int_]
    reranked: npt.NDArray[np.int_]
    bm25: npt.NDArray[np.int_]
    dense: npt.NDArray[np.int_]


def distinct_sources(hits: Sequence[Hit], key: str | None = None) -> list[str]:
    """Paragraph-level ranking from chunk hits, optionally ordered by one retriever's rank alone."""
    if key is not None:
        hits = sorted((h for h in hits if getattr(h, key) is not None), key=lambda h: getattr(h, key))
    return list(dict.fromkeys(h.chunk.source for h in hits))


def gold_rank(ranking: list[str], gold: str) -> int:
    return ranking.index(gold) + 1 if gold in ranking else 0


def recall_at(ranks: npt.NDArray[np.int_], k: int) -> float:
    return float(np.mean((ranks >= 1) & (ranks <= k)))


def mrr(ranks: npt.NDArray[np.int_]) -> float:
    return float(np.mean(np.where(ranks > 0, 1.0 / np.maximum(ranks, 1), 0.0)))


def squad_index_dir(work: Path, path: Path, max_articles: int | None) -> Path:
    """One persisted index per evaluation file (and article limit), so re-runs only re-embed what changed."""
    key = hashlib.sha256(f"{path.resolve()}:{path.stat().st_size}:{max_articles}".encode()).hexdigest()[:12]
    return work / "squad-index" / key


def build_squad_index(config: Config, squad: SquadSet, directory: Path) -> Index:
    chunks = split(squad.paragraphs, config.splitter.chunk_size, config.splitter.chunk_overlap)
    index = Index(
        directory, "squad", embeddings(config.embeddings.model, config.embeddings.batch_size, config.embeddings.threads)
    )
    with console.status(f"Indexing {len(squad.paragraphs)} paragraphs ({len(chunks)} chunks)"):
        result = index.ingest(chunks, cleanup="full")
    console.print(
        f"Index: {result['num_added']} chunks embedded, {result['num_skipped']} unchanged, "
        f"{result['num_deleted']} removed"
    )
    return index


def split_articles(articles: list[str], fraction: float, seed: int) -> tuple[set[str], set[str]]:
    order = list(articles)
    np.random.default_rng(seed).shuffle(order)
    n = max(1, round(len(order) * fraction))
    return set(order[:n]), set(order[n:])


def calibrate(confidence: npt.NDArray[np.float64], impossible: npt.NDArray[np.bool_], target: float) -> float:
    """The highest abstention threshold (most abstentions) whose abstention precision reaches `target`;
    the threshold of the best precision when none does. Abstain when confidence < threshold."""
    from sklearn.metrics import precision_recall_curve

    precision, _, thresholds = precision_recall_curve(impossible, -confidence)
    # thresholds are on -confidence ascending; precision[i] belongs to "abstain when -confidence >= thresholds[i]"
    ok = np.flatnonzero(precision[:-1] >= target)
    i = int(ok[0]) if ok.size else int(np.argmax(precision[:-1]))
    return float(-thresholds[i]) + 1e-9


def abstention_scores(
    confidence: npt.NDArray[np.float64], impossible: npt.NDArray[np.bool_], threshold: float
) -> dict[str, float | None]:
    """Precision and recall of abstaining on unanswerable questions (None where undefined), and the share of
    answerable questions wrongly abstained on."""
    abstain = confidence < threshold
    true_pos = int(np.sum(abstain & impossible))
    return {
        "precision": true_pos / int(abstain.sum()) if abstain.any() else None,
        "recall": true_pos / int(impossible.sum()) if impossible.any() else None,
        "abstained_answerable": float(np.mean(abstain[~impossible])) if (~impossible).any() else None,
        "questions": len(confidence),
    }


def evaluate(config: Config, profile: str, outputs: OutputDirs, squad_path: Path | None = None) -> MetricsReport:
    outputs.ensure()
    squad = load_squad(squad_path or config.evaluate.squad, config.evaluate.max_articles)
    path = squad_path or config.evaluate.squad
    from rag_qa.squad import default_file

    source_file = Path(path) if path else default_file()
    console.print(
        f"SQuAD file {source_file.name}: {len(squad.articles)} articles, {len(squad.paragraphs)} paragraphs, "
        f"{len(squad.answerable)} answerable + {len(squad.unanswerable)} unanswerable questions"
    )
    index = build_squad_index(config, squad, squad_index_dir(outputs.work, source_file, config.evaluate.max_articles))
    try:
        return _evaluate(config, profile, outputs, squad, index, source_file)
    finally:
        index.close()


def _evaluate(
    config: Config, profile: str, outputs: OutputDirs, squad: SquadSet, index: Index, source_file: Path
) -> MetricsReport:
    retriever = HybridRetriever(index, config.retrieval)
    # No abstention model while measuring: the one fitted below from these answers' evidence replaces it.
    answerer = ExtractiveAnswerer(retriever, config.answer.max_sentences, config.answer.min_confidence)
    questions = squad.questions
    with console.status(f"Embedding {len(questions)} questions"):
        vectors = retriever.embed([q.text for q in questions])
    k_answer = config.retrieval.k
    # The fused lists are ranked without the reranker here; its vote is added to copies, so one pass
    # measures the hybrid with and without it and the answerer reads the configured one.
    base = HybridRetriever(index, config.retrieval.model_copy(update={"rerank": False}))
    fused, reranked, bm25, dense = [], [], [], []
    confidence: list[float] = []
    evidence: list[list[float]] = []
    answer_rows: list[dict[str, float]] = []
    for q, vector in zip(track(questions, "Retrieving and answering"), vectors, strict=True):
        plain = base.search_vector(q.text, vector, k=config.retrieval.candidates)
        with_rerank = retriever.rerank(q.text, vector, [copy.copy(h) for h in plain])
        hits = with_rerank if config.retrieval.rerank else plain
        fused.append(gold_rank(distinct_sources(plain), q.gold_source))
        reranked.append(gold_rank(distinct_sources(with_rerank), q.gold_source))
        bm25.append(gold_rank(distinct_sources(hits, "bm25_rank"), q.gold_source))
        dense.append(gold_rank(distinct_sources(hits, "dense_rank"), q.gold_source))
        answer = answerer.answer_from_hits(q.text, vector, hits[:k_answer])
        confidence.append(answer.confidence)
        evidence.append(answer.evidence)
        if not q.impossible:
            answer_rows.append(_answer_quality(q, answer.sentences, [c.text for c in answer.citations]))
    answerable = np.array([not q.impossible for q in questions])
    ranks = Rankings(*(np.asarray(r)[answerable] for r in (fused, reranked, bm25, dense)))
    retrieval = _retrieval_metrics(ranks, config.evaluate.recall_at)
    latency = _latency(retriever, [q.text for q in questions], config.seed)
    abstention = _abstention(config, squad, np.asarray(confidence), np.asarray(evidence), outputs)
    answers = {key: float(np.mean([row[key] for row in answer_rows])) for key in answer_rows[0]} if answer_rows else {}
    curve_path = figures.recall_curve(
        {name: getattr(ranks, name) for name in ("bm25", "dense", "fused", "reranked")},
        CURVE_K,
        outputs.figures / "recall_at_k.png",
    )
    primary = "reranked" if config.retrieval.rerank else "fused"
    metrics: dict[str, Any] = {
        "dataset": {
            "file": source_file.name,
            "articles": len(squad.articles),
            "paragraphs": len(squad.paragraphs),
            "chunks": index.count(),
            "answerable": int(answerable.sum()),
            "unanswerable": int((~answerable).sum()),
        },
        "retrieval": retrieval,
        "answers": answers,
        "abstention": abstention,
        "latency_ms": latency,
        "settings": {"fusion": "weighted RRF", **config.retrieval.model_dump(), "answer": config.answer.model_dump()},
    }
    report = MetricsReport(
        project="rag-qa",
        profile=profile,
        primary=PrimaryMetric(
            name="recall_at_5",
            value=retrieval[primary]["recall_at_5"],
            higher_is_better=True,
            published_baseline=0.927,
            baseline_source=SCOPING + "; target 0.95",
            description="Share of SQuAD v2 dev answerable questions whose own paragraph is among the first 5 "
            "distinct paragraphs retrieved from all paragraphs (no training on the evaluation articles).",
        ),
        metrics=metrics,
        table=_table(retrieval, answers, abstention, latency),
        data_fingerprint=hashlib.sha256(source_file.read_bytes()).hexdigest()[:12],
        git_commit=git_commit(outputs.root),
    )
    write_report(report, outputs.metrics)
    _track(config, profile, metrics, [curve_path, outputs.figures / "abstention.png"])
    r = retrieval[primary]
    console.print(
        f"[green]recall@5 {r['recall_at_5']:.4f}[/] (recall@1 {r['recall_at_1']:.4f}, "
        f"recall@20 {r['recall_at_20']:.4f}, "
        f"MRR {r['mrr']:.4f}); latency p95 {latency['p95']:.1f} ms. Wrote {outputs.metrics}"
    )
    return report


def _answer_quality(question: Question, sentences: list[str], contexts: list[str]) -> dict[str, float]:
    text = " ".join(sentences)
    golds = [a for a in question.answers if a.strip()] or [""]
    context = " ".join(contexts)
    return {
        "gold_in_answer": float(any(normalize(g) in normalize(text) for g in golds)),
        "token_f1": max(token_f1(text, g) for g in golds),
        "exact_match": float(any(normalize(text) == normalize(g) for g in golds)),
        "faithfulness": float(np.mean([supported(s, context) for s in sentences])) if sentences else 1.0,
    }


def _retrieval_metrics(ranks: Rankings, ks: list[int]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name in ("bm25", "dense", "fused", "reranked"):
        r = getattr(ranks, name)
        out[name] = {**{f"recall_at_{k}": recall_at(r, k) for k in ks}, "mrr": mrr(r)}
    return out


def _latency(retriever: HybridRetriever, questions: list[str], seed: int) -> dict[str, float]:
    """End-to-end retrieval time of one query (embedding, BM25, Qdrant, fusion) on a seeded sample."""
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(questions), size=min(LATENCY_SAMPLE, len(questions)), replace=False)
    timings = []
    for i in sample:
        start = time.perf_counter()
        retriever.search(questions[int(i)])
        timings.append((time.perf_counter() - start) * 1000)
    return {
        "p50": float(np.percentile(timings, 50)),
        "p95": float(np.percentile(timings, 95)),
        "queries": len(timings),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def _abstention(
    config: Config,
    squad: SquadSet,
    confidence: npt.NDArray[np.float64],
    evidence: npt.NDArray[np.float64],
    outputs: OutputDirs,
) -> dict[str, Any]:
    """Fit the abstention model on the calibration articles, pick its threshold there, test it on the rest;
    the best sentence's score alone (the fallback signal) is calibrated and reported beside it."""
    from sklearn.metrics import roc_auc_score

    calibration, test = split_articles(squad.articles, config.evaluate.calibration_fraction, config.seed)
    impossible = np.array([q.impossible for q in squad.questions])
    in_cal = np.array([q.article in calibration for q in squad.questions])
    target = config.evaluate.target_precision
    model = abstention_model.fit(evidence[in_cal], impossible[in_cal], config.seed)
    risk = model.probability(evidence)  # abstain when risk >= threshold, i.e. when -risk < -threshold
    cut = calibrate(-risk[in_cal], impossible[in_cal], target)
    model = dataclasses.replace(
        model,
        threshold=-cut,
        target_precision=target,
        fitted_on=f"{len(calibration)} calibration articles of {source_label(config)}",
    )
    model_path = model.save(outputs.models / abstention_model.FILE_NAME)
    baseline_cut = calibrate(confidence[in_cal], impossible[in_cal], target)
    figures.abstention_curve(
        {"abstention model": risk[~in_cal], "best sentence score (baseline)": -confidence[~in_cal]},
        impossible[~in_cal],
        float(-cut),
        outputs.figures / "abstention.png",
    )
    held_out = impossible[~in_cal]
    return {
        "signal": "logistic regression over abstention.FEATURES, fitted on the calibration articles",
        "model_file": model_path.name,
        "threshold": model.threshold,
        "target_precision": target,
        "calibration_articles": len(calibration),
        "test_articles": len(test),
        "calibration": abstention_scores(-risk[in_cal], impossible[in_cal], cut),
        "test": abstention_scores(-risk[~in_cal], held_out, cut),
        "test_curve": precision_at_recalls(risk[~in_cal], held_out, CURVE_RECALLS),
        "test_roc_auc": float(roc_auc_score(held_out, risk[~in_cal])) if 0 < held_out.sum() < held_out.size else None,
        "baseline": {
            "signal": "best sentence score below a threshold",
            "threshold": baseline_cut,
            "test": abstention_scores(confidence[~in_cal], held_out, baseline_cut),
            "test_curve": precision_at_recalls(-confidence[~in_cal], held_out, CURVE_RECALLS),
            "test_roc_auc": float(roc_auc_score(held_out, -confidence[~in_cal]))
            if 0 < held_out.sum() < held_out.size
            else None,
        },
        "base_rate_unanswerable": float(held_out.mean()) if (~in_cal).any() else None,
    }


def precision_at_recalls(
    risk: npt.NDArray[np.float64], unanswerable: npt.NDArray[np.bool_], recalls: Sequence[float]
) -> dict[str, float | None]:
    """Abstention precision when abstaining on the riskiest questions until each recall is reached."""
    total = int(unanswerable.sum())
    if not total:
        return {f"{r:g}": None for r in recalls}
    found = np.cumsum(unanswerable[np.argsort(-risk, kind="stable")])
    out: dict[str, float | None] = {}
    for r in recalls:
        n = int(np.searchsorted(found, r * total)) + 1
        out[f"{r:g}"] = float(found[min(n, len(found)) - 1] / min(n, len(found)))
    return out


def source_label(config: Config) -> str:
    return str(config.evaluate.squad) if config.evaluate.squad else "SQuAD v2.0 dev"


def _table(
    retrieval: dict[str, dict[str, float]],
    answers: dict[str, float],
    abstention: dict[str, Any],
    latency: dict[str, float],
) -> ResultsTable:
    rows = [
        [name, *(fmt(retrieval[key][m]) for m in ("recall_at_1", "recall_at_5", "recall_at_20", "mrr"))]
        for name, key in (
            ("BM25 (bm25s, stemmed)", "bm25"),
            ("Dense (MiniLM, Qdrant)", "dense"),
            ("Hybrid (RRF of BM25 + dense)", "fused"),
            ("Hybrid + sentence-level rerank", "reranked"),
        )
    ]
    test, baseline = abstention["test"], abstention["baseline"]
    caption = (
        "Extractive answers (answerable questions): gold answer inside the answer "
        f"{fmt(answers.get('gold_in_answer'))}, "
        f"token F1 {fmt(answers.get('token_f1'))}, exact match {fmt(answers.get('exact_match'))}, "
        f"faithfulness {fmt(answers.get('faithfulness'))}. Abstention on the {abstention['test_articles']} held-out "
        f"articles (base rate {fmt(abstention['base_rate_unanswerable'])}): the abstention model at "
        f"P(unanswerable) >= {abstention['threshold']:.3f} (calibrated for precision "
        f"{abstention['target_precision']}) has precision {fmt(test['precision'])}, recall {fmt(test['recall'])}, "
        f"ROC AUC {fmt(abstention['test_roc_auc'])}; precision at recall 0.05 / 0.1 / 0.2: "
        + " / ".join(fmt(abstention["test_curve"][r]) for r in ("0.05", "0.1", "0.2"))
        + f" (best-sentence-score baseline: ROC AUC {fmt(baseline['test_roc_auc'])}, "
        + " / ".join(fmt(baseline["test_curve"][r]) for r in ("0.05", "0.1", "0.2"))
        + f"). Retrieval latency inside this run p50 {latency['p50']:.1f} ms, p95 {latency['p95']:.1f} ms"
        + (f" at load {latency['load_average_1min']}" if "load_average_1min" in latency else "")
        + " (`rag-qa bench` is the latency measurement)."
    )
    return ResultsTable(columns=["retriever", "recall@1", "recall@5", "recall@20", "MRR"], rows=rows, caption=caption)


def _track(config: Config, profile: str, metrics: dict[str, Any], paths: list[Path]) -> None:
    with tracking.tracked_run(
        config.tracking.experiment,
        f"evaluate-{profile}",
        params=config.model_dump(mode="json"),
        tags={"profile": profile},
    ):
        tracking.log_metrics({k: v for k, v in metrics.items() if k != "settings"})
        tracking.log_artifacts([p for p in paths if p.is_file()], artifact_path="figures")

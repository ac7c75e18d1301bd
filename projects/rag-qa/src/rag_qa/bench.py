"""`rag-qa bench`: retrieval latency per stage (query embedding, Qdrant, bm25s, fusion, sentence rerank) on the
SQuAD evaluation index and on a larger index of real text, into reports/bench.json and the README.

The larger corpus is real text only: the SQuAD v2 dev paragraphs (so the questions keep their gold
passage and recall@5 can be measured among the distractors) plus SST-2 sentences (the `sst2` dataset:
60,614 movie-review sentences of GLUE SST-2 train and 872 of its dev set), each one chunk, up to
`--chunks`. Together they hold about 63k chunks; asking for more says so and stops at what exists.
Building starts from a copy of the SQuAD evaluation index (already embedded) and embeds each SST-2
sentence once with MiniLM (the rate is measured and reported: on a shared 2-core CPU it is the slow
part); the index persists under artifacts/, so a re-run only times queries.
Machine load (`os.getloadavg`) is recorded before and after, since latency on a shared machine
depends on it.
"""

from __future__ import annotations

import csv
import os
import platform
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.documents import Document

from mlshared.console import console, track
from mlshared.datasets import resolve_file
from mlshared.paths import OutputDirs
from mlshared.reports import ResultsTable, fmt, git_commit, markdown_table, read_json_report
from rag_qa.config import Config
from rag_qa.documents import split
from rag_qa.embeddings import embeddings
from rag_qa.evaluate import build_squad_index, squad_index_dir
from rag_qa.retrieval import HybridRetriever
from rag_qa.squad import Question, default_file, load_squad
from rag_qa.store import Index

SST2_FILES = ("train.tsv", "test.tsv")
BATCH = 2000
STAGES = ("embed", "dense", "bm25", "fuse", "rerank")


def sst2_sentences() -> list[str]:
    """SST-2's sentences (train, then the GLUE dev set), deduplicated, in file order."""
    found: dict[str, None] = {}
    for name in SST2_FILES:
        with resolve_file("sst2", name).open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
                text = " ".join(str(row["sentence"]).split())
                if text:
                    found.setdefault(text, None)
    return list(found)


def bench_corpus(config: Config, squad_chunks: list[Document], chunks: int) -> tuple[list[Document], str]:
    """SQuAD chunks + as many SST-2 sentences as make up `chunks` (or all there are), and a description."""
    extra = max(0, chunks - len(squad_chunks))
    sentences = sst2_sentences()[:extra]
    docs = list(squad_chunks) + [
        Document(page_content=text, metadata={"source": f"sst2/{i:05d}", "chunk": 0, "chunk_id": f"sst2/{i:05d}#0"})
        for i, text in enumerate(sentences)
    ]
    if len(docs) < chunks:
        console.print(
            f"[yellow]Only {len(docs):,} real chunks exist in this corpus[/] (SQuAD v2 dev + SST-2); "
            f"benchmarking {len(docs):,} instead of {chunks:,}."
        )
    what = (
        f"{len(squad_chunks):,} SQuAD v2 dev chunks ({config.splitter.chunk_size}-character splitter) + "
        f"{len(sentences):,} SST-2 sentences (GLUE SST-2 train/dev, one chunk each)"
    )
    return docs, what


def build(index: Index, docs: list[Document]) -> dict[str, float]:
    """Ingest in batches with a progress bar; returns how many chunks were embedded and how fast."""
    if not docs:
        return {"embedded_now": 0, "seconds": 0.0, "chunks_per_s": float("nan")}
    start, added = time.perf_counter(), 0
    for i in track(range(0, len(docs), BATCH), f"Indexing {len(docs):,} chunks"):
        added += index.ingest(docs[i : i + BATCH], cleanup="incremental")["num_added"]
    seconds = time.perf_counter() - start
    return {"embedded_now": added, "seconds": seconds, "chunks_per_s": added / seconds if added else float("nan")}


def previous_build(path: Path, chunks: int) -> dict[str, Any]:
    """How the persisted large index was built, from the report of the run that built it (a re-run embeds
    nothing, and the build rate is worth keeping); empty when unknown."""
    old = read_json_report(path)
    if old is None:
        return {}
    large = old.get("large", {})
    if large.get("chunks") != chunks or not large.get("build", {}).get("embedded_now"):
        return {}
    return {"first_build": {**large["build"], "generated": old.get("generated")}}


def time_queries(retriever: HybridRetriever, questions: list[Question], k: int) -> dict[str, Any]:
    """Per-query total and per-stage milliseconds, and recall@k of the gold paragraph (source match)."""
    retriever.search(questions[0].text)  # warm-up: first call loads lazy parts of torch and Qdrant
    totals, found = [], []
    per_stage: dict[str, list[float]] = {s: [] for s in STAGES}
    for q in track(questions, "Timing queries"):
        result = retriever.search(q.text, k=k)
        totals.append(result.seconds * 1000)
        for stage in STAGES:
            per_stage[stage].append(result.stages.get(stage, 0.0) * 1000)
        found.append(any(h.chunk.source == q.gold_source for h in result.hits))
    return {
        "queries": len(questions),
        "p50_ms": float(np.percentile(totals, 50)),
        "p95_ms": float(np.percentile(totals, 95)),
        "stages_ms": {
            s: {"p50": float(np.percentile(v, 50)), "p95": float(np.percentile(v, 95))} for s, v in per_stage.items()
        },
        f"recall_at_{k}": float(np.mean(found)),
    }


def run_bench(config: Config, outputs: OutputDirs, chunks: int, queries: int) -> dict[str, Any]:
    import torch

    outputs.ensure()
    load_before = os.getloadavg()
    squad = load_squad(config.evaluate.squad, config.evaluate.max_articles)
    rng = np.random.default_rng(config.seed)
    answerable = squad.answerable
    sample = [answerable[int(i)] for i in rng.choice(len(answerable), min(queries, len(answerable)), replace=False)]
    k = config.retrieval.k
    results: dict[str, Any] = {}

    source_file = Path(config.evaluate.squad) if config.evaluate.squad else default_file()
    squad_dir = squad_index_dir(outputs.work, source_file, config.evaluate.max_articles)
    squad_index = build_squad_index(config, squad, squad_dir)
    try:
        retriever = HybridRetriever(squad_index, config.retrieval)
        results["squad"] = {
            "corpus": f"SQuAD v2 dev paragraphs ({squad_index.count():,} chunks), the evaluation index",
            "chunks": squad_index.count(),
            **time_queries(retriever, sample, k),
        }
    finally:
        squad_index.close()

    squad_chunks = split(squad.paragraphs, config.splitter.chunk_size, config.splitter.chunk_overlap)
    docs, what = bench_corpus(config, squad_chunks, chunks)
    large_dir = outputs.work / "bench-index" / str(len(docs))
    if not large_dir.exists():  # start from a copy of the SQuAD index: its chunks and sentences are embedded
        shutil.copytree(squad_dir, large_dir, ignore=shutil.ignore_patterns(".lock"))
    index = Index(
        large_dir, "squad", embeddings(config.embeddings.model, config.embeddings.batch_size, config.embeddings.threads)
    )
    try:
        todo = [] if index.count() == len(docs) else docs[len(squad_chunks) :]  # built by an earlier run
        building = build(index, todo) | previous_build(outputs.reports / "bench.json", len(docs))
        start = time.perf_counter()
        retriever = HybridRetriever(index, config.retrieval)
        results["large"] = {
            "corpus": what,
            "chunks": index.count(),
            "build": building,
            "retriever_load_s": time.perf_counter() - start,
            **time_queries(retriever, sample, k),
        }
    finally:
        index.close()
    report = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(outputs.root),
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "requested_chunks": chunks,
        "queries": "SQuAD v2 dev answerable questions, seeded sample",
        **results,
    }
    import json

    path = outputs.reports / "bench.json"
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    console.print(
        f"[green]Wrote[/] {path}: p95 {results['squad']['p95_ms']:.1f} ms on {results['squad']['chunks']:,} chunks, "
        f"{results['large']['p95_ms']:.1f} ms on {results['large']['chunks']:,} chunks"
    )
    return report


def bench_markdown(report: dict[str, Any]) -> str:
    """The README's table from reports/bench.json."""
    machine = report["machine"]
    columns = ["index", "chunks", "p50 ms", "p95 ms", "embed p95", "dense p95", "bm25s p95", "fuse p95", "rerank p95",
               "recall@5"]  # fmt: skip
    rows = []
    for key in ("squad", "large"):
        r = report[key]
        stages = [f"{r['stages_ms'][s]['p95']:.1f}" for s in STAGES]
        rows.append([r["corpus"], f"{r['chunks']:,}", f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}", *stages,
                     fmt(r.get("recall_at_5"))])  # fmt: skip
    build = report["large"]["build"]
    first = build.get("first_build")
    if build["embedded_now"]:
        built = f"Building the large index embedded {build['embedded_now']:,} chunks at {build['chunks_per_s']:.0f}/s."
    elif first:
        built = (
            f"The large index was built by an earlier run ({first['generated']}: {first['embedded_now']:,} chunks "
            f"embedded at {first['chunks_per_s']:.0f}/s, {first['seconds'] / 60:.0f} min); this run only timed queries."
        )
    else:
        built = "The large index was already built (persisted under artifacts/); only queries were timed."
    lo, hi = machine["load_average_before"][0], machine["load_average_after"][0]
    loaded = " (loaded)" if max(lo, hi) > 4 else ""
    caption = (
        f"{report['large']['queries']} queries (SQuAD v2 dev answerable questions, seeded) per index, "
        f"one at a time, {machine['cpus']} CPUs, torch threads {machine['torch_threads']}; 1-minute load "
        f"average {lo} before and {hi} after{loaded}. {built} Requested {report['requested_chunks']:,} chunks. "
        f"_Generated {report['generated']} by `rag-qa bench`, commit `{report['git_commit']}`._"
    )
    return markdown_table(ResultsTable(columns=columns, rows=rows, caption=caption))

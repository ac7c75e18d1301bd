"""The bench's corpus (real SST-2 sentences after the SQuAD chunks, capped at what exists) and its README table."""

from __future__ import annotations

import json
from pathlib import Path

from langchain_core.documents import Document

from rag_qa.bench import STAGES, bench_corpus, bench_markdown, previous_build, sst2_sentences
from rag_qa.config import Config


def test_corpus_is_squad_then_real_sst2_sentences(config: Config) -> None:
    squad = [Document(page_content="Paris is in France.", metadata={"source": "T/000"})]
    docs, what = bench_corpus(config, squad, 4)
    assert docs[0] is squad[0] and len(docs) == 4
    assert [d.metadata["source"] for d in docs[1:]] == ["sst2/00000", "sst2/00001", "sst2/00002"]
    assert docs[1].page_content == sst2_sentences()[0] and "SST-2" in what


def test_asking_for_more_than_exists_stops_at_what_exists(config: Config) -> None:
    available = len(sst2_sentences())
    assert 60_000 < available < 62_000  # GLUE SST-2 train subset + dev, deduplicated
    docs, _ = bench_corpus(config, [], available + 10)
    assert len(docs) == available


def test_markdown_table_names_every_stage_and_the_load() -> None:
    row = {
        "corpus": "c", "chunks": 1000, "p50_ms": 10.0, "p95_ms": 20.0, "recall_at_5": 0.9,
        "stages_ms": {s: {"p50": 1.0, "p95": 2.0} for s in STAGES}, "queries": 50,
    }  # fmt: skip
    report = {
        "squad": row,
        "large": {**row, "build": {"embedded_now": 0, "seconds": 0.0, "chunks_per_s": float("nan")}},
        "machine": {"cpus": 2, "torch_threads": 1, "load_average_before": [5.0], "load_average_after": [3.0]},
        "requested_chunks": 100_000, "generated": "now", "git_commit": "abc",
    }  # fmt: skip
    text = bench_markdown(report)
    assert text.count("| c | 1,000 | 10.0 | 20.0 |") == 2
    assert "(loaded)" in text and "already built" in text and "100,000" in text


def test_a_rerun_keeps_the_build_rate_of_the_run_that_embedded(tmp_path: Path) -> None:
    path = tmp_path / "bench.json"
    assert previous_build(path, 10) == {}
    build = {"embedded_now": 9, "seconds": 3.0, "chunks_per_s": 3.0}
    path.write_text(json.dumps({"generated": "t0", "large": {"chunks": 10, "build": build}}), encoding="utf-8")
    assert previous_build(path, 10) == {"first_build": {**build, "generated": "t0"}}
    assert previous_build(path, 11) == {}  # another size: another index

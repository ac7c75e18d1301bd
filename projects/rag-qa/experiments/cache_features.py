"""Cache the embeddings the retrieval/abstention sweeps read (question, chunk, paragraph and sentence
vectors of the SQuAD v2 dev set), so each sweep is numpy arithmetic instead of minutes of MiniLM.

Run: PORTFOLIO_DATA_MIRROR=/work/shared/data nice -n 10 .venv/bin/python projects/rag-qa/experiments/cache_features.py
Writes projects/rag-qa/artifacts/experiments/ (git-ignored).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from rag_qa import config as config_module
from rag_qa.documents import sentences
from rag_qa.embeddings import embeddings
from rag_qa.squad import load_squad

OUT = config_module.PROJECT_ROOT / "artifacts" / "experiments"


def embed(model: object, texts: list[str], name: str) -> np.ndarray:
    path = OUT / f"{name}.npy"
    if path.is_file():
        return np.load(path)
    start = time.perf_counter()
    vectors = np.asarray(model.embed_documents(texts), dtype=np.float32)  # type: ignore[attr-defined]
    seconds = time.perf_counter() - start
    print(f"{name}: {len(texts)} texts in {seconds:.1f} s ({len(texts) / seconds:.0f}/s)", flush=True)
    np.save(path, vectors)
    return vectors


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    config = config_module.load()
    squad = load_squad()
    model = embeddings(config.embeddings.model, config.embeddings.batch_size, config.embeddings.threads)
    paragraphs = [p.page_content for p in squad.paragraphs]
    sents = [(i, s) for i, p in enumerate(paragraphs) for s in (sentences(p) or [p])]
    meta = {
        "questions": [
            {
                "text": q.text,
                "article": q.article,
                "gold": q.gold_source,
                "impossible": q.impossible,
                "answers": q.answers,
            }
            for q in squad.questions
        ],
        "paragraphs": [{"source": p.metadata["source"], "text": p.page_content} for p in squad.paragraphs],
        "sentence_paragraph": [i for i, _ in sents],
        "sentences": [s for _, s in sents],
    }
    Path(OUT / "meta.json").write_text(json.dumps(meta))
    embed(model, [q.text for q in squad.questions], "questions")
    embed(model, paragraphs, "paragraphs")
    embed(model, [s for _, s in sents], "sentences")
    titles = [str(p.metadata["source"]).rsplit("/", 1)[0].replace("_", " ") for p in squad.paragraphs]
    embed(model, [f"{t}\n\n{p}" for t, p in zip(titles, paragraphs, strict=True)], "paragraphs_titled")


if __name__ == "__main__":
    main()

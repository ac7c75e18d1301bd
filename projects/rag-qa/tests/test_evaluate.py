"""The evaluation's measures on hand-made cases (no model): ranks, recall@k, MRR, abstention calibration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mlshared.console import UserError
from rag_qa.evaluate import abstention_scores, calibrate, gold_rank, mrr, recall_at, split_articles
from rag_qa.squad import load_squad


def test_recall_and_mrr() -> None:
    ranks = np.array([1, 3, 0, 6])  # 0 = not retrieved
    assert recall_at(ranks, 1) == 0.25 and recall_at(ranks, 5) == 0.5 and recall_at(ranks, 20) == 0.75
    assert mrr(ranks) == pytest.approx((1 + 1 / 3 + 0 + 1 / 6) / 4)
    assert gold_rank(["a", "b", "c"], "c") == 3 and gold_rank(["a"], "z") == 0


def test_calibration_reaches_the_target_precision_on_its_own_split() -> None:
    rng = np.random.default_rng(0)
    impossible = rng.random(2000) < 0.3
    confidence = np.where(impossible, rng.normal(0.3, 0.1, 2000), rng.normal(0.6, 0.1, 2000))
    threshold = calibrate(confidence, impossible, target=0.8)
    scores = abstention_scores(confidence, impossible, threshold)
    assert scores["precision"] is not None and scores["precision"] >= 0.8
    assert scores["recall"] is not None and scores["recall"] > 0.3  # separable scores: a useful threshold
    assert abstention_scores(confidence, impossible, -1.0)["precision"] is None  # never abstains


def test_article_split_is_seeded_and_disjoint() -> None:
    articles = [f"a{i}" for i in range(10)]
    cal, test = split_articles(articles, 0.5, seed=42)
    assert cal.isdisjoint(test) and len(cal) == 5 and cal | test == set(articles)
    assert split_articles(articles, 0.5, seed=42) == (cal, test)


def test_squad_file_reading(tmp_path: Path) -> None:
    data = {"version": "v2.0", "data": [{"title": "T", "paragraphs": [{"context": "Paris is in France.", "qas": [
        {"id": "1", "question": "Where is Paris?", "answers": [{"text": "France", "answer_start": 12}],
         "is_impossible": False},
        {"id": "2", "question": "Where is Lyon?", "answers": [], "is_impossible": True},
    ]}]}]}  # fmt: skip
    path = tmp_path / "mini.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    squad = load_squad(path)
    assert [p.metadata["source"] for p in squad.paragraphs] == ["T/000"]
    assert len(squad.answerable) == 1 and len(squad.unanswerable) == 1
    assert squad.answerable[0].gold_source == "T/000" and squad.answerable[0].answers == ("France",)
    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    with pytest.raises(UserError, match="not a readable SQuAD v2 JSON"):
        load_squad(tmp_path / "bad.json")


def test_the_mirror_file_has_the_documented_shape() -> None:
    squad = load_squad()
    assert (len(squad.articles), len(squad.paragraphs)) == (28, 1383)
    assert (len(squad.answerable), len(squad.unanswerable)) == (7146, 2453)

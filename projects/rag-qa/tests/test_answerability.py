"""The answerability cross-encoder: saved and loaded with its threshold, preferred by the answerer over the
logistic regression (which stays the fallback), a real fine-tune that learns, and the trained model's
behaviour on an obviously unanswerable question."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from rag_qa.abstention import FEATURES, AbstentionModel
from rag_qa.answer import NOT_FOUND, ExtractiveAnswerer
from rag_qa.answerability import DIR_NAME, AnswerabilityMeta, AnswerabilityModel, TrainSettings, base_model_path
from rag_qa.pipeline import RagSystem, load_answerability

TESLA = (
    "Nikola Tesla was born in 1856 in Smiljan. He designed the alternating current induction motor. "
    "Tesla worked for Thomas Edison in New York before starting his own laboratory."
)
RHINE = "The Rhine flows from the Swiss Alps to the North Sea. It is about 1,230 kilometres long."
# (question, passage, unanswerable): SQuAD v2 style, the unanswerable ones ask about the same passage.
FIXTURE = [
    ("Where was Nikola Tesla born?", TESLA, False),
    ("Who did Tesla work for in New York?", TESLA, False),
    ("What did Tesla design?", TESLA, False),
    ("Where does the Rhine flow to?", RHINE, False),
    ("When did Nikola Tesla die?", TESLA, True),
    ("Who did Tesla work for in London?", TESLA, True),
    ("What did Edison never design?", TESLA, True),
    ("How deep is the Rhine?", RHINE, True),
]


def _meta(threshold: float) -> AnswerabilityMeta:
    return AnswerabilityMeta(threshold, 0.8, 128, "test", 0, 0.0)


@pytest.fixture(scope="module")
def untrained() -> AnswerabilityModel:
    """The bundled MiniLM with a fresh (untrained) head: enough to test loading and the answerer's wiring."""
    return AnswerabilityModel.from_base(base_model_path(), 128, seed=0)


def test_saved_model_loads_with_its_threshold_and_a_missing_one_is_none(
    untrained: AnswerabilityModel, tmp_path: Path
) -> None:
    directory = untrained.save(tmp_path / DIR_NAME, _meta(0.73))
    loaded = AnswerabilityModel.load(directory)
    assert loaded is not None and loaded.meta == _meta(0.73) and loaded.max_length == 128
    pairs = ([q for q, _, _ in FIXTURE], [p for _, p, _ in FIXTURE])
    np.testing.assert_allclose(loaded.probability(*pairs), untrained.probability(*pairs), atol=1e-5)
    assert AnswerabilityModel.load(tmp_path / "nothing-here") is None
    assert load_answerability("no-such-profile") is None  # no evaluate run for it: the answerer falls back


def test_the_answerer_prefers_the_cross_encoder_and_falls_back_to_the_regression(
    system: RagSystem, untrained: AnswerabilityModel
) -> None:
    n = len(FEATURES)
    trusting = AbstentionModel(list(FEATURES), [0.0] * n, [1.0] * n, [0.0] * n, -5.0, 0.5, 0.8, "test")
    question = "Who discovered oxygen?"
    fallback = ExtractiveAnswerer(system.retriever, 2, 0.0, trusting, None).answer(question)
    assert not fallback.abstained and fallback.unanswerable_probability == pytest.approx(1 / (1 + np.exp(5.0)))
    assert "Priestley" in fallback.passage  # what the cross-encoder reads: the best sentence's chunk
    untrained.meta = _meta(0.0)  # every probability is >= 0: always abstain
    answer = ExtractiveAnswerer(system.retriever, 2, 0.0, trusting, untrained).answer(question)
    assert answer.abstained and answer.text == NOT_FOUND and not answer.citations
    assert answer.unanswerable_probability is not None and 0.0 < answer.unanswerable_probability < 1.0
    untrained.meta = _meta(1.01)  # no probability reaches it: never abstain, whatever the regression says
    refusing_regression = dataclasses.replace(trusting, intercept=5.0)
    assert not ExtractiveAnswerer(system.retriever, 2, 0.0, refusing_regression, untrained).answer(question).abstained


@pytest.mark.slow
def test_fine_tuning_learns_a_small_fixture() -> None:
    model = AnswerabilityModel.from_base(base_model_path(), 128, seed=0)
    questions, passages, labels = zip(*FIXTURE, strict=True)
    y = np.array(labels)
    # A high learning rate: 24 steps must move a fresh head on MiniLM's pooled [CLS] (at 1e-4 the loss stays ~0.69).
    settings = TrainSettings(
        max_length=128, epochs=12, batch_size=4, learning_rate=5e-4, warmup_fraction=0.1, threads=1
    )
    losses: list[float] = []
    model.fine_tune(questions, passages, labels, settings, seed=0, progress=lambda n, loss: losses.append(loss))
    assert len(losses) == 12 * 2
    assert np.mean(losses[-4:]) < 0.5 * np.mean(losses[:4])
    p = model.probability(questions, passages)
    assert p[y].min() > p[~y].max()  # it fits the pairs it was fine-tuned on


def test_the_trained_cross_encoder_abstains_on_an_obviously_unanswerable_question() -> None:
    trained = load_answerability("full")  # what `rag-qa evaluate --profile full` fine-tuned (the README's run)
    if trained is None or trained.meta is None:
        pytest.skip("no trained cross-encoder: run `rag-qa evaluate --profile full` first")
    answerable = trained.probability(["Where was Nikola Tesla born?"], [TESLA])[0]
    abstains, p = trained.abstains("In which year did Nikola Tesla win the Nobel Prize in Physics?", TESLA)
    assert abstains and p >= trained.meta.threshold > answerable

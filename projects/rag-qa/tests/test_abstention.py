"""The abstention model: fitting, the JSON it is saved as, and the answerer obeying it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from rag_qa.abstention import FEATURES, AbstentionModel, features, fit
from rag_qa.answer import NOT_FOUND, ExtractiveAnswerer
from rag_qa.evaluate import precision_at_recalls
from rag_qa.pipeline import RagSystem


def _separable(n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.random(n) < 0.3
    x = rng.normal(0, 1, (n, len(FEATURES)))
    x[:, 0] += np.where(y, -2.0, 2.0)  # unanswerable questions have a low best-sentence score
    return x, y


def test_fit_learns_the_direction_and_round_trips_as_json(tmp_path: Path) -> None:
    x, y = _separable()
    model = dataclasses.replace(fit(x, y, seed=0), threshold=0.5, target_precision=0.8, fitted_on="test")
    assert model.coef[0] < 0  # a lower score means more likely unanswerable
    p = model.probability(x)
    assert p[y].mean() > 0.7 > 0.3 > p[~y].mean()
    path = model.save(tmp_path / "abstention.json")
    assert AbstentionModel.load(path) == model
    assert AbstentionModel.load(tmp_path / "missing.json") is None
    stale = dataclasses.replace(model, features=["something_else"])
    assert AbstentionModel.load(stale.save(tmp_path / "stale.json")) is None  # other features: not used


def test_the_answerer_abstains_when_the_model_says_so(system: RagSystem) -> None:
    answerer = ExtractiveAnswerer(system.retriever, 2, 0.0)
    answer = answerer.answer("Who discovered oxygen?")
    assert len(answer.evidence) == len(FEATURES) and answer.unanswerable_probability is None
    # A model that only looks at the bias: always unanswerable, then never.
    zero = AbstentionModel(
        list(FEATURES), [0.0] * len(FEATURES), [1.0] * len(FEATURES), [0.0] * len(FEATURES), 5.0, 0.5, 0.8, "test"
    )
    refusing = ExtractiveAnswerer(system.retriever, 2, 0.0, zero).answer("Who discovered oxygen?")
    assert (
        refusing.abstained
        and refusing.text == NOT_FOUND
        and refusing.unanswerable_probability == pytest.approx(1 / (1 + np.exp(-5.0)))
    )
    trusting = dataclasses.replace(zero, intercept=-5.0)
    assert not ExtractiveAnswerer(system.retriever, 2, 0.0, trusting).answer("Who discovered oxygen?").abstained


def test_features_of_nothing_are_zeros() -> None:
    assert features("Who?", [], []) == [0.0] * len(FEATURES)


def test_precision_at_recalls_walks_down_the_riskiest_questions() -> None:
    risk = np.array([0.9, 0.8, 0.7, 0.6, 0.1])
    unanswerable = np.array([True, False, True, False, False])
    curve = precision_at_recalls(risk, unanswerable, (0.5, 1.0))
    assert curve == {"0.5": 1.0, "1": pytest.approx(2 / 3)}

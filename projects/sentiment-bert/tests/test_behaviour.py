"""Code: the CheckList-style suite is deterministic, covers its capabilities, and can fail."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from sentiment_bert import behaviour
from sentiment_bert.behaviour import add_final_period, build_suite, run_suite, strip_final_punctuation

REAL = ["a gripping , beautifully acted drama .", "it never comes alive", "the worst film of the year !"]


def lexicon_model(texts: Sequence[str]) -> npt.NDArray[np.float64]:
    """A bag-of-words model: positive words count up, negative words down, negation is ignored."""
    out = []
    for text in texts:
        words = set(text.lower().replace(".", " ").split())
        score = len(words & set(behaviour.POSITIVE)) - len(words & set(behaviour.NEGATIVE))
        out.append(0.5 + 0.4 * np.sign(score))
    return np.array(out, dtype=np.float64)


def test_suite_is_deterministic_and_sampled() -> None:
    first = build_suite(25, seed=3, real_sentences=REAL)
    assert [t.cases for t in first] == [t.cases for t in build_suite(25, seed=3, real_sentences=REAL)]
    assert all(len(t.cases) <= 25 for t in first)
    capabilities = {t.capability for t in first}
    assert {"negation", "intensifiers", "robustness (names)", "robustness (punctuation)"} <= capabilities
    assert {t.kind for t in first} == {"MFT", "INV", "DIR"}


def test_templates_read_naturally() -> None:
    suite = {t.name: t for t in build_suite(10_000, seed=0, real_sentences=REAL)}
    negated = suite["negated positive"].cases
    assert "The movie was not good." in {c.text for c in negated}
    assert all(c.expected == 0 for c in negated)
    names = suite["person names"].cases[0]
    assert names.perturbed is not None and names.text != names.perturbed
    assert len(suite["final punctuation"].cases) == len(REAL)


def test_a_bag_of_words_model_fails_negation_but_passes_vocabulary() -> None:
    results = {r.name: r for r in run_suite(build_suite(50, seed=0, real_sentences=REAL), lexicon_model)}
    assert results["simple positive"].pass_rate == 1.0 and results["simple negative"].pass_rate == 1.0
    assert results["negated positive"].pass_rate == 0.0  # the suite can fail
    assert results["negated positive"].failures and "p_positive" in results["negated positive"].failures[0]
    assert results["person names"].pass_rate == 1.0 and results["intensified positive"].pass_rate == 1.0


def test_punctuation_helpers() -> None:
    assert strip_final_punctuation("great film . ") == "great film"
    assert strip_final_punctuation("wow !?") == "wow"
    assert add_final_period("great film") == "great film ."

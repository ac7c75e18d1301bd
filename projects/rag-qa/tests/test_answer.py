"""The extractive answerer and the answer-quality measures (SQuAD normalisation, token F1, faithfulness)."""

from __future__ import annotations

import pytest

from mlshared.console import UserError
from rag_qa.answer import NOT_FOUND, ExtractiveAnswerer, lexical_overlap, normalize, supported, token_f1
from rag_qa.pipeline import RagSystem


def test_answer_is_a_cited_sentence_from_the_right_document(system: RagSystem) -> None:
    answer = system.ask("Who discovered oxygen?")
    assert not answer.abstained
    assert "Priestley" in answer.text
    assert [c.chunk_id for c in answer.citations] == ["notes/oxygen.txt#0"]
    assert "[notes/oxygen.txt#0]" in answer.text  # the citation is inside the answer text
    assert all(s in answer.citations[0].text for s in answer.sentences)  # verbatim from the cited chunk


def test_low_confidence_abstains(system: RagSystem) -> None:
    strict = ExtractiveAnswerer(system.retriever, 2, min_confidence=0.99)
    answer = strict.answer("What is the capital of Australia?")
    assert answer.abstained and answer.text == NOT_FOUND and not answer.citations
    assert answer.hits  # the passages that were not good enough are still shown
    lenient = ExtractiveAnswerer(system.retriever, 2, min_confidence=0.0)
    assert not lenient.answer("What is the capital of Australia?").abstained


def test_an_off_topic_question_scores_lower_than_an_answerable_one(system: RagSystem) -> None:
    answerer = ExtractiveAnswerer(system.retriever, 2, 0.0)
    assert (
        answerer.answer("What is the capital of Australia?").confidence
        < answerer.answer("When was Nikola Tesla born?").confidence
    )


def test_empty_question_is_refused(system: RagSystem) -> None:
    with pytest.raises(UserError, match="question is empty"):
        system.ask("   ")


def test_squad_normalisation_and_token_f1() -> None:
    assert normalize("The  Eiffel Tower!") == "eiffel tower"
    assert token_f1("the Eiffel Tower", "Eiffel Tower") == 1.0
    assert token_f1("Paris", "Eiffel Tower") == 0.0
    assert token_f1("in 1889 the tower opened", "1889") == pytest.approx(2 * 0.25 * 1 / 1.25)


def test_faithfulness_check_needs_the_words_in_the_context() -> None:
    context = "Oxygen was discovered by Joseph Priestley and Carl Wilhelm Scheele."
    assert supported("Joseph Priestley discovered oxygen.", context)
    assert not supported("Marie Curie discovered oxygen in Paris.", context)
    assert lexical_overlap("Who discovered oxygen?", context) == 1.0

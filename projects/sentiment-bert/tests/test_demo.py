"""The Gradio demo: its functions directly, then the launched app through `gradio_client`."""

from __future__ import annotations

import sys
from pathlib import Path

import gradio as gr
import pandas as pd
import pytest

from mlshared.servers import free_port, serve
from sentiment_bert.demo import EXAMPLES, MAX_CHARS, build_demo, classify, classify_file
from sentiment_bert.explain import occlusion
from sentiment_bert.inference import TorchClassifier
from sentiment_bert.train import TrainResult

pytestmark = pytest.mark.slow


def test_a_sentence_gets_label_probabilities_and_word_scores(classifier: TorchClassifier) -> None:
    probabilities, words, note = classify(classifier, "  The plot is not good.  ")
    assert set(probabilities) == {"positive", "negative"}
    assert probabilities["positive"] + probabilities["negative"] == pytest.approx(1.0)
    assert [w.strip() for w, _ in words] == ["The", "plot", "is", "not", "good."]
    assert all(isinstance(score, float) and -1 <= score <= 1 for _, score in words)
    assert max(abs(score) for _, score in words) == pytest.approx(1.0)  # colours scaled to the strongest word
    assert "Most influential words" in note and "whole text" in note


def test_occlusion_scores_are_log_odds_differences(classifier: TorchClassifier) -> None:
    text = "a warm and funny film"
    explanation = occlusion(classifier, text)
    full, without_funny = classifier.predict_logits([text, "a warm and film"]).astype(float)
    assert explanation.p_positive == pytest.approx(float(classifier.predict_proba([text])[0]), abs=1e-6)
    expected = (full[1] - full[0]) - (without_funny[1] - without_funny[0])
    assert explanation.scores[3] == pytest.approx(expected, abs=1e-3)


@pytest.mark.parametrize("text", ["", "   \n\t", None])
def test_empty_input_is_a_message(classifier: TorchClassifier, text: str | None) -> None:
    with pytest.raises(gr.Error, match="box is empty"):
        classify(classifier, text)


def test_overlong_input_is_truncated_and_says_so(classifier: TorchClassifier) -> None:
    text = "a genuinely wonderful film . " * 60  # ~300 tokens against a window of 32
    probabilities, words, note = classify(classifier, text)
    assert "Input truncated" in note and f"first {classifier.max_length}" in note
    seen = [score for _, score in words if score is not None]
    assert 0 < len(seen) < len(words)  # words past the window get no score
    assert probabilities["positive"] > 0.5
    _, _, note = classify(classifier, "good " * (MAX_CHARS // 4))
    assert f"{MAX_CHARS:,} characters" in note


def test_file_of_sentences_gives_a_csv(classifier: TorchClassifier, tmp_path: Path) -> None:
    upload = tmp_path / "reviews.txt"
    upload.write_text("\n".join(EXAMPLES) + "\n\n", encoding="utf-8")
    csv_path, preview, summary = classify_file(classifier, str(upload))
    frame = pd.read_csv(csv_path)
    assert list(frame.columns) == ["sentence", "label", "p_positive", "truncated"]
    assert frame["sentence"].tolist() == list(EXAMPLES)
    assert set(frame["label"]) <= {"positive", "negative"}
    assert len(preview) == len(EXAMPLES) and f"Classified {len(EXAMPLES)} sentences" in summary


@pytest.mark.parametrize(
    ("name", "payload", "message"),
    [
        ("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00", "not a text file"),
        ("disguised.txt", b"\x89PNG\r\n\x1a\n\x00\x00", "binary file"),
        ("table.csv", b"id,score\n1,2\n", "no `sentence` or `text` column"),
        ("empty.txt", b"\n\n", "no sentences"),
    ],
)
def test_unusable_files_are_messages(
    classifier: TorchClassifier, tmp_path: Path, name: str, payload: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(payload)
    with pytest.raises(gr.Error, match=message):
        classify_file(classifier, str(path))
    with pytest.raises(gr.Error, match="upload a file"):
        classify_file(classifier, None)


def test_demo_builds_with_both_api_endpoints(classifier: TorchClassifier, trained: TrainResult) -> None:
    demo = build_demo(classifier, trained.model_dir)
    names = {dep.api_name for dep in demo.fns.values()}
    assert {"classify", "classify_file"} <= names


@pytest.mark.live
def test_launched_app_through_gradio_client(trained: TrainResult, tmp_path: Path) -> None:
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    port = free_port()
    command = [sys.executable, "-m", "sentiment_bert", "app", "--port", str(port), "--model", str(trained.model_dir)]
    upload = tmp_path / "two.txt"
    upload.write_text("a triumph .\na mess .\n", encoding="utf-8")
    with serve(command, port, timeout_s=180) as server:
        client = Client(server.base_url, verbose=False)
        label, words, note = client.predict("A warm, funny and moving film.", api_name="/classify")
        assert label["label"] in {"positive", "negative"}
        assert {c["label"] for c in label["confidences"]} == {"positive", "negative"}
        assert [w["token"].strip() for w in words][:2] == ["A", "warm,"]
        assert "whole text" in note
        csv_path, _, summary = client.predict(handle_file(str(upload)), api_name="/classify_file")
        assert pd.read_csv(csv_path)["sentence"].tolist() == ["a triumph .", "a mess ."]
        assert "Classified 2 sentences" in summary
        with pytest.raises(AppError, match="box is empty"):
            client.predict("", api_name="/classify")

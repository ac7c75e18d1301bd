"""The Gradio demo: a sentence in -> label, probability and word attributions; a file in -> a CSV out.

`classify` and `classify_file` are plain functions (tested directly and through `gradio_client`
against a launched app); `build_demo` wires them into a `gr.Blocks` page. Problems the user can
fix (empty text, a binary or unreadable file) raise `gr.Error`, which Gradio shows as a message;
an overlong sentence is truncated to the model's window and the note says so.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from sentiment_bert.data import SentimentDataError, read_sentences
from sentiment_bert.explain import occlusion
from sentiment_bert.inference import EncoderClassifier
from sentiment_bert.layout import TRAINING_FILE, load_training_facts
from sentiment_bert.predict import predict_frame

EXAMPLES = (
    "I expected to hate it, but it won me over completely.",
    "A gorgeous, witty and surprisingly moving film, though the second half drags a little.",
    "The plot is not good, and the acting is even worse.",
    "Neither funny nor clever, just two hours of noise.",
)
MAX_CHARS = 2000  # longer text is cut here before tokenising: the model reads only its first tokens anyway
MAX_FILE_SENTENCES = 5000
FILE_TYPES = (".txt", ".csv", ".tsv")
TOP_WORDS = 3


def _note(tokens: int, max_length: int, words_seen: int, words: int, cut: bool) -> str:
    if not cut and tokens <= max_length:
        return f"The model read the whole text ({tokens} tokens; it reads at most {max_length})."
    cut_note = f" after cutting it to its first {MAX_CHARS:,} characters" if cut else ""
    return (
        f"⚠️ **Input truncated.** The text has {tokens} tokens{cut_note}; the model reads only the first "
        f"{max_length}, so the prediction is based on the first {words_seen} of {words} words (shown without "
        "colour after that)."
    )


def classify(classifier: EncoderClassifier, text: str | None) -> tuple[dict[str, float], list[tuple[str, Any]], str]:
    """Label probabilities, (word, colour) pairs for HighlightedText, and a note naming the strongest words
    and any truncation. Colours are scaled to the strongest word so small effects stay visible; the note
    gives the unscaled scores."""
    text = (text or "").strip()
    if not text:
        raise gr.Error("Please type or paste a sentence first (the box is empty).", title="Nothing to classify")
    cut = len(text) > MAX_CHARS
    if cut:
        text = text[:MAX_CHARS]
    explanation = occlusion(classifier, text)
    p = explanation.p_positive
    scored = [(w, s) for w, s in zip(explanation.words, explanation.scores, strict=True) if s is not None]
    strongest = max((abs(s) for _, s in scored), default=0.0) or 1.0
    highlighted = [
        (f"{w} ", None if s is None else round(s / strongest, 3))
        for w, s in zip(explanation.words, explanation.scores, strict=True)
    ]
    top = sorted(scored, key=lambda ws: -abs(ws[1]))[:TOP_WORDS]
    influential = ", ".join(f"**{w}** ({s:+.2f})" for w, s in top)
    truncation = _note(explanation.tokens, explanation.max_length, explanation.words_seen, len(explanation.words), cut)
    note = f"Most influential words (change in log-odds of positive): {influential}.\n\n{truncation}"
    return {"positive": p, "negative": 1.0 - p}, highlighted, note


def classify_file(classifier: EncoderClassifier, path: str | None) -> tuple[str, pd.DataFrame, str]:
    """A CSV of predictions for an uploaded .txt (one sentence per line) or .csv/.tsv (a `sentence` column)."""
    if not path:
        raise gr.Error("Please upload a file first.", title="No file")
    source = Path(path)
    if source.suffix.lower() not in FILE_TYPES:
        raise gr.Error(
            f"{source.name} is not a text file. Upload a .txt file with one sentence per line, or a .csv/.tsv "
            "file with a `sentence` (or `text`) column.",
            title="Unsupported file type",
        )
    try:
        sentences = read_sentences(source.read_bytes(), source.name, max_sentences=MAX_FILE_SENTENCES)
    except SentimentDataError as error:
        raise gr.Error(f"{error.message}\n{error.hint or ''}".strip(), title="File not usable") from error
    frame = predict_frame(classifier, sentences)
    out = Path(tempfile.mkdtemp(prefix="sentiment-")) / f"{source.stem}-predictions.csv"
    frame.to_csv(out, index=False)
    truncated = int(frame["truncated"].sum())
    summary = (
        f"Classified {len(frame):,} sentences: {int((frame['label'] == 'positive').sum()):,} positive, "
        f"{int((frame['label'] == 'negative').sum()):,} negative."
        + (f" {truncated} were longer than {classifier.max_length} tokens and truncated." if truncated else "")
    )
    return str(out), frame.head(20), summary


def about(model_dir: Path | None) -> str:
    """What model is being served, from the facts `train` saved beside it."""
    if model_dir is None or not (model_dir / TRAINING_FILE).is_file():
        return f"Model facts unavailable (no {TRAINING_FILE} beside the weights)."
    facts = load_training_facts(model_dir)
    validation = facts.get("validation")
    scored = f"validation accuracy {validation['accuracy']:.3f}" if validation else "refit on every training row"
    return (
        f"Fine-tuned from `{facts['checkpoint']['base_model']}` on {facts['train_rows']:,} SST-2 sentences "
        f"({facts['global_steps']} steps, max length {facts['max_length']}); {scored}. "
        "Test accuracy and behavioural tests: see the project README."
    )


def build_demo(classifier: EncoderClassifier, model_dir: Path | None = None) -> gr.Blocks:
    demo = gr.Blocks(title="SST-2 sentiment")
    with demo:
        gr.Markdown(
            "# Sentiment of a movie-review sentence\n"
            f"A BERT-family encoder fine-tuned on SST-2, running as `{classifier.name}` on CPU. "
            "Word colours show occlusion attributions, how much the log-odds of *positive* fall when that word is "
            "left out: **red** words push towards *positive*, **purple** words towards *negative* (Gradio's colour "
            "scale), deeper colour = stronger effect."
        )
        with gr.Tab("One sentence"):
            with gr.Row():
                with gr.Column():
                    text = gr.Textbox(label="Sentence", lines=3, placeholder="Type a sentence about a film ...")
                    button = gr.Button("Classify", variant="primary")
                    gr.Examples([[e] for e in EXAMPLES], inputs=[text], label="Examples")
                with gr.Column():
                    label = gr.Label(label="Prediction", num_top_classes=2)
                    words = gr.HighlightedText(label="Word attributions (occlusion)", show_legend=False)
                    note = gr.Markdown()
            gr.on(
                [button.click, text.submit],
                lambda t: classify(classifier, t),
                inputs=text,
                outputs=[label, words, note],
                api_name="classify",
            )
        with gr.Tab("File of sentences"):
            gr.Markdown(
                f"Upload a `.txt` file with one sentence per line, or a `.csv`/`.tsv` file with a `sentence` "
                f"(or `text`) column, up to {MAX_FILE_SENTENCES:,} sentences. You get a CSV with the label and "
                "P(positive) of each sentence."
            )
            upload = gr.File(label="Sentences", file_types=list(FILE_TYPES), type="filepath")
            run = gr.Button("Predict file", variant="primary")
            summary = gr.Markdown()
            csv_out = gr.File(label="Predictions (CSV)")
            preview = gr.Dataframe(label="First rows", interactive=False)
            run.click(
                lambda p: classify_file(classifier, p),
                inputs=upload,
                outputs=[csv_out, preview, summary],
                api_name="classify_file",
            )
        with gr.Tab("About the model"):
            gr.Markdown(about(model_dir))
    return demo

"""`sentiment-bert` command line: train, evaluate, export, bench, predict, app, screenshot, run.

The finished experiments (int8 choice, weight soups, mean pooling, tail averaging) have their own scripts in
the project's experiments/ folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mlshared.cli_options import OverridesOpt, ParamsOpt, ProfileOpt, ScreenshotOpt
from mlshared.console import UserError, console, friendly_errors
from mlshared.params import FULL
from mlshared.projects import ProjectSpec
from sentiment_bert import config as config_module
from sentiment_bert.config import VARIANTS, Variant
from sentiment_bert.layout import Layout, newest_trained

app = typer.Typer(
    help="SST-2 sentiment: fine-tune a BERT-family encoder (offline all-MiniLM-L6-v2 by default), compare it with "
    "a TF-IDF baseline, export it to ONNX/int8 for fast CPU inference and serve a Gradio demo.",
    no_args_is_help=True,
)

ModelOpt = Annotated[
    Path | None,
    typer.Option(
        "--model", help="Fine-tuned model directory; default: the profile's models/classifier.", file_okay=False
    ),
]
ServedProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        "-p",
        help="Whose model to use: full (models/), quick or select (artifacts/<profile>/); default: the newest "
        "trained one, e.g. artifacts/quick/ after `make run`.",
        show_default=False,
    ),
]
VariantOpt = Annotated[
    str,
    typer.Option("--variant", help=f"Runtime: {', '.join(VARIANTS)} (ONNX variants need `sentiment-bert export`)."),
]


def _layout(profile: str) -> Layout:
    return Layout(config_module.outputs_for(profile))


def _served(model: Path | None, profile: str | None) -> tuple[Path, Layout]:
    """The model directory to serve and its profile's layout (for the ONNX graphs): `--model`, else the
    `--profile`'s, else the newest trained one, saying which."""
    if profile is not None:
        layout = _layout(profile)
        return model or layout.model_dir, layout
    if model is not None:
        return model, _layout("full")
    profile, layout = newest_trained([FULL, *config_module.profiles()], _layout)
    if profile != FULL:
        console.print(f"[dim]Using the {profile} profile's model, the newest trained ({layout.model_dir}).[/]")
    return layout.model_dir, layout


def _variant(name: str) -> Variant:
    for variant in VARIANTS:
        if variant == name:
            return variant
    raise UserError(f"Unknown variant {name!r}.", hint=f"Choose one of: {', '.join(VARIANTS)}.")


@app.command()
@friendly_errors
def train(
    profile: ProfileOpt = "full",
    params: ParamsOpt = config_module.DEFAULT_PARAMS,
    overrides: OverridesOpt = None,
    checkpoint: Annotated[
        str | None,
        typer.Option(
            help="Override model.checkpoint: `default` (bundled all-MiniLM-L6-v2), a local directory or a hub id "
            "such as distilbert-base-uncased (needs HF_HUB_OFFLINE=0 and network). Same as --set model.checkpoint=..."
        ),
    ] = None,
) -> None:
    """Fit the TF-IDF baseline and fine-tune the encoder with early stopping; save, log and register the model."""
    from sentiment_bert.train import train as run_training

    extra = [f"model.checkpoint={checkpoint}"] if checkpoint else []
    config = config_module.load(params, profile, [*(overrides or []), *extra])
    run_training(config, profile, config_module.outputs_for(profile))


@app.command()
@friendly_errors
def evaluate(
    profile: ProfileOpt = "full", params: ParamsOpt = config_module.DEFAULT_PARAMS, overrides: OverridesOpt = None
) -> None:
    """Score the test set (GLUE SST-2 dev): metrics, figures, confident mistakes, behavioural tests."""
    from sentiment_bert.evaluate import evaluate as run_evaluation

    selection = _layout("select").train_summary  # read only when the evaluated model is a refit
    config, outputs = config_module.load(params, profile, overrides), config_module.outputs_for(profile)
    run_evaluation(config, profile, outputs, selection_summary=selection)


@app.command()
@friendly_errors
def export(
    profile: ProfileOpt = "full", params: ParamsOpt = config_module.DEFAULT_PARAMS, overrides: OverridesOpt = None
) -> None:
    """Export the fine-tuned model to ONNX, check parity with PyTorch, and write a dynamic-int8 copy."""
    from sentiment_bert.export import export as run_export

    run_export(config_module.load(params, profile, overrides), _layout(profile))


@app.command()
@friendly_errors
def bench(
    profile: ProfileOpt = "full", params: ParamsOpt = config_module.DEFAULT_PARAMS, overrides: OverridesOpt = None
) -> None:
    """Sentences/s at batch 1 and 32 and test accuracy of every runtime variant, in one run (reports/bench.json)."""
    from sentiment_bert.bench import bench as run_bench

    run_bench(config_module.load(params, profile, overrides), _layout(profile), profile)


@app.command()
@friendly_errors
def predict(
    source: Annotated[
        Path | None,
        typer.Argument(
            help="A .txt file (one sentence per line) or a .csv/.tsv with a `sentence` or `text` column.",
            dir_okay=False,
            exists=True,
        ),
    ] = None,
    text: Annotated[list[str] | None, typer.Option("--text", "-t", help="A sentence to classify (repeatable).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="CSV to write; default: print a table.")] = None,
    model: ModelOpt = None,
    variant: VariantOpt = "pytorch-fp32",
    profile: ServedProfileOpt = None,
) -> None:
    """Classify sentences from a file or --text: label and P(positive), as a table or a CSV."""
    from sentiment_bert.data import read_sentences
    from sentiment_bert.predict import load_variant, predict_frame

    if source is None and not text:
        raise UserError("Nothing to classify.", hint='Pass a file, or one or more `--text "a sentence"`.')
    sentences = list(text or [])
    if source is not None:
        sentences += read_sentences(source, source.name)
    model_dir, layout = _served(model, profile)
    classifier = load_variant(_variant(variant), model_dir, layout.onnx_dir)
    frame = predict_frame(classifier, sentences)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(output, index=False)
        console.print(
            f"[green]Wrote[/] {output} ({len(frame)} sentences, {int(frame['label'].eq('positive').sum())} positive)"
        )
        return
    from rich.table import Table

    table = Table("sentence", "label", "P(positive)", "truncated")
    for row in frame.itertuples(index=False):
        table.add_row(str(row.sentence), str(row.label), f"{row.p_positive:.3f}", "yes" if row.truncated else "")
    console.print(table)


@app.command("app")
@friendly_errors
def run_app(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 7860,
    host: Annotated[str, typer.Option(help="Interface to bind; 0.0.0.0 to expose it.")] = "127.0.0.1",
    model: ModelOpt = None,
    variant: VariantOpt = "pytorch-fp32",
    profile: ServedProfileOpt = None,
) -> None:
    """Start the Gradio demo: label, probability and word attributions; a file of sentences in, a CSV out.
    Without --model or --profile it serves the newest trained model (after `make run`: the quick profile's)."""
    model_dir, layout = _served(model, profile)  # before importing Gradio: a missing model is said at once
    from sentiment_bert.demo import build_demo
    from sentiment_bert.predict import load_variant

    classifier = load_variant(_variant(variant), model_dir, layout.onnx_dir)
    console.print(f"Starting the demo on http://{host}:{port} ({classifier.name})")
    build_demo(classifier, model_dir).launch(server_name=host, server_port=port, show_error=True, quiet=True)


@app.command()
@friendly_errors
def screenshot(
    output: ScreenshotOpt = config_module.PROJECT_ROOT / "docs" / "app.png",
    model: ModelOpt = None,
    profile: ProfileOpt = "full",
) -> None:
    """Start the demo, classify an example in headless Chromium and save a screenshot for the README."""
    import sys

    from mlshared.browser import screenshot_app
    from sentiment_bert.demo import EXAMPLES
    from sentiment_bert.inference import require_model_dir

    model_dir = require_model_dir((model or _layout(profile).model_dir).resolve(), profile)

    def command(port: int) -> list[str]:
        return [sys.executable, "-m", "sentiment_bert", "app", "--port", str(port), "--model", str(model_dir)]

    def classify_an_example(page: Any) -> None:
        page.get_by_label("Sentence").first.fill(EXAMPLES[0])
        page.get_by_role("button", name="Classify").click()
        page.get_by_text("Word attributions").first.wait_for(timeout=60_000)
        page.locator(".token").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1500)  # let the label bars finish animating

    screenshot_app(command, output, classify_an_example, height=620, timeout_s=180)
    console.print(f"[green]Wrote[/] {output}")


def readme_blocks(reports: Path) -> dict[str, str]:
    """The README's evaluation and benchmark blocks, rendered from the full-profile reports folder."""
    from mlshared.reports import read_json_report, read_report
    from sentiment_bert import bench as bench_module
    from sentiment_bert import evaluate as evaluate_module

    blocks = {}
    if (reports / "metrics.json").is_file():
        blocks[evaluate_module.BLOCK] = evaluate_module.render_details(read_report(reports / "metrics.json"))
    report = read_json_report(reports / "bench.json")
    if report is not None:
        blocks[bench_module.BLOCK] = bench_module.render(report)
    return blocks


PROJECT = ProjectSpec(
    name="sentiment-bert",
    title="SST-2 sentiment: fine-tuned MiniLM (transformers), ONNX/int8 CPU inference, Gradio demo",
    root=config_module.PROJECT_ROOT,
    app=app,
    pipeline=(("train",), ("evaluate",), ("export",), ("bench",)),
    readme_blocks=readme_blocks,
)
PROJECT.add_run_command(config_module.DEFAULT_PARAMS)


def main() -> None:
    app()

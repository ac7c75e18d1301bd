"""Experiment (docs/experiments.md, block 4): choose the int8 configuration on validation sentences, never on
the test set.

Dynamic int8 has a few knobs that move accuracy by more than a point on this model: which ONNX operators
are quantised (the MatMuls only, or the fused Attention ops too) and whether weights get one scale per
tensor or one per output channel. The choice is made (per-channel MatMul weights, fused Attention in fp32,
in `export.int8_*` of params.yaml, which `sentiment-bert export` reads); this re-makes it:

    python experiments/int8_choice.py [--profile select] [--set ...]

scores each candidate on the held-out split of a model that never trained on it (the select run's),
against that model's fp32 accuracy, and writes the table to the profile's reports (`int8_choice.json`).
A new winner goes into `export.int8_*` in params.yaml by hand, with the numbers beside it.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import typer
from heldout import held_out_validation

from mlshared.cli_options import OverridesOpt, ParamsOpt, ProfileOpt
from mlshared.console import console, friendly_errors, make_progress
from mlshared.datasets import DataSettings
from sentiment_bert import config as config_module
from sentiment_bert.config import Config, Int8Operator
from sentiment_bert.data import LABEL, TEXT
from sentiment_bert.export import export_onnx, quantize_int8
from sentiment_bert.inference import (
    EncoderClassifier,
    OnnxClassifier,
    TorchClassifier,
    accuracy_of,
    quantize_linear_int8,
    require_model_dir,
)
from sentiment_bert.layout import Layout, load_training_facts

REPORT = "int8_choice.json"
ONNX_CANDIDATES: tuple[tuple[tuple[Int8Operator, ...], bool], ...] = (
    (("MatMul", "Attention"), False),
    (("MatMul", "Attention"), True),
    (("MatMul",), True),
    (("MatMul",), False),
)


def _accuracy(classifier: EncoderClassifier, texts: list[str], labels: np.ndarray) -> float:
    return accuracy_of(labels, classifier.predict_proba(texts, 32))


def choose_int8(config: Config, layout: Layout, settings: DataSettings | None = None) -> dict[str, Any]:
    model_dir = require_model_dir(layout.model_dir, layout.outputs.profile)
    validation = held_out_validation(config, {model_dir: load_training_facts(model_dir)}, "int8_choice.py", settings)
    texts, labels = validation[TEXT].tolist(), validation[LABEL].to_numpy()
    candidates: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, make_progress() as progress:
        task = progress.add_task("Scoring int8 candidates on validation", total=len(ONNX_CANDIDATES) + 4)
        fp32_graph = export_onnx(model_dir, Path(tmp) / "model.onnx", config.export.opset)
        torch_fp32 = TorchClassifier.load(model_dir)
        references = {
            "onnx": _accuracy(OnnxClassifier.load(fp32_graph, model_dir, config.bench.threads), texts, labels),
            "pytorch": _accuracy(torch_fp32, texts, labels),
        }
        progress.advance(task, 2)
        for operators, per_channel in ONNX_CANDIDATES:
            graph = Path(tmp) / f"int8-{'-'.join(operators)}-{per_channel}.onnx"
            quantize_int8(fp32_graph, graph, operators, per_channel)
            accuracy = _accuracy(OnnxClassifier.load(graph, model_dir, config.bench.threads), texts, labels)
            candidates.append(_row("onnx", list(operators), per_channel, accuracy, references["onnx"]))
            progress.advance(task)
        for per_channel in (False, True):
            # quantize_dynamic returns a quantised copy: the fp32 model stays the reference for both.
            int8 = quantize_linear_int8(torch_fp32.model, per_channel)
            quantised = TorchClassifier(int8, torch_fp32.tokenizer, "pytorch-int8")
            accuracy = _accuracy(quantised, texts, labels)
            candidates.append(_row("pytorch", ["Linear"], per_channel, accuracy, references["pytorch"]))
            progress.advance(task)
    report = {
        "model": str(model_dir),
        "validation_sentences": len(texts),
        "fp32_accuracy": references,
        "candidates": candidates,
        # Smallest drop per runtime; among equals the first listed (today's default comes first).
        "best": {
            runtime: min((c for c in candidates if c["runtime"] == runtime), key=lambda c: c["drop_points"])
            for runtime in references
        },
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    layout.outputs.reports.mkdir(parents=True, exist_ok=True)
    (layout.outputs.reports / REPORT).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    _print(report)
    return report


def _row(runtime: str, operators: list[str], per_channel: bool, accuracy: float, reference: float) -> dict[str, Any]:
    return {
        "runtime": runtime,
        "operators": operators,
        "per_channel": per_channel,
        "accuracy": accuracy,
        "drop_points": round(100 * (reference - accuracy), 2),
    }


def _print(report: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table("runtime", "int8 operators", "weight scales", "validation accuracy", "drop (points)")
    for c in report["candidates"]:
        best = report["best"][c["runtime"]] is c
        scales = "per channel" if c["per_channel"] else "per tensor"
        cells = [c["runtime"], "+".join(c["operators"]), scales, f"{c['accuracy']:.3f}", f"{c['drop_points']:.2f}"]
        table.add_row(*cells, style="bold green" if best else None)
    fp32 = report["fp32_accuracy"]
    console.print(table)
    console.print(
        f"fp32 on the same {report['validation_sentences']:,} sentences: ONNX {fp32['onnx']:.3f}, "
        f"PyTorch {fp32['pytorch']:.3f}. Green: the smallest drop per runtime (set export.int8_* to match)."
    )


app = typer.Typer(help=__doc__.split("\n\n")[0] if __doc__ else None, add_completion=False)


@app.command()
@friendly_errors
def main(
    profile: ProfileOpt = "select",
    params: ParamsOpt = config_module.DEFAULT_PARAMS,
    overrides: OverridesOpt = None,
) -> None:
    """Score the int8 configurations on the held-out validation sentences of a non-refit model (the select run's)."""
    choose_int8(config_module.load(params, profile, overrides), Layout(config_module.outputs_for(profile)))


if __name__ == "__main__":
    app()
